"""Hostile manual entry: one number grammar, plausible ranges, bounded free text (issue 22, point 1).

``float()`` takes ``1_5`` as 15 and ``١٥`` as 15: a typo must be refused, never stored as a reading.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from foundation_support import Invoke, Workspace
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from responder.domain.readings import RawReading, Rejected, parse_value, validate
from responder.domain.stations import Station
from responder.storage.db import make_engine
from responder.storage.feed_models import ReadingRow

GRAMMAR = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
NOW = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)


@given(st.text(max_size=30))
@example("1_5")
@example("١٥")
@example("１５")
@example("15\u200b")
@example("inf")
@example("-nan")
@example("1e400")
def test_a_value_is_a_number_only_in_the_one_grammar(text: str) -> None:
    try:
        number = parse_value(text)
    except ValueError as exc:
        assert str(exc)  # a reason a person can read
        assert not GRAMMAR.fullmatch(text.strip()) or not math.isfinite(float(text.strip()))
        return
    assert GRAMMAR.fullmatch(text.strip()), f"{text!r} was taken as {number}"
    assert math.isfinite(number) and number == float(text.strip())


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_number_written_plainly_is_read_back(value: float) -> None:
    assert parse_value(repr(value)) == value
    if abs(value) < 1e15:
        assert parse_value(f"{value:f}") == float(f"{value:f}")


@given(st.text(alphabet="0123456789", min_size=1, max_size=6), st.text(alphabet="0123456789", min_size=1, max_size=6),
       st.sampled_from(["_", ",", "\u200b", "\u202e", " ", "٫"]))
def test_digits_around_a_separator_are_refused(left: str, right: str, separator: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_value(f"{left}{separator}{right}")


def reservoir() -> Station:
    return Station.model_validate({"id": "pond", "name": {"en": "pond"}, "kind": "reservoir", "capacity": 0.12,
                                   "quantities": ["storage_pct", "stage_m"]})


@pytest.mark.parametrize(("value", "time", "reason"), [
    ("150", NOW, "outside the physical bounds [0, 100] of storage_pct"),
    ("-1", NOW, "outside the physical bounds"),
    ("50", datetime(1927, 7, 1, tzinfo=UTC), "years ago (a typo in the year?)"),
    ("50", "0001-01-01T00:00:00+08:00", "out of range"),
    ("50", NOW + timedelta(days=365 * 45), "in the future"),
])
def test_implausible_readings_are_refused_with_the_reason(value: str, time: object, reason: str) -> None:
    outcome = validate(RawReading("county", "pond", time, value), {"pond": reservoir()}, NOW)  # type: ignore[arg-type]
    assert isinstance(outcome, Rejected) and reason in outcome.reason, outcome


def stored_readings(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ReadingRow)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def db(cli: Invoke, workspace: Workspace, sqlite_url: str) -> str:
    assert cli(*workspace.options(sqlite_url), "init").exit_code == 0
    return sqlite_url


@pytest.mark.parametrize(("value", "message"), [
    ("1_5", "'1_5' is not a number (no underscores"),
    ("١٥", "(ASCII digits 0-9 only)"),
    ("inf", "'inf' is not a finite number"),
    ("1e999", "too large"),
    ("4,5", "at most one decimal point"),
])
def test_reading_add_refuses_a_typo_and_stores_nothing(cli: Invoke, workspace: Workspace, db: str, value: str,
                                                       message: str) -> None:
    result = cli(*workspace.options(db), "reading", "add", "longhe-town", value, "--by", "duty staff")
    assert result.exit_code == 2, result.output
    shown = " ".join(result.output.split())
    assert shown.startswith("VALUE: error: ") and message in shown, result.output
    assert stored_readings(db) == 0


def test_reading_add_takes_a_plain_number(cli: Invoke, workspace: Workspace, db: str) -> None:
    result = cli(*workspace.options(db), "reading", "add", "longhe-town", "4.55", "--by", "duty staff")
    assert result.exit_code == 0, result.output
    assert stored_readings(db) == 1


@pytest.mark.parametrize(("args", "where", "message"), [
    (["--by", "李\u202e乙"], "--by",
     "--by has an invisible or control character (RIGHT-TO-LEFT OVERRIDE) at character 2"),
    (["--by", "x" * 101], "--by", "--by is 101 characters; at most 100"),
])
def test_free_text_is_bounded_and_visible(cli: Invoke, workspace: Workspace, db: str, args: list[str], where: str,
                                          message: str) -> None:
    result = cli(*workspace.options(db), "reading", "add", "longhe-town", "4.5", *args)
    assert result.exit_code == 2, result.output
    assert f"{where}: error: {message}" in " ".join(result.output.split())
    assert stored_readings(db) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["drinking_water", "--value", "1_000"], "--value: error: '1_000' is not a number"),
    (["drinking_water", "--value", "2.5"], "--value: error: 2.5 is not a whole number of people"),
    (["dam_break", "--value", "7"], "--value: error: 7 is not 0 or 1"),
    (["dam_break", "--note", "a\x00b"], "--note: error: note has an invisible or control character (U+0000)"),
])
def test_reports_take_the_same_grammar(cli: Invoke, workspace: Workspace, db: str, args: list[str],
                                       message: str) -> None:
    result = cli(*workspace.options(db), "reading", "report", *args, "--by", "duty staff")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_the_real_command_line_refuses_1_5_in_one_line(workspace: Workspace, db: str) -> None:
    """A subprocess, as a duty officer runs it: exit 2, one line on stderr, no traceback."""
    done = subprocess.run([str(Path(sys.executable).with_name("responder")), *workspace.options(db), "reading", "add",
                           "longhe-town", "1_5", "--by", "duty staff"], capture_output=True, text=True, timeout=60,
                          cwd=workspace.root)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.strip().splitlines() == [
        "VALUE: error: '1_5' is not a number (no underscores: write 15, not 1_5)"]
    assert stored_readings(db) == 0
