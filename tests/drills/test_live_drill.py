"""Live drills: `responder drill start --live` over the real Twilio SDK to the local Twilio-compatible server, on a
real SQLite database; every message marked, the incident flagged as a drill wherever it is shown, `drill end`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from drill_support import MARKERS, Invoke, cli, context, global_options, incidents, outbox
from process_support import FROM
from sqlalchemy import select
from typer.testing import Result

from responder.storage.models import RecipientRow
from responder.testing import TwilioStubServer
from responder.testing.twilio_server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'responder.db'}"


@pytest.fixture
def run(stub: TwilioStubServer, db_url: str, tmp_path: Path) -> Iterator[Invoke]:
    """The CLI on a set-up database, sending through Twilio's SDK to the stub."""
    env = {"RESPONDER_GATEWAY": "twilio", "RESPONDER_TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
           "RESPONDER_TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN, "RESPONDER_TWILIO_FROM_NUMBER": FROM,
           "RESPONDER_TWILIO_API_BASE_URL": stub.url, "RESPONDER_SEND_RATE_PER_SECOND": "0"}
    with cli(tmp_path / "cwd", env) as invoke:
        def responder(*args: str) -> Result:
            return invoke(*global_options(db_url), *args)

        init = responder("init")
        assert init.exit_code == 0, init.output
        yield responder


def languages(db_url: str) -> dict[str, str]:
    """E.164 number → language, from the recipients the incidents recorded."""
    ctx = context(db_url, datetime.now(UTC))
    try:
        with ctx.sessions() as session:
            return {phone: lang for phone, lang in session.execute(select(RecipientRow.phone, RecipientRow.language))}
    finally:
        ctx.engine.dispose()


def unmarked_at_the_server(stub: TwilioStubServer, db_url: str) -> list[tuple[str, str]]:
    lang = languages(db_url)
    return [(m.to, m.body[:30]) for m in stub.messages if not m.body.startswith(MARKERS[lang[m.to]])]


def test_a_live_drill_marks_every_message_and_is_flagged_everywhere(run: Invoke, stub: TwilioStubServer,
                                                                     db_url: str) -> None:
    started = run("drill", "start", "--live", "--level", "3", "--yes")
    assert started.exit_code == 0, started.output
    found = re.search(r"incident #(\d+) \(code (\w+)\) started as a LIVE DRILL 演练: level 3, (\d+) recipients",
                      started.output)
    assert found, started.output
    incident_id, recipients = int(found.group(1)), int(found.group(3))
    assert re.search(rf"sent {recipients}, failed 0", started.output), started.output
    assert len(stub.messages) == recipients > 0
    assert {m.from_ for m in stub.messages} == {FROM}
    assert unmarked_at_the_server(stub, db_url) == []
    lang = languages(db_url)
    assert {lang[m.to] for m in stub.messages} == {"zh", "en"}, "both markers were exercised"

    listed = run("alert", "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if re.search(rf"^\W*{incident_id}\W", line))
    assert "DRILL 演练" in row and "open" in row
    as_json = json.loads(run("alert", "list", "--json").output)
    assert [(i["id"], i["is_drill"], i["status"]) for i in as_json] == [(incident_id, True, "open")]
    status = run("alert", "status", str(incident_id))
    assert status.exit_code == 0 and "【演练 DRILL】" in status.output, status.output
    assert json.loads(run("alert", "status", str(incident_id), "--json").output)["is_drill"] is True

    before = len(stub.messages)
    ended = run("drill", "end", "--yes")
    assert ended.exit_code == 0, ended.output
    assert re.search(rf"incident #{incident_id} \(code \w+\) drill ended", ended.output), ended.output
    stand_down = stub.messages[before:]
    assert len(stand_down) == recipients
    assert unmarked_at_the_server(stub, db_url) == []
    ctx = context(db_url, datetime.now(UTC))
    try:
        [incident] = incidents(ctx)
        assert (incident.is_drill, incident.status) == (True, "ended")
        assert {r.kind for r in outbox(ctx)} == {"callout", "standdown"}
        assert {r.status for r in outbox(ctx)} == {"sent"}
    finally:
        ctx.engine.dispose()
    again = run("drill", "end", "--yes")
    assert again.exit_code == 2 and "no drill is open" in again.output, again.output


def test_drill_start_without_live_refuses_and_writes_nothing(run: Invoke, stub: TwilioStubServer,
                                                             db_url: str) -> None:
    refused = run("drill", "start", "--level", "3", "--yes")
    assert refused.exit_code == 2, refused.output
    assert "refused" in refused.output and "--live" in refused.output
    assert stub.messages == [] and stub.request_count == 0
    ctx = context(db_url, datetime.now(UTC))
    try:
        assert incidents(ctx) == [] and outbox(ctx) == []
    finally:
        ctx.engine.dispose()


def test_drill_end_refuses_a_real_incident(run: Invoke, stub: TwilioStubServer, db_url: str) -> None:
    raised = run("alert", "raise", "--level", "4", "--reason", "龙河水位上涨", "--yes", "--no-send")
    assert raised.exit_code == 0, raised.output
    real_id = int(re.search(r"incident #(\d+)", raised.output).group(1))  # type: ignore[union-attr]
    refused = run("drill", "end", str(real_id), "--yes")
    assert refused.exit_code == 2, refused.output
    assert f"incident #{real_id} is not an open drill" in refused.output
    assert run("drill", "end", "--yes").exit_code == 2, "the real incident is not 'the only open drill'"
    ctx = context(db_url, datetime.now(UTC))
    try:
        [incident] = incidents(ctx)
        assert (incident.id, incident.is_drill, incident.status) == (real_id, False, "open")
        assert {r.kind for r in outbox(ctx)} == {"callout"}
        assert not any(r.body.startswith(tuple(MARKERS.values())) for r in outbox(ctx))
    finally:
        ctx.engine.dispose()
    assert stub.messages == []
