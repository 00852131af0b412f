"""From the database to the messages: the audit trail and the plan snapshot, read back on SQLite and
PostgreSQL (whose JSONB reorders keys), give exactly the messages the pure core makes of the same history."""

from __future__ import annotations

import json
from datetime import timedelta

from cap_support import declare, sample_plan

from responder.app.cap_export import incident_messages
from responder.cap.xml_writer import to_xml
from responder.domain.cap import CapIncident, build_messages
from responder.domain.clock import FakeClock
from responder.domain.level_history import LevelEvent
from responder.domain.plan import Plan
from responder.wiring import AppContext


def test_stored_history_gives_the_same_bytes_as_the_core(ctx: AppContext, clock: FakeClock) -> None:
    start = clock.now()
    found = declare(ctx, clock)
    stored = incident_messages(ctx, found.flood)
    hour = timedelta(hours=1)
    history = (LevelEvent(start, "raised", None, 3, "duty officer", "龙河水位接近警戒线"),
               LevelEvent(start + hour, "upgraded", 3, 1, "duty officer", "上游溃坝"),
               LevelEvent(start + 3 * hour, "downgraded", 1, 2, "duty officer", "dam breach contained"),
               LevelEvent(start + 10 * hour, "ended", 2, None, "duty officer", "洪水退去"))
    code = stored.code
    expected = build_messages(sample_plan(), CapIncident(found.flood, code, "flood", False, start, history))
    assert [to_xml(m) for m in stored.messages] == [to_xml(m) for m in expected]
    drill = incident_messages(ctx, found.drill)
    assert drill.is_drill and [m.status for m in drill.messages] == ["Exercise"]


def test_the_plan_snapshot_round_trips_with_its_cap_section_and_geometry() -> None:
    plan = sample_plan()
    again = Plan.model_validate(json.loads(json.dumps(plan.model_dump(mode="json"), sort_keys=True)))
    assert again == plan
    assert plan.evacuation_zones[0].geometry is not None
    ring = plan.evacuation_zones[0].geometry.polygon
    assert ring is not None and ring[0] == ring[-1] and len(ring) == 5, "closed for the author"
    assert plan.stations[0].location == (29.9563, 108.1331)
