"""Duty board benchmark: the Now page with 2,000 people in an incident and 1,000 stations, and 50 idle live boards.

    .venv/bin/python benchmarks/bench_board.py [--people 2000] [--stations 1000] [--clients 50] [--idle 30]

On SQLite, with the sample plan plus generated stations (half rain gauges, half river gauges, a day of hourly
readings each) and a generated roster (flood level 2 calls out ``--people`` recipients):

  (a) the server time of the Now page (and, for scale, the Incident and Stations pages), measured around the
      real ASGI app in this process: median and 95th percentile of 30 requests, target Now < 200 ms;
  (b) the CPU a real ``responder serve`` (scheduler off, so that no feed cycle runs in the window) spends while
      ``--clients`` boards hold the live-update stream open and nothing happens, against the same process with no
      board open: the difference in % of one core over ``--idle`` seconds, target < 10 %; then one confirmation
      (a change) and how long until every board heard of it.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from bench_outbox import make_workspace

RESPONDER = Path(sys.executable).with_name("responder")
LISTENING = re.compile(r"Uvicorn running on http://([\d.]+):(\d+)")
USER, PASSWORD = "bench", "bench-password-1"


def add_stations(plan: Path, count: int) -> None:
    """``count`` more stations spread over the township, reported by duty staff (no feed to poll)."""
    data = yaml.safe_load(plan.read_text(encoding="utf-8"))
    for n in range(count):
        river = n % 2 == 1
        station: dict[str, Any] = {"id": f"st-{n:04d}", "name": {"zh": f"测站{n:04d}", "en": f"Station {n:04d}"},
                                   "kind": "river" if river else "rain", "interval": "1h",
                                   "location": [29.90 + (n // 40) * 0.004, 108.05 + (n % 40) * 0.004]}
        if river:
            station.update(warning_level=4.5, guaranteed_level=5.2)
        data["stations"].append(station)
    plan.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def readings(ctx: Any, count: int, now: datetime) -> int:
    from responder.domain.readings import Reading
    from responder.storage.db import transaction
    from responder.storage.readings_repo import store_readings

    rows = []
    for n in range(count):
        river = n % 2 == 1
        for hour in range(24):
            at = (now - timedelta(hours=hour)).replace(minute=0, second=0, microsecond=0)
            if river:
                rows.append(Reading(f"st-{n:04d}", at, "stage_m", 3.0 + (n % 7) * 0.2 + hour * 0.01, "m", "manual:b"))
            else:
                rows.append(Reading(f"st-{n:04d}", at, "rain_mm", float((n + hour) % 9), "mm", "manual:b"))
    with transaction(ctx.sessions) as session:
        store_readings(session, rows, now)
    return len(rows)


def build(root: Path, people: int, stations: int) -> tuple[Any, dict[str, str]]:
    from sqlalchemy import select

    from responder.app.alerts import raise_alert
    from responder.app.confirm import acknowledge
    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database
    from responder.gateways.fake import FakeGateway
    from responder.settings import Settings
    from responder.storage.models import RecipientRow
    from responder.wiring import AppContext
    from responder.worker.dispatcher import Dispatcher

    plan, roster = make_workspace(root, people)
    add_stations(plan, stations)
    url = f"sqlite:///{root / 'board.db'}"
    ctx = AppContext(Settings(_env_file=None, database_url=url, plan_file=plan, roster_file=roster,  # type: ignore[call-arg]
                              gateway="fake"))
    init_database(ctx)
    import_contacts(ctx, roster)
    print(f"{readings(ctx, stations, ctx.clock.now())} readings stored for {stations} generated stations")
    outcome = raise_alert(ctx, "flood", 2, "龙河水位超警戒", "bench")
    Dispatcher(ctx, FakeGateway(clock=ctx.clock), concurrency=4).drain()
    with ctx.sessions() as session:
        ids = list(session.scalars(select(RecipientRow.person_id).where(
            RecipientRow.incident_id == outcome.incident_id)))
    for pid in ids[: len(ids) // 3]:
        acknowledge(ctx, outcome.incident_id, pid, "bench")
    print(f"incident #{outcome.incident_id}: {outcome.recipients} recipients, {len(ids) // 3} confirmed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "TWILIO_"))}
    env.update({"RESPONDER_DATABASE_URL": url, "RESPONDER_PLAN_FILE": str(plan), "RESPONDER_ROSTER_FILE": str(roster),
                "RESPONDER_GATEWAY": "fake", "PYTHONUNBUFFERED": "1"})
    return ctx, env


def page_times(ctx: Any, paths: list[str], repeat: int) -> None:
    """Server time of each page for a signed-in officer, through the real app (its sign-in gate included)."""
    from anyio.from_thread import start_blocking_portal

    from responder.app.board_users import add_user
    from responder.domain.board_users import Role
    from responder.web import create_app

    add_user(ctx, USER, Role.OFFICER, PASSWORD, by="bench")
    with start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(ctx)), base_url="http://board")
        login = portal.call(client.get, "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token, login.text
        signed = portal.call(lambda: client.post("/login", data={"username": USER, "password": PASSWORD,
                                                                 "next": "/", "csrf_token": token[1]}))
        assert signed.status_code == 303, signed.text
        for path in paths:
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                response = portal.call(client.get, path)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.text[:500]
            times.sort()
            p95 = times[int(len(times) * .95) - 1]
            print(f"  {path:<14} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms"
                  f"   ({len(response.content) // 1024} kB)")
        portal.call(client.aclose)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sign_in(base: str) -> dict[str, str]:
    """The session cookie of the officer ``page_times`` added, signed in through the real ``/login``."""
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
        client.post("/login", data={"username": USER, "password": PASSWORD,
                                    "csrf_token": token[1] if token else ""})
        return dict(client.cookies)


async def boards(base: str, cookies: dict[str, str], clients: int, idle: float, pid: int,
                 change: Any) -> tuple[float, float]:
    """``clients`` open streams; CPU over ``idle`` s once all are connected; seconds until all saw a change."""
    heard: list[float] = []
    connected = asyncio.Event()
    ready: list[int] = []

    async def board(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/board/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: hello"):
                    ready.append(1)
                    if len(ready) == clients:
                        connected.set()
                elif line.startswith("event: change"):
                    heard.append(time.perf_counter())
                    return

    limits = httpx.Limits(max_connections=clients + 5)
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=None, limits=limits) as client:
        tasks = [asyncio.create_task(board(client)) for _ in range(clients)]
        await asyncio.wait_for(connected.wait(), 60)
        await asyncio.sleep(2)
        cpu, wall = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(idle)
        used = (cpu_seconds(pid) - cpu) / (time.perf_counter() - wall)
        changed_at = time.perf_counter()
        await asyncio.to_thread(change)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
    return used, max(heard) - changed_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        ctx, env = build(root, args.people, args.stations)
        print(f"set up in {time.perf_counter() - started:.1f} s\n(a) server time per page, 30 requests each:")
        page_times(ctx, ["/", "/incidents/1", "/stations"], 30)

        log = (root / "serve.log").open("wb")
        serve = subprocess.Popen([str(RESPONDER), "serve", "--port", "0", "--no-scheduler"], cwd=root, env=env,
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not (match := LISTENING.search((root / "serve.log").read_text(errors="replace"))):
                assert serve.poll() is None and time.monotonic() < deadline, (root / "serve.log").read_text()
                time.sleep(0.1)
            base = f"http://{match[1]}:{match[2]}"
            cookies = sign_in(base)
            time.sleep(2)
            cpu, wall = cpu_seconds(serve.pid), time.perf_counter()
            time.sleep(args.idle)
            baseline = (cpu_seconds(serve.pid) - cpu) / (time.perf_counter() - wall)

            def confirm_one() -> None:
                from responder.app.confirm import acknowledge
                from responder.app.status import incident_status

                status = incident_status(ctx, 1)
                person = next(p for p in status.people if p.confirmed_at is None)
                acknowledge(ctx, 1, person.person_id, "bench")

            used, latency = asyncio.run(boards(base, cookies, args.clients, args.idle, serve.pid, confirm_one))
        finally:
            serve.terminate()
            serve.wait(timeout=30)
        print(f"(b) responder serve, {args.idle:g} s idle: {baseline * 100:.2f} % of a core with no board open, "
              f"{used * 100:.2f} % with {args.clients} boards open: {max(0.0, used - baseline) * 100:.2f} % for the "
              f"boards (target < 10 %)\n    a confirmation reached all {args.clients} boards in {latency:.2f} s")
        print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
