"""Extracting the after-action report from the database: :func:`build_report`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from responder.app.cap_export import issued
from responder.app.context import AppContext
from responder.domain.cap import message_level
from responder.domain.errors import InputError, NotFound, Problem
from responder.domain.response_times import CallOut, callouts, group_response
from responder.reports import figures, gaps, rain, story
from responder.reports.model import (
    AckInfo,
    CapIssued,
    ChainUse,
    Gap,
    GroupFigures,
    IncidentInfo,
    LevelChange,
    LevelSpan,
    LevelStyle,
    PersonFigures,
    RainThreshold,
    RainTotals,
    ReplyInfo,
    ReportData,
    StationSeries,
    StepFigures,
    Threshold,
)
from responder.reports.readings import Reading, ReadingsSource, load_readings
from responder.reports.snapshot import SnapshotView, local, number, roster_groups
from responder.storage.callouts import history as callout_history
from responder.storage.incidents import handled_replies
from responder.storage.models import (
    AcknowledgementRow,
    AuditEventRow,
    EscalationStepRow,
    InboundMessageRow,
    IncidentRow,
    OutboxRow,
    RecipientRow,
)

HANDLED_REPLIES = ("confirmed", "acknowledged", "duplicate", "repeat")
"""Inbound outcomes that were confirmations; every other reply is shown to the reader."""
REACHED = ("sent", "delivered")
FAILED = ("failed", "undelivered")
THRESHOLD_KEYS = ("warning_level", "guaranteed_level")
MAX_STATIONS = 8
"""Stations charted (and read): those the incidents' evidence names first, then the plan's order."""
THRESHOLD_NAMES = {"warning_level": "warning level 警戒水位", "guaranteed_level": "guaranteed level 保证水位"}


def build_report(ctx: AppContext, incident_ids: Sequence[int], title: str | None = None,
                 language: str | None = None, readings: ReadingsSource | None = None) -> ReportData:
    """Everything the report shows about ``incident_ids`` (one incident, or the incidents of one drill run)."""
    ids = sorted(set(incident_ids))
    if not ids:
        raise InputError(Problem("name at least one incident", field="INCIDENT"))
    ctx.require_schema()
    with ctx.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(IncidentRow).where(IncidentRow.id.in_(ids)))}
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"no incident {', '.join('#' + str(i) for i in missing)}")
        incidents = [rows[i] for i in ids]
        views = {i.id: SnapshotView(i.plan_snapshot) for i in incidents}
        first = views[ids[0]]
        lang = language or first.default_language
        now = ctx.clock.now()
        builder = _Builder(session, lang, views, now)
        for incident in incidents:
            builder.add(incident)
        builder.finish()
    start = min(i.raised_at for i in incidents)
    end = builder.end
    margin = figures.readings_margin(start, end)
    stations = _stations(ctx, first, lang, readings or load_readings, start - margin, end + margin,
                         builder.mentioned)
    return ReportData(
        title=title or _title(incidents, views, lang),
        language=lang,
        timezone=first.timezone,
        start=start,
        end=end,
        incidents=tuple(builder.incidents),
        groups=tuple(builder.groups),
        people=tuple(builder.people),
        steps=tuple(builder.steps),
        chain=tuple(builder.chain),
        acks=tuple(builder.acks),
        unreachable=tuple(p for p in builder.people if p.unreachable),
        never_answered=tuple(p for p in builder.people
                             if p.called_out and p.confirmed_at is None and not p.unreachable),
        slow=tuple(figures.slow_responders(builder.people, builder.changes,
                                           lambda iid, level: views[iid].confirm_within(level))),
        replies=tuple(builder.replies),
        gaps=tuple(builder.gaps),
        stations=tuple(stations),
        level_spans=tuple(builder.spans),
        level_styles=tuple(LevelStyle(n, first.level_colour(n), first.level_name(n, lang), first.level_name(n, "en"))
                           for n in (4, 3, 2, 1)),
        overall=figures.overall(builder.people, {i.id: i.raised_at for i in incidents}),
        marks=tuple(builder.marks),
        texts=tuple(builder.texts),
        decisions=tuple(builder.decisions),
        cap_messages=tuple(CapIssued(iid, m.identifier, m.msg_type, m.status, m.sent_at, message_level(m))
                           for iid, m in issued(ctx, ids)),
    )


def _title(incidents: Sequence[IncidentRow], views: Mapping[int, SnapshotView], lang: str) -> str:
    first = views[incidents[0].id]
    hazards = " + ".join(dict.fromkeys(views[i.id].hazard_name(i.hazard, lang) for i in incidents))
    codes = ", ".join(f"#{i.id} {i.code}" for i in incidents)
    drill = "DRILL 演练 · " if any(i.is_drill for i in incidents) else ""
    return f"{drill}{first.area_name(lang)} {hazards} — after-action report 总结报告 ({codes})"


class _Builder:
    """Collects the figures of each incident in turn, then the gaps that show across them."""

    def __init__(self, session: Session, language: str, views: Mapping[int, SnapshotView], now: datetime) -> None:
        self.session, self.lang, self.views, self.now = session, language, views, now
        self.incidents: list[IncidentInfo] = []
        self.groups: list[GroupFigures] = []
        self.people: list[PersonFigures] = []
        self.steps: list[StepFigures] = []
        self.chain: list[ChainUse] = []
        self.acks: list[AckInfo] = []
        self.replies: list[ReplyInfo] = []
        self.gaps: list[Gap] = []
        self.spans: list[LevelSpan] = []
        self.changes: dict[int, list[LevelChange]] = {}
        self.rows: list[IncidentRow] = []
        self.end: datetime = now
        self.marks: list[story.Mark] = []
        self.texts: list[story.SentText] = []
        self.decisions: list[story.DecisionEntry] = []
        self.mentioned: list[str] = []
        """Every string in the evidence of the incidents' audit events, in order (station ids among them)."""

    def add(self, incident: IncidentRow) -> None:
        s, view, lang = self.session, self.views[incident.id], self.lang
        self.rows.append(incident)
        events = list(s.scalars(select(AuditEventRow).where(AuditEventRow.incident_id == incident.id)
                                .order_by(AuditEventRow.at, AuditEventRow.id)))
        changes = figures.level_changes(incident.id, [(e.at, e.kind, e.actor, e.reason, e.evidence or {})
                                                      for e in events])
        self._story(incident, events)
        self.changes[incident.id] = changes
        for e in events:
            self.mentioned.extend(_strings(e.evidence))
        recipients = list(s.scalars(select(RecipientRow).where(RecipientRow.incident_id == incident.id)
                                    .order_by(RecipientRow.id)))
        outbox = s.execute(select(OutboxRow.person_id, OutboxRow.status, OutboxRow.kind, OutboxRow.channel,
                                  OutboxRow.created_at).where(OutboxRow.incident_id == incident.id)
                           .order_by(OutboxRow.id)).all()
        steps = list(s.scalars(select(EscalationStepRow).where(EscalationStepRow.incident_id == incident.id)
                               .order_by(EscalationStepRow.due_at, EscalationStepRow.level, EscalationStepRow.round,
                                         EscalationStepRow.step_index)))
        acks = list(s.scalars(select(AcknowledgementRow).where(AcknowledgementRow.incident_id == incident.id)
                              .order_by(AcknowledgementRow.at, AcknowledgementRow.id)))
        people = self._people(incident, recipients, outbox)
        self.people.extend(people)
        self._groups(incident, view, people, acks)
        self._steps(incident, view, steps, outbox)
        names = {p.person_id: p.name for p in people}
        seen: set[str] = set()
        for a in acks:
            self.acks.append(AckInfo(incident.id, a.person_id, names.get(a.person_id, a.person_id), a.at, a.channel,
                                     a.by, a.person_id not in seen))
            seen.add(a.person_id)
        self._replies(incident, recipients, names)
        end = incident.ended_at or self.now
        self.spans.extend(figures.level_spans(changes, end, view.level_colour))
        by_kind = Counter(kind for _, _, kind, _, _ in outbox)
        by_status = Counter(status for _, status, _, _, _ in outbox)
        levels = [c.to_level for c in changes if c.to_level is not None] or [incident.level]
        self.incidents.append(IncidentInfo(
            id=incident.id, code=incident.code, hazard=incident.hazard, hazard_name=view.hazard_name(incident.hazard,
                                                                                                     lang),
            area_name=view.area_name(lang), is_drill=incident.is_drill, status=incident.status,
            reason=incident.reason, raised_by=incident.raised_by, raised_at=incident.raised_at,
            ended_at=incident.ended_at, level=incident.level, most_severe=min(levels), changes=tuple(changes),
            messages_by_kind=tuple(sorted(by_kind.items())), messages_by_status=tuple(sorted(by_status.items())),
            recipients=len(recipients)))
        roster = roster_groups(incident.roster_snapshot)
        called_groups = [g.group for g in self.groups if g.incident_id == incident.id]
        self.gaps.extend(gaps.missing_heads(incident.id, called_groups, roster, lambda g: view.group_name(g, lang)))
        self.gaps.extend(gaps.shared_people(people, lambda g: view.group_name(g, lang)))
        self.gaps.extend(gaps.short_groups([g for g in self.groups if g.incident_id == incident.id]))

    def finish(self) -> None:
        ends = [r.ended_at or self.now for r in self.rows]
        self.end = max(ends)
        self.gaps.extend(gaps.double_calls(self._calls(), [r.id for r in self.rows]))
        order = {"no_leader": 0, "no_deputy": 1, "headcount_not_reached": 2, "shared_person": 3, "two_incidents": 4}
        self.gaps.sort(key=lambda g: (order.get(g.kind, 9), g.incident_id or 0, g.subject))

    # -- pieces -----------------------------------------------------------------------------------------------
    def _story(self, incident: IncidentRow, events: Sequence[AuditEventRow]) -> None:
        """The chart's marks, the decision log and the texts people received."""
        told = [(e.at, e.kind, e.actor, e.summary, e.reason, e.evidence or {}) for e in events]
        self.marks.extend(story.marks(incident.id, told))
        self.decisions.extend(story.decisions(incident.id, told))
        self.texts.extend(story.sent_texts(incident.id, self.session.execute(story.TEXTS, {"incident": incident.id})
                                           .all(), REACHED))

    def _people(self, incident: IncidentRow, recipients: Sequence[RecipientRow],
                outbox: Sequence[Any]) -> list[PersonFigures]:
        mine: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for pid, status, _kind, channel, _at in outbox:
            if pid and status != "cancelled":
                mine[pid].append((status, channel))
        out = []
        calls = callout_history(self.session, incident.id)
        for r in recipients:
            assignments = [a for a in (r.assignments or []) if isinstance(a, dict)]
            messages = mine.get(r.person_id, [])
            called = story.called(calls.get(r.person_id, []), assignments, r.called_at, r.called_level)
            out.append(PersonFigures(
                incident_id=incident.id, person_id=r.person_id, name=r.name, groups=called.groups,
                chain=tuple(dict.fromkeys(str(a["chain"]) for a in assignments if a.get("chain"))),
                zones=called.zones, called_at=called.at, called_level=called.levels[0], called_levels=called.levels,
                confirmed_at=r.confirmed_at,
                confirmed_channel=r.confirmed_channel, confirmed_by=r.confirmed_by, messages=len(messages),
                reached=sum(1 for st, _ in messages if st in REACHED),
                failed=sum(1 for st, _ in messages if st in FAILED),
                channels=tuple(sorted({ch for _, ch in messages}))))
        return out

    def _groups(self, incident: IncidentRow, view: SnapshotView, people: Sequence[PersonFigures],
                acks: Sequence[AcknowledgementRow]) -> None:
        members: dict[str, list[PersonFigures]] = defaultdict(list)
        for p in people:
            for g in p.groups:
                members[g].append(p)
        calls = self._callouts(incident)
        confirmations: dict[str, list[datetime]] = defaultdict(list)
        for p in people:
            if p.confirmed_at is not None:
                confirmations[p.person_id].append(p.confirmed_at)
        for a in acks:
            confirmations[a.person_id].append(a.at)
        for pid, at in handled_replies(self.session, incident.id, HANDLED_REPLIES):
            confirmations[pid].append(at)
        order = {g: i for i, g in enumerate(view.group_order)}
        for group in sorted(members, key=lambda g: (order.get(g, len(order)), g)):
            ids = {p.person_id for p in members[group]}
            mine = [c for c in calls if c.group == group and c.person_id in ids]
            found = {c.person_id for c in mine}
            mine += [CallOut(p.person_id, group, p.called_at) for p in members[group] if p.person_id not in found]
            response = group_response(group, mine, confirmations, view.headcount(group))
            self.groups.append(figures.group_figures(incident.id, group, view.group_name(group, self.lang),
                                                     members[group], response))

    def _callouts(self, incident: IncidentRow) -> list[CallOut]:
        """Each group's call of each person, from the level changes and the plan and roster it was declared under."""
        from responder.app.alerts import snapshot_of
        from responder.domain.callout import called_at

        plan, roster = snapshot_of(incident)
        wanted: dict[int, dict[str, list[str]]] = {}

        def at_level(level: int) -> dict[str, list[str]]:
            if level not in wanted:
                wanted[level] = {t.contact.id: [g for g, _ in t.roles]
                                 for t in called_at(plan, roster, incident.hazard, level)}
            return wanted[level]

        return callouts([(c.at, c.to_level) for c in self.changes[incident.id]], at_level)

    def _steps(self, incident: IncidentRow, view: SnapshotView, steps: Sequence[EscalationStepRow],
               outbox: Sequence[Any]) -> None:
        mine = []
        for st in steps:
            result = st.result or {}
            count = result.get("messages")
            mine.append(StepFigures(
                incident_id=incident.id, level=st.level, round=st.round, step_index=st.step_index, action=st.action,
                chain_step=st.chain_step, chain_name=view.chain_name(st.chain_step, self.lang) if st.chain_step
                else None, due_at=st.due_at, after=st.due_at - incident.raised_at, status=st.status,
                done_at=st.done_at, messages=count if isinstance(count, int) else 0,
                detail=str(result.get("detail") or result.get("why") or st.done_by or ""),
                to=tuple(str(x) for x in result.get("to") or ())))
        self.steps.extend(mine)
        told: dict[str, list[datetime]] = defaultdict(list)
        for pid, _status, kind, _channel, at in outbox:
            if kind == "inform_chain" and pid:
                told[pid].append(at)
        by_rung: dict[str, list[datetime]] = defaultdict(list)
        for person in self.people:
            if person.incident_id == incident.id:
                for rung in person.chain:
                    by_rung[rung].extend(told.get(person.person_id, []))
        informed = {rung: (min(times), len(times)) for rung, times in by_rung.items() if times}
        self.chain.extend(figures.chain_uses(incident.id, mine, informed, lambda c: view.chain_name(c, self.lang)))

    def _replies(self, incident: IncidentRow, recipients: Sequence[RecipientRow], names: Mapping[str, str]) -> None:
        phones = {r.phone for r in recipients}
        end = incident.ended_at or self.now
        query = select(InboundMessageRow).where(
            InboundMessageRow.outcome.not_in(HANDLED_REPLIES),
            or_(InboundMessageRow.incident_id == incident.id,
                InboundMessageRow.incident_id.is_(None) & InboundMessageRow.from_number.in_(phones)
                & (InboundMessageRow.received_at >= incident.raised_at) & (InboundMessageRow.received_at <= end)),
        ).order_by(InboundMessageRow.received_at, InboundMessageRow.id)
        known = {(r.incident_id, r.received_at, r.body) for r in self.replies}
        for m in self.session.scalars(query):
            if (m.incident_id, m.received_at, m.body) in known:
                continue
            self.replies.append(ReplyInfo(m.incident_id, m.received_at, m.person_id,
                                          names.get(m.person_id or "", m.person_id or "?"), m.from_number, m.body,
                                          m.outcome))

    def _calls(self) -> list[gaps.Call]:
        """Every person called by a report incident or by any incident overlapping one in time."""
        start = min(r.raised_at for r in self.rows)
        end = max(r.ended_at or self.now for r in self.rows)
        others = self.session.execute(
            select(IncidentRow.id, IncidentRow.code, IncidentRow.raised_at, IncidentRow.ended_at)
            .where(IncidentRow.raised_at <= end, or_(IncidentRow.ended_at.is_(None), IncidentRow.ended_at >= start))
        ).all()
        windows = {iid: (code, raised, ended or self.now) for iid, code, raised, ended in others}
        calls = []
        rows = self.session.execute(select(RecipientRow.incident_id, RecipientRow.person_id, RecipientRow.name,
                                           RecipientRow.called_at, RecipientRow.assignments)
                                    .where(RecipientRow.incident_id.in_(list(windows)))).all()
        for iid, pid, name, called_at, assignments in rows:
            if not any(isinstance(a, dict) and (a.get("group") or a.get("zone")) for a in assignments or []):
                continue
            code, _raised, ended = windows[iid]
            calls.append(gaps.Call(iid, code, pid, name, called_at, ended))
        return calls


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _stations(ctx: AppContext, view: SnapshotView, lang: str, source: ReadingsSource, start: datetime,
              end: datetime, mentioned: Sequence[str]) -> list[StationSeries]:
    named = set(mentioned)
    every = view.stations()
    stations = ([s for s in every if str(s["id"]) in named] + [s for s in every if str(s["id"]) not in named])
    stations = stations[:MAX_STATIONS]
    if not stations:
        return []
    ids = [str(s["id"]) for s in stations]
    rules = view.rules()
    rain_limits = {str(s["id"]): rain.rain_thresholds(rules, str(s["id"]), str(s.get("kind") or ""),
                                                      view.level_colour) for s in stations}
    # the windows of the rules that apply; a rain gauge no rule names gets the plan's default window
    windows = {str(s["id"]): rain.windows(rain_limits[str(s["id"])])
               or ((rain.DEFAULT_WINDOW,) if s.get("kind") == rain.RAIN_STATION_KIND else ()) for s in stations}
    lead_ids = [sid for sid in ids if windows[sid]]
    with ctx.sessions() as session:
        found = source(session, ids, start, end)
        if lead_ids:  # a rolling total at the first reading shown counts the rain of the window before it
            lead = max(w for sid in lead_ids for w in windows[sid])
            wanted = set(lead_ids)
            earlier = [r for r in source(session, lead_ids, start - lead, start)
                       if r.station_id in wanted and r.at < start]
        else:
            earlier = []
    series: dict[tuple[str, str], list[Reading]] = defaultdict(list)
    for r in found:
        series[(r.station_id, r.quantity)].append(r)
    before: dict[tuple[str, str], list[Reading]] = defaultdict(list)
    for r in earlier:
        before[(r.station_id, r.quantity)].append(r)
    out = []
    for station in stations:
        sid = str(station["id"])
        thresholds = _thresholds(station)
        name = local(station.get("name"), lang, view.default_language) or sid
        name_en = local(station.get("name"), "en") or sid
        kind = str(station.get("kind") or "")
        for (station_id, quantity), points in sorted(series.items()):
            if station_id != sid:
                continue
            unit = next((p.unit for p in points if p.unit), str(station.get("unit") or ""))
            shown = tuple((p.at, p.value) for p in sorted(points, key=lambda p: p.at))
            one = StationSeries(sid, name, name_en, kind, quantity, unit, thresholds, shown)
            if one.is_rain:
                one = replace(one, rain_totals=_rain_totals(shown, before.get((sid, quantity), []),
                                                            windows[sid] or (rain.DEFAULT_WINDOW,),
                                                            rain_limits[sid]))
            out.append(one)
    return out


def _rain_totals(shown: Sequence[tuple[datetime, float]], earlier: Sequence[Reading],
                 windows: Sequence[timedelta], limits: Sequence[RainThreshold]) -> tuple[RainTotals, ...]:
    """The rolling total of each window at each reading shown, counting the earlier readings too."""
    since = shown[0][0]
    every = [(r.at, r.value) for r in earlier if r.at < since] + list(shown)
    return tuple(RainTotals(w, tuple(t for t in limits if t.window == w),
                            tuple(rain.rolling_totals(every, w, since=since))) for w in windows)


def _thresholds(station: Mapping[str, Any]) -> tuple[Threshold, ...]:
    """warning_level, guaranteed_level, then any other numeric *_level / *_mm key, as the plan gives them."""
    keys = [k for k in THRESHOLD_KEYS if k in station]
    keys += sorted(k for k in station if isinstance(k, str) and k not in THRESHOLD_KEYS
                   and (k.endswith("_level") or k.endswith("_mm")))
    out = []
    for key in keys:
        value = number(station.get(key))
        if value is not None:
            out.append(Threshold(key, THRESHOLD_NAMES.get(key, key.replace("_", " ")), value))
    return tuple(out)
