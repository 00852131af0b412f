"""Outbox benchmark: 10,000 recipients through the real twilio SDK (TwilioGateway) to the local Twilio server.

    .venv/bin/python benchmarks/bench_outbox.py [--people 10000] [--limited 1000] [--no-postgres]

Measures, with the sample plan and a generated roster (the 125 sample people plus members of the groups a flood
level 2 calls out, 10,000 recipients in all):

  (a) with a configured limit of 100 messages/s, the achieved rate where the messages arrive, over the first 1,000
      messages (10 s; the rest of the call-out is left unsent), target achieved/configured >= 0.9;
  (b) unlimited, the dispatcher's raw rate for the whole call-out on SQLite and on PostgreSQL, next to the rate of
      the bare SDK against the same server from as many threads (the reference: what the gateway alone allows);
  (c) the time from confirm (the start of the raise_alert call) to the first message handed to the gateway,
      target < 1 s.

The Twilio server runs in a child process, as the provider would be elsewhere: in this process it would compete
for the GIL with the dispatcher. Needs PostgreSQL on 127.0.0.1:5432 (RESPONDER_TEST_PG_URL) for the PostgreSQL row;
a temporary database is created and dropped. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stub_process import FROM, Stub, stubs

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("RESPONDER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FULL_GROUPS_AT_LEVEL_2 = ["office", "command", "rescue", "security", "medical", "technical", "communications",
                          "power", "water_supply"]
"""Every member of these is called at flood level 2 (config/plan.yaml)."""
SAMPLE_RECIPIENTS_AT_LEVEL_2 = 63
CONCURRENCY = 4


# -- a township of 10,000 ---------------------------------------------------------------------------------------------
def make_workspace(root: Path, recipients: int) -> tuple[Path, Path]:
    """A copy of the plan and rota, and the sample roster plus enough generated group members."""
    for folder in ("config", "contacts"):
        shutil.copytree(REPO / folder, root / folder)
    roster = root / "contacts" / "roster.csv"
    with roster.open("a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        for n in range(recipients - SAMPLE_RECIPIENTS_AT_LEVEL_2):
            group = FULL_GROUPS_AT_LEVEL_2[n % len(FULL_GROUPS_AT_LEVEL_2)]
            writer.writerow([f"G{n:05d}", f"队员{n:05d}" if n % 10 else f"Member {n:05d}",
                             f"+86 174 0150 {n:04d}" if n < 10000 else f"+86 174 0151 {n - 10000:04d}",
                             f"{group}:member", "廖家坝", "en" if n % 10 == 0 else "zh"])
    return root / "config" / "plan.yaml", roster


def make_context(url: str, plan: Path, roster: Path, **settings: Any) -> Any:
    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database
    from responder.settings import Settings
    from responder.wiring import AppContext

    ctx = AppContext(Settings(_env_file=None, database_url=url, plan_file=plan,  # type: ignore[call-arg]
                              roster_file=roster, gateway="twilio", twilio_account_sid="AC" + "0" * 32,
                              twilio_auth_token="x", twilio_from_number=FROM, **settings))
    init_database(ctx)
    import_contacts(ctx, roster)
    return ctx


@contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"responder_bench_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except Exception:  # any failure means "not here"
        return False


# -- measurements --------------------------------------------------------------------------------------------------
@dataclass
class Run:
    engine: str
    recipients: int
    sent: int
    raise_seconds: float
    first_handed_seconds: float
    send_seconds: float
    duplicates: int

    @property
    def rate(self) -> float:
        return self.sent / self.send_seconds


def full_run(engine: str, url: str, plan: Path, roster: Path, server: Stub) -> Run:
    """(b) and (c): raise, then drain the whole call-out unlimited, as `alert raise --yes` does."""
    from responder.app.alerts import raise_alert
    from responder.worker.dispatcher import Dispatcher
    from responder.worker.rate_limit import Unlimited

    ctx = make_context(url, plan, roster, send_rate_per_second=0)
    server.ask("reset")
    with server.gateway() as gateway:
        start = time.perf_counter()
        outcome = raise_alert(ctx, "flood", 2, "龙河水位超警戒线0.5米", "benchmark")
        raised = time.perf_counter()
        dispatcher = Dispatcher(ctx, gateway, limiter=Unlimited(), concurrency=CONCURRENCY)
        stats = dispatcher.drain()
        done = time.perf_counter()
    ctx.engine.dispose()
    assert stats.first_handed_at is not None and stats.sent == outcome.messages, stats
    assert server.ask("count") == outcome.messages
    return Run(engine, outcome.recipients, stats.sent, raised - start, stats.first_handed_at - start,
               done - raised, server.ask("duplicates"))


def first_message(url: str, plan: Path, roster: Path, server: Stub) -> float:
    """(c) alone: confirm -> first message handed; the dispatcher stops after its first batch."""
    from responder.app.alerts import raise_alert
    from responder.worker.dispatcher import Dispatcher
    from responder.worker.rate_limit import Unlimited

    ctx = make_context(url, plan, roster, send_rate_per_second=0)
    stop = threading.Event()
    with server.gateway() as gateway:
        start = time.perf_counter()
        raise_alert(ctx, "flood", 2, "龙河水位超警戒线0.5米", "benchmark")
        stats = Dispatcher(ctx, gateway, limiter=Unlimited(), concurrency=CONCURRENCY).drain(
            on_progress=lambda _: stop.set(), stop=stop)
    ctx.engine.dispose()
    assert stats.first_handed_at is not None
    return stats.first_handed_at - start


def limited_run(url: str, plan: Path, roster: Path, server: Stub, rate: float, measured: int) -> tuple[float, float]:
    """(a): the achieved rate over the first ``measured`` messages, at the server and at the dispatcher."""
    from responder.app.alerts import raise_alert
    from responder.worker.dispatcher import Dispatcher

    ctx = make_context(url, plan, roster, send_rate_per_second=rate)
    server.ask("reset")
    stop = threading.Event()

    def progress(stats: Any) -> None:
        if stats.sent >= measured:
            stop.set()

    with server.gateway() as gateway:
        raise_alert(ctx, "flood", 2, "龙河水位超警戒线0.5米", "benchmark")
        dispatcher = Dispatcher(ctx, gateway, concurrency=CONCURRENCY)
        start = time.perf_counter()
        stats = dispatcher.drain(on_progress=progress, stop=stop)
        elapsed = time.perf_counter() - start
    ctx.engine.dispose()
    arrivals = server.ask("arrivals")[:measured]
    at_server = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    return at_server, stats.sent / elapsed


def bare_sdk_rate(server: Stub, messages: int) -> float:
    """The reference: TwilioGateway.send_sms from as many threads, no database, no limiter."""
    from responder.gateways.base import OutgoingSms

    server.ask("reset")
    with server.gateway() as gateway, ThreadPoolExecutor(CONCURRENCY) as pool:
        start = time.perf_counter()
        list(pool.map(lambda n: gateway.send_sms(OutgoingSms(f"+86174016{n:05d}", "【三建乡】基准测试消息")),
                      range(messages)))
        return messages / (time.perf_counter() - start)


def timed(label: str, action: Callable[[], Any]) -> Any:
    print(f"... {label}", file=sys.stderr, flush=True)
    return action()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000, help="recipients of the call-out")
    parser.add_argument("--limited", type=int, default=1_000, help="messages measured at the configured limit")
    parser.add_argument("--rate", type=float, default=100.0, help="the configured limit for (a)")
    parser.add_argument("--repeat", type=int, default=3, help="extra measurements of (c) per engine")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp, stubs(1) as (server,):
        root = Path(tmp)
        plan, roster = make_workspace(root, args.people)
        reference = timed("bare SDK reference", lambda: bare_sdk_rate(server, 2_000))
        at_server, at_dispatcher = timed(
            f"(a) {args.rate:g}/s limit, {args.limited} messages",
            lambda: limited_run(f"sqlite:///{root / 'limited.db'}", plan, roster, server, args.rate, args.limited))
        runs = [timed("(b, c) SQLite", lambda: full_run("SQLite", f"sqlite:///{root / 'full.db'}", plan, roster,
                                                        server))]
        firsts = {"SQLite": [timed(f"(c) SQLite, again ({n + 1}/{args.repeat})",
                                   lambda n=n: first_message(f"sqlite:///{root / f'first{n}.db'}", plan, roster,
                                                             server)) for n in range(args.repeat)]}
        if not args.no_postgres and postgres_reachable():
            with postgres_database() as url:
                runs.append(timed("(b, c) PostgreSQL", lambda: full_run("PostgreSQL", url, plan, roster, server)))
            firsts["PostgreSQL"] = []
            for n in range(args.repeat):
                with postgres_database() as url:
                    firsts["PostgreSQL"].append(timed(f"(c) PostgreSQL, again ({n + 1}/{args.repeat})",
                                                      lambda: first_message(url, plan, roster, server)))
        else:
            print("PostgreSQL not reachable: its row is left out", file=sys.stderr)
        server.ask("reset")

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print()
    print(f"outbox benchmark: {args.people:,} recipients (flood level 2), real twilio SDK -> local Twilio server "
          f"(child process), {CONCURRENCY} sending threads, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print()
    print(f"{'measure':<58} {'value':>12} {'target':>12} {'':>7}")
    print("-" * 92)
    ratio = at_server / args.rate
    print(f"{'(a) achieved at the server, first ' + format(args.limited, ',') + ' msgs (SQLite)':<58} "
          f"{at_server:>8.1f}/s {'':>12}")
    print(f"{'    achieved / configured ' + format(args.rate, 'g') + '/s':<58} {ratio:>12.3f} {'>= 0.9':>12} "
          f"{verdict(ratio >= 0.9):>7}")
    print(f"{'    achieved at the dispatcher (sent / elapsed)':<58} {at_dispatcher:>8.1f}/s")
    print(f"{'reference: bare SDK, ' + str(CONCURRENCY) + ' threads, no database':<58} {reference:>8.1f}/s")
    for run in runs:
        print(f"{'(b) unlimited raw rate, ' + run.engine + f' ({run.sent:,} msgs)':<58} {run.rate:>8.1f}/s")
        print(f"{'    dispatcher / bare SDK':<58} {run.rate / reference:>12.2f}")
        print(f"{'    duplicates at the server':<58} {run.duplicates:>12d} {'0':>12} {verdict(run.duplicates == 0):>7}")
        print(f"{'(c) confirm -> first message handed, ' + run.engine:<58} {run.first_handed_seconds:>11.3f}s "
              f"{'< 1 s':>12} {verdict(run.first_handed_seconds < 1):>7}")
        print(f"{'    of which raise_alert (one transaction)':<58} {run.raise_seconds:>11.3f}s")
        again = sorted(firsts.get(run.engine, []))
        if again:
            median = statistics.median(again)
            print(f"{'    again on fresh databases: median of ' + str(len(again)):<58} {median:>11.3f}s "
                  f"{'< 1 s':>12} {verdict(median < 1):>7}")
            print(f"{'    again: best / worst':<58} {again[0]:>5.3f}/{again[-1]:.3f}s")


if __name__ == "__main__":
    main()
