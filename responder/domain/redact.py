"""Credentials never leave the process: one function hides them in every URL shown, stored or logged.

A feed URL may carry ``user:password@`` or a token in its query string; a database URL its password. Whatever is
printed (CLI, ``--json``, ``/health``), stored (``audit_events``, ``feed_status``) or logged goes through
:func:`redact` first, so a credential typed into the plan or the environment is seen only where it was typed.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_PARAMS = ("password", "passwd", "pwd", "pass", "secret", "token", "access_token", "api_key", "apikey",
                  "key", "auth", "authorization", "signature", "sig", "credential", "credentials")
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s/@:?#]*):(?P<password>[^\s/@?#]*)@")
"""``scheme://user:password@``: the password replaced, the user kept (it says which account was used)."""
_USER_TOKEN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<user>[^\s/@:?#]{16,})@")
"""``scheme://TOKEN@`` (a long user part with no password is a token, as GitHub and many feeds take it)."""
_QUERY_SECRET = re.compile(r"(?P<name>[?&;](?:" + "|".join(_SECRET_PARAMS) + r"))=(?P<value>[^&#\s\"'<>:;,)]+)",
                           re.IGNORECASE)
_DSN_PASSWORD = re.compile(r"(?P<name>\bpassword\s*=\s*)(?P<value>'[^']*'|\S+)", re.IGNORECASE)
"""libpq's ``key=value`` form (``host=db password=secret``), as drivers quote it in their errors."""


def redact(text: str) -> str:
    """``text`` (a URL, or a message that quotes some) with every credential replaced by ``***``."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@" if m["password"] != MASK else m[0], text)
    text = _USER_TOKEN.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['name']}={MASK}", text)
    return _DSN_PASSWORD.sub(lambda m: f"{m['name']}{MASK}", text)


def redact_values(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with :func:`redact` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(v) for v in value]
    return value
