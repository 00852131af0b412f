"""Reading SMS replies: "1", "1 K7", "ok", "收到", "确认" confirm; a code picks the incident."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CONFIRM_WORDS = frozenset({
    "1", "ok", "okay", "yes", "y", "confirm", "confirmed", "ack", "roger",
    "收到", "确认", "已收到", "确定", "好", "好的", "是", "明白", "到", "收到了", "好了", "已确认",
})
FILLERS = frozenset({"谢谢", "谢谢你", "thanks", "thank", "you", "thx", "了", "啦"})
"""Words that may stand beside a confirmation ("收到，谢谢", "ok thanks") without making it a note."""
_CODE = re.compile(r"^[A-HJ-NP-Z][1-9]$")
_SPLIT = re.compile(r"[\s,，.。!！、:：;；]+")


@dataclass(frozen=True, slots=True)
class Reply:
    confirms: bool
    code: str | None = None
    text: str = ""


def parse_reply(body: str) -> Reply:
    """Full-width digits and letters are folded (phones in Chinese mode send them)."""
    text = unicodedata.normalize("NFKC", body).strip()
    tokens = [t for t in _SPLIT.split(text) if t]
    code = None
    words = []
    for token in tokens:
        upper = token.upper()
        if _CODE.match(upper):
            code = upper
        elif len(upper) > 2 and upper[0] == "1" and _CODE.match(upper[1:]):  # "1K7"
            code, token = upper[1:], "1"
            words.append(token)
        else:
            words.append(token.lower())
    meaningful = [w for w in words if w not in FILLERS]
    confirms = bool(meaningful) and all(w in CONFIRM_WORDS for w in meaningful)
    if not words and code:
        confirms = True  # just the code: "K7"
    return Reply(confirms, code, text)
