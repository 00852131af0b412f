"""What a report is built from: the stored history of each incident, as plain records.

The report reads these attributes and nothing else; the storage rows that a use case extracts
(``responder.app.reports``) have them, so any object with the same attributes will do (a test, an
export from another system). Times are aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from responder.domain.plan import Plan
from responder.domain.roster import Roster


class IncidentRecord(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def hazard(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def is_drill(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def raised_by(self) -> str: ...
    @property
    def raised_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def plan_snapshot(self) -> Mapping[str, Any] | None:
        """The plan as it stood when the incident was raised (stored JSON)."""
        ...
    @property
    def roster_snapshot(self) -> Sequence[Any] | None: ...


class EventRecord(Protocol):
    """One entry of the audit trail."""

    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def evidence(self) -> Mapping[str, Any] | None: ...


class RecipientRecord(Protocol):
    @property
    def person_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def assignments(self) -> Sequence[Any] | None:
        """Why they were called: {"group": ..., "chain": ..., "zone": ...} entries."""
        ...
    @property
    def called_at(self) -> datetime: ...
    @property
    def called_level(self) -> int: ...
    @property
    def confirmed_at(self) -> datetime | None: ...
    @property
    def confirmed_channel(self) -> str | None: ...
    @property
    def confirmed_by(self) -> str | None: ...


class StepRecord(Protocol):
    """One escalation step as scheduled and (maybe) run."""

    @property
    def level(self) -> int: ...
    @property
    def round(self) -> int: ...
    @property
    def step_index(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def chain_step(self) -> str | None: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    @property
    def done_at(self) -> datetime | None: ...
    @property
    def done_by(self) -> str | None: ...
    @property
    def result(self) -> Mapping[str, Any] | None: ...


class AckRecord(Protocol):
    """An acknowledgement (a reply, a keypress, a confirmation taken by phone)."""

    @property
    def person_id(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...
    @property
    def by(self) -> str: ...


class ReplyRecord(Protocol):
    """An SMS reply that was not a confirmation."""

    @property
    def incident_id(self) -> int | None: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def person_id(self) -> str | None: ...
    @property
    def from_number(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def outcome(self) -> str: ...


class CalloutRecord(Protocol):
    """One call-out of a person (or a change of it with the level): when, at which level, for what."""

    @property
    def at(self) -> datetime: ...
    @property
    def level(self) -> int: ...
    @property
    def groups(self) -> tuple[str, ...]: ...
    @property
    def zones(self) -> tuple[str, ...]: ...
    @property
    def tasked(self) -> bool:
        """Called for a task (a group or a zone), not released nor only told as a rung of the chain."""
        ...


Message = tuple[str | None, str, str, str, datetime]
"""An outbox row of the incident: person, status, kind, channel, when queued."""
Window = tuple[int, str, datetime, datetime | None]
"""An incident open during the report's: id, code, raised, ended."""
Called = tuple[int, str, str, datetime, Sequence[Any]]
"""A recipient of an incident: incident, person, name, when called, assignments."""
TextRow = tuple[str | None, str, str, str, str, str, datetime]
"""An outbox row's text: person, status, kind, language, channel, body, when queued."""


@dataclass(frozen=True)
class IncidentHistory:
    """Everything stored about one incident that its report shows."""

    incident: IncidentRecord
    plan: Plan
    roster: Roster
    """The plan and roster it was declared under (its snapshots, loaded)."""
    events: Sequence[EventRecord]
    recipients: Sequence[RecipientRecord]
    messages: Sequence[Message]
    steps: Sequence[StepRecord]
    acks: Sequence[AckRecord]
    replies: Sequence[ReplyRecord]
    confirmations: Sequence[tuple[str, datetime]]
    """(person, when) of every reply that confirmed, a repeated one included: a reply to a later call-out (another
    group, after an upgrade) confirms that call even when it is not the person's first."""
    callouts: Mapping[str, Sequence[CalloutRecord]]
    """Per person, their call-outs in order (the recipient row keeps only the latest level's assignments)."""
    texts: Sequence[TextRow]


@dataclass(frozen=True)
class Overlap:
    """The incidents open at some time during the report's (theirs included), and whom each called."""

    windows: Sequence[Window]
    called: Sequence[Called]
