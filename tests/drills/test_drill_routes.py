"""The bundled drill through the plan's routes: every +86 number is routed to Alibaba Cloud with no SMS reply channel
(voice after the SMS), so the simulated people confirm by pressing 1 in the call, the texts are the provider's
templates with the drill marker as a parameter (演练：, never 【】), and status never says they did not reply."""

from __future__ import annotations

from pathlib import Path

from cn_support import write_plan
from drill_support import BUNDLED, ROSTER, context
from sqlalchemy import select

from responder.app.status import incident_status
from responder.drills.run import run_scenario
from responder.settings import Settings
from responder.storage.models import OutboxRow, RecipientRow
from responder.wiring import AppContext

NO_REPLIES = [{"prefix": "+86", "sms": "aliyun", "voice": "aliyun", "confirm": "voice_after_sms", "replies": False},
              {"prefix": "+", "sms": "twilio", "voice": "twilio"}]


def test_a_drill_confirmed_by_keypress(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, {"routes": NO_REPLIES})
    main = AppContext(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'main.db'}",  # type: ignore[call-arg]
                               plan_file=plan, roster_file=ROSTER, gateway="fake"))
    outcome = run_scenario(main, BUNDLED, tmp_path / "out")
    ctx = context(outcome.database, outcome.result.ended)
    with ctx.sessions() as session:
        rows = list(session.scalars(select(OutboxRow)))
        confirmed = list(session.scalars(select(RecipientRow).where(RecipientRow.confirmed_at.is_not(None))))
    callouts = [r for r in rows if r.kind == "callout" and r.channel == "sms"]
    assert callouts and all(r.body.startswith("演练：") and "【" not in r.body for r in callouts)
    assert {r.person_id for r in rows if r.kind == "voice"} >= {r.person_id for r in callouts}
    assert confirmed and {r.confirmed_channel for r in confirmed} <= {"voice", "phone"}
    for incident in outcome.result.incidents:
        for group in incident_status(ctx, incident).groups:
            assert group.not_confirmed == []  # no one here can reply: they await the call, they never "did not reply"
    ctx.engine.dispose()
