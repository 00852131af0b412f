"""What the hostile-input and lost-connection tests share: a deployment folder, the real `responder` command run as
a subprocess, and the checks every failure must pass (one line, a documented exit code, no traceback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESPONDER = Path(sys.executable).with_name("responder")


def clean_env(**settings: object) -> dict[str, str]:
    """The test run's environment without any RESPONDER_ setting of its own, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONDER_", "TWILIO_"))}
    env.update({k: str(v) for k, v in settings.items()})
    return env


@dataclass
class Folder:
    """A working folder with the sample plan and roster, as an operator has it."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> Folder:
        for folder in ("config", "contacts"):
            shutil.copytree(REPO / folder, root / folder)
        return cls(root)

    def run(self, *args: str, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(RESPONDER), *args], cwd=self.root, env=env or clean_env(), capture_output=True,
                              text=True, timeout=timeout)


def one_line_failure(result: subprocess.CompletedProcess[str], code: int, *expected: str) -> str:
    """The failure's output: exactly one line, the exit code ``code``, no traceback, and each of ``expected``."""
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}:\n{output}"
    assert "Traceback" not in output and "╭" not in output, output
    assert len(output.splitlines()) == 1, f"not one line:\n{output}"
    for text in expected:
        assert text in output, f"{text!r} not in {output!r}"
    return output
