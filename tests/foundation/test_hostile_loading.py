"""Hostile files (issue 22, points 2 and 7): any mutation of the sample plan, roster or scenario ends in
success or a located error (exit 2), quickly and in bounded memory, never a traceback.

The mutations are the ones that broke things: values replaced by huge or zero durations, impossible dates,
numbers YAML 1.1 reads strangely, aliases and deep nesting, control and bidi characters, lines deleted,
duplicated or cut short.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from foundation_support import PLAN, REPO, ROSTER, Invoke, Workspace
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from responder.configfiles.plan_file import read_plan
from responder.configfiles.roster_csv import validate_roster_file
from responder.configfiles.scenario_file import read_scenario
from responder.domain.errors import InputError

SCENARIO = REPO / "config" / "drills" / "sanjian-flood.yaml"
BUDGET_SECONDS = 5.0
"""``plan check`` on any file answers within this."""

YAML_VALUES = ["9999999999d", "99999999999999999999", "1e400", "0s", "-5m", "0", "-1", ".inf", ".nan", "2027-13-45",
               "2027-02-30 25:00", "1_5", "1:30", "²", "١٥", "*nowhere", "&a [*a, *a]", "!!python/object:os.system",
               "[" * 200 + "]" * 200, "{a: " * 100 + "}" * 100, "'unclosed", "\x00", "\u202e", "~", "{}", "[]",
               "0x" + "f" * 5000, "9" * 5000, "<script>alert(1)</script>"]
CSV_VALUES = ["\x00", "a\u202eb", "a\u200bb", "x" * 5000, '"', '"a""', ",,,,", "\r", "13800138000", "", "1_5",
              "command:leader;command:member", "zz", "<img src=x onerror=alert(1)>"]


def mutate(text: str, data: st.DataObject, values: list[str], csv: bool) -> str:
    """One to three edits of ``text``: a value replaced, a line deleted, duplicated or inserted, or a cut."""
    lines = text.split("\n")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        what = data.draw(st.sampled_from(["value", "value", "value", "delete", "duplicate", "insert", "cut"]))
        token = data.draw(st.sampled_from(values) | st.text(max_size=12))
        if what == "value" and csv:
            cells = lines[i].split(",")
            cells[data.draw(st.integers(0, len(cells) - 1))] = token
            lines[i] = ",".join(cells)
        elif what == "value":
            key, colon, _ = lines[i].partition(": ")
            lines[i] = f"{key}: {token}" if colon else f"{lines[i]} {token}"
        elif what == "delete" and len(lines) > 1:
            del lines[i]
        elif what == "duplicate":
            lines.insert(i, lines[i])
        elif what == "insert":
            lines.insert(i, token)
        elif what == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
            del lines[i + 1:]
    return "\n".join(lines)


def located(output: str, *files: Path) -> bool:
    """Every error line names one of ``files`` (with its line when there is one)."""
    errors = [line for line in output.splitlines() if ": error: " in line]
    return bool(errors) and all(line.startswith(tuple(str(f) for f in files)) for line in errors)


def check_answers(cli: Invoke, workspace: Workspace) -> None:
    """``plan check`` on the workspace: passed, or every error located in one of its files."""
    started = time.monotonic()
    result = cli("--plan", str(workspace.path(PLAN)), "--roster", str(workspace.path(ROSTER)), "plan", "check")
    took = time.monotonic() - started
    assert took < BUDGET_SECONDS, f"plan check took {took:.1f} s"
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert located(result.output, workspace.root), result.output


hostile = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
                   deadline=None)


@hostile
@given(st.data())
@example(None)
def test_any_mutation_of_the_plan_is_checked_or_located(cli: Invoke, workspace: Workspace,
                                                        data: st.DataObject | None) -> None:
    original = (REPO / PLAN).read_text(encoding="utf-8")
    if data is None:  # the one that took 4.6 GB: nested aliases
        text = original + "".join(f"\nx{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else 'lol'] * 9)}]" for i in range(9))
    else:
        text = mutate(original, data, YAML_VALUES, csv=False)
    workspace.path(PLAN).write_text(text, encoding="utf-8", errors="surrogatepass")
    check_answers(cli, workspace)


@hostile
@given(st.data())
@example(None)
def test_any_mutation_of_the_roster_is_checked_or_located(cli: Invoke, workspace: Workspace,
                                                          data: st.DataObject | None) -> None:
    original = (REPO / ROSTER).read_text(encoding="utf-8")
    if data is None:  # a name carrying a right-to-left override: it reads differently in every report
        lines = original.split("\n")
        lines[1] = lines[1].replace(",", "\u202e,", 2).replace("\u202e,", ",", 1)
        text = "\n".join(lines)
    else:
        text = mutate(original, data, CSV_VALUES, csv=True)
    workspace.path(ROSTER).write_text(text, encoding="utf-8", errors="surrogatepass")
    check_answers(cli, workspace)


@pytest.fixture(scope="module")
def plan_and_roster() -> tuple[object, object]:
    plan = read_plan(REPO / PLAN).plan
    return plan, validate_roster_file(REPO / ROSTER, plan).roster


@hostile
@given(st.data())
@example(None)
def test_any_mutation_of_the_scenario_is_read_or_located(tmp_path: Path, plan_and_roster: tuple[object, object],
                                                         data: st.DataObject | None) -> None:
    original = SCENARIO.read_text(encoding="utf-8")
    text = original.replace("duration: 72h", "duration: 99999999999d") if data is None else \
        mutate(original, data, YAML_VALUES, csv=False)
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    plan, roster = plan_and_roster
    started = time.monotonic()
    try:
        read_scenario(path, plan, roster)  # type: ignore[arg-type]
    except InputError as exc:
        assert all(p.file == str(path) for p in exc.problems), exc
    assert time.monotonic() - started < BUDGET_SECONDS


@pytest.mark.parametrize("bomb", [
    "".join(f"\nx{i}: &x{i} [{', '.join([f'*x{i - 1}' if i else 'lol'] * 9)}]" for i in range(9)),
    "\nx: " + "[" * 100_000 + "]" * 100_000,
    "\nx: &x [*x]",
])
def test_plan_check_on_an_alias_bomb_or_deep_nesting_is_a_located_error_in_bounded_time_and_memory(
        workspace: Workspace, bomb: str) -> None:
    """The real command in a process of its own, so that its peak memory can be measured."""
    plan = workspace.path(PLAN)
    plan.write_text(plan.read_text(encoding="utf-8") + bomb, encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).with_name("responder")), "--plan", str(plan), "--roster",
                           str(workspace.path(ROSTER)), "plan", "check"], capture_output=True, text=True,
                          timeout=60, cwd=workspace.root)
    took = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert located(done.stdout + done.stderr, plan)
    assert took < BUDGET_SECONDS, f"{took:.1f} s"
    assert peak_mb < 200 or before / 1024 >= 200, f"{peak_mb:.0f} MB"


def test_a_plan_file_too_large_to_be_one_is_refused_unread(workspace: Workspace) -> None:
    plan = workspace.path(PLAN)
    with plan.open("ab") as file:
        file.truncate(10 * 1024 * 1024 + 1)  # sparse: large on paper, nothing written
    with pytest.raises(InputError, match="file larger than 1 MB; this is not a plan"):
        read_plan(plan)


@pytest.mark.parametrize(("hidden", "name"), [("\u202e", "RIGHT-TO-LEFT OVERRIDE"), ("\x00", "U+0000"),
                                              ("\u200b", "ZERO WIDTH SPACE"), ("\u2066", "LEFT-TO-RIGHT ISOLATE")])
def test_a_roster_name_hiding_characters_is_refused_at_its_line_and_column(cli: Invoke, workspace: Workspace,
                                                                          hidden: str, name: str) -> None:
    roster = workspace.path(ROSTER)
    lines = roster.read_text(encoding="utf-8").split("\n")
    person, person_name, rest = lines[3].split(",", 2)
    lines[3] = f"{person},{person_name[:1]}{hidden}{person_name[1:]},{rest}"
    roster.write_text("\n".join(lines), encoding="utf-8")
    result = cli("--plan", str(workspace.path(PLAN)), "--roster", str(roster), "plan", "check")
    assert result.exit_code == 2, result.output
    assert f"{roster}:4 name: error: name has an invisible or control character ({name}) at character 2" \
        in result.output, result.output


FEED = "    path: config/feeds/county-rain.csv\n    interval: 15m\n"


@pytest.mark.parametrize(("old", "new", "message"), [
    (FEED, FEED + "    timeout: 0s\n", "0s is outside the bounds 1s–10m"),
    (FEED, FEED.replace("15m", "1s"), "1s is outside the bounds 10s–7d"),
    (FEED, FEED + "    timeout: 99999999999d\n", "is longer than 3660d"),
    (FEED, FEED + "    timeout: 1.0e+300\n", "1e+300 seconds is longer than 3660d"),
    (FEED, FEED + "    timeout: 1_0s\n", "'1_0s' is not a duration"),
    ("    repeat_every: 30m\n", "    repeat_every: 0s\n", "0s is outside the bounds 1s–7d"),
    ("      - {after: 5m, action: resend_sms}", "      - {after: 30d, action: resend_sms}", "outside the bounds 0s–7d"),
    ("  quiet_period: 1h\n", "  quiet_period: 400d\n", "outside the bounds 0s–7d"),
])
def test_plan_durations_have_located_bounds(cli: Invoke, workspace: Workspace, old: str, new: str,
                                            message: str) -> None:
    plan = workspace.path(PLAN)
    text = plan.read_text(encoding="utf-8")
    assert text.count(old) == 1
    plan.write_text(text.replace(old, new), encoding="utf-8")
    now = plan.read_text(encoding="utf-8").split("\n")
    changed = next(i for i, (a, b) in enumerate(zip(text.split("\n"), now, strict=False), start=1) if a != b)
    result = cli("--plan", str(plan), "--roster", str(workspace.path(ROSTER)), "plan", "check")
    assert result.exit_code == 2, result.output
    assert f"{plan}:{changed} " in result.output and message in result.output, result.output


def test_a_plan_name_hiding_a_bidi_override_is_refused_at_its_line(cli: Invoke, workspace: Workspace) -> None:
    line = workspace.edit(PLAN, "name: {zh: 三建乡, en: Sanjian Township}",
                          "name: {zh: 三建\u202e乡, en: Sanjian Township}")
    result = cli("--plan", str(workspace.path(PLAN)), "--roster", str(workspace.path(ROSTER)), "plan", "check")
    assert result.exit_code == 2, result.output
    assert f"{workspace.path(PLAN)}:{line} area.name.zh: error: the text has an invisible or control character " \
           "(RIGHT-TO-LEFT OVERRIDE) at character 3" in result.output, result.output
