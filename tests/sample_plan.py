"""What config/plan.yaml and contacts/roster.csv say, read with PyYAML and csv, independently of the production
code, so that tests check the code against the sample plan (shared by the alert and offline-fallback tests)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PLAN = REPO / "config" / "plan.yaml"
ROSTER = REPO / "contacts" / "roster.csv"


@cache
def raw_plan() -> dict[str, Any]:
    return dict(yaml.safe_load(PLAN.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class RosterPerson:
    id: str
    name: str
    language: str
    groups: dict[str, str]
    phone: str
    """As written in the CSV."""


@cache
def raw_roster() -> dict[str, RosterPerson]:
    people = {}
    with ROSTER.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            groups = dict(part.split(":") for part in row["groups"].split(";") if part)
            people[row["id"]] = RosterPerson(row["id"], row["name"], row["language"], groups, row["phone"])
    return people


def callout_entry(hazard: str, level: int) -> dict[str, Any]:
    found = next(h for h in raw_plan()["hazards"] if h["id"] == hazard)
    return dict(next(c for c in found["callout"] if c["level"] == level))


def expected_groups(hazard: str, level: int) -> dict[str, set[str]]:
    """group → ids of the people the call-out matrix names for it at ``level``."""
    out: dict[str, set[str]] = {}
    for entry in callout_entry(hazard, level)["groups"]:
        roles = set(entry.get("roles", ["leader", "deputy", "member"]))
        out[entry["group"]] = {p.id for p in raw_roster().values() if p.groups.get(entry["group"]) in roles}
    return out


def expected_people(hazard: str, level: int) -> set[str]:
    return set().union(*expected_groups(hazard, level).values())


def evacuation_people() -> set[str]:
    return {pid for zone in raw_plan()["evacuation_zones"] for pid in [zone["responsible"], *zone.get("helpers", [])]}
