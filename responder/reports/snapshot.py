"""Reading an incident's plan and roster snapshots defensively.

A report may be written years after the incident, by a version of responder whose plan model has
grown (stations, rules, ...). The snapshot is read as the stored JSON, key by key, with fallbacks,
so that an old incident always gets its report.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from responder.domain.types import parse_duration

LEVEL_COLOURS = {4: "blue", 3: "yellow", 2: "orange", 1: "red"}
"""The national scheme (IV blue → I red), used when a snapshot does not say."""


def local(text: Any, language: str, fallback: str | None = None) -> str:
    """A name in ``language`` from a {lang: text} dict (or a plain string), else the fallback, else any."""
    if isinstance(text, str):
        return text
    if isinstance(text, Mapping):
        for lang in (language, fallback, "en"):
            if lang and isinstance(text.get(lang), str) and text[lang]:
                return str(text[lang])
        for value in text.values():
            if isinstance(value, str) and value:
                return value
    return ""


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class SnapshotView:
    """What the report needs from a plan snapshot (the ``plan_snapshot`` JSON of an incident)."""

    def __init__(self, snapshot: Mapping[str, Any] | None) -> None:
        self.raw: Mapping[str, Any] = snapshot or {}

    # -- area and language ----------------------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        langs = self.raw.get("languages")
        return [str(x) for x in langs] if isinstance(langs, list) and langs else ["en"]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def timezone(self) -> str:
        area = self.raw.get("area")
        zone = area.get("timezone") if isinstance(area, Mapping) else None
        return str(zone) if zone else "UTC"

    def area_name(self, language: str) -> str:
        area = self.raw.get("area")
        if not isinstance(area, Mapping):
            return ""
        return local(area.get("name"), language, self.default_language) or str(area.get("id") or "")

    # -- names ------------------------------------------------------------------------------------------------
    def _named(self, key: str, item_id: str) -> Mapping[str, Any] | None:
        return next((g for g in _list(self.raw.get(key)) if g.get("id") == item_id), None)

    def group_name(self, group: str, language: str) -> str:
        found = self._named("groups", group)
        return (local(found.get("name"), language, self.default_language) if found else "") or group

    @property
    def group_order(self) -> list[str]:
        return [str(g.get("id")) for g in _list(self.raw.get("groups")) if g.get("id")]

    def hazard_name(self, hazard: str, language: str) -> str:
        found = self._named("hazards", hazard)
        return (local(found.get("name"), language, self.default_language) if found else "") or hazard

    def chain_name(self, step: str, language: str) -> str:
        found = self._named("escalation_chain", step)
        return (local(found.get("name"), language, self.default_language) if found else "") or step

    # -- levels and policy ------------------------------------------------------------------------------------
    def _level(self, level: int) -> Mapping[str, Any] | None:
        return next((x for x in _list(self.raw.get("levels")) if x.get("level") == level), None)

    def level_colour(self, level: int) -> str:
        found = self._level(level)
        colour = found.get("colour") if found else None
        return str(colour) if colour else LEVEL_COLOURS.get(level, "grey")

    def level_name(self, level: int, language: str) -> str:
        found = self._level(level)
        if not found:
            return f"level {level}"
        colour = local(found.get("colour_name"), language, self.default_language)
        name = local(found.get("name"), language, self.default_language)
        return " ".join(x for x in (colour, name) if x) or f"level {level}"

    def confirm_within(self, level: int) -> timedelta | None:
        policy = next((p for p in _list(self.raw.get("escalation_policy")) if p.get("level") == level), None)
        value = policy.get("confirm_within") if policy else None
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError:
            return None

    def headcount(self, group: str) -> int | None:
        resources = self.raw.get("resources")
        teams = _list(resources.get("teams")) if isinstance(resources, Mapping) else []
        counts = [int(n) for t in teams if t.get("group") == group and (n := number(t.get("headcount"))) is not None]
        return sum(counts) if counts else None

    # -- stations ---------------------------------------------------------------------------------------------
    def stations(self) -> list[Mapping[str, Any]]:
        """Station dicts with at least an id (the feeds issue gives them name, kind, warning_level...)."""
        return [s for s in _list(self.raw.get("stations")) if s.get("id")]

    # -- rules ------------------------------------------------------------------------------------------------
    def rules(self) -> list[Mapping[str, Any]]:
        """Rule dicts as the plan gives them (``kind``, ``stations``, ``window``, ``thresholds``...)."""
        return [r for r in _list(self.raw.get("rules")) if r.get("kind")]


def roster_groups(roster_snapshot: Any) -> dict[str, dict[str, str]]:
    """person id → {group: role} from a roster snapshot (``Roster.to_list()``)."""
    out: dict[str, dict[str, str]] = {}
    for row in _list(roster_snapshot):
        groups = row.get("groups")
        if isinstance(groups, Mapping):
            out[str(row.get("id"))] = {str(g): str(r) for g, r in groups.items()}
    return out


def roster_names(roster_snapshot: Any) -> dict[str, str]:
    return {str(row.get("id")): str(row.get("name") or row.get("id")) for row in _list(roster_snapshot)}
