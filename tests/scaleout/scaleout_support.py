"""Helpers of the scale-out tests: a deployment folder, real `responder serve` / `responder dispatch` processes on
one PostgreSQL database, all sending through the real twilio SDK to the TwilioStubServer running in the test process
(the ground truth of what went out)."""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from process_support import PUBLIC_URL, LoggedProcess, process_env, wait_for
from sqlalchemy import func, select, text
from twilio.request_validator import RequestValidator

from responder.settings import Settings
from responder.storage.models import OutboxRow
from responder.testing import StubMessage, TwilioStubServer
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
RESPONDER = Path(sys.executable).with_name("responder")
REASON = "龙河水位超警戒线0.5米"
ESCALATION_LOG = re.compile(r"(?:escalation|overdue) step (\d+) \(")




# -- the deployment's files ---------------------------------------------------------------------------------------
def plan_groups() -> list[str]:
    plan = yaml.safe_load((REPO / "config" / "plan.yaml").read_text(encoding="utf-8"))
    return [g["id"] for g in plan["groups"]]


def write_roster(path: Path, people: int) -> Path:
    """The sample roster plus generated members of the plan's groups, ``people`` in all (numbers +86 174 0090 nnnn,
    in the same fictitious satellite block as the sample's)."""
    with (REPO / "contacts" / "roster.csv").open(encoding="utf-8", newline="") as f:
        sample = list(csv.reader(f))
    groups = plan_groups()
    extra = people - (len(sample) - 1)
    assert 0 <= extra <= 10_000
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerows(sample)
        for n in range(extra):
            writer.writerow([f"G{n:04d}", f"队员{n:04d}" if n % 10 else f"Member {n:04d}", f"+86 174 0090 {n:04d}",
                             f"{groups[n % len(groups)]}:member", "廖家坝", "en" if n % 10 == 0 else "zh"])
    return path


# -- processes ------------------------------------------------------------------------------------------------------
@dataclass
class Worker(LoggedProcess):
    """One `responder serve` (or `responder dispatch`) process, its output in a log file."""

    kind = "worker"

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    base_url: str | None = None

    def start(self) -> Worker:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd,
                                         env=self.env, start_new_session=True)
        return self

    def wait_log(self, needle: str, timeout: float = 20) -> None:
        def seen() -> bool:
            assert self.alive, f"worker {self.name} exited:\n{self.log}"
            return needle in self.log

        wait_for(seen, timeout, f"{needle!r} in worker {self.name}'s log")

    def role(self) -> str:
        return str(self.health()["scheduler"]["role"])

    def post_signed(self, path: str, params: Mapping[str, str], token: str) -> httpx.Response:
        """POST a form the way Twilio does: signed over the public URL + path with the account's auth token."""
        assert self.base_url
        signature = RequestValidator(token).compute_signature(PUBLIC_URL + path, dict(params))
        return httpx.post(f"{self.base_url}{path}", data=dict(params), timeout=10,
                          headers={"X-Twilio-Signature": signature})

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        assert self.proc.returncode == -signal.SIGKILL

    def escalation_steps_logged(self) -> list[int]:
        return [int(m) for m in ESCALATION_LOG.findall(self.log)]


@dataclass
class Deployment:
    """A folder with the plan, rota and roster, a PostgreSQL database, and the Twilio stub as the gateway."""

    root: Path
    database_url: str
    stub: TwilioStubServer
    settings: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    _contexts: list[AppContext] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, database_url: str, stub: TwilioStubServer) -> Deployment:
        for folder in ("config", "contacts"):
            shutil.copytree(REPO / folder, root / folder)
        return cls(root, database_url, stub)

    @property
    def plan(self) -> Path:
        return self.root / "config" / "plan.yaml"

    @property
    def roster(self) -> Path:
        return self.root / "contacts" / "roster.csv"

    def env(self, **more: object) -> dict[str, str]:
        return process_env(self.database_url, self.plan, self.roster, self.stub, self.settings, more)

    def cli(self, *args: str, check: bool = True, timeout: float = 60,
            **env: object) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(RESPONDER), *args], cwd=self.root, env=self.env(**env), capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"responder {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result

    def popen_cli(self, *args: str, **env: object) -> subprocess.Popen[str]:
        return subprocess.Popen([str(RESPONDER), *args], cwd=self.root, env=self.env(**env), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def serve(self, name: str, *args: str, **env: object) -> Worker:
        return self._worker(name, ["serve", "--host", "127.0.0.1", "--port", "0", *args], **env)

    def dispatch(self, name: str, *args: str, **env: object) -> Worker:
        return self._worker(name, ["dispatch", *args], **env)

    def _worker(self, name: str, args: list[str], **env: object) -> Worker:
        runs = sum(1 for w in self.workers if w.name == name)
        worker = Worker(name, [str(RESPONDER), *args], self.env(RESPONDER_WORKER_ID=name, **env), self.root,
                        self.root / f"worker-{name}-{runs}.log")
        self.workers.append(worker.start())
        return worker

    def context(self) -> AppContext:
        """This process's view of the deployment (system clock), for raising alerts and reading the database."""
        values: dict[str, Any] = {k.removeprefix("RESPONDER_").lower(): v for k, v in self.env().items()
                                  if k.startswith("RESPONDER_")}
        ctx = AppContext(Settings(_env_file=None, **values))
        self._contexts.append(ctx)
        return ctx

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive:
                assert worker.proc is not None
                worker.proc.kill()
                worker.proc.wait(10)
        for ctx in self._contexts:
            ctx.engine.dispose()


# -- reading the outcome ----------------------------------------------------------------------------------------------
def outbox_rows(ctx: AppContext, incident_id: int | None = None) -> list[Any]:
    with ctx.sessions() as session:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if incident_id is not None:
            query = query.where(OutboxRow.incident_id == incident_id)
        return list(session.scalars(query))


def status_counts(ctx: AppContext) -> Counter[str]:
    with ctx.sessions() as session:
        return Counter(dict(session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()))


def unsent(ctx: AppContext) -> int:
    counts = status_counts(ctx)
    return counts["pending"] + counts["sending"]


def scalar(ctx: AppContext, sql: str, **params: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def query(ctx: AppContext, sql: str, **params: Any) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def duplicates(messages: Iterable[StubMessage]) -> int:
    """Messages the stub accepted beyond the first with the same number and text."""
    seen = Counter((m.to, m.body) for m in messages)
    return sum(n - 1 for n in seen.values())


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most arrivals in any half-open interval [t, t + window)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
