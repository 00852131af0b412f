"""One feed cycle takes as long as its slowest feed, bounded by that feed's timeout (issue 22, point 2):
three feeds dripping a byte every 0.4 s hold ``feeds check`` about 2 s, not 6 s or forever."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from typer.testing import CliRunner

from responder.cli.main import app
from responder.testing.dripping_http import DrippingServer

REPO = Path(__file__).resolve().parents[2]


def test_slow_feeds_are_read_side_by_side_each_within_its_timeout(tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "contacts", tmp_path / "contacts")
    plan = tmp_path / "config" / "plan.yaml"
    with DrippingServer((REPO / "config" / "feeds" / "county-rain.csv").read_bytes()) as url:
        text = plan.read_text(encoding="utf-8")
        text = text.replace("    path: config/feeds/county-rain.csv\n", f"    url: {url}/slow.csv\n    timeout: 2s\n")
        text = text.replace("    path: config/feeds/county-river.csv\n",
                            f"    url: {url}/slow-head.csv\n    timeout: 2s\n")
        text = text.replace("  - id: duty-staff\n", f"  - id: third\n    kind: csv\n    url: {url}/slow-3.csv\n"
                                                    "    timeout: 2s\n  - id: duty-staff\n")
        plan.write_text(text, encoding="utf-8")
        base = ["--db", f"sqlite:///{tmp_path / 'r.db'}", "--plan", str(plan), "--roster",
                str(tmp_path / "contacts" / "roster.csv")]
        runner = CliRunner()
        assert runner.invoke(app, [*base, "init"]).exit_code == 0
        started = time.monotonic()
        checked = runner.invoke(app, [*base, "feeds", "check", "--json"])
        took = time.monotonic() - started
    assert checked.exit_code == 1, checked.output  # feeds failed: exit 1, the rules still ran
    errors = {f["feed"]: f["error"] for f in json.loads(checked.stdout)["feeds"]}
    assert set(errors) == {"county-rain", "county-river", "third"}
    assert all("within the feed's timeout of 2 s" in e for e in errors.values()), errors
    assert took < 5.0, f"feeds check took {took:.1f} s for three feeds of 2 s each"
