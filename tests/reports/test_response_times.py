"""A group's response counts from when that group called each person, per person and call-out: a deputy
commander who confirmed the rescue call at level 3 has not answered the command group's call at level 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responder.domain.response_times import CallOut, callouts, group_response

T0 = datetime(2027, 7, 10, 6, 0, tzinfo=UTC)
M = timedelta(minutes=1)
WANTED = {3: {"C002": ["rescue"], "R001": ["rescue"]},
          2: {"C002": ["rescue", "command"], "R001": ["rescue"], "C001": ["command"]}}


def test_call_outs_follow_the_level_changes_and_a_downgrade_releases() -> None:
    changes = [(T0, 3), (T0 + 60 * M, 2), (T0 + 120 * M, 3), (T0 + 180 * M, 2), (T0 + 240 * M, None)]
    calls = callouts(changes, lambda level: WANTED[level])
    assert [(c.person_id, c.group, (c.at - T0) // M) for c in calls] == [
        ("C002", "rescue", 0), ("R001", "rescue", 0),
        ("C001", "command", 60), ("C002", "command", 60),
        ("C001", "command", 180), ("C002", "command", 180)]       # released at the downgrade, called again


def test_an_upgrade_releases_nobody() -> None:
    wanted = {3: {"P": ["survey"]}, 2: {"Q": ["command"]}}
    calls = callouts([(T0, 3), (T0 + 60 * M, 2), (T0 + 90 * M, 3)], lambda level: wanted[level])
    assert [(c.person_id, c.group) for c in calls] == [("P", "survey"), ("Q", "command")]


def test_a_group_counts_from_its_own_call_not_an_earlier_one_for_another_group() -> None:
    calls = callouts([(T0, 3), (T0 + 60 * M, 2)], lambda level: WANTED[level])
    confirmations = {"C002": [T0 + 2 * M, T0 + 65 * M], "R001": [T0 + 4 * M], "C001": [T0 + 70 * M]}
    command = group_response("command", calls, confirmations, required=2)
    assert command.called_at == T0 + 60 * M
    assert command.first_confirmation == 5 * M                      # C002's second reply, not the 2-minute one
    assert dict(command.answered) == {"C001": 10 * M, "C002": 5 * M}
    assert command.headcount_reached == 10 * M
    rescue = group_response("rescue", calls, confirmations, required=None)
    assert (rescue.first_confirmation, dict(rescue.answered)) == (2 * M, {"C002": 2 * M, "R001": 4 * M})


def test_a_confirmation_given_before_the_call_counts_as_confirmed_but_times_nothing() -> None:
    calls = [CallOut("C002", "command", T0 + 60 * M)]
    response = group_response("command", calls, {"C002": [T0 + 2 * M]}, required=1)
    assert response.confirmed == ("C002",)
    assert response.answered == {} and response.first_confirmation is None and response.headcount_reached is None
