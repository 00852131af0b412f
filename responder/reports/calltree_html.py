"""The call tree as one self-contained HTML file: one A4 sheet per level, inline CSS, nothing fetched.

Pure: a :class:`~responder.domain.calltree.CallTree` in, text out. The PDF is this HTML, printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from responder.domain.calltree import CallTree, Entry, GroupCall, LevelTree, Rung
from responder.domain.escalation import ACTION_NAMES

COLUMNS = 3
NAME_EMS = 3.6
"""The widest name (in ems) that fits beside its number in half a column."""
BASE_SIZE = 8.5
"""Type size in points; a level with many people is set smaller to stay on one page (see calltree_pdf)."""

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{area}{hazard}防汛电话树", "level": "{level}级 {colour}预警（{name}）", "people": "本级共通知 {n} 人",
        "how": "值班室电话通知各组组长、副组长（组长联系不上时找副组长）→ 组长、副组长电话通知本组组员。",
        "duty": "值班", "duty_now": "打印时值班员", "duty_deputy": "带班", "upcoming": "后续值班",
        "chain": "上报链（逐级向上）", "at_once": "本级立即报告", "escalation": "未确认时",
        "confirm": "须在 {t} 内确认", "no_deadline": "本级不要求确认", "repeat": "全部步骤再执行 {n} 轮，每轮间隔 {t}",
        "task": "任务", "report_to": "到", "members": "组员（由组长通知）", "nobody": "名单中无人",
        "zones": "撤离（群众转移）", "responsible": "负责", "helpers": "协助",
        "printed": "打印于 {t}", "plan": "预案第 {v} 版（{d}）", "roster": "名单 {n} 人（{d}）",
        "roster_updated": "更新于 {t}",
        "stale": "本表随预案和名单变化，与系统不符时以系统为准，请重新打印：responder plan calltree",
        "leader": "组长", "deputy": "副组长", "member": "组员", "sep": "；", "list": "、", "colon": "：",
        "min": "{n}分钟", "hour": "{n}小时",
        **ACTION_NAMES["zh"],
    },
    "en": {
        "title": "{area} {hazard} call tree", "level": "Level {level}, {colour} warning ({name})",
        "people": "{n} people called at this level",
        "how": "The duty office phones each group's leader and deputy (the deputy when the leader cannot be reached); "
               "they phone their members.",
        "duty": "Duty", "duty_now": "Duty officer when printed", "duty_deputy": "deputy", "upcoming": "Next shifts",
        "chain": "Reporting chain (upward)", "at_once": "told at once at this level", "escalation": "When people do "
        "not confirm", "confirm": "confirm within {t}", "no_deadline": "no confirmation required at this level",
        "repeat": "all steps run {n} more time(s), {t} apart",
        "task": "Task", "report_to": "Go to", "members": "Members (phoned by the leader)",
        "nobody": "nobody in the roster",
        "zones": "Evacuation", "responsible": "responsible", "helpers": "helping",
        "printed": "Printed {t}", "plan": "plan version {v} ({d})", "roster": "roster of {n} people ({d})",
        "roster_updated": "updated {t}",
        "stale": "This sheet changes with the plan and the roster; where it differs from the system, the system is "
                 "right: print it again with responder plan calltree",
        "leader": "leader", "deputy": "deputy", "member": "member", "sep": "; ", "list": ", ", "colon": ": ",
        "min": "{n} min", "hour": "{n} h",
        **ACTION_NAMES["en"],
    },
}

COLOURS = {"blue": ("#1f5fbf", "#fff"), "yellow": ("#f2c200", "#1d1d1d"), "orange": ("#e8730c", "#fff"),
           "red": ("#c81e1e", "#fff")}

CSS = """
@page{size:A4;margin:9mm 10mm}
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 "WenQuanYi Micro Hei",sans-serif;color:#111;margin:0;line-height:1.25}
.sheet{font-size:8.5pt}
.sheet+.sheet{break-before:page}
.band{padding:.45em .7em;border-radius:.3em;display:flex;justify-content:space-between;align-items:baseline;
 -webkit-print-color-adjust:exact;print-color-adjust:exact}
.band h1{font-size:1.55em;margin:0}
.band .lv{font-size:1.35em;font-weight:700}
.sub{display:flex;justify-content:space-between;margin:.25em 0 .35em;color:#333}
.how{margin:.2em 0 .45em;font-size:.95em}
.top{display:flex;gap:.6em;margin-bottom:.5em}
.box{border:1px solid #999;border-radius:.25em;padding:.3em .45em;flex:1}
.box h2{font-size:1em;margin:0 0 .2em;border-bottom:1px solid #ccc}
.box p{margin:.1em 0}
.tag{border:1px solid #c81e1e;color:#c81e1e;border-radius:.2em;padding:0 .2em;font-size:.85em;white-space:nowrap}
table.groups{table-layout:fixed;border-spacing:.45em 0;border-collapse:separate;margin:0 -.45em;
 width:calc(100% + .9em)}
td.col{vertical-align:top;padding:0;white-space:normal}
.group{break-inside:avoid;border:1px solid #666;border-radius:.25em;margin:0 0 .45em;padding:.25em .35em}
.group h3{font-size:1.1em;margin:0}
.group .task{font-size:.9em;color:#333;margin:.05em 0 .2em}
.heads td{font-weight:700}
table{border-collapse:collapse;width:100%}
td{padding:0 .25em 0 0;vertical-align:top;white-space:nowrap}
td.role{color:#444}
.members{border-top:1px dotted #999;margin-top:.15em;padding-top:.1em}
.members{font-size:.88em}
.members .cap{font-size:.95em;color:#444}
.m{display:inline-block;min-width:49%;white-space:nowrap}
.m .n{display:inline-block;min-width:3.3em}
table.heads{table-layout:fixed}
table.heads col.r{width:4em}
table.heads col.n{width:4.6em}
.ph{font-variant-numeric:tabular-nums;letter-spacing:.01em}
.zones{border:1px solid #c81e1e;border-radius:.25em;padding:.25em .45em;margin-bottom:.5em}
.zones h2{font-size:1em;margin:0 0 .15em;color:#c81e1e}
.zones p{margin:.05em 0}
footer{border-top:1px solid #999;margin-top:.3em;padding-top:.2em;font-size:.85em;color:#333}
@media screen{body{background:#e5e8ec}.sheet{width:210mm;min-height:297mm;margin:8mm auto;padding:9mm 10mm;
 background:#fff;box-shadow:0 1px 4px #0003}}
"""


def render_calltree_html(tree: CallTree, sizes: Mapping[int, float] | None = None) -> str:
    """Every level of ``tree`` as an A4 sheet; ``sizes`` sets the type size (pt) of a level's sheet."""
    words = LABELS.get(tree.language, LABELS["en"])
    sheets = "\n".join(_sheet(tree, level, words, (sizes or {}).get(level.level, BASE_SIZE)) for level in tree.levels)
    title = words["title"].format(area=tree.area, hazard=tree.hazard_name)
    return (f'<!DOCTYPE html>\n<html lang="{escape(tree.language)}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n{sheets}\n</body></html>\n")


def _sheet(tree: CallTree, level: LevelTree, w: dict[str, str], size: float) -> str:
    back, fore = COLOURS.get(level.colour, ("#444", "#fff"))
    title = w["title"].format(area=tree.area, hazard=tree.hazard_name)
    heading = w["level"].format(level=level.level, colour=level.colour_name, name=level.level_name)
    parts = [
        f'<section class="sheet" id="level-{level.level}" style="font-size:{size:g}pt">',
        f'<div class="band" style="background:{back};color:{fore}"><h1>{escape(title)}</h1>'
        f'<span class="lv">{escape(heading)}</span></div>',
        f'<div class="sub"><span>{escape(level.condition)}</span>'
        f'<span>{escape(w["people"].format(n=level.people))}</span></div>',
        f'<p class="how">{escape(w["how"])}</p>',
        '<div class="top">', _duty(tree, w), _chain(level.chain, w), _escalation(level, w), "</div>",
    ]
    if level.zones:
        parts.append(_zones(level, w))
    parts.append('<table class="groups"><tr>')
    for column in balanced_columns(level.groups, COLUMNS):
        parts.append('<td class="col">' + "".join(_group(g, w) for g in column) + "</td>")
    parts.append("</tr></table>")
    parts.append(_footer(tree, w))
    parts.append("</section>")
    return "\n".join(parts)


def _person(e: Entry) -> str:
    return f'{escape(e.name)} <span class="ph">{escape(e.phone)}</span>'


def _duty(tree: CallTree, w: dict[str, str]) -> str:
    d = tree.duty
    rows = [f"<h2>{escape(w['duty'])}</h2>"]
    if d.officer:
        rows.append(f"<p>{escape(w['duty_now'])}{w['colon']}<b>{_person(d.officer)}</b></p>")
    if d.deputy:
        rows.append(f"<p>{escape(w['duty_deputy'])}{w['colon']}{_person(d.deputy)}</p>")
    if d.upcoming:
        zone = ZoneInfo(tree.timezone)
        shifts = w["list"].join(f"{s.astimezone(zone):%m-%d} {escape(e.name)}" for s, e in d.upcoming)
        rows.append(f"<p>{escape(w['upcoming'])}{w['colon']}{shifts}</p>")
    return f'<div class="box">{"".join(rows)}</div>'


def _chain(chain: tuple[Rung, ...], w: dict[str, str]) -> str:
    rows = [f"<h2>{escape(w['chain'])}</h2>"]
    for n, rung in enumerate(chain, 1):
        who = w["list"].join(_person(c) for c in rung.contacts) or escape(w["nobody"])
        tag = f' <span class="tag">{escape(w["at_once"])}</span>' if rung.at_once else ""
        rows.append(f"<p>{n}. {escape(rung.name)}{w['colon']}{who}{tag}</p>")
    return f'<div class="box">{"".join(rows)}</div>'


def _escalation(level: LevelTree, w: dict[str, str]) -> str:
    rows = [f"<h2>{escape(w['escalation'])}</h2>"]
    if level.confirm_within is None:
        rows.append(f"<p>{escape(w['no_deadline'])}</p>")
    else:
        rows.append(f"<p><b>{escape(w['confirm'].format(t=_duration(level.confirm_within, w)))}</b></p>")
    for step in level.escalation:
        action = w.get(step.action, step.action).format(name=step.chain_step or "")
        rows.append(f"<p>+{escape(_duration(step.after, w))}{w['colon']}{escape(action)}</p>")
    if level.repeat and level.escalation:
        rows.append(f"<p>{escape(w['repeat'].format(n=level.repeat, t=_duration(level.repeat_every, w)))}</p>")
    return f'<div class="box">{"".join(rows)}</div>'


def _zones(level: LevelTree, w: dict[str, str]) -> str:
    rows = [f"<h2>{escape(w['zones'])}</h2>"]
    for z in level.zones:
        lead, helpers = z.people[0], z.people[1:]
        extra = (f"{w['sep']}{escape(w['helpers'])}{w['colon']}" + w["list"].join(_person(h) for h in helpers)
                 if helpers else "")
        rows.append(f"<p><b>{escape(z.stretch)} → {escape(z.shelter)}</b>{w['colon']}{escape(w['responsible'])} "
                    f"{_person(lead)}{extra}</p>")
    return f'<div class="zones">{"".join(rows)}</div>'


def _width(name: str) -> float:
    """A name's width in ems: a CJK character is one, a Latin letter about half."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.55 for c in name)


def _lines(g: GroupCall) -> int:
    """About how many lines a group's box takes: its title, task, heads, and members two to a line (one where
    a name such as Jo Placeholder is too wide for half the column)."""
    task = len(g.task) + len(g.report_to) + 8
    wide = sum(1 for m in g.members if _width(m.name) > NAME_EMS)
    members = wide + -(-(len(g.members) - wide) // 2) + 1 if g.members else 0
    return 2 + -(-task // 30) + len(g.heads) + members


def balanced_columns(groups: Sequence[GroupCall], count: int) -> list[list[GroupCall]]:
    """The groups in plan order, cut into ``count`` columns of about equal height.

    Laid out by hand rather than with CSS columns: WeasyPrint balances those by laying the page out
    again and again, which took seconds per page.
    """
    sizes = [_lines(g) for g in groups]
    n = len(sizes)
    prefix = [0]
    for size in sizes:
        prefix.append(prefix[-1] + size)
    # best[k][i]: the least tallest column when the first i groups fill k columns; cut[k][i]: where the last starts
    best = [[0.0] + [float("inf")] * n] + [[float("inf")] * (n + 1) for _ in range(count)]
    cut = [[0] * (n + 1) for _ in range(count + 1)]
    for k in range(1, count + 1):
        for i in range(n + 1):
            for j in range(i + 1):
                tallest = max(best[k - 1][j], prefix[i] - prefix[j])
                if tallest < best[k][i]:
                    best[k][i], cut[k][i] = tallest, j
    columns: list[list[GroupCall]] = []
    end = n
    for k in range(count, 0, -1):
        start = cut[k][end]
        columns.append(list(groups[start:end]))
        end = start
    return [c for c in reversed(columns) if c]


def _group(g: GroupCall, w: dict[str, str]) -> str:
    heads = "".join(f'<tr><td class="role">{escape(w.get(e.role or "", ""))}</td><td>{escape(e.name)}</td>'
                    f'<td class="ph">{escape(e.phone)}</td></tr>' for e in g.heads)
    parts = [f'<div class="group" id="group-{escape(g.group)}"><h3>{escape(g.name)}</h3>',
             f'<p class="task">{escape(w["task"])}{w["colon"]}{escape(g.task)}{escape(w["sep"])}'
             f'{escape(w["report_to"])}{w["colon"]}{escape(g.report_to)}</p>']
    if heads:
        parts.append(f'<table class="heads"><col class="r"><col class="n"><col>{heads}</table>')
    if g.members:
        cells = "".join(f'<span class="m"><span class="n">{escape(m.name)}</span> '
                        f'<span class="ph">{escape(m.phone)}</span></span> ' for m in g.members)
        parts.append(f'<div class="members"><div class="cap">{escape(w["members"])}</div>{cells}</div>')
    if not g.heads and not g.members:
        parts.append(f'<p class="task">{escape(w["nobody"])}</p>')
    parts.append("</div>")
    return "".join(parts)


def _footer(tree: CallTree, w: dict[str, str]) -> str:
    v = tree.versions
    zone = ZoneInfo(tree.timezone)
    bits = [w["printed"].format(t=_when(v.printed_at, zone)), w["plan"].format(v=v.plan_version, d=v.plan_digest),
            w["roster"].format(n=v.roster_size, d=v.roster_digest)]
    if v.roster_updated:
        bits[-1] += " " + w["roster_updated"].format(t=_when(v.roster_updated, zone))
    return f"<footer><b>{escape(' · '.join(bits))}</b><br>{escape(w['stale'])}</footer>"


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _duration(value: timedelta, w: dict[str, str]) -> str:
    minutes = int(value.total_seconds() // 60)
    if minutes and minutes % 60 == 0:
        return w["hour"].format(n=minutes // 60)
    return w["min"].format(n=minutes)
