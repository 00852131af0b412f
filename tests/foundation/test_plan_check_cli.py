"""``responder plan check`` and ``plan show`` through the real CLI: the sample passes, each broken file
gives one located message and exit code 2, and bad input writes nothing to the database."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from foundation_support import PLAN, ROSTER, ROTA, Invoke, Workspace


def problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error: " in line or ": warning: " in line]


def test_sample_plan_check_passes(cli: Invoke, workspace: Workspace, tmp_path) -> None:
    result = cli(*workspace.options(f"sqlite:///{tmp_path / 'r.db'}"), "plan", "check")
    assert result.exit_code == 0, result.output
    assert problem_lines(result.output) == []
    assert "plan check passed: 0 error(s), 0 warning(s); 12 groups, 104 people" in result.output
    as_json = cli(*workspace.options(f"sqlite:///{tmp_path / 'r.db'}"), "plan", "check", "--json")
    assert (as_json.exit_code, json.loads(as_json.stdout)) == (0, [])
    assert not (tmp_path / "r.db").exists(), "plan check must not touch the database"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("zh", ["全体抢险人员立即到现场待命", "分管副指挥长", "person C002", "leader of command",
                "县防汛办值班室 +8617400009999", "duty officer on the rota"]),
        ("en", ["all rescue personnel go on site now and stand by", "deputy commander in charge",
                "all militia muster at the HQ for the rescue", "help move residents to the shelters"]),
    ],
)
def test_plan_show_prints_matrix_and_chain(
    cli: Invoke, workspace: Workspace, tmp_path, monkeypatch: pytest.MonkeyPatch, lang: str, expected: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line, nothing folded
    result = cli(*workspace.options(f"sqlite:///{tmp_path / 'r.db'}"), "--lang", lang, "plan", "show")
    assert result.exit_code == 0, result.output
    out = result.output
    for title in ("Warning levels", "Call-out matrix", "(flood)", "(drought)", "Escalation chain"):
        assert title in out
    chain = out[out.index("Escalation chain"):]
    steps = ["duty_office", "deputy_in_charge", "township_head", "county"]
    assert [chain.find(s) for s in steps] == sorted(chain.find(s) for s in steps) and chain.find(steps[0]) > 0
    assert "level 1: inform deputy_in_charge, township_head, county; evacuation zones active" in out
    assert "level 2: inform deputy_in_charge" in out
    for text in expected:
        assert text in out


@dataclass(frozen=True)
class Broken:
    """One way to break one file, and the one message ``plan check`` must give for it."""

    id: str
    file: str
    old: str | re.Pattern[str]
    new: str
    message: str
    field: str | None
    at: str | None = None
    """A text whose line the message names (in ``reported``); by default the edited line."""
    reported: str | None = None
    """The file the message names, when it is not the edited one."""
    severity: str = "error"
    encoding: str = "utf-8"
    refused: bool = False
    """Bad input that ``init`` must refuse before writing anything."""


R004 = "R004,王乙,174 0009 5028,rescue:member,"
BROKEN = [
    Broken("malformed-yaml", PLAN, "  timezone: Asia/Shanghai", "  timezone: Asia: Shanghai",
           "malformed YAML: mapping values are not allowed", None, refused=True),
    Broken("missing-key", PLAN, "  timezone: Asia/Shanghai\n", "", "missing key 'timezone'", "area.timezone",
           at="area:\n  id: sanjian", refused=True),
    Broken("wrong-type", PLAN, "default_max_chars: 1600", "default_max_chars: lots", "valid integer",
           "sms.default_max_chars", refused=True),
    Broken("unknown-key", PLAN, "    colour: yellow", "    color: yellow",
           "unknown key 'color': did you mean 'colour'?", "levels.1.color", refused=True),
    Broken("duplicate-key", PLAN, "name: {zh: 三建乡, en: Sanjian Township}",
           "name: {zh: 三建乡, en: Sanjian Township, zh: 三建}", "duplicate key 'zh'", "area.name.zh", refused=True),
    Broken("impossible-day", PLAN, 'end: "09-30"', 'end: "09-31"', "'09-31' is not a day of the year",
           "duty.season.end", refused=True),
    Broken("unknown-group-in-matrix", PLAN, "group: technical\n            roles: [leader]\n",
           "group: technics\n            roles: [leader]\n", "unknown group 'technics' in the call-out matrix",
           "hazards.0.callout.0.groups.2.group"),
    Broken("level-without-template", PLAN, re.compile(r"    3:\n      zh: .*\n      en: .*\n"), "",
           "level 3 has no call-out template", "templates.callout", at="  callout:\n    4:"),
    Broken("language-without-template", PLAN, '    en: "{drill}Confirmed ({code}), thank you."\n', "",
           "no template in language 'en'", "templates.confirmed", at="  confirmed:"),
    Broken("unknown-placeholder", PLAN, "Confirmed ({code})", "Confirmed ({cod})", "unknown placeholder(s) {cod}",
           "templates.confirmed.en"),
    Broken("level-without-advice", PLAN, ', en: "Listen for weather and flood notices and keep away from the river '
           'banks"}', "}", "no advice for residents in 'en' at flood level 4", "hazards.0.callout.0.advice"),
    Broken("broadcast-unknown-placeholder", PLAN, "{advice}。{evacuation}", "{advise}。{evacuation}",
           "unknown placeholder(s) {advise}", "templates.broadcast.text.zh"),
    Broken("no-broadcast-template", PLAN, re.compile(r"  broadcast: .*\n(?:    .*\n)+"), "",
           "no broadcast template: `alert broadcast` cannot write the loudspeaker script", "templates",
           at="templates:\n  callout:\n", severity="warning"),
    Broken("group-without-leader", ROSTER, "survey:leader", "survey:member", "group 'survey' has no leader",
           "groups.6", at="  - id: survey\n", reported=PLAN),
    Broken("group-without-deputy", ROSTER, "survey:deputy", "survey:member", "group 'survey' has no deputy",
           "groups.6", at="  - id: survey\n", reported=PLAN, severity="warning"),
    Broken("person-in-no-group", ROSTER, R004, "R004,王乙,174 0009 5028,,", "R004 (王乙) is in no group",
           "groups", severity="warning"),
    Broken("unknown-group-in-roster", ROSTER, R004, "R004,王乙,174 0009 5028,rescues:member,",
           "unknown group 'rescues' (known: command,", "groups", refused=True),
    Broken("unknown-language-in-roster", ROSTER, "R004,王乙,174 0009 5028,rescue:member,绿春坝,zh",
           "R004,王乙,174 0009 5028,rescue:member,绿春坝,fr", "language 'fr' is not one of the plan's", "language",
           refused=True),
    Broken("duplicate-id", ROSTER, "R004,王乙", "R003,王乙", "duplicate id 'R003' (first on line 12)", "id",
           refused=True),
    Broken("duplicate-phone", ROSTER, R004, "R004,王乙,+86 174 0008 7109,rescue:member,",
           "phone +8617400087109 is already on line 12", "phone", refused=True),
    Broken("invalid-phone", ROSTER, R004, "R004,王乙,174 0009,rescue:member,",
           "'174 0009' is not a valid phone number", "phone", refused=True),
    Broken("missing-column", ROSTER, "id,name,phone,groups,village,language", "id,name,phone,groups,language",
           "missing column(s): village", "village", refused=True),
    Broken("not-utf8", ROSTER, "O001,李甲", "O001,李甲", "not UTF-8 text", "name", encoding="gbk",
           refused=True),
    Broken("rota-gap", ROTA, "2027-07-03 08:00,2027-07-04 08:00,O003,O001\n", "",
           "no duty officer from 2027-07-03 08:00 to 2027-07-04 08:00", "from/to",
           at="2027-07-02 08:00,2027-07-03 08:00"),
    Broken("rota-unknown-person", ROTA, "2027-07-03 08:00,2027-07-04 08:00,O003",
           "2027-07-03 08:00,2027-07-04 08:00,O009", "unknown person 'O009'", "person"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c.id for c in BROKEN])
def test_broken_file_gives_one_located_message(cli: Invoke, workspace: Workspace, tmp_path, case: Broken) -> None:
    line = workspace.edit(case.file, case.old, case.new, encoding=case.encoding)
    reported = case.reported or case.file
    if case.at is not None:
        line = workspace.line_of(reported, case.at)
    where = f"{workspace.path(reported)}:{line}" + (f" {case.field}" if case.field else "")
    db = tmp_path / "r.db"

    result = cli(*workspace.options(f"sqlite:///{db}"), "plan", "check")

    assert result.exit_code == (2 if case.severity == "error" else 0), result.output
    [message] = problem_lines(result.output)
    assert message.startswith(f"{where}: {case.severity}: "), message
    assert case.message in message
    if case.refused:
        init = cli(*workspace.options(f"sqlite:///{db}"), "init")
        assert init.exit_code == 2, init.output
        assert problem_lines(init.output) == [message]
    assert not db.exists(), "bad input must write nothing to the database"
