"""Fixtures of the offline-fallback tests: the real CLI on a database that holds the sample roster. The CLI helpers
are the alert tests' own: their folder is put on the import path here, not copied."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ALERTS = Path(__file__).resolve().parent.parent / "alerts"
if str(ALERTS) not in sys.path:
    sys.path.append(str(ALERTS))

from alerts_support import Cli, cli_runner  # noqa: E402

from responder.domain.clock import FakeClock  # noqa: E402


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: FakeClock) -> Iterator[Cli]:
    """``responder --db … --plan … --roster … ARGS`` on a database ``init`` set up (the sample roster loaded), in an
    empty folder, with no RESPONDER_* variables and the system clock at ``clock``."""
    for invoke in cli_runner(monkeypatch, tmp_path, clock):
        cli = Cli(f"sqlite:///{tmp_path / 'responder.db'}", invoke)
        init = cli("init")
        assert init.exit_code == 0, init.output
        yield cli
