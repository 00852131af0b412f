"""Raising an alert: the preview, the one transaction that writes everything, and every refusal writing nothing."""

from __future__ import annotations

import math
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_support import (
    REASON,
    REPO,
    audit_kinds,
    callout_entry,
    english_speakers,
    execute_raw,
    expected_groups,
    expected_people,
    outbox,
    raw_roster,
    row_counts,
    same_engine,
)
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from responder.app.alerts import preview_raise, raise_alert
from responder.domain.errors import Conflict, InputError
from responder.storage.models import EscalationStepRow, IncidentRow, RecipientRow
from responder.wiring import AppContext


# -- preview ---------------------------------------------------------------------------------------------------------
def test_preview_lists_groups_people_and_each_distinct_text_per_language(sqlite_ctx: AppContext) -> None:
    before = row_counts(sqlite_ctx)
    preview = preview_raise(sqlite_ctx, "flood", 2, REASON)

    wanted = expected_groups("flood", 2)
    assert preview.groups == {g: len(ids) for g, ids in wanted.items()}
    assert preview.people == len(expected_people("flood", 2)) == 63
    assert preview.warnings == []
    assert sum(t.recipients for t in preview.texts) == 63
    assert {t.language for t in preview.texts} == {"zh", "en"}
    assert len({(t.kind, t.language, t.text) for t in preview.texts}) == len(preview.texts), "texts are distinct"
    # Chinese in the reason makes every text UCS-2, the English ones included.
    for t in preview.texts:
        units = len(t.text.encode("utf-16-le")) // 2
        assert (t.segments.encoding, t.segments.units) == ("UCS-2", units)
        assert t.segments.segments == (1 if units <= 70 else math.ceil(units / 67))
    assert row_counts(sqlite_ctx) == before, "a preview writes nothing"


def test_preview_counts_gsm7_for_plain_english_and_ucs2_for_chinese(sqlite_ctx: AppContext) -> None:
    preview = preview_raise(sqlite_ctx, "flood", 2, "Long River gauge 0.5 m over the warning line")
    english = [t for t in preview.texts if t.language == "en"]
    chinese = [t for t in preview.texts if t.language == "zh"]
    assert english and chinese
    assert sum(t.recipients for t in english) == len(english_speakers() & expected_people("flood", 2))
    for t in english:
        assert t.segments.encoding == "GSM-7"
        septets = len(t.text) + sum(t.text.count(c) for c in "[]")  # GSM-7's extended characters take two
        assert t.segments.units == septets
        assert t.segments.segments == (1 if septets <= 160 else math.ceil(septets / 153)) > 1
    for t in chinese:
        assert t.segments.encoding == "UCS-2"


@pytest.fixture
def tight_plan(tmp_path: Path) -> Path:
    """A copy of the plan whose +86 limit is 120 characters, with the rota beside it."""
    for folder in ("config", "contacts"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    plan = tmp_path / "config" / "plan.yaml"
    text = plan.read_text(encoding="utf-8")
    old = '{prefix: "+86", max_chars: 500, allow_urls: false}'
    assert text.count(old) == 1
    plan.write_text(text.replace(old, '{prefix: "+86", max_chars: 120, allow_urls: false}'), encoding="utf-8")
    return plan


def test_preview_warns_over_the_plans_limit_and_raise_refuses_writing_nothing(sqlite_ctx: AppContext,
                                                                             tight_plan: Path) -> None:
    ctx = same_engine(sqlite_ctx, plan_file=tight_plan)
    preview = preview_raise(ctx, "flood", 2, REASON)
    over = [t for t in preview.texts if t.warnings]
    assert over, "the English texts and the two-task texts are over 120 characters"
    assert all(len(t.text) > 120 for t in over)
    assert all(len(t.text) <= 120 for t in preview.texts if not t.warnings)
    assert all("over the 120 allowed for +86 numbers" in w for t in over for w in t.warnings)

    before = row_counts(ctx)
    with pytest.raises(InputError) as refused:
        raise_alert(ctx, "flood", 2, REASON, "tester")
    assert "Shorten the reason" in str(refused.value)
    assert row_counts(ctx) == before


# -- the one transaction ------------------------------------------------------------------------------------------
def test_raise_writes_incident_snapshots_recipients_audit_and_one_outbox_row_each(ctx: AppContext) -> None:
    outcome = raise_alert(ctx, "flood", 2, REASON, "duty officer 李乙")
    people = expected_people("flood", 2)
    assert (outcome.level, outcome.status, outcome.recipients, outcome.messages) == (2, "open", 63, 63)

    counts = row_counts(ctx)
    assert counts["incidents"] == 1 and counts["recipients"] == 63 and counts["outbox"] == 63
    assert counts["audit_events"] == 1 and counts["send_attempts"] == 0
    assert audit_kinds(ctx, outcome.incident_id) == ["raised"]

    rows = outbox(ctx, outcome.incident_id)
    assert {r.person_id for r in rows} == people
    assert len(rows) == len(people), "one outbox row per recipient and channel"
    assert {(r.kind, r.channel, r.status, r.attempts) for r in rows} == {("callout", "sms", "pending", 0)}
    now = ctx.clock.now()
    assert {r.created_at for r in rows} == {r.due_at for r in rows} == {now}
    assert {r.deadline_at - r.due_at for r in rows} == {timedelta(seconds=ctx.settings.send_deadline_seconds)}

    with ctx.sessions() as session:
        incident = session.get(IncidentRow, outcome.incident_id)
        assert incident is not None
        assert (incident.hazard, incident.area, incident.level, incident.status) == ("flood", "sanjian", 2, "open")
        assert incident.raised_at == now and incident.reason == REASON and incident.code == outcome.code
        assert incident.open_key == "sanjian:flood:live"
        assert incident.plan_snapshot["area"]["id"] == "sanjian"
        assert callout_entry("flood", 2)["groups"][0]["group"] == incident.plan_snapshot["hazards"][0]["callout"][2][
            "groups"][0]["group"]
        assert {p["id"] for p in incident.roster_snapshot} == set(raw_roster())
        recipients = list(session.scalars(select(RecipientRow).where(RecipientRow.incident_id == incident.id)))
        steps = list(session.scalars(select(EscalationStepRow).where(EscalationStepRow.incident_id == incident.id)))
    by_group: dict[str, set[str]] = {}
    for r in recipients:
        assert (r.called_level, r.called_at, r.confirmed_at) == (2, now, None)
        for a in r.assignments:
            by_group.setdefault(a["group"], set()).add(r.person_id)
    assert by_group == expected_groups("flood", 2)
    assert len(steps) == 7 * 2, "level 2's seven escalation steps, twice (repeat: 1)"
    assert {s.level for s in steps} == {2}


APPEND_BLOCKER = {
    "sqlite": ["CREATE TRIGGER test_no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'boom'); END"],
    "postgresql": [
        "CREATE FUNCTION test_no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER test_no_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_no_audit()",
    ],
}
APPEND_UNBLOCKER = {
    "sqlite": ["DROP TRIGGER test_no_audit"],
    "postgresql": ["DROP TRIGGER test_no_audit ON audit_events", "DROP FUNCTION test_no_audit()"],
}


def test_raise_is_all_or_nothing_when_the_last_write_fails(ctx: AppContext) -> None:
    """The database refuses the audit event (written last): no incident, recipient, outbox row or step is left."""
    dialect = ctx.engine.dialect.name
    for sql in APPEND_BLOCKER[dialect]:
        execute_raw(ctx, sql)
    before = row_counts(ctx)
    with pytest.raises(DBAPIError, match="boom"):
        raise_alert(ctx, "flood", 2, REASON, "tester")
    assert row_counts(ctx) == before

    for sql in APPEND_UNBLOCKER[dialect]:
        execute_raw(ctx, sql)
    assert raise_alert(ctx, "flood", 2, REASON, "tester").messages == 63


# -- messages per person ------------------------------------------------------------------------------------------
def test_each_person_gets_the_text_in_their_language_with_task_place_and_confirm_code(ctx: AppContext) -> None:
    outcome = raise_alert(ctx, "flood", 2, REASON, "tester")
    code = outcome.code
    rows = {r.person_id: r for r in outbox(ctx, outcome.incident_id)}
    english = english_speakers() & set(rows)
    assert english == {"T004", "K006"}
    for pid, row in rows.items():
        assert row.language == raw_roster()[pid].language
        assert REASON in row.body
        if pid in english:
            assert "orange warning, level 2" in row.body and f"Reply 1 {code} to confirm." in row.body
            assert "flood" in row.body and "Sanjian Township" in row.body
        else:
            assert "橙色预警（2级）" in row.body and f"回复 1 {code} 确认" in row.body
            assert "洪涝" in row.body and "三建乡" in row.body
        assert "http" not in row.body and len(row.body) <= 500
    assert "Your task: technical guidance on site, draw danger-zone boundaries. Go to: Long River embankment." in rows[
        "T004"].body
    assert "您的任务：全体抢险人员立即到现场待命。到：龙河大桥桥头。" in rows["R002"].body
    # C002 is command deputy and rescue leader: one SMS with both tasks and both places.
    assert "指挥组：到指挥部坐镇指挥，命令抢险队待命；抢险组：全体抢险人员立即到现场待命" in rows["C002"].body
    assert "到：乡防汛抗旱指挥部；龙河大桥桥头" in rows["C002"].body


# -- refusals: nothing written ------------------------------------------------------------------------------------
BAD_REASONS = [
    "水位超警戒线，详情见 http://sl.example.cn/now",
    "details: www.example.com/flood",
    "龙" * 301,
    "   ",
]
BAD_LEVELS = [
    (5, "flood", "unknown level 5"),
    (0, "flood", "unknown level 0"),
    (2, "tsunami", "unknown hazard 'tsunami' (the plan knows: flood, drought)"),
]


def test_bad_reasons_levels_and_hazards_are_refused_and_nothing_is_written(ctx: AppContext) -> None:
    """A reason with a URL (+86 forbids links), too long or empty; an unknown level or hazard."""
    before = row_counts(ctx)
    for reason in BAD_REASONS:
        with pytest.raises(InputError) as refused:
            raise_alert(ctx, "flood", 2, reason, "tester")
        assert refused.value.problems[0].field == "--reason", reason
    for level, hazard, message in BAD_LEVELS:
        with pytest.raises(InputError) as refused:
            raise_alert(ctx, hazard, level, REASON, "tester")
        assert message in str(refused.value)
    assert row_counts(ctx) == before


def test_the_same_hazard_while_one_is_open_is_refused_with_the_open_incidents_id(ctx: AppContext) -> None:
    first = raise_alert(ctx, "flood", 3, REASON, "tester")
    before = row_counts(ctx)
    with pytest.raises(Conflict, match=rf"#{first.incident_id} \(code {first.code}, level 3\)"):
        raise_alert(ctx, "flood", 1, "again", "someone else")
    assert row_counts(ctx) == before

    # Another hazard, or a drill of the same one, is a different incident with its own code.
    drought = raise_alert(ctx, "drought", 4, "连续20天无有效降雨", "tester")
    drill = raise_alert(ctx, "flood", 2, "演练", "tester", is_drill=True)
    assert len({first.code, drought.code, drill.code}) == 3
    marker = {"zh": "【演练】", "en": "[DRILL] "}
    assert all(r.body.startswith(marker[r.language]) for r in outbox(ctx, drill.incident_id))
    assert not any("演练" in r.body for r in outbox(ctx, first.incident_id))
