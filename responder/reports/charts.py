"""The report's chart: station readings against their thresholds, with the declared level over time.

matplotlib is imported here only, inside the functions, and only through its object API with the
Agg canvas (no pyplot, no global backend switch): the CLI stays light and the chart renders the same
on any machine without a display. Chinese is drawn in Noto Sans CJK (fonts-noto-cjk); without it the report
stops with a message naming the package. A label the fonts still cannot draw falls back to English or its id.

A river or reservoir panel shows the readings against the station's warning and guaranteed levels. A
rain panel shows the rain per reading (bars) and, on its right axis, the rolling window total the plan's
rain rules compare (e.g. 24 h), against each rule's thresholds in the colour of the level they give.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from responder.domain.errors import ResponderError
from responder.reports import rain
from responder.reports.figures import readings_margin
from responder.reports.model import RainTotals, ReportData, StationSeries

CJK_FONT = "Noto Sans CJK SC"
"""The chart's Chinese font: Debian's fonts-noto-cjk, which the Makefile's system-deps target installs."""
CJK_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")
BASE_FONT = "DejaVu Sans"
LEVEL_RGB = {"blue": "#2f6fd0", "yellow": "#e8c300", "orange": "#f08a24", "red": "#d62728"}
TOTAL_COLOURS = ("#1b3a5c", "#6b3fa0", "#2e7d32")
"""Rolling rain totals, one colour per window (usually one: 24 h)."""
RAIN_DASHES = ("--", ":", "-.")
LEGEND_ROOM = 0.4
"""Head room above a panel's highest reading, total or threshold, for its legend."""
MAX_SERIES = 10
WIDTH_IN, DPI = 10.0, 100
LABEL_PT = 8
MARGIN_IN = {"left": 0.9, "label_pad": 0.2, "right": 0.3, "right_axis": 0.8, "top": 0.6, "bottom": 1.0, "gap": 0.4}
"""Around and between the panels: room for axis labels and ticks, the titles, the x axis and the level legend."""
FRAME_IN = 0.9
"""The figure is this much taller than its panels' nominal heights; the margins and gaps come out of it all."""
TITLE_FROM_TOP_IN = 0.1


class MissingFont(ResponderError):
    """The report cannot draw its Chinese labels: say which font and package, rather than draw empty boxes."""


@cache
def cjk_font() -> str:
    """Noto Sans CJK SC, registered from its file when matplotlib's font cache was built before the font was
    installed (the cache is never refreshed by itself: the chart then had no Chinese at all)."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if CJK_FONT not in {f.name for f in manager.ttflist}:
        files = [path for path in font_manager.findSystemFonts() if Path(path).name in CJK_FILES]
        if not files:
            raise MissingFont(f"the report's chart needs the font {CJK_FONT!r} for its Chinese labels: install the "
                              "Debian package fonts-noto-cjk (`make system-deps`)")
        for path in files:
            manager.addfont(path)
    return CJK_FONT


@cache
def _charmap(font: str) -> frozenset[int]:
    from matplotlib import font_manager, ft2font

    path = font_manager.findfont(font_manager.FontProperties(family=font), fallback_to_default=False)
    return frozenset(ft2font.FT2Font(path).get_charmap())


def drawable(text: str, fonts: Iterable[str]) -> bool:
    """Can these fonts draw every character of ``text``?"""
    covered: set[int] = set()
    for font in fonts:
        covered |= _charmap(font)
    return all(ord(ch) in covered or ch.isspace() for ch in text)


def _labeller(data: ReportData) -> tuple[list[str], Callable[..., str]]:
    fonts = [cjk_font(), BASE_FONT]

    def label(*candidates: str) -> str:
        """The first candidate the fonts can draw (the last one is an id: always ASCII in practice)."""
        for text in candidates:
            if text and drawable(text, fonts):
                return text
        return "".join(ch for ch in candidates[-1] if ord(ch) < 128) or "?"

    return fonts, label


def chart_png(data: ReportData) -> bytes:
    """A PNG: one row per incident with its level bands, then one panel per station series."""
    from matplotlib import dates, rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    mdates: Any = dates  # partly untyped
    fonts, label = _labeller(data)
    stations = [s for s in data.stations if s.points][:MAX_SERIES]
    zone = data.zone
    start, end = _window(data, stations)
    rc: dict[Any, Any] = {"font.family": "sans-serif", "font.sans-serif": fonts, "axes.unicode_minus": False,
          "path.simplify": True, "svg.hashsalt": "responder"}
    with rc_context(rc):
        track = 0.9 + 0.45 * len(data.incidents)
        heights = [track, 1.8] + [2.6] * len(stations)
        fig = Figure(dpi=DPI)
        FigureCanvasAgg(fig)
        grid = _grid(fig, heights, _incident_labels(data, label), any(s.is_rain for s in stations))
        axes = fig.subplots(len(heights), 1, sharex=True, squeeze=False, gridspec_kw=grid)[:, 0]
        _levels(axes[0], data, label, mdates)
        _confirmations(axes[1], data, label, mdates)
        for ax, series in zip(axes[2:], stations, strict=True):
            _bands(ax, data, mdates)
            _station(ax, series, label, mdates)
        draw_marks(axes, data, label, mdates)
        locator = mdates.AutoDateLocator(tz=zone, minticks=4, maxticks=10)
        last = axes[-1]
        last.xaxis.set_major_locator(locator)
        last.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=zone))
        last.set_xlim(mdates.date2num(start), mdates.date2num(end))
        last.set_xlabel(f"local time ({zone.key})")
        handles = [Patch(facecolor=LEVEL_RGB.get(s.colour, "grey"), alpha=0.55,
                         label=label(f"L{s.level} {s.name}", f"L{s.level} {s.name_en}", f"L{s.level}"))
                   for s in data.level_styles]
        fig.legend(handles=handles, loc="lower center", ncols=len(handles), fontsize=8, frameon=False)
        drill = " — DRILL" if data.is_drill else ""
        fig.suptitle(label(data.title, f"After-action report{drill}: incidents "
                           + ", ".join(f"#{i.id} {i.code}" for i in data.incidents)), fontsize=10,
                     y=1 - TITLE_FROM_TOP_IN / fig.get_figheight(), va="top")
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _grid(fig: Any, heights: list[float], left_labels: list[str], rain: bool) -> dict[str, Any]:
    """The grid for panels in the proportions of ``heights`` (inches, before margins): fixed margins and gaps
    in inches, the left one as wide as the widest incident label; sets the figure's size to match.

    Laid out by hand rather than by matplotlib's constrained layout, which measures every tick label of every
    panel and draws the figure twice: that was most of a report's time. Only the incident labels on the left
    vary in width, so only they are measured."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    font = FontProperties(size=LABEL_PT)
    widest = max((renderer.get_text_width_height_descent(text, font, ismath=False)[0] for text in left_labels),
                 default=0.0) / fig.dpi
    left = max(MARGIN_IN["left"], widest + MARGIN_IN["label_pad"])
    right = MARGIN_IN["right_axis" if rain else "right"]
    top, bottom, gap = MARGIN_IN["top"], MARGIN_IN["bottom"], MARGIN_IN["gap"]
    height = sum(heights) + FRAME_IN
    fig.set_size_inches(WIDTH_IN, height)
    panels = height - top - bottom - gap * (len(heights) - 1)
    return {"height_ratios": heights, "left": left / WIDTH_IN, "right": 1 - right / WIDTH_IN,
            "top": 1 - top / height, "bottom": bottom / height, "hspace": gap / (panels / len(heights))}


def _incident_labels(data: ReportData, label: Callable[..., str]) -> list[str]:
    return [label(f"#{i.id} {i.code} {i.hazard_name}", f"#{i.id} {i.code} {i.hazard}", f"#{i.id}")
            for i in data.incidents]


def _window(data: ReportData, stations: list[StationSeries]) -> tuple[datetime, datetime]:
    if stations:
        margin = readings_margin(data.start, data.end)
        first = min(s.points[0][0] for s in stations)
        last = max(s.points[-1][0] for s in stations)
        return min(first, data.start - margin), max(last, data.end + margin)
    pad = max(timedelta(minutes=5), (data.end - data.start) / 20)
    return data.start - pad, data.end + pad


def _nums(mdates: Any, times: list[datetime]) -> list[float]:
    """Matplotlib's numbers for many times in one call: a 72 h drill draws thousands of points per panel."""
    return [float(x) for x in mdates.date2num(times)] if times else []


def _levels(ax: Any, data: ReportData, label: Callable[..., str], mdates: Any) -> None:
    """One horizontal track per incident, coloured by its declared level over time."""
    rows = list(data.incidents)
    for y, incident in enumerate(rows):
        for span in (s for s in data.level_spans if s.incident_id == incident.id):
            x0, x1 = mdates.date2num(span.start), mdates.date2num(span.end)
            ax.broken_barh([(x0, x1 - x0)], (y - 0.35, 0.7), facecolors=LEVEL_RGB.get(span.colour, "grey"),
                           alpha=0.75, edgecolor="white")
            ax.text((x0 + x1) / 2, y, f"L{span.level}", ha="center", va="center", fontsize=8, clip_on=True)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(_incident_labels(data, label), fontsize=LABEL_PT)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_title(label("declared warning level 预警级别", "declared warning level"), fontsize=9, loc="left")
    ax.grid(axis="x", alpha=0.3)


def _confirmations(ax: Any, data: ReportData, label: Callable[..., str], mdates: Any) -> None:
    """Cumulative confirmations per incident, with the escalation steps that ran as dotted lines."""
    _bands(ax, data, mdates)
    for incident in data.incidents:
        times = sorted(p.confirmed_at for p in data.people if p.incident_id == incident.id and p.called_out
                       and p.confirmed_at is not None)
        called = sum(1 for p in data.people if p.incident_id == incident.id and p.called_out)
        end = incident.ended_at or data.end
        xs = _nums(mdates, [incident.raised_at, *times, end])
        ys = [0, *range(1, len(times) + 1), len(times)]
        ax.step(xs, ys, where="post", linewidth=1.4,
                label=label(f"#{incident.id} {incident.code} {incident.hazard_name}: {len(times)}/{called}",
                            f"#{incident.id} {incident.code} {incident.hazard}: {len(times)}/{called}"))
    for step in data.steps:
        if step.status == "done" and step.done_at is not None:
            ax.axvline(mdates.date2num(step.done_at), color="#555555", linestyle=":", linewidth=0.9)
    ax.set_ylabel("confirmed", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.set_title(label("confirmations (cumulative) · dotted: escalation steps run 确认人数与升级步骤",
                       "confirmations (cumulative) · dotted: escalation steps run"), fontsize=9, loc="left")
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


MARK_STYLE = {"dam_break": ("#7a0000", "-."), "stand_down": ("#1b5e20", "--")}


def draw_marks(axes: Any, data: ReportData, label: Callable[..., str], mdates: Any) -> None:
    """A dam break and the stand-down as lines across every panel, named on the level track."""
    for mark in data.marks:
        colour, dash = MARK_STYLE.get(mark.kind, ("#333333", ":"))
        x = mdates.date2num(mark.at)
        for ax in axes:
            ax.axvline(x, color=colour, linestyle=dash, linewidth=1.3, gid=f"mark:{mark.kind}")
        axes[0].annotate(label(mark.label, mark.kind.replace("_", " ")), (x, 0), xycoords=("data", "axes fraction"),
                         xytext=(3, 2), textcoords="offset points", fontsize=7, color=colour, ha="left", va="bottom",
                         annotation_clip=False)


def _bands(ax: Any, data: ReportData, mdates: Any) -> None:
    for span in data.level_spans:
        ax.axvspan(mdates.date2num(span.start), mdates.date2num(span.end), color=LEVEL_RGB.get(span.colour, "grey"),
                   alpha=0.12, linewidth=0)


def _station(ax: Any, s: StationSeries, label: Callable[..., str], mdates: Any) -> None:
    xs = _nums(mdates, [t for t, _ in s.points])
    ys = [v for _, v in s.points]
    unit = f" ({s.unit})" if s.unit else ""
    name = label(f"{s.name} ({s.station_id})", f"{s.name_en} ({s.station_id})", s.station_id)
    quantity = label(s.quantity or s.kind, s.station_id)
    if s.is_rain:
        step = min((b - a for a, b in pairwise(xs) if b > a), default=1 / 24)
        # a rain reading is the amount that fell in the interval ending at its time: draw the bar before it
        # One stepped patch, not hundreds of bars: a 72 h drill at 5-minute readings draws in milliseconds.
        ax.stairs(ys, [xs[0] - step, *xs], fill=True, color="#8fb3d9", label=label(f"rain per reading{unit}"))
        ax.set_ylabel(label(f"rain{unit}", "rain"), fontsize=8)
        ax.set_ylim(0, (max(ys) or 1.0) * (1 + LEGEND_ROOM))  # the legend sits above the bars and lines
        total = ax.twinx()
        _rain_totals(total, s, label, mdates)
        bars, bar_labels = ax.get_legend_handles_labels()
        lines, line_labels = total.get_legend_handles_labels()
        # framed: a threshold line may run under it
        total.legend(bars + lines, bar_labels + line_labels, loc="upper left", fontsize=7, framealpha=0.85,
                     edgecolor="none", ncols=2 if len(lines) > 3 else 1)
    else:
        ax.plot(xs, ys, color="#1b3a5c", linewidth=1.4, marker="." if len(xs) < 60 else None, markersize=3,
                label=label(f"{quantity}{unit}", "reading"))
        ax.set_ylabel(label(f"{quantity}{unit}", "value"), fontsize=8)
        _thresholds(ax, s, label, ys, headroom=LEGEND_ROOM)
        # above the highest line and framed, as on rain panels: the guaranteed level is often the top line
        ax.legend(loc="upper left", fontsize=7, framealpha=0.85, edgecolor="none")
    ax.set_title(name, fontsize=9, loc="left")
    ax.grid(alpha=0.3)


def _rain_totals(ax: Any, s: StationSeries, label: Callable[..., str], mdates: Any) -> None:
    """The rolling window totals the plan's rain rules compare, with each rule's thresholds in its level's colour."""
    totals = s.rain_totals or (RainTotals(rain.DEFAULT_WINDOW, (), tuple(rain.rolling_totals(s.points,
                                                                                              rain.DEFAULT_WINDOW))),)
    unit = f" ({s.unit})" if s.unit else " (mm)"
    values: list[float] = []
    limits: list[float] = []
    for i, series in enumerate(totals):
        window = rain.window_label(series.window)
        ys = [v for _, v in series.points]
        values += ys
        ax.plot(_nums(mdates, [t for t, _ in series.points]), ys, color=TOTAL_COLOURS[i % len(TOTAL_COLOURS)],
                linewidth=1.5, label=label(f"{window} total{unit}"))
        for t in series.thresholds:
            ax.axhline(t.value, color=LEVEL_RGB.get(t.colour, "#7a3db8"), linestyle=RAIN_DASHES[i % len(RAIN_DASHES)],
                       linewidth=1.2, label=label(rain.threshold_label(t)))
            limits.append(t.value)
    names = [rain.window_label(t.window) for t in totals]
    ax.set_ylabel(label(f"{names[0]} total{unit}" if len(names) == 1 else f"rolling total{unit}", "total"),
                  fontsize=8)
    _thresholds(ax, s, label, values, limits, headroom=LEGEND_ROOM)


def _thresholds(ax: Any, s: StationSeries, label: Callable[..., str], values: list[float],
                drawn: Iterable[float] = (), headroom: float = 0.08) -> None:
    """The station's own thresholds (warning level, ...); the y range shows them, any ``drawn`` already and the
    values, with ``headroom`` above for the legend."""
    styles = {"warning_level": ("#f08a24", "--"), "guaranteed_level": ("#d62728", "-.")}
    low, high = min(values), max(values)
    lines = list(drawn)
    for t in s.thresholds:
        colour, dash = styles.get(t.key, ("#7a3db8", ":"))
        ax.axhline(t.value, color=colour, linestyle=dash, linewidth=1.2,
                   label=label(f"{t.label} {t.value:g}", f"{t.key.replace('_', ' ')} {t.value:g}"))
        lines.append(t.value)
    for value in lines:
        low, high = min(low, value), max(high, value)
    span = high - low
    pad = span * 0.08 or 1.0
    ax.set_ylim(max(0.0, low - pad) if low >= 0 else low - pad, high + (span * headroom or 1.0))
