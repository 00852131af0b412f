"""The sample roster and rota files, read through :mod:`responder.configfiles`."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from foundation_support import REPO, ROSTER, ROTA

from responder.configfiles.phones import normalise_phone
from responder.configfiles.roster_csv import parse_groups, read_roster
from responder.configfiles.rota_csv import parse_local_time, read_rota
from responder.domain.roster import Membership
from responder.domain.types import Role


@pytest.fixture(scope="module")
def roster():
    loaded = read_roster(REPO / ROSTER, "CN")
    assert loaded.problems == []
    return loaded.roster


def test_sample_roster_covers_every_group_village_and_role(roster) -> None:
    groups = {"office", "command", "rescue", "security", "medical", "technical", "survey", "communications",
              "power", "water_supply", "militia", "volunteers"}
    for group in groups:
        assert roster.members(group, [Role.LEADER]) and roster.members(group, [Role.DEPUTY]), group
    assert {p.village for p in roster.people} == {"鱼泉子", "廖家坝", "蔡森坝", "绿春坝"}
    assert Counter(p.language for p in roster.people).keys() == {"zh", "en"}
    assert all(p.phone.startswith("+86174") and len(p.phone) == 14 for p in roster.people)
    assert roster.get("C002") is not None and roster.get("C002").memberships == (
        Membership("command", Role.DEPUTY), Membership("rescue", Role.LEADER))


@pytest.mark.parametrize(("raw", "e164"), [
    ("174 0002 3757", "+8617400023757"), ("+86 174 0000 7919", "+8617400007919"),
    ("+86-174-0000-7919", "+8617400007919"), ("008617400007919", "+8617400007919"),
])
def test_phones_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw, "CN") == e164


@pytest.mark.parametrize("raw", ["", "12345", "174 0600 0001", "call me"])
def test_invalid_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        normalise_phone(raw, "CN")


def test_groups_column() -> None:
    assert parse_groups("command:deputy；rescue:leader; survey") == (
        Membership("command", Role.DEPUTY), Membership("rescue", Role.LEADER), Membership("survey", Role.MEMBER))
    for bad in ("rescue:boss", ":leader", "rescue;rescue:deputy"):
        with pytest.raises(ValueError):
            parse_groups(bad)


def test_rota_times_are_local_and_become_utc() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert parse_local_time("2027-07-01 08:00", shanghai) == datetime(2027, 7, 1, 0, 0, tzinfo=UTC)
    assert parse_local_time("2027/07/01 08:00+00:00", shanghai) == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)
    rota = read_rota(REPO / ROTA, shanghai)
    assert rota.shifts[0].line == 2 and rota.shifts[0].start.tzinfo is not None
    season_2027 = (datetime(2027, 5, 31, 16, tzinfo=UTC), datetime(2027, 9, 30, 16, tzinfo=UTC))
    assert rota.gaps(*season_2027) == []
