"""Bad input in the plan's ``messaging`` section: a located error at ``plan check`` (file, line, field; exit 2), and
nothing sent: a kind without a template, 【】 in a template body, a parameter over the provider's length, a link in
a parameter, a malformed template code, a route to a gateway with missing credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke
from cn_support import EXAMPLE, REPO
from plan_mutations import Broken, copied_sample, line_with, located, replaced_once
from typer.testing import CliRunner

CREDENTIALS = {"RESPONDER_ALIBABA_ACCESS_KEY_ID": "LTAI-test-key", "RESPONDER_ALIBABA_ACCESS_KEY_SECRET": "s",
               "RESPONDER_TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "RESPONDER_TWILIO_AUTH_TOKEN": "t",
               "RESPONDER_TWILIO_FROM_NUMBER": "+14155550100"}


CASES = [
    Broken("kind-without-template", '        standdown:\n          code: SMS_300000006\n', "        standdown_:\n"
           "          code: SMS_300000006\n", "messaging.gateways.aliyun.templates",
           "no alibaba template for 'standdown' messages", "      templates:"),
    Broken("brackets-in-body", 'body: "${drill}已确认收到（${code}），谢谢。"',
           'body: "${drill}【已确认】（${code}），谢谢。"',
           "messaging.gateways.aliyun.templates.confirmed.body", "【 in a alibaba template body", "【已确认】"),
    Broken("parameter-too-long", 'task: "{task}", place: "{report_to}"', 'task: "{task}，到{report_to}{area}", '
           'place: "{report_to}"', "messaging.gateways.aliyun.templates.callout.params.task",
           "over the provider's 35 for a parameter", "{task}，到{report_to}{area}"),
    Broken("link-in-parameter", 'station: "{station}"}\n        feed_recovered', 'station: "{station} '
           'http://sw.example.cn"}\n        feed_recovered', "messaging.gateways.aliyun.templates.stale_feed.params."
           "station", "a link in a template parameter", "http://sw.example.cn"),
    Broken("unknown-template-code", "code: SMS_300000008", "code: confirmed-v2",
           "messaging.gateways.aliyun.templates.confirmed.code", "'confirmed-v2' is not a alibaba template code",
           "code: confirmed-v2"),
    Broken("param-not-in-body", 'body: "${drill}已确认收到（${code}），谢谢。"', 'body: "${drill}已确认收到，谢谢。"',
           "messaging.gateways.aliyun.templates.confirmed", "params has 'code', which the body does not use",
           "        confirmed:"),
    Broken("unknown-gateway", "sms: aliyun, voice: aliyun", "sms: aliyn, voice: aliyun", "messaging.routes.0.sms",
           "unknown gateway 'aliyn'", "sms: aliyn"),
    Broken("too-many-sms-a-day", "      confirmed_voice: TTS_300000009", "      confirmed_voice: TTS_300000009\n"
           "      per_number_per_day: 2", "messaging.gateways.aliyun.per_number_per_day",
           "level 1 can send one number 4 SMS, over the 2 a day gateway 'aliyun' lets through",
           "per_number_per_day: 2"),
]


def workspace(tmp_path: Path, old: str = "", new: str = "") -> Path:
    plan = copied_sample(REPO, tmp_path / "ws")
    section = EXAMPLE.read_text(encoding="utf-8")
    if old:
        section = replaced_once(section, old, new, "example")
    plan.write_text(plan.read_text(encoding="utf-8") + "\n" + section, encoding="utf-8")
    return plan


def check(plan: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str]:
    for name, value in {**CREDENTIALS, **env}.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(plan.parent.parent)
    result = invoke(CliRunner(), "--plan", str(plan), "--roster", str(plan.parent.parent / "contacts" / "roster.csv"),
                    "plan", "check")
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_example_section_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = check(workspace(tmp_path), monkeypatch)
    assert code == 0, output


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_messaging_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Broken) -> None:
    plan = workspace(tmp_path, case.old, case.new)
    line = line_with(plan, case.line_of)
    code, output = check(plan, monkeypatch)
    assert code == 2, output
    assert located(output, plan, line, case.field, case.message), output


def test_a_route_to_a_gateway_without_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = workspace(tmp_path)
    line = line_with(plan, '{prefix: "+86", sms: aliyun')
    code, output = check(plan, monkeypatch, RESPONDER_ALIBABA_ACCESS_KEY_SECRET="")
    assert code == 2, output
    for channel in ("sms", "voice"):
        assert located(output, plan, line, f"messaging.routes.0.{channel}",
                       "set RESPONDER_ALIBABA_ACCESS_KEY_SECRET"), output


def test_twilio_to_china_is_warned_and_its_repeats_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = workspace(tmp_path, "{prefix: \"+86\", sms: aliyun, voice: aliyun, confirm: voice_after_sms, replies: true}",
                     "{prefix: \"+86\", sms: twilio, voice: twilio, confirm: reply, replies: true}")
    code, output = check(plan, monkeypatch)
    assert code == 2, output
    assert "messaging.routes.0.replies: warning: Twilio delivers SMS to China one way" in output
    line = line_with(plan, '{prefix: "+86", sms: twilio')
    assert located(output, plan, line, "messaging.routes.0.sms", "Twilio refuses the 3rd identical SMS"), output


def test_nothing_is_sent_through_a_gateway_without_credentials(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    plan = workspace(tmp_path)
    check(plan, monkeypatch, RESPONDER_ALIBABA_ACCESS_KEY_SECRET="")
    runner = CliRunner()
    common = ("--db", f"sqlite:///{tmp_path / 'r.db'}", "--plan", str(plan),
              "--roster", str(plan.parent.parent / "contacts" / "roster.csv"))
    assert invoke(runner, *common, "init").exit_code == 0
    raised = invoke(runner, *common, "alert", "raise", "--level", "2", "--hazard", "flood", "--reason", "长河超警戒",
                    "--yes")
    assert raised.exit_code == 2, raised.output
    assert "RESPONDER_ALIBABA_ACCESS_KEY_SECRET" in raised.output
    listed = invoke(runner, *common, "alert", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.output) == []
