"""The people of the plan, their groups and roles, and the duty rota."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from responder.domain.types import Role


@dataclass(frozen=True, slots=True)
class Membership:
    group: str
    role: Role


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    phone: str
    """E.164, normalised at the edge."""
    language: str
    village: str = ""
    memberships: tuple[Membership, ...] = ()

    def role_in(self, group: str) -> Role | None:
        return next((m.role for m in self.memberships if m.group == group), None)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(m.group for m in self.memberships)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "phone": self.phone,
            "language": self.language,
            "village": self.village,
            "groups": {m.group: m.role.value for m in self.memberships},
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Person:
        groups = data.get("groups") or {}
        assert isinstance(groups, dict)
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            phone=str(data["phone"]),
            language=str(data["language"]),
            village=str(data.get("village") or ""),
            memberships=tuple(Membership(str(g), Role(str(r))) for g, r in groups.items()),
        )


@dataclass(frozen=True)
class Roster:
    """An immutable roster; incidents keep the one they were declared under."""

    people: tuple[Person, ...]

    @cached_property
    def by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.people}

    def get(self, person_id: str) -> Person | None:
        return self.by_id.get(person_id)

    def members(self, group: str, roles: Iterable[Role] | None = None) -> list[Person]:
        wanted = set(roles) if roles is not None else set(Role)
        return [p for p in self.people if (r := p.role_in(group)) is not None and r in wanted]

    def to_list(self) -> list[dict[str, object]]:
        return [p.to_dict() for p in self.people]

    @classmethod
    def from_list(cls, rows: Sequence[dict[str, object]]) -> Roster:
        return cls(tuple(Person.from_dict(r) for r in rows))


@dataclass(frozen=True, slots=True)
class Shift:
    """One line of the duty rota: ``person`` is duty officer from ``start`` (inclusive) to ``end``."""

    start: datetime
    end: datetime
    person: str
    deputy: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class DutyRota:
    shifts: tuple[Shift, ...] = field(default_factory=tuple)

    def on_duty(self, when: datetime) -> Shift | None:
        """The shift covering ``when``; the latest-starting one wins if shifts overlap."""
        covering = [s for s in self.shifts if s.start <= when < s.end]
        return max(covering, key=lambda s: s.start) if covering else None

    def gaps(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Stretches of [start, end) that no shift covers."""
        gaps: list[tuple[datetime, datetime]] = []
        cursor = start
        for shift in sorted(self.shifts, key=lambda s: s.start):
            if shift.end <= cursor:
                continue
            if shift.start > cursor:
                gaps.append((cursor, min(shift.start, end)))
            cursor = max(cursor, shift.end)
            if cursor >= end:
                break
        if cursor < end:
            gaps.append((cursor, end))
        return [(a, b) for a, b in gaps if a < b]
