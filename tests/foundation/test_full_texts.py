"""What will be sent is shown whole: the raise preview and ``plan show`` fold long cells, never cut them to '…'."""

from __future__ import annotations

from pathlib import Path

import pytest
from foundation_support import Invoke, Workspace

from responder.app.alerts import preview_raise
from responder.domain.clock import FakeClock
from responder.settings import Settings
from responder.wiring import AppContext


def cells_by_row(output: str) -> list[list[str]]:
    """A Rich table's rows, each cell's folded lines joined (spaces dropped: Chinese folds anywhere)."""
    rows: list[list[str]] = []
    current: list[str] | None = None
    for line in output.splitlines():
        if line.startswith(("├", "└", "┡")):
            if current is not None:
                rows.append(current)
            current = None
        elif line.startswith("│"):
            cells = [c.strip() for c in line.split("│")[1:-1]]
            current = cells if current is None else [a + b for a, b in zip(current, cells, strict=True)]
    return [["".join(c.split()) for c in row] for row in rows]


@pytest.mark.parametrize("columns", ["80", "160"])
def test_the_raise_preview_shows_every_text_in_full(cli: Invoke, workspace: Workspace, tmp_path: Path,
                                                    clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
                                                    columns: str) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    assert cli(*workspace.options(db), "init").exit_code == 0
    monkeypatch.setenv("COLUMNS", columns)
    result = cli(*workspace.options(db), "alert", "raise", "--level", "3", "--hazard", "flood", "--reason",
                 "龙河水位超警戒线0.5米，请立即到岗")
    assert result.exit_code == 2, result.output  # no terminal to confirm on: the preview, then a refusal
    assert "…" not in result.output
    ctx = AppContext(Settings(_env_file=None, database_url=db, plan_file=workspace.path("config/plan.yaml"),  # type: ignore[call-arg]
                              roster_file=workspace.path("contacts/roster.csv")), clock=clock)
    expected = preview_raise(ctx, "flood", 3, "龙河水位超警戒线0.5米，请立即到岗").texts
    ctx.engine.dispose()
    shown = {row[-1] for row in cells_by_row(result.output) if len(row) == 5}
    for t in expected:
        assert "".join(t.text.split()) in shown, t.text


def test_plan_show_keeps_group_ids_whole_at_80_columns(cli: Invoke, workspace: Workspace, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = cli(*workspace.options(f"sqlite:///{tmp_path / 'r.db'}"), "plan", "show")
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    first_cells = {row[0] for row in cells_by_row(result.output) if row}
    assert {"通信组communications", "防汛抗旱办公室office", "供水抢险组water_supply"} <= first_cells
