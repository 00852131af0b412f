"""Running the real CLI in-process, the way every CLI test here does."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from responder.cli.common import State
from responder.cli.main import app


def invoke(runner: CliRunner, *args: str, input: str | None = None) -> Result:
    """One command through typer's runner; the command's database engine is closed afterwards."""
    try:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)
    finally:
        if State.ctx is not None and "engine" in vars(State.ctx):
            State.ctx.engine.dispose()
        State.ctx = None
