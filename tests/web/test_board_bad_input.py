"""Bad input on the board: each bad value shown next to its field, nothing changed; unknown ids are a 404 page."""

from __future__ import annotations

from html import unescape

import pytest
from board_support import BoardClient
from web_hooks_support import table_counts

from responder.app.alerts import raise_alert
from responder.wiring import AppContext

GOOD = {"hazard": "flood", "level": "2", "reason": "河水上涨"}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"level": "two"}, "level", "not a whole number"),
    ({"level": "7"}, "level", "unknown level 7"),
    ({"level": ""}, "level", "not a whole number"),
    ({"reason": "   "}, "reason", "a reason is required"),
    ({"reason": "涨" * 301}, "reason", "at most 300"),
    ({"hazard": "earthquake"}, "hazard", "unknown hazard 'earthquake'"),
])
@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_a_bad_raise_is_refused_next_to_its_field(sqlite_ctx: AppContext, officer: BoardClient,
                                                  change: dict[str, str], field: str, words: str, step: str) -> None:
    before = table_counts(sqlite_ctx)
    answer = officer.post("/actions/raise", data={**GOOD, **change, "step": step})
    assert answer.status_code == 400
    assert f'<span class="field-error" role="alert" data-field="{field}">' in answer.text
    error = answer.text.split(f'data-field="{field}">', 1)[1].split("</span>", 1)[0]
    error = unescape(error)
    assert words in error
    assert "Traceback" not in answer.text and 'name="reason"' in answer.text, "the form again, values kept"
    assert table_counts(sqlite_ctx) == before


@pytest.mark.parametrize(("action", "fields", "field", "words"), [
    ("upgrade", {"level": "4", "reason": "x"}, "level", "would be a downgrade"),
    ("downgrade", {"level": "1", "reason": "x"}, "level", "would be an upgrade"),
    ("upgrade", {"level": "3", "reason": "x"}, "level", "would be a downgrade"),
    ("end", {"reason": ""}, "reason", "a reason is required"),
    ("ack", {"person": "NOBODY"}, "person", "was not called out"),
])
def test_bad_values_on_an_incident_change_nothing(sqlite_ctx: AppContext, officer: BoardClient, action: str,
                                                  fields: dict[str, str], field: str, words: str) -> None:
    raise_alert(sqlite_ctx, "flood", 3, "河水上涨", "tester")
    before = table_counts(sqlite_ctx)
    for step in ("preview", "confirm"):
        answer = officer.post(f"/actions/{action}", data={"incident": "1", "step": step, **fields})
        assert answer.status_code == 400, answer.text[-2000:]
        error = answer.text.split(f'data-field="{field}">', 1)[1].split("</span>", 1)[0]
        assert words in unescape(error)
    assert table_counts(sqlite_ctx) == before


def test_a_second_raise_of_the_same_hazard_is_a_conflict_shown_on_the_form(sqlite_ctx: AppContext,
                                                                           officer: BoardClient) -> None:
    raise_alert(sqlite_ctx, "flood", 3, "河水上涨", "tester")
    before = table_counts(sqlite_ctx)
    answer = officer.post("/actions/raise", data={**GOOD, "step": "confirm"})
    assert answer.status_code == 409 and "already open" in answer.text
    assert table_counts(sqlite_ctx) == before


@pytest.mark.parametrize("path", ["/incidents/999", "/incidents/abc", "/incidents/-1", "/incidents/1%0A2",
                                  "/incidents/99999999999999999999", "/actions/upgrade?incident=999",
                                  "/actions/upgrade?incident=x", "/actions/confirm_proposal?proposal=P77",
                                  "/actions/explode", "/no/such/page"])
def test_unknown_ids_and_pages_are_a_404_page(sqlite_ctx: AppContext, officer: BoardClient, path: str) -> None:
    answer = officer.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "No such page or incident" in answer.text and "Traceback" not in answer.text


@pytest.mark.parametrize(("action", "fields"), [
    ("upgrade", {"incident": "999", "level": "2", "reason": "x"}),
    ("end", {"incident": "abc", "reason": "x"}),
    ("ack", {"incident": "", "person": "O003"}),
    ("escalate", {"incident": "999"}),
    ("confirm_proposal", {"proposal": "P999", "reason": ""}),
    ("reject_proposal", {"proposal": "twelve", "reason": "x"}),
])
@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_actions_on_unknown_ids_are_a_404_page(sqlite_ctx: AppContext, officer: BoardClient, action: str,
                                               fields: dict[str, str], step: str) -> None:
    before = table_counts(sqlite_ctx)
    answer = officer.post(f"/actions/{action}", data={**fields, "step": step})
    assert answer.status_code == 404 and "Traceback" not in answer.text
    assert table_counts(sqlite_ctx) == before


def test_acting_on_an_incident_that_has_ended_is_refused(sqlite_ctx: AppContext, officer: BoardClient) -> None:
    from responder.app.alerts import end_alert

    raise_alert(sqlite_ctx, "flood", 3, "河水上涨", "tester")
    end_alert(sqlite_ctx, 1, "over", "tester")
    before = table_counts(sqlite_ctx)
    for action, fields in (("upgrade", {"level": "2", "reason": "x"}), ("end", {"reason": "x"}),
                           ("escalate", {}), ("ack", {"person": "O003"})):
        answer = officer.post(f"/actions/{action}", data={"incident": "1", "step": "confirm", **fields})
        assert answer.status_code == 409, (action, answer.text[-1500:])
        assert "already ended" in answer.text
    assert table_counts(sqlite_ctx) == before
