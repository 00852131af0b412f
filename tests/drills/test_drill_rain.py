"""A storm listed as hourly totals, replayed on the plan's 15-minute rain gauge: the drill's rain is the
listed rain (it was four times that when the totals were interpolated), and the run says how it spread it."""

from __future__ import annotations

from pathlib import Path

import pytest
from drill_support import play
from sqlalchemy import func, select

from responder.storage.feed_models import ReadingRow

HOURS = [2.5, 5, 10, 20, 35, 50, 65, 80, 70, 55, 40, 30, 25, 20, 15, 10, 7, 6, 4, 2.5, 0.5]


def test_hourly_totals_on_a_15_minute_gauge_give_the_listed_sum(tmp_path: Path) -> None:
    values = "\n".join(f"      - {{at: {h + 1}h, value: {v}}}" for h, v in enumerate(HOURS))
    scenario = tmp_path / "storm-hours.yaml"
    scenario.write_text(f"""\
name: {{zh: 逐时雨量演练, en: hourly rain totals}}
start: "2027-07-10 06:00"
duration: 30h
series:
  - kind: listed
    station: rain-caisenba       # configured for 15 minutes: no `every`, so readings every 15 minutes
    rain: totals
    per: 1h
    values:
{values}
""", encoding="utf-8")
    played = play(scenario, tmp_path)
    with played.ctx.sessions() as session:
        total, count = session.execute(select(func.sum(ReadingRow.value), func.count()).where(
            ReadingRow.station == "rain-caisenba")).one()
    assert sum(HOURS) == 552.5
    assert total == pytest.approx(552.5, abs=1e-6)
    assert count == 4 * 30 + 1
    notes = played.outcome.result.notes
    assert "series 0 (rain-caisenba): rain totals over 1h spread over readings every 15m" in notes
    assert "series 0 (rain-caisenba): 552.5 mm listed, 552.5 mm in the drill; no rain after 21h" in notes
