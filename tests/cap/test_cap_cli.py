"""``responder alert cap ID`` through the real CLI: files written and said where, one message printed
alone on standard output, the same bytes every time, and clear refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from cap_support import Incidents, make_key, plan_data, schema_errors
from typer.testing import Result

from responder.app.cap_export import incident_messages
from responder.cap.signing import verify
from responder.cap.xml_reader import parse
from responder.wiring import AppContext

Cli = Callable[..., Result]


def test_writes_every_message_and_says_where(cap_cli: Cli, sqlite_ctx: AppContext, incidents: Incidents,
                                             tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = cap_cli("alert", "cap", str(incidents.flood), "--out", str(out))
    assert result.exit_code == 0, result.output
    messages = incident_messages(sqlite_ctx, incidents.flood).messages
    files = sorted(out.iterdir())
    assert [f.name for f in files] == sorted(f"{m.identifier}.xml" for m in messages)
    assert f"4 CAP 1.2 message(s) written to {out}/" in result.stderr
    for m in messages:
        path = out / f"{m.identifier}.xml"
        assert str(path) in result.stderr
        assert schema_errors(path.read_bytes()) == [] and parse(path.read_bytes()) == m
    assert "Update level 1  sent 2027-07-01 10:00:00 CST" in result.stderr
    assert result.stdout == "", "nothing on standard output without --print"


def test_exporting_twice_gives_the_same_bytes(cap_cli: Cli, incidents: Incidents, tmp_path: Path) -> None:
    for folder in ("first", "second"):
        assert cap_cli("alert", "cap", str(incidents.flood), "--out", str(tmp_path / folder)).exit_code == 0
    first = {p.name: p.read_bytes() for p in (tmp_path / "first").iterdir()}
    second = {p.name: p.read_bytes() for p in (tmp_path / "second").iterdir()}
    assert first == second and len(first) == 4


def test_the_default_folder_is_cap_out(cap_cli: Cli, incidents: Incidents) -> None:
    result = cap_cli("alert", "cap", str(incidents.drill))
    assert result.exit_code == 0, result.output
    assert "(drill: status Exercise)" in result.stderr
    written = list(Path("cap-out").iterdir())
    assert len(written) == 1 and parse(written[0].read_bytes()).status == "Exercise"


def test_print_writes_one_message_alone_on_stdout(cap_cli: Cli, sqlite_ctx: AppContext,
                                                  incidents: Incidents) -> None:
    messages = incident_messages(sqlite_ctx, incidents.flood).messages
    for which, index in (("2", 1), ("last", 3), (messages[0].identifier, 0)):
        result = cap_cli("alert", "cap", str(incidents.flood), "--print", which)
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes.startswith(b"<?xml")
        assert parse(result.stdout_bytes) == messages[index]
        assert f"message {index + 1} of 4, {messages[index].msg_type} {messages[index].identifier}" in result.stderr
    assert not Path("cap-out").exists(), "--print alone writes no files"


def test_sign_uses_the_configured_key(cap_cli: Cli, incidents: Incidents, tmp_path: Path, monkeypatch) -> None:
    refused = cap_cli("alert", "cap", str(incidents.flood), "--sign", "--out", str(tmp_path / "s"))
    assert refused.exit_code == 2
    assert "--sign: error: no signing key is configured" in refused.stderr
    assert not (tmp_path / "s").exists()
    pair = make_key(tmp_path / "keys")
    monkeypatch.setenv("RESPONDER_CAP_SIGNING_KEY_FILE", str(pair.key_file))
    monkeypatch.setenv("RESPONDER_CAP_SIGNING_CERT_FILE", str(pair.cert_file))
    result = cap_cli("alert", "cap", str(incidents.flood), "--sign", "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    assert "4 CAP 1.2 message(s) signed written to" in result.stderr
    for path in (tmp_path / "s").iterdir():
        data = path.read_bytes()
        assert verify(data, pair.cert) is not None and schema_errors(data) == []


def test_refusals_are_located_and_exit_2(cap_cli: Cli, incidents: Incidents, tmp_path: Path) -> None:
    unknown = cap_cli("alert", "cap", "999")
    assert unknown.exit_code == 2 and "no incident #999" in unknown.stderr
    bad = cap_cli("alert", "cap", str(incidents.flood), "--print", "9")
    assert bad.exit_code == 2
    assert "--print: error: '9' is not one of this incident's messages: give 1 to 4" in bad.stderr
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    refused = cap_cli("alert", "cap", str(incidents.flood), "--out", str(blocked))
    assert refused.exit_code == 2 and "--out: error: cannot create the folder" in refused.stderr
    assert "Traceback" not in unknown.output + bad.output + refused.output


def test_an_incident_declared_without_a_cap_section_says_so(cap_cli: Cli, sqlite_ctx: AppContext,
                                                             tmp_path: Path) -> None:
    data = dict(plan_data())
    del data["cap"]
    plan = tmp_path / "config" / "plan.yaml"
    plan.parent.mkdir()
    plan.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (tmp_path / "contacts").symlink_to(Path(sqlite_ctx.settings.roster_file).parent)
    raised = cap_cli("alert", "raise", "--level", "4", "--hazard", "flood", "--reason", "test", "--yes",
                     "--no-send", plan=plan)
    assert raised.exit_code == 0, raised.output
    result = cap_cli("alert", "cap", "1")  # under the sample plan now: the snapshot decides
    assert result.exit_code == 2
    assert "cap: error: incident #1" in result.stderr and "without a cap: section" in result.stderr
