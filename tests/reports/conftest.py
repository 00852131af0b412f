"""Fixtures of the report tests: the known flood drill, played once for every test module that reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from report_scenario import SEASON_START, PlayedFlood, new_context, play_flood_drill

from responder.app.reports import build_report
from responder.domain.clock import FakeClock


@pytest.fixture(scope="session")
def flood_drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlayedFlood]:
    clock = FakeClock(SEASON_START)
    ctx = new_context(tmp_path_factory.mktemp("flood-drill"), clock)
    drill = play_flood_drill(ctx, clock)
    yield PlayedFlood(ctx, drill, build_report(ctx, [drill.incident_id]))
    ctx.engine.dispose()
