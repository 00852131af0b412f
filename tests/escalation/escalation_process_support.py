"""Real `responder serve` processes for the restart tests: a deployment folder (a copy of the plan with an escalation
seconds apart, the sample roster and rota), a SQLite file, and the TwilioStubServer in the test process as the
gateway, reached through the real twilio SDK (the ground truth of what went out)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from process_support import LoggedProcess, fast_escalation, process_env

from responder.settings import Settings
from responder.testing import TwilioStubServer
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[2]
RESPONDER = Path(sys.executable).with_name("responder")




@dataclass
class Serve(LoggedProcess):
    """One `responder serve` process, its output in a log file."""

    kind = "serve"

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    base_url: str | None = None

    def kill9(self) -> None:
        """SIGKILL: no clean-up of any kind (the lease is not released, jobs stay in the job store)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, as systemd stops it; SIGKILL if it does not stop in time. The exit code, None if killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None


@dataclass
class Deployment:
    root: Path
    stub: TwilioStubServer
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Serve] = field(default_factory=list)
    _contexts: list[AppContext] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, stub: TwilioStubServer) -> Deployment:
        (root / "config").mkdir(parents=True)
        shutil.copy(REPO / "config" / "plan.yaml", root / "config" / "plan.yaml")
        shutil.copytree(REPO / "contacts", root / "contacts")
        return cls(root, stub)

    @property
    def plan(self) -> Path:
        return self.root / "config" / "plan.yaml"

    @property
    def roster(self) -> Path:
        return self.root / "contacts" / "roster.csv"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.root / 'responder.db'}"

    def fast_escalation(self, level: int, steps: list[dict[str, str]], confirm_within: str) -> None:
        """Rewrite one level's escalation policy in the copy of the plan: seconds instead of minutes, no repeat."""
        fast_escalation(self.plan, level, list(steps), confirm_within)

    def env(self, **more: str) -> dict[str, str]:
        return process_env(self.database_url, self.plan, self.roster, self.stub, self.settings, more)

    def cli(self, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
        """``responder --db … --plan … --roster … ARGS`` in this process (typer's CliRunner on the real app), with
        the deployment's settings as the only RESPONDER_* variables: a CLI subprocess would spend seconds starting
        while the escalation's clock runs."""
        from typer.testing import CliRunner

        from responder.cli.common import State
        from responder.cli.main import app

        for name in list(os.environ):
            if name.startswith(("RESPONDER_", "TWILIO_")):
                monkeypatch.delenv(name)
        for name, value in self.env().items():
            if name.startswith("RESPONDER_"):
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("COLUMNS", "400")
        monkeypatch.chdir(self.root)
        try:
            result = CliRunner().invoke(app, ["--db", self.database_url, "--plan", str(self.plan), "--roster",
                                              str(self.roster), *args], catch_exceptions=False)
        finally:
            if State.ctx is not None and "engine" in vars(State.ctx):
                State.ctx.engine.dispose()
            State.ctx = None
        assert result.exit_code == 0, f"responder {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        return result.output

    def serve(self, name: str, *args: str) -> Serve:
        log_path = self.root / f"serve-{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen([str(RESPONDER), "serve", "--host", "127.0.0.1", "--port", "0", *args],
                                    stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                    env=self.env(RESPONDER_WORKER_ID=name), start_new_session=True)
        serve = Serve(name, proc, log_path)
        self.processes.append(serve)
        return serve

    def context(self) -> AppContext:
        """The test process's view of the deployment (system clock), for setting up and reading the database."""
        values: dict[str, Any] = {k.removeprefix("RESPONDER_").lower(): v for k, v in self.env().items()
                                  if k.startswith("RESPONDER_")}
        ctx = AppContext(Settings(_env_file=None, **values))  # type: ignore[call-arg]
        self._contexts.append(ctx)
        return ctx

    def close(self) -> None:
        for serve in self.processes:
            if serve.alive:
                serve.proc.kill()
                serve.proc.wait(10)
        for ctx in self._contexts:
            ctx.engine.dispose()
