"""Drill scenarios as validated data, and the reading series they generate.

A scenario says what the gauges read (listed points, a generated storm, a river that answers
the rain), what the duty officer does and when, and how people behave. A seed makes it repeatable.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from responder.domain.plan import LocalText
from responder.domain.readings import epoch_seconds
from responder.domain.types import Duration, format_duration, within


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Offset = Annotated[Duration, within("0s", "92d")]
"""A time from the scenario's start: no drill runs longer than a flood season's quarter."""
Step = Annotated[Duration, within("10s", "1d")]
"""Time between generated readings: finer floods the database, coarser is not a gauge."""
Wait = Annotated[Duration, within("0s", "7d")]
"""How long a person takes."""


class Point(Strict):
    at: Offset
    value: Annotated[float, Field(ge=-1e6, le=1e6)]


class Listed(Strict):
    """Values at given offsets from the start, sampled every ``every``.

    Levels (stage, storage) are linearly interpolated between the points and held after the last. Rain is
    not a level: the scenario says whether each value is the rain fallen in the ``per`` ending at ``at``
    (``rain: totals``, mm) or the mean rate over it (``rain: intensity``, mm/h). Each gauge reading then gets
    the rain of its own interval, so the drill's sum is the listed sum whatever the gauge's interval, and
    rain stops after the last value unless ``after_last: continue`` (the last rate goes on).
    """

    kind: Literal["listed"] = "listed"
    station: str
    every: Step | None = None
    """Time between readings: a rain gauge's own interval when unset, else 5 minutes."""
    values: Annotated[list[Point], Field(min_length=1)]
    rain: Literal["totals", "intensity"] | None = None
    per: Annotated[Duration, within("1m", "7d")] | None = None
    """The interval each listed rain value covers (ending at its ``at``)."""
    after_last: Literal["stop", "continue"] = "stop"

    @field_validator("values")
    @classmethod
    def _in_order(cls, values: list[Point]) -> list[Point]:
        """A field check (not a model check), so that a scenario file's error points at ``values``."""
        for i, (a, b) in enumerate(pairwise(values), start=1):
            if b.at <= a.at:
                raise ValueError(f"times out of order: values.{i} (at {format_duration(b.at)}) does not come after "
                                 f"values.{i - 1} (at {format_duration(a.at)})")
        return values

    @model_validator(mode="after")
    def _rain_complete(self) -> Listed:
        if self.rain is not None and self.per is None:
            raise ValueError(f"rain: {self.rain} needs per: the interval each value covers (e.g. per: 1h)")
        if self.rain is None and self.per is not None:
            raise ValueError("per is for rain (rain: totals or rain: intensity)")
        return self

    @property
    def step(self) -> timedelta:
        return self.every or timedelta(minutes=5)

    def listed_mm(self) -> float:
        """The rain the listed values add up to, in mm (rain series only)."""
        assert self.per is not None
        hours = self.per.total_seconds() / 3600
        return sum(p.value * (hours if self.rain == "intensity" else 1.0) for p in self.values)


class Storm(Strict):
    """A rain event: ``total_mm`` falling over ``duration`` from ``start``, bell-shaped or steady."""

    kind: Literal["storm"]
    station: str
    every: Step = timedelta(minutes=5)
    start: Offset
    duration: Annotated[Duration, within("1m", "92d")]
    total_mm: Annotated[float, Field(ge=0, le=10_000)]
    shape: Literal["bell", "steady"] = "bell"


class River(Strict):
    """A river stage that rises with the rain at another station (after a lag) and recedes after."""

    kind: Literal["river"]
    station: str
    every: Step = timedelta(minutes=5)
    base: Annotated[float, Field(ge=-100, le=6000)]
    rain_station: str
    gain_m_per_mm: Annotated[float, Field(ge=0, le=10)] = 0.01
    lag: Annotated[Duration, within("0s", "7d")] = timedelta(hours=2)
    recession_per_hour: Annotated[float, Field(ge=0, le=1)] = 0.05


Series = Annotated[Listed | Storm | River, Field(discriminator="kind")]


class Action(Strict):
    """Something the duty officer does at a given time."""

    at: Offset
    do: Literal["raise", "upgrade", "downgrade", "end", "report", "confirm_proposals"]
    hazard: str = "flood"
    level: Annotated[int | None, Field(ge=1, le=4)] = None
    reason: Annotated[str, Field(max_length=300)] = ""
    report: Literal["dam_break", "no_drinking_water"] | None = None
    value: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    station: Annotated[str, Field(max_length=64)] | None = None
    by: Annotated[str, Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Action:
        if self.do in ("raise", "upgrade", "downgrade") and self.level is None:
            raise ValueError(f"'{self.do}' needs a level")
        if self.do in ("raise", "upgrade", "downgrade", "end") and not self.reason:
            raise ValueError(f"'{self.do}' needs a reason")
        if self.do == "report" and self.report is None:
            raise ValueError("'report' needs what is reported (dam_break or no_drinking_water)")
        return self


class Delay(Strict):
    """How long someone takes to reply: fixed, uniform between bounds, or log-normal by median and 90th percentile."""

    fixed: Wait | None = None
    min: Wait | None = None
    max: Wait | None = None
    median: Wait | None = None
    p90: Wait | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Delay:
        forms = [self.fixed is not None, self.min is not None or self.max is not None,
                 self.median is not None or self.p90 is not None]
        if sum(forms) != 1:
            raise ValueError("give fixed, or min and max, or median and p90")
        if forms[1] and (self.min is None or self.max is None or self.max < self.min):
            raise ValueError("min and max are both needed, max not below min")
        if forms[2] and (self.median is None or self.p90 is None or self.p90 < self.median):
            raise ValueError("median and p90 are both needed, p90 not below median")
        return self

    def sample(self, u: float, z: float) -> timedelta:
        """``u`` uniform in [0, 1), ``z`` standard normal: the caller owns the random source."""
        if self.fixed is not None:
            return self.fixed
        if self.min is not None and self.max is not None:
            return self.min + (self.max - self.min) * u
        assert self.median is not None and self.p90 is not None
        median = max(self.median.total_seconds(), 1.0)
        sigma = (math.log(max(self.p90.total_seconds(), median)) - math.log(median)) / 1.2815515655446004
        return timedelta(seconds=min(median * math.exp(sigma * z), 7 * 86400))


class Behaviour(Strict):
    reply_after: Delay | None = None
    never_reply: Annotated[float | None, Field(ge=0, le=1)] = None
    unreachable: bool | None = None
    voice_only: bool | None = None


class People(Strict):
    default: Behaviour = Behaviour(reply_after=Delay(median=timedelta(minutes=3), p90=timedelta(minutes=12)),
                                   never_reply=0.05)
    groups: dict[str, Behaviour] = {}
    persons: dict[str, Behaviour] = {}


class DutyOfficer(Strict):
    confirms_proposals_after: Wait | None = timedelta(minutes=5)
    """None: proposals wait for an explicit confirm_proposals action."""


class Scenario(Strict):
    name: LocalText
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 1
    start: datetime
    """Local time in the plan's zone unless an offset is given."""
    duration: Annotated[Duration, within("1m", "92d")]
    feed_check_every: Annotated[Duration, within("1m", "1d")] = timedelta(minutes=15)
    series: list[Series] = []
    actions: list[Action] = []
    duty_officer: DutyOfficer = DutyOfficer()
    people: People = People()

    @field_validator("start")
    @classmethod
    def _plausible_start(cls, value: datetime) -> datetime:
        if not 1971 <= value.year <= 2200:
            raise ValueError(f"a drill starting in {value.year} (write a time between 1971 and 2200)")
        return value
    # An action after ``duration`` never runs; scenario files are refused for it, located at the action's
    # line (responder.configfiles.scenario_file): a model check here could only point at the file's first line.


def behaviour_for(people: People, person_id: str, groups: tuple[str, ...]) -> Behaviour:
    """The person's own settings over their groups' over the default, field by field."""
    layers = [people.default, *[people.groups[g] for g in groups if g in people.groups]]
    if person_id in people.persons:
        layers.append(people.persons[person_id])
    merged: dict[str, object] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.__dict__.items() if v is not None})
    return Behaviour.model_validate(merged)


Sampled = tuple[list[int], list[float]]
"""A generated series: times in whole seconds since 1970 UTC, and the values at them."""


def sample_series(series: Listed | Storm | River, start: datetime, end: datetime,
                  rain: Mapping[str, Mapping[int, float]]) -> Sampled:
    """The readings a series produces in [start, end]; rivers need their rain station's values by time.

    Plain integers and floats: a large drill generates close to a million of them.
    """
    step = max(1, math.floor((series.step if isinstance(series, Listed) else series.every).total_seconds()))
    first = epoch_seconds(start)
    times = list(range(first, epoch_seconds(end) + 1, step))
    if isinstance(series, Listed) and series.rain is not None:
        return times, _rain_mm(series, first, times, step)
    if isinstance(series, Listed):
        return times, _interpolate([(first + math.floor(p.at.total_seconds()), p.value) for p in series.values],
                                   times)
    if isinstance(series, Storm):
        return times, _storm_mm(series, [t - first for t in times], step)
    rain_at = rain.get(series.rain_station, {}).get
    lag = math.floor(series.lag.total_seconds())
    base, gain = series.base, series.gain_m_per_mm  # locals: read hundreds of thousands of times
    level = base
    keep = 1 - series.recession_per_hour * step / 3600
    values = []
    for t in times:
        level = base + (level - base) * keep + gain * rain_at(t - lag, 0.0)
        values.append(round(level, 3))
    return times, values


def _interpolate(points: list[tuple[int, float]], times: list[int]) -> list[float]:
    """Straight lines between the listed points (times ascending); flat before the first and after the last."""
    out = []
    i = 0
    for t in times:
        if t <= points[0][0]:
            out.append(points[0][1])
        elif t >= points[-1][0]:
            out.append(points[-1][1])
        else:
            while points[i + 1][0] < t:
                i += 1
            (t0, v0), (t1, v1) = points[i], points[i + 1]
            out.append(round(v0 + (v1 - v0) * (t - t0) / (t1 - t0), 3))
    return out


def _rain_mm(series: Listed, first: int, times: list[int], step: int) -> list[float]:
    """Rain in each reading's interval ``(t - step, t]``: the share of every listed interval that falls in it."""
    assert series.per is not None
    per = series.per.total_seconds()
    scale = per / 3600 if series.rain == "intensity" else 1.0
    spans = [(first + p.at.total_seconds() - per, first + p.at.total_seconds(), p.value * scale / per)
             for p in series.values]  # (from, to, mm per second), in order, not overlapping
    if series.after_last == "continue":
        spans.append((spans[-1][1], math.inf, spans[-1][2]))
    out = []
    i = 0
    fallen = told = 0.0
    for t in times:
        a, b = t - step, t
        while i < len(spans) and spans[i][1] <= a:
            i += 1
        j = i
        while j < len(spans) and spans[j][0] < b:
            fallen += (min(b, spans[j][1]) - max(a, spans[j][0])) * spans[j][2]
            j += 1
        # Rounded as a running total, so that the rounding of many short readings does not add up.
        amount = round(round(fallen, 6) - told, 6)
        told += amount
        out.append(amount)
    return out


def _storm_mm(storm: Storm, offsets: list[int], step: int) -> list[float]:
    """Rain in each interval ending at an offset from the start: the storm's share of ``total_mm`` for it."""
    duration = storm.duration.total_seconds()
    if duration <= 0:
        return [0.0] * len(offsets)
    begin = storm.start.total_seconds()
    total = storm.total_mm
    steady = storm.shape == "steady"
    out = [0.0] * len(offsets)
    # Only the intervals the storm overlaps are worked out: before it b <= 0 <= a, and from the first interval that
    # starts at its end on (the offsets ascend) a >= 1 >= b: no rain, as the formula would also say.
    for i in range(bisect.bisect_right(offsets, begin), len(offsets)):
        offset = offsets[i]
        a = max(0.0, (offset - step - begin) / duration)
        if a >= 1.0:
            break
        b = min(1.0, (offset - begin) / duration)
        if b <= a:
            continue
        if steady:
            out[i] = round(total * (b - a), 3)
        else:
            # Bell: rain rate ∝ sin²(πx) on [0, 1], whose integral from 0 to x is x - sin(2πx)/(2π).
            out[i] = round(total * ((b - math.sin(2 * math.pi * b) / (2 * math.pi))
                                    - (a - math.sin(2 * math.pi * a) / (2 * math.pi))), 3)
    return out
