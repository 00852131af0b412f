"""The after-action report assembled from the incidents' stored history: plain records in, plain figures out.

The use case (``responder.app.reports``) extracts the records (:mod:`responder.reports.records`); this module
turns them into :class:`~responder.reports.model.ReportData` without reading anything itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from responder.domain.callout import called_at
from responder.domain.response_times import CallOut, callouts, group_response
from responder.reports import figures, gaps, story
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
    ReplyInfo,
    ReportData,
    StationSeries,
    StepFigures,
)
from responder.reports.records import (
    CalloutRecord,
    IncidentHistory,
    IncidentRecord,
    Message,
    Overlap,
    RecipientRecord,
    StepRecord,
)
from responder.reports.snapshot import SnapshotView, roster_groups

HANDLED_REPLIES = ("confirmed", "acknowledged", "duplicate", "repeat")
"""Inbound outcomes that were confirmations; every other reply is shown to the reader."""
REACHED = ("sent", "delivered")
FAILED = ("failed", "undelivered")


def window(incidents: Sequence[IncidentRecord], now: datetime) -> tuple[datetime, datetime]:
    """The incidents' window: first raise to last stand-down (``now`` for one still open)."""
    return min(i.raised_at for i in incidents), max(i.ended_at or now for i in incidents)


class Assembly:
    """The report of some incidents from their histories, short of the station readings it charts."""

    def __init__(self, histories: Sequence[IncidentHistory], overlap: Overlap, now: datetime,
                 language: str | None = None) -> None:
        incidents = [h.incident for h in histories]
        self.views = {i.id: SnapshotView(i.plan_snapshot) for i in incidents}
        self.first = self.views[incidents[0].id]
        self.language = language or self.first.default_language
        self.incidents = incidents
        self.start, self.end = window(incidents, now)
        self._builder = _Builder(self.language, self.views, now)
        for history in histories:
            self._builder.add(history)
        self._builder.finish(overlap)

    @property
    def mentioned(self) -> list[str]:
        """Every string in the evidence of the incidents' audit events, in order (station ids among them)."""
        return self._builder.mentioned

    def report(self, stations: Sequence[StationSeries], title: str | None = None,
               cap_messages: Sequence[CapIssued] = ()) -> ReportData:
        b, views, first, lang = self._builder, self.views, self.first, self.language
        return ReportData(
            title=title or _title(self.incidents, views, lang),
            language=lang,
            timezone=first.timezone,
            start=self.start,
            end=self.end,
            incidents=tuple(b.incidents),
            groups=tuple(b.groups),
            people=tuple(b.people),
            steps=tuple(b.steps),
            chain=tuple(b.chain),
            acks=tuple(b.acks),
            unreachable=tuple(p for p in b.people if p.unreachable),
            never_answered=tuple(p for p in b.people
                                 if p.called_out and p.confirmed_at is None and not p.unreachable),
            slow=tuple(figures.slow_responders(b.people, b.changes,
                                               lambda iid, level: views[iid].confirm_within(level))),
            replies=tuple(b.replies),
            gaps=tuple(b.gaps),
            stations=tuple(stations),
            level_spans=tuple(b.spans),
            level_styles=tuple(LevelStyle(n, first.level_colour(n), first.level_name(n, lang),
                                          first.level_name(n, "en")) for n in (4, 3, 2, 1)),
            overall=figures.overall(b.people, {i.id: i.raised_at for i in self.incidents}),
            marks=tuple(b.marks),
            texts=tuple(b.texts),
            decisions=tuple(b.decisions),
            cap_messages=tuple(cap_messages),
        )


def _title(incidents: Sequence[IncidentRecord], views: Mapping[int, SnapshotView], lang: str) -> str:
    first = views[incidents[0].id]
    hazards = " + ".join(dict.fromkeys(views[i.id].hazard_name(i.hazard, lang) for i in incidents))
    codes = ", ".join(f"#{i.id} {i.code}" for i in incidents)
    drill = "DRILL 演练 · " if any(i.is_drill for i in incidents) else ""
    return f"{drill}{first.area_name(lang)} {hazards} — after-action report 总结报告 ({codes})"


class _Builder:
    """Collects the figures of each incident in turn, then the gaps that show across them."""

    def __init__(self, language: str, views: Mapping[int, SnapshotView], now: datetime) -> None:
        self.lang, self.views, self.now = language, views, now
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
        self.rows: list[IncidentRecord] = []
        self.marks: list[story.Mark] = []
        self.texts: list[story.SentText] = []
        self.decisions: list[story.DecisionEntry] = []
        self.mentioned: list[str] = []
        """Every string in the evidence of the incidents' audit events, in order (station ids among them)."""

    def add(self, history: IncidentHistory) -> None:
        incident, events, recipients, outbox = history.incident, history.events, history.recipients, history.messages
        view, lang = self.views[incident.id], self.lang
        self.rows.append(incident)
        changes = figures.level_changes(incident.id, [(e.at, e.kind, e.actor, e.reason, e.evidence or {})
                                                      for e in events])
        self._story(history)
        self.changes[incident.id] = changes
        for e in events:
            self.mentioned.extend(_strings(e.evidence))
        people = self._people(incident, recipients, outbox, history.callouts)
        self.people.extend(people)
        self._groups(history, view, people)
        self._steps(incident, view, history.steps, outbox)
        names = {p.person_id: p.name for p in people}
        seen: set[str] = set()
        for a in history.acks:
            self.acks.append(AckInfo(incident.id, a.person_id, names.get(a.person_id, a.person_id), a.at, a.channel,
                                     a.by, a.person_id not in seen))
            seen.add(a.person_id)
        self._replies(history, names)
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

    def finish(self, overlap: Overlap) -> None:
        self.gaps.extend(gaps.double_calls(self._calls(overlap), [r.id for r in self.rows]))
        order = {"no_leader": 0, "no_deputy": 1, "headcount_not_reached": 2, "shared_person": 3, "two_incidents": 4}
        self.gaps.sort(key=lambda g: (order.get(g.kind, 9), g.incident_id or 0, g.subject))

    # -- pieces -----------------------------------------------------------------------------------------------
    def _story(self, history: IncidentHistory) -> None:
        """The chart's marks, the decision log and the texts people received."""
        incident = history.incident
        told = [(e.at, e.kind, e.actor, e.summary, e.reason, e.evidence or {}) for e in history.events]
        self.marks.extend(story.marks(incident.id, told))
        self.decisions.extend(story.decisions(incident.id, told))
        self.texts.extend(story.sent_texts(incident.id, history.texts, REACHED))

    def _people(self, incident: IncidentRecord, recipients: Sequence[RecipientRecord], outbox: Sequence[Message],
                calls: Mapping[str, Sequence[CalloutRecord]]) -> list[PersonFigures]:
        mine: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for pid, status, _kind, channel, _at in outbox:
            if pid and status != "cancelled":
                mine[pid].append((status, channel))
        out = []
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

    def _groups(self, history: IncidentHistory, view: SnapshotView, people: Sequence[PersonFigures]) -> None:
        incident = history.incident
        members: dict[str, list[PersonFigures]] = defaultdict(list)
        for p in people:
            for g in p.groups:
                members[g].append(p)
        calls = self._callouts(history)
        confirmations: dict[str, list[datetime]] = defaultdict(list)
        for p in people:
            if p.confirmed_at is not None:
                confirmations[p.person_id].append(p.confirmed_at)
        for a in history.acks:
            confirmations[a.person_id].append(a.at)
        for pid, at in history.confirmations:
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

    def _callouts(self, history: IncidentHistory) -> list[CallOut]:
        """Each group's call of each person, from the level changes and the plan and roster it was declared under."""
        incident, plan, roster = history.incident, history.plan, history.roster
        wanted: dict[int, dict[str, list[str]]] = {}

        def at_level(level: int) -> dict[str, list[str]]:
            if level not in wanted:
                wanted[level] = {t.contact.id: [g for g, _ in t.roles]
                                 for t in called_at(plan, roster, incident.hazard, level)}
            return wanted[level]

        return callouts([(c.at, c.to_level) for c in self.changes[incident.id]], at_level)

    def _steps(self, incident: IncidentRecord, view: SnapshotView, steps: Sequence[StepRecord],
               outbox: Sequence[Message]) -> None:
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

    def _replies(self, history: IncidentHistory, names: Mapping[str, str]) -> None:
        """The replies that were not confirmations, each shown once however many incidents it concerns."""
        known = {(r.incident_id, r.received_at, r.body) for r in self.replies}
        for m in history.replies:
            if (m.incident_id, m.received_at, m.body) in known:
                continue
            self.replies.append(ReplyInfo(m.incident_id, m.received_at, m.person_id,
                                          names.get(m.person_id or "", m.person_id or "?"), m.from_number, m.body,
                                          m.outcome))

    def _calls(self, overlap: Overlap) -> list[gaps.Call]:
        """Every person called by a report incident or by any incident overlapping one in time."""
        windows = {iid: (code, raised, ended or self.now) for iid, code, raised, ended in overlap.windows}
        calls = []
        for iid, pid, name, called, assignments in overlap.called:
            if iid not in windows or not any(isinstance(a, dict) and (a.get("group") or a.get("zone"))
                                             for a in assignments or []):
                continue
            code, _raised, ended = windows[iid]
            calls.append(gaps.Call(iid, code, pid, name, called, ended))
        return calls


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []
