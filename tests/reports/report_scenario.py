"""A drill with known behaviour, played through the real use cases on a fake clock (support for the report tests).

Flood level 2 (a drill) is raised at T0. Everybody replies within 2 minutes except:
the rescue group (C002, its leader, and R001..R013) never answers; S005's number fails permanently;
M014 answers at 12 minutes (the level 2 deadline is 10); T004 first sends a note, then "ok".
The expected figures are written here from the plan (config/plan.yaml) and the roster, read with
PyYAML and csv, independently of the report code.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from responder.app.alerts import end_alert, raise_alert
from responder.app.confirm import handle_inbound
from responder.app.escalation import run_due
from responder.domain.clock import FakeClock
from responder.gateways.base import PermanentError
from responder.gateways.fake import FakeGateway
from responder.reports import ReportData
from responder.storage.models import RecipientRow
from responder.wiring import AppContext
from responder.worker.dispatcher import Dispatcher

REPO = Path(__file__).resolve().parents[2]
OFFICE_NUMBER = "+8617400000000"
REASON = "龙河水位超警戒线0.5米"
TICK = timedelta(seconds=30)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def plan_yaml() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "config" / "plan.yaml").read_text(encoding="utf-8")))


@cache
def roster_csv() -> dict[str, dict[str, str]]:
    """person id → {group: role}."""
    with (REPO / "contacts" / "roster.csv").open(encoding="utf-8", newline="") as f:
        return {row["id"]: dict(p.split(":") for p in row["groups"].split(";") if p) for row in csv.DictReader(f)}


@cache
def roster_names() -> dict[str, str]:
    with (REPO / "contacts" / "roster.csv").open(encoding="utf-8", newline="") as f:
        return {row["id"]: row["name"] for row in csv.DictReader(f)}


def called_groups(hazard: str, level: int) -> dict[str, set[str]]:
    """group → the people the plan's call-out matrix calls for it."""
    h = next(x for x in plan_yaml()["hazards"] if x["id"] == hazard)
    entry = next(c for c in h["callout"] if c["level"] == level)
    out = {}
    for g in entry["groups"]:
        roles = set(g.get("roles", ["leader", "deputy", "member"]))
        out[g["group"]] = {pid for pid, groups in roster_csv().items() if groups.get(g["group"]) in roles}
    return out


def policy_steps(level: int) -> list[tuple[timedelta, str, str | None]]:
    policy = next(p for p in plan_yaml()["escalation_policy"] if p["level"] == level)
    units = {"m": 60, "h": 3600, "s": 1}
    return [(timedelta(seconds=int(s["after"][:-1]) * units[s["after"][-1]]), s["action"], s.get("chain_step"))
            for s in policy["steps"]]


def headcount(group: str) -> int | None:
    teams = [t for t in plan_yaml()["resources"]["teams"] if t.get("group") == group]
    return sum(t["headcount"] for t in teams) if teams else None


@dataclass
class Sim:
    """Time moves in ticks; each tick: due replies arrive, due escalation steps run, the outbox is sent."""

    ctx: AppContext
    clock: FakeClock
    gateway: FakeGateway
    replies: list[tuple[datetime, str, str]] = field(default_factory=list)
    """(when, person id, body), sent in order."""
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls, ctx: AppContext, clock: FakeClock) -> Sim:
        return cls(ctx, clock, FakeGateway(clock))

    def phone(self, person_id: str) -> str:
        with self.ctx.sessions() as session:
            phone = session.scalar(select(RecipientRow.phone).where(RecipientRow.person_id == person_id).limit(1))
        assert phone, person_id
        return phone

    def unreachable(self, person_ids: Iterable[str]) -> None:
        self.gateway.fail_numbers({self.phone(p): PermanentError("unreachable handset", code="30003")
                                   for p in person_ids})

    def reply_at(self, when: datetime, person_id: str, body: str = "1") -> None:
        self.replies.append((when, person_id, body))
        self.replies.sort(key=lambda r: r[0])

    def dispatch(self) -> None:
        Dispatcher(self.ctx, self.gateway, concurrency=1).drain()

    def tick(self) -> None:
        now = self.clock.now()
        while self.replies and self.replies[0][0] <= now:
            _, pid, body = self.replies.pop(0)
            handle_inbound(self.ctx, self.phone(pid), OFFICE_NUMBER, body, f"SMin{next(self._sids):06d}")
        run_due(self.ctx)
        self.dispatch()

    def run_until(self, until: datetime) -> None:
        self.tick()
        while self.clock.now() < until:
            self.clock.advance(TICK)
            self.tick()


# -- scenario A: one flood incident --------------------------------------------------------------------------------
GROUP_DELAY = {"office": 60, "command": 90, "security": 120, "medical": 60, "technical": 90, "communications": 60,
               "power": 120, "water_supply": 90, "survey": 60}
"""Seconds after the call-out at which each group's members reply (a person in two groups: the first listed)."""
SILENT_GROUP = "rescue"
UNREACHABLE = "S005"
SLOW = ("M014", timedelta(minutes=12))
NOTE = ("T004", timedelta(seconds=60), "stuck in traffic, there in 20 min")
T004_OK = timedelta(seconds=90)
END_AFTER = timedelta(minutes=65)


def delay_of(person_id: str) -> timedelta:
    groups = roster_csv()[person_id]
    first = next(g for g in GROUP_DELAY if g in groups)
    return timedelta(seconds=GROUP_DELAY[first])


@dataclass(frozen=True)
class FloodDrill:
    incident_id: int
    t0: datetime
    called: dict[str, set[str]]
    silent: set[str]
    confirmed_at: dict[str, timedelta]
    """person id → time from the call-out to their confirmation."""


def play_flood_drill(ctx: AppContext, clock: FakeClock) -> FloodDrill:
    t0 = clock.now()
    outcome = raise_alert(ctx, "flood", 2, REASON, "drill director", is_drill=True)
    sim = Sim.start(ctx, clock)
    sim.unreachable([UNREACHABLE])
    called = called_groups("flood", 2)
    people = set().union(*called.values())
    silent = set(called[SILENT_GROUP])
    confirmed_at: dict[str, timedelta] = {}
    for pid in sorted(people - silent - {UNREACHABLE}):
        if pid == SLOW[0]:
            confirmed_at[pid] = SLOW[1]
        elif pid == NOTE[0]:
            sim.reply_at(t0 + NOTE[1], pid, NOTE[2])
            confirmed_at[pid] = T004_OK
            sim.reply_at(t0 + T004_OK, pid, "ok")
            continue
        else:
            confirmed_at[pid] = delay_of(pid)
        sim.reply_at(t0 + confirmed_at[pid], pid, "1")
    sim.run_until(t0 + END_AFTER)
    end_alert(ctx, outcome.incident_id, "drill over", "drill director")
    sim.dispatch()
    return FloodDrill(outcome.incident_id, t0, called, silent, confirmed_at)


@dataclass
class PlayedFlood:
    ctx: AppContext
    drill: FloodDrill
    data: ReportData


# -- scenario B: a flood and a drought incident of one drill run --------------------------------------------------
@dataclass(frozen=True)
class TwoIncidents:
    flood: int
    drought: int
    flood_code: str
    drought_code: str
    t0: datetime
    both: set[str]
    """People called by both incidents."""


DEPUTY_ANSWERS = timedelta(minutes=32)
"""C002, the deputy commander in charge, answers the flood only after the chain told him at 30 min."""


def play_two_incidents(ctx: AppContext, clock: FakeClock) -> TwoIncidents:
    t0 = clock.now()
    flood = raise_alert(ctx, "flood", 2, REASON, "drill director", is_drill=True)
    clock.advance(timedelta(minutes=2))
    drought = raise_alert(ctx, "drought", 2, "连续干旱60天", "drill director", is_drill=True)
    sim = Sim.start(ctx, clock)
    flood_people = set().union(*called_groups("flood", 2).values())
    drought_people = set().union(*called_groups("drought", 2).values())
    silent = called_groups("flood", 2)["rescue"] - {"C002"}
    for pid in sorted(flood_people - silent - {"C002"}):
        sim.reply_at(t0 + timedelta(seconds=60), pid, f"1 {flood.code}")
    sim.reply_at(t0 + DEPUTY_ANSWERS, "C002", f"1 {flood.code}")
    for pid in sorted(drought_people):
        sim.reply_at(t0 + timedelta(minutes=3), pid, f"1 {drought.code}")
    sim.run_until(t0 + timedelta(minutes=45))
    end_alert(ctx, flood.incident_id, "drill over", "drill director")
    end_alert(ctx, drought.incident_id, "drill over", "drill director")
    sim.dispatch()
    return TwoIncidents(flood.incident_id, drought.incident_id, flood.code, drought.code, t0,
                        flood_people & drought_people)


# -- a context of its own, for module-scoped fixtures ---------------------------------------------------------
SEASON_START = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
"""09:00 local on 1 July 2027, as tests/conftest.py: inside the flood season, O002 on duty."""


def new_context(folder: Path, clock: FakeClock, roster: Path | None = None) -> AppContext:
    """The sample plan and roster on a fresh, migrated SQLite database in ``folder``."""
    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database
    from responder.settings import Settings

    settings = Settings(_env_file=None, database_url=f"sqlite:///{folder / 'responder.db'}",
                        plan_file=REPO / "config" / "plan.yaml", roster_file=roster or REPO / "contacts" / "roster.csv",
                        gateway="fake")
    ctx = AppContext(settings, clock=clock)
    init_database(ctx)
    import_contacts(ctx, settings.roster_file)
    return ctx


def decoded_size(png: bytes) -> tuple[int, int]:
    """Decode the whole image (not just its header): (width, height)."""
    from matplotlib import image

    assert png.startswith(PNG_SIGNATURE)
    pixels = image.imread(io.BytesIO(png), format="png")
    return int(pixels.shape[1]), int(pixels.shape[0])
