"""The sample township with the example ``messaging`` section (config/examples/messaging-cn.yaml): +86 numbers
through Alibaba Cloud (the local stub), a few people given foreign numbers, reached through Twilio (its stub)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from responder.app.contacts import import_contacts
from responder.app.setup import init_database
from responder.domain.clock import FakeClock
from responder.settings import Settings
from responder.testing import TwilioStubServer
from responder.testing.alibaba_server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AlibabaStubServer
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config" / "examples" / "messaging-cn.yaml"
TOKEN = "push-secret-1"
PUBLIC_URL = "https://responder.example.org"
TWILIO_TOKEN = "test-token"
FOREIGN = {"O003": "+447911123456", "C001": "+14158586273"}
"""Two people abroad (an office member, the command group's leader): they confirm by SMS reply through Twilio."""


def messaging() -> dict[str, Any]:
    return dict(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["messaging"])


def write_plan(folder: Path, change: dict[str, Any] | None = None) -> Path:
    """The sample plan with the example messaging section (``change`` merged into it), files named absolutely."""
    plan = yaml.safe_load((REPO / "config" / "plan.yaml").read_text(encoding="utf-8"))
    plan["messaging"] = messaging()
    for key, value in (change or {}).items():
        plan["messaging"][key] = value
    plan["duty"]["rota_file"] = str(REPO / "contacts" / "duty-rota.csv")
    for feed in plan.get("feeds", []):
        if "path" in feed:
            feed["path"] = str(REPO / feed["path"])
    (folder / "config").mkdir(parents=True, exist_ok=True)
    path = folder / "config" / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_roster(folder: Path) -> Path:
    with (REPO / "contacts" / "roster.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["phone"] = FOREIGN.get(row["id"], row["phone"])
    path = folder / "roster.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def templates_of(config: dict[str, Any]) -> dict[str, str]:
    return {t["code"]: t["body"] for t in config.values()}


@contextmanager
def stubs() -> Iterator[tuple[AlibabaStubServer, TwilioStubServer]]:
    aliyun = messaging()["gateways"]["aliyun"]
    voice = templates_of(aliyun["voice_templates"]) | {aliyun["confirmed_voice"]: "已确认，谢谢。"}
    with AlibabaStubServer(templates=templates_of(aliyun["templates"]), voice_templates=voice) as alibaba, \
            TwilioStubServer(auth_token=TWILIO_TOKEN) as twilio:
        yield alibaba, twilio


def cn_context(url: str, clock: FakeClock, folder: Path, alibaba: AlibabaStubServer | None,
               twilio: TwilioStubServer | None, change: dict[str, Any] | None = None, **overrides: Any) -> AppContext:
    values: dict[str, Any] = {
        "database_url": url, "plan_file": write_plan(folder, change), "roster_file": write_roster(folder),
        "gateway": "fake",
        "public_url": PUBLIC_URL, "send_rate_per_second": 0, "retry_base_seconds": 60,
        "alibaba_access_key_id": ACCESS_KEY_ID, "alibaba_access_key_secret": ACCESS_KEY_SECRET,
        "alibaba_sms_endpoint": alibaba.endpoint if alibaba else None,
        "alibaba_vms_endpoint": alibaba.endpoint if alibaba else None, "alibaba_protocol": "http",
        "alibaba_callback_token": TOKEN,
        "twilio_account_sid": twilio.account_sid if twilio else None, "twilio_auth_token": TWILIO_TOKEN,
        "twilio_from_number": "+14155550100", "twilio_api_base_url": twilio.url if twilio else None}
    values.update(overrides)
    ctx = AppContext(Settings(_env_file=None, **values), clock=clock)  # type: ignore[call-arg]
    init_database(ctx)
    import_contacts(ctx, ctx.settings.roster_file)
    return ctx
