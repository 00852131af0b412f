"""The report's sections as titled tables of text: HTML and Markdown render the same ones, so both
formats always show the same figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from responder.reports import fmt, rain
from responder.reports.model import GroupFigures, PersonFigures, ReportData


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    marks: tuple[str, ...] = ()
    """Per row: '' or a mark the HTML colours (bad, warn, good, muted)."""


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    notes: tuple[str, ...] = ()
    table: Table | None = None
    empty: str = "none 无"


def _groups_of(person: PersonFigures) -> str:
    return ", ".join(person.groups + tuple(f"chain:{c}" for c in person.chain) + tuple(f"zone:{z}"
                                                                                          for z in person.zones))


def _inc(data: ReportData, incident_id: int | None) -> str:
    if incident_id is None:
        return fmt.NONE
    found = next((i for i in data.incidents if i.id == incident_id), None)
    return f"#{incident_id} {found.code}" if found else f"#{incident_id}"


def summary(data: ReportData) -> Section:
    z = data.zone
    o = data.overall
    done = sum(1 for s in data.steps if s.status == "done")
    skipped = sum(1 for s in data.steps if s.status == "skipped")
    cancelled = sum(1 for s in data.steps if s.status == "cancelled")
    short = [g for g in data.groups if g.reached_headcount is False]
    rows = [
        ("incidents 事件", ", ".join(f"#{i.id} {i.code} {i.hazard_name}{' (drill 演练)' if i.is_drill else ''}"
                                      for i in data.incidents)),
        ("from 开始", fmt.when(data.start, z)),
        ("to 结束", fmt.when(data.end, z) + ("" if all(i.ended_at for i in data.incidents)
                                              else " (still open 未结束)")),
        ("duration 历时", fmt.duration(data.end - data.start)),
        ("people called 调用人数", str(o.called)),
        ("confirmed 已确认", str(o.confirmed)),
        ("confirmation rate 确认率", fmt.rate(o.rate)),
        ("first confirmation 首次确认", fmt.duration(o.first_confirmation)),
        ("median time to confirm 确认用时中位数", fmt.duration(o.median, fmt.NONE)),
        ("90th percentile 90%分位", fmt.duration(o.p90, fmt.NONE)),
        ("groups short of headcount 人数未达标的组", ", ".join(f"{g.name} ({g.group})" for g in short) or fmt.NONE),
        ("unreachable 无法联系", str(len(data.unreachable))),
        ("never answered 未回复", str(len(data.never_answered))),
        ("slow responders 超时确认", str(len(data.slow))),
        ("escalation steps 升级步骤", f"{done} done 已执行, {skipped} skipped 跳过, {cancelled} cancelled 取消"),
        ("plan gaps 预案漏洞", str(len(data.gaps))),
    ]
    return Section("summary", "Summary 概要", table=Table(("", ""), tuple(rows)))


def incidents(data: ReportData) -> Section:
    z = data.zone
    rows, marks = [], []
    for i in data.incidents:
        by_kind = ", ".join(f"{k} {n}" for k, n in i.messages_by_kind)
        by_status = ", ".join(f"{k} {n}" for k, n in i.messages_by_status)
        rows.append((f"#{i.id}", i.code, i.hazard_name, "DRILL 演练" if i.is_drill else "real 实战", i.status,
                     fmt.when(i.raised_at, z), i.raised_by, i.reason, fmt.when(i.ended_at, z),
                     fmt.level(i.most_severe), str(i.recipients), by_kind, by_status))
        marks.append("warn" if i.is_drill else "")
    return Section("incidents", "Incidents 事件", table=Table(
        ("#", "code", "hazard", "kind", "status", "raised", "by", "reason", "ended", "most severe", "recipients",
         "messages by kind", "messages by status"), tuple(rows), tuple(marks)))


def level_history(data: ReportData) -> Section:
    z = data.zone
    rows = []
    for i in data.incidents:
        for c in i.changes:
            change = (f"{fmt.level(c.from_level)} → {fmt.level(c.to_level)}" if c.from_level and c.to_level
                      else fmt.level(c.to_level or c.from_level))
            style = data.style(c.to_level) if c.to_level else None
            colour = style.colour if style else ""
            rows.append((_inc(data, i.id), fmt.when(c.at, z), fmt.offset(c.at - i.raised_at),
                         fmt.CHANGE_KINDS.get(c.kind, c.kind), change, colour, c.actor, c.reason or ""))
    return Section("levels", "Declared level over time 预警级别变化", table=Table(
        ("incident", "time", "T+", "change", "level", "colour", "by", "reason"), tuple(rows)))


def cap_messages(data: ReportData) -> Section:
    rows = tuple((_inc(data, m.incident_id), m.identifier, m.msg_type, m.status, fmt.when(m.sent, data.zone),
                  fmt.level(m.level)) for m in data.cap_messages)
    return Section("cap", "Public warnings issued (CAP 1.2) 公共预警消息", table=Table(
        ("incident", "identifier", "msgType", "status", "sent", "level"), rows),
        empty="none: the plan has no cap: section 无（预案未配置公共预警）")


def _group_row(data: ReportData, g: GroupFigures) -> tuple[str, ...]:
    required = fmt.NONE if g.required is None else str(g.required)
    reached = fmt.NONE if g.required is None else fmt.duration(g.headcount_reached)
    return (_inc(data, g.incident_id), f"{g.name} ({g.group})", fmt.clock(g.called_at, data.zone), str(g.called),
            str(g.confirmed), fmt.rate(g.rate), fmt.duration(g.first_confirmation), required, reached,
            fmt.duration(g.median, fmt.NONE), fmt.duration(g.p90, fmt.NONE), fmt.names(g.not_confirmed))


def groups(data: ReportData) -> Section:
    rows = tuple(_group_row(data, g) for g in data.groups)
    marks = tuple("bad" if g.reached_headcount is False or g.confirmed == 0
                  else ("warn" if g.confirmed < g.called else "good") for g in data.groups)
    return Section("groups", "Confirmation by group 分组确认情况", notes=(
        "Times to confirm count from the group's call-out; the headcount is the plan's resources.teams "
        "requirement for the group; 'never' means it was not reached. 90th percentile by nearest rank.",),
        table=Table(("incident", "group", "called at", "called", "confirmed", "rate", "first confirmation",
                     "required", "headcount reached", "median", "p90", "not confirmed"), rows, marks))


def steps(data: ReportData) -> Section:
    z = data.zone
    rows, marks = [], []
    for s in data.steps:
        action = fmt.ACTIONS.get(s.action, s.action)
        if s.chain_step:
            action += f": {s.chain_name or s.chain_step}"
        rows.append((_inc(data, s.incident_id), fmt.level(s.level), str(s.round + 1), action, fmt.when(s.due_at, z),
                     fmt.offset(s.after), fmt.STEP_STATUS.get(s.status, s.status), fmt.when(s.done_at, z),
                     str(s.messages), s.detail))
        marks.append({"done": "warn", "skipped": "good", "cancelled": "muted"}.get(s.status, ""))
    used = sorted({fmt.ACTIONS.get(s.action, s.action) for s in data.steps if s.status == "done"})
    notes = ("Steps used 已执行: " + (", ".join(used) if used else "none 无"),
             "T+ counts from the raise of the incident; a step runs only for people who have not confirmed.")
    return Section("escalation", "Escalation steps 升级步骤", notes=notes, table=Table(
        ("incident", "level", "round", "step", "due", "T+", "status", "done at", "messages", "detail"),
        tuple(rows), tuple(marks)))


def chain(data: ReportData) -> Section:
    z = data.zone
    shown = [c for c in data.chain if c.outcome not in ("cancelled", "pending")]
    rows = tuple((_inc(data, c.incident_id), f"{c.name} ({c.chain_step})", fmt.CHAIN_OUTCOMES.get(c.outcome, c.outcome),
                  fmt.when(c.at, z), str(c.messages)) for c in shown)
    marks = tuple({"used": "warn", "skipped": "good"}.get(c.outcome, "") for c in shown)
    return Section("chain", "Reporting chain 逐级上报", notes=(
        "Which rungs had to be told, and which were skipped because the rung before answered "
        "(steps cancelled by the stand-down are in the escalation table).",), table=Table(
        ("incident", "rung", "outcome", "at", "messages"), rows, marks))


def _person_rows(data: ReportData, people: Sequence[PersonFigures]) -> tuple[tuple[str, ...], ...]:
    return tuple((_inc(data, p.incident_id), p.person_id, p.name, _groups_of(p), str(p.messages),
                  str(p.reached), str(p.failed), ", ".join(p.channels)) for p in people)


def unreachable(data: ReportData) -> Section:
    return Section("unreachable", "Unreachable people 无法联系的人员", notes=(
        "Every message to them failed or was undelivered.",), table=Table(
        ("incident", "person", "name", "groups", "messages", "reached", "failed", "channels"),
        _person_rows(data, data.unreachable)))


def never_answered(data: ReportData) -> Section:
    return Section("never", "Never answered 始终未回复", notes=(
        "Called and reachable, never confirmed.",), table=Table(
        ("incident", "person", "name", "groups", "messages", "reached", "failed", "channels"),
        _person_rows(data, data.never_answered)))


def slow(data: ReportData) -> Section:
    rows = tuple((_inc(data, s.incident_id), s.person_id, s.name, ", ".join(s.groups), fmt.level(s.level),
                  fmt.duration(s.deadline), fmt.duration(s.took), fmt.duration(s.took - s.deadline))
                 for s in data.slow)
    return Section("slow", "Slow responders 超时确认", notes=(
        "Confirmed after the level's confirm_within deadline in the plan's escalation policy.",), table=Table(
        ("incident", "person", "name", "groups", "level", "deadline", "took", "late by"), rows))


def replies(data: ReportData) -> Section:
    z = data.zone
    rows = tuple((fmt.when(r.received_at, z), _inc(data, r.incident_id), r.person_id or "?", r.name, r.from_number,
                  r.body, fmt.REPLY_OUTCOMES.get(r.outcome, r.outcome)) for r in data.replies)
    return Section("replies", "Replies that were not confirmations 非确认回复", table=Table(
        ("received", "incident", "person", "name", "from", "text", "outcome"), rows))


def acks(data: ReportData) -> Section:
    z = data.zone
    later = [a for a in data.acks if not a.first]
    rows = tuple((fmt.when(a.at, z), _inc(data, a.incident_id), a.person_id, a.name, a.channel, a.by)
                 for a in later)
    return Section("acks", "Escalation reports acknowledged 升级通报回复", notes=(
        "Acknowledgements after a person's own confirmation: answers to escalation reports.",), table=Table(
        ("at", "incident", "person", "name", "channel", "by"), rows))


def plan_gaps(data: ReportData) -> Section:
    rows = tuple((fmt.GAP_KINDS.get(g.kind, g.kind), _inc(data, g.incident_id), g.subject, g.detail)
                 for g in data.gaps)
    return Section("gaps", "Plan gaps found 发现的预案漏洞", table=Table(
        ("gap", "incident", "subject", "detail"), rows, tuple("bad" for _ in rows)))


def readings(data: ReportData) -> Section:
    z = data.zone
    rows = []
    for s in data.stations:
        if not s.points:
            continue
        peak = max(s.points, key=lambda p: (p[1], -p[0].timestamp()))
        total = sum(v for _, v in s.points)
        crossings = []
        for t in s.thresholds:
            above = next((at for at, v in s.points if v >= t.value), None)
            crossings.append(f"{t.label} {t.value:g}: " + (fmt.when(above, z) if above else "not reached 未达到"))
        for totals in s.rain_totals:  # the rolling total the rain rules compare, e.g. 24 h
            if totals.points:
                top = max(totals.points, key=lambda p: (p[1], -p[0].timestamp()))
                crossings.append(f"{rain.window_label(totals.window)} total peak {top[1]:g} at {fmt.when(top[0], z)}")
            for r in totals.thresholds:
                reached = rain.first_reaching(totals.points, r.value)
                crossings.append(f"{rain.threshold_label(r)}: "
                                 + (fmt.when(reached, z) if reached else "not reached 未达到"))
        rows.append((f"{s.name} ({s.station_id})", s.kind or fmt.NONE, s.quantity or fmt.NONE, s.unit or fmt.NONE,
                     str(len(s.points)), f"{peak[1]:g}", fmt.when(peak[0], z),
                     f"{total:g}" if s.is_rain else fmt.NONE, "; ".join(crossings) or fmt.NONE))
    notes: tuple[str, ...] = ()
    if any(s.rain_totals for s in data.stations if s.points):
        notes = ("Rain gauges: total is the rain of the readings shown; the plan's rain thresholds are compared "
                 "with the rolling window total its rules use (e.g. 24 h), as on the chart. "
                 "雨量阈值按规则的滑动时段累计雨量比较。",)
    return Section("readings", "Readings 监测数据", notes=notes, table=Table(
        ("station", "kind", "quantity", "unit", "readings", "peak", "peak at", "total", "thresholds"), tuple(rows)),
        empty="no readings for the plan's stations in this window 本时段无监测数据")


def people(data: ReportData) -> Section:
    z = data.zone
    rows, marks = [], []
    for p in data.people:
        took = p.time_to_confirm
        levels = " → ".join(fmt.level(n) for n in p.called_levels or (p.called_level,))
        rows.append((_inc(data, p.incident_id), p.person_id, p.name, _groups_of(p), fmt.when(p.called_at, z),
                     levels, fmt.when(p.confirmed_at, z), p.confirmed_channel or fmt.NONE,
                     fmt.duration(took, fmt.NONE), str(p.messages), str(p.reached), str(p.failed)))
        marks.append("bad" if p.unreachable else ("" if took is not None or not p.called_out else "warn"))
    return Section("people", "Everyone called 全部人员", table=Table(
        ("incident", "person", "name", "groups", "called", "levels", "confirmed", "channel", "took", "messages",
         "reached", "failed"), tuple(rows), tuple(marks)))


def decisions(data: ReportData) -> Section:
    z = data.zone
    rows = tuple((fmt.when(d.at, z), _inc(data, d.incident_id), d.actor, d.kind, d.summary, d.reason or fmt.NONE)
                 for d in data.decisions)
    return Section("decisions", "Decision log 决策记录", notes=(
        "Every decision in the audit trail, in order: proposals, declarations, level changes, escalation steps, "
        "reports, the stand-down (confirmations are counted above). 审计记录中的全部决策。",), table=Table(
        ("at", "incident", "by", "what", "summary", "reason"), rows))


def texts(data: ReportData) -> Section:
    z = data.zone
    rows = tuple((fmt.when(t.first_at, z), _inc(data, t.incident_id), t.kind, t.language, t.channel, str(t.people),
                  t.body) for t in data.texts)
    return Section("texts", "Texts people received 发出的通知内容", notes=(
        "Each distinct text that reached someone (sent or delivered), with how many people got it; a voice call "
        "shows what was read out. 每条不同的通知内容及收到人数。",), table=Table(
        ("first sent", "incident", "kind", "language", "channel", "people", "text"), rows))


def all_sections(data: ReportData) -> list[Section]:
    return [summary(data), incidents(data), level_history(data), decisions(data), cap_messages(data), groups(data),
            steps(data), chain(data), unreachable(data), never_answered(data), slow(data), replies(data), acks(data),
            plan_gaps(data), readings(data), texts(data), people(data)]

