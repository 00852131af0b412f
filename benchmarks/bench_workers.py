"""Scale-out benchmark: 10,000 recipients on PostgreSQL, sent by 1, 2 and 4 `responder serve` worker processes
through the real twilio SDK to the local Twilio-compatible server (responder.testing.TwilioStubServer).

    .venv/bin/python benchmarks/bench_workers.py [--people 10000] [--workers 1,2,4] [--limited 2000] [--rate 100]
                                                 [--stubs 1]

Measures, for each number of workers:

  (a) unlimited (RESPONDER_SEND_RATE_PER_SECOND=0): the whole 10,000-message call-out, messages per second from
      the raise to the last message at the server, and duplicates at the server (must be 0);
  (b) with a 100 msg/s limit per sender (shared by all workers through the `rate_slots` row): the achieved rate
      where the messages arrive over the first 2,000 messages (20 s; the rest of the call-out is left unsent, to
      keep the run short), target achieved/limit >= 0.9, and the most messages in any 1-second window.

The Twilio server runs in child processes of its own (``--stubs``; workers are spread over them), not in this
process: a single Python process answering every worker is GIL-bound, and its CPU use is printed so that a
saturated server shows. Workers are started and listening before the alert is raised, so their start-up is not
measured. Each run gets a fresh database copied from a template (CREATE DATABASE ... TEMPLATE) that holds the
migrated schema and the 10,000-person roster. Needs PostgreSQL on 127.0.0.1:5432 (RESPONDER_TEST_PG_URL).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stub_process import FROM, Stub, stubs

REPO = Path(__file__).resolve().parents[1]
RESPONDER = Path(sys.executable).with_name("responder")
PG_ADMIN_URL = os.environ.get("RESPONDER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REASON = "龙河水位超警戒线0.5米"
LEVEL_2_GROUPS = ["office", "command", "rescue", "security", "medical", "technical", "communications", "power",
                  "water_supply"]
"""Every member of these is called at flood level 2 (config/plan.yaml)."""
SAMPLE_AT_LEVEL_2 = 63
LISTENING = re.compile(r"Uvicorn running on (http://[\d.]+:\d+)")


# -- the deployment ---------------------------------------------------------------------------------------------------
def make_workspace(root: Path, people: int) -> None:
    """The plan and rota, and the sample roster plus members of the level-2 groups: ``people`` recipients."""
    for folder in ("config", "contacts"):
        shutil.copytree(REPO / folder, root / folder)
    with (root / "contacts" / "roster.csv").open("a", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        for n in range(people - SAMPLE_AT_LEVEL_2):
            group = LEVEL_2_GROUPS[n % len(LEVEL_2_GROUPS)]
            writer.writerow([f"G{n:05d}", f"队员{n:05d}" if n % 10 else f"Member {n:05d}",
                             f"+86 174 {n // 10000 + 90:04d} {n % 10000:04d}", f"{group}:member", "廖家坝",
                             "en" if n % 10 == 0 else "zh"])


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(sql)


def database_url(name: str) -> str:
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def settings_env(root: Path, url: str, stub: Stub, **more: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESPONDER_")}
    env.update({"RESPONDER_DATABASE_URL": url, "RESPONDER_PLAN_FILE": str(root / "config" / "plan.yaml"),
                "RESPONDER_ROSTER_FILE": str(root / "contacts" / "roster.csv"), "RESPONDER_GATEWAY": "twilio",
                "RESPONDER_TWILIO_ACCOUNT_SID": stub.account_sid, "RESPONDER_TWILIO_AUTH_TOKEN": stub.auth_token,
                "RESPONDER_TWILIO_FROM_NUMBER": FROM, "RESPONDER_TWILIO_API_BASE_URL": stub.url,
                "RESPONDER_PUBLIC_URL": "https://responder.example.org", "RESPONDER_DISPATCHER_POLL_SECONDS": "0.2"})
    env.update({k: str(v) for k, v in more.items()})
    return env


def context(env: dict[str, str]) -> Any:
    from responder.settings import Settings
    from responder.wiring import AppContext

    values: dict[str, Any] = {k.removeprefix("RESPONDER_").lower(): v for k, v in env.items()
                              if k.startswith("RESPONDER_")}
    return AppContext(Settings(_env_file=None, **values))


@contextmanager
def workers(root: Path, count: int, envs: list[dict[str, str]]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` `responder serve` processes, listening before this returns; stopped (SIGTERM) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        for n in range(count):
            log = root / f"worker-{n}-{uuid.uuid4().hex[:6]}.log"
            logs.append(log)
            with log.open("wb") as out:
                procs.append(subprocess.Popen([str(RESPONDER), "serve", "--host", "127.0.0.1", "--port", "0"],
                                              stdout=out, stderr=subprocess.STDOUT, cwd=root,
                                              env={**envs[n % len(envs)], "RESPONDER_WORKER_ID": f"bench-{n}"}))
        deadline = time.monotonic() + 60
        for proc, log in zip(procs, logs, strict=True):
            while not LISTENING.search(log.read_text(errors="replace")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.05)
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- one run ----------------------------------------------------------------------------------------------------------
@dataclass
class Result:
    workers: int
    messages: int
    seconds: float
    duplicates: int
    stub_cpu: float
    """CPU seconds the busiest stub process used per second of the run (1.0 = one core saturated)."""
    busiest: int
    """The most messages that arrived in any 1-second window."""
    rate: float


def run(root: Path, template: str, servers: list[Stub], count: int, rate: float, measured: int | None) -> Result:
    """Raise flood level 2 for everyone on a fresh copy of the template with ``count`` workers running; wait for
    ``measured`` messages at the servers (all of them if None)."""
    from responder.app.alerts import raise_alert

    name = f"bench_run_{uuid.uuid4().hex[:10]}"
    admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        url = database_url(name)
        envs = [settings_env(root, url, s, RESPONDER_SEND_RATE_PER_SECOND=rate) for s in servers]
        ctx = context(envs[0])
        for s in servers:
            s.ask("reset")
        with workers(root, count, envs):
            cpu_before = [s.ask("cpu") for s in servers]
            start = time.monotonic()
            outcome = raise_alert(ctx, "flood", 2, REASON, "benchmark")
            target = measured or outcome.messages
            while sum(s.ask("count") for s in servers) < target:
                time.sleep(0.05)
            arrivals = sorted(t for s in servers for t in s.ask("arrivals"))[:target]
            wall = time.monotonic() - start
            cpu = max((s.ask("cpu") - before) / wall for s, before in zip(servers, cpu_before, strict=True))
        numbers = [n for s in servers for n in s.ask("numbers")]
        ctx.engine.dispose()
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    duplicates = len(numbers) - len(set(numbers))
    if measured is None:  # the whole call-out: from the raise to the last message at the servers
        seconds = arrivals[-1] - start
        return Result(count, target, seconds, duplicates, cpu, busiest_second(arrivals), target / seconds)
    # The first ``measured`` messages: n - 1 intervals between the first and the n-th arrival.
    seconds = arrivals[-1] - arrivals[0]
    return Result(count, target, seconds, duplicates, cpu, busiest_second(arrivals), (target - 1) / seconds)


def busiest_second(arrivals: list[float]) -> int:
    return max(bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000, help="recipients of the call-out")
    parser.add_argument("--workers", default="1,2,4", help="numbers of worker processes to run")
    parser.add_argument("--limited", type=int, default=2_000, help="messages measured at the configured limit")
    parser.add_argument("--rate", type=float, default=100.0, help="the configured limit for (b)")
    parser.add_argument("--stubs", type=int, default=1, help="Twilio server processes (workers are spread over them)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database

    load_before = os.getloadavg()
    template = f"bench_template_{uuid.uuid4().hex[:10]}"
    unlimited: list[Result] = []
    limited: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp, stubs(args.stubs) as servers, \
            ExitStack() as cleanup:
        root = Path(tmp)
        make_workspace(root, args.people)
        admin(f'CREATE DATABASE "{template}"')
        cleanup.callback(admin, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        print(f"... template database: migrating and importing {args.people:,} people", file=sys.stderr, flush=True)
        ctx = context(settings_env(root, database_url(template), servers[0]))
        init_database(ctx)
        import_contacts(ctx, root / "contacts" / "roster.csv")
        ctx.engine.dispose()
        for count in counts:
            print(f"... (a) {count} worker(s), unlimited", file=sys.stderr, flush=True)
            unlimited.append(run(root, template, servers, count, 0, None))
        for count in counts:
            print(f"... (b) {count} worker(s), {args.rate:g} msg/s", file=sys.stderr, flush=True)
            limited.append(run(root, template, servers, count, args.rate, args.limited))
    load_after = os.getloadavg()

    print()
    print(f"scale-out benchmark: {args.people:,} recipients (flood level 2) on PostgreSQL, `responder serve` workers "
          f"({4} sending threads each) -> real twilio SDK -> local Twilio server ({args.stubs} process"
          f"{'es' if args.stubs > 1 else ''} of its own)")
    print(f"{os.cpu_count()} CPUs shared by PostgreSQL, the workers, the Twilio server and this script; "
          f"Python {sys.version.split()[0]}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print()
    def label(n: int) -> str:
        return f"{n} worker{'s' if n > 1 else ''}"

    print(f"{'(a) unlimited, the whole call-out':<36} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'vs 1':>6} "
          f"{'dupes':>6} {'stub CPU':>9}")
    print("-" * 88)
    for r in unlimited:
        print(f"{label(r.workers):<36} {r.messages:>9,} {r.seconds:>8.1f} {r.rate:>8.1f} "
              f"{r.rate / unlimited[0].rate:>6.2f} {r.duplicates:>6} {r.stub_cpu:>8.0%}")
    print()
    print(f"{f'(b) limit {args.rate:g} msg/s, first {args.limited:,} msgs':<36} {'messages':>9} {'seconds':>8} "
          f"{'msg/s':>8} {'ratio':>6} {'max/1s':>6} {'>= 0.9':>9}")
    print("-" * 88)
    for r in limited:
        ratio = r.rate / args.rate
        print(f"{label(r.workers):<36} {r.messages:>9,} {r.seconds:>8.1f} {r.rate:>8.1f} {ratio:>6.3f} "
              f"{r.busiest:>6} {'ok' if ratio >= 0.9 else 'MISSED':>9}")
    print("\n(a) msg/s: messages / seconds from the raise (workers already running) to the last message at the "
          "server.\n(b) msg/s: (n - 1) / seconds between the first and the n-th arrival; max/1s: most arrivals in any "
          "1-second window.\nstub CPU: the busiest Twilio server process's CPU time per second of the run.")

if __name__ == "__main__":
    main()
