"""``responder report`` (the command function, mounted here on an app of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from report_scenario import PlayedFlood
from typer.testing import CliRunner, Result

from responder.cli.common import State, new_app
from responder.cli.report_cmd import report


@pytest.fixture
def invoke(flood_drill: PlayedFlood) -> Iterator[typer.Typer]:
    app = new_app("test")
    app.command("report")(report)
    app.command("other", hidden=True)(lambda: None)  # two commands: `report` stays a sub-command, as in main
    State.ctx = flood_drill.ctx
    try:
        yield app
    finally:
        State.ctx = None


def run(app: typer.Typer, *args: str) -> Result:
    return CliRunner().invoke(app, ["report", *args], catch_exceptions=False)


def test_writes_both_and_says_where(invoke: typer.Typer, flood_drill: PlayedFlood, tmp_path: Path) -> None:
    incident = flood_drill.drill.incident_id
    result = run(invoke, str(incident), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    base = tmp_path / "out" / f"report-incident-{incident}"
    for suffix in (".html", ".md", ".png"):
        assert base.with_suffix(suffix).is_file()
        assert str(base.with_suffix(suffix)) in result.output
    assert "48/63 confirmed" in result.output and "DRILL" in result.output


def test_html_only(invoke: typer.Typer, flood_drill: PlayedFlood, tmp_path: Path) -> None:
    result = run(invoke, str(flood_drill.drill.incident_id), "-o", str(tmp_path), "--format", "html",
                 "--title", "Spring drill")
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".html"]
    assert "<h1>Spring drill</h1>" in next(tmp_path.iterdir()).read_text(encoding="utf-8")


def test_unknown_incident(invoke: typer.Typer, tmp_path: Path) -> None:
    result = run(invoke, "999", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "no incident #999" in result.output
    assert not list(tmp_path.iterdir())
