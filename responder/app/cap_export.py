"""The public warnings of incidents as CAP 1.2: for ``alert cap`` (files) and ``/cap/*`` (the feed).

Messages are built from the incident's audit trail and the plan snapshot it was declared under, so
they say what was declared then, however the plan has changed since. What the feed publishes now
(drills or not) is the plan in force's decision.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from responder.app.incident_basis import snapshot_of
from responder.app.ports import Context
from responder.domain.cap import build_messages, parse_identifier
from responder.domain.cap_config import MAX_EXPIRES
from responder.domain.cap_model import Alert
from responder.domain.errors import InputError, NotFound, Problem, ResponderError
from responder.storage.cap_history import current_incident_ids, incident_history


@dataclass(frozen=True)
class IncidentMessages:
    incident_id: int
    code: str
    is_drill: bool
    messages: tuple[Alert, ...]


class InvalidMessage(ResponderError):
    """A message failed the schema or the specification's rules: nothing was written or served."""


def incident_messages(ctx: Context, incident_id: int) -> IncidentMessages:
    ctx.require_schema()
    found = _messages(ctx, incident_id)
    if found is None:
        raise NotFound(f"no incident #{incident_id}")
    if isinstance(found, str):
        raise InputError(Problem(found, field="cap"))
    return found


def _messages(ctx: Context, incident_id: int) -> IncidentMessages | str | None:
    """The incident's messages; a reason when its plan has no CAP section; None when there is no such incident."""
    with ctx.sessions() as session:
        loaded = incident_history(session, incident_id)
        if loaded is None:
            return None
        row, incident = loaded
        plan, _ = snapshot_of(row)
    if plan.cap is None:
        return (f"incident #{incident_id} ({incident.code}) was declared under a plan without a cap: section, so "
                "it has no public warning; add the section for incidents declared from now on")
    return IncidentMessages(incident.incident_id, incident.code, incident.is_drill,
                            tuple(build_messages(plan, incident)))


def issued(ctx: Context, incident_ids: Sequence[int]) -> list[tuple[int, Alert]]:
    """(incident id, message) of every message the incidents published; none for those without a cap: section."""
    out: list[tuple[int, Alert]] = []
    for incident_id in incident_ids:
        found = _messages(ctx, incident_id)
        if isinstance(found, IncidentMessages):
            out.extend((incident_id, m) for m in found.messages)
    return out


def public_drills(ctx: Context) -> bool:
    cap = ctx.plan.cap
    return cap is not None and cap.public_drills


def current_messages(ctx: Context) -> list[Alert]:
    """The latest message of each incident that has not expired: what the feed lists now."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        ids = current_incident_ids(session, now - MAX_EXPIRES, include_drills=public_drills(ctx))
    out = []
    for incident_id in ids:
        found = _messages(ctx, incident_id)
        if isinstance(found, IncidentMessages) and found.messages:
            latest = found.messages[-1]
            expires = latest.expires_at
            if expires is None or expires > now:
                out.append(latest)
    return out


def published_message(ctx: Context, identifier: str) -> Alert | None:
    """The message with this identifier, if the feed may show it (any message of an incident, current or not)."""
    named = parse_identifier(identifier)
    if named is None:
        return None
    found = _messages(ctx, named[0])
    if not isinstance(found, IncidentMessages) or (found.is_drill and not public_drills(ctx)):
        return None
    return next((m for m in found.messages if m.identifier == identifier), None)


def checked_xml(messages: Sequence[Alert], sign: bool, ctx: Context) -> list[bytes]:
    """Each message's XML (signed if asked), every one checked against the schema and the rules first."""
    from responder.cap.schema import problems
    from responder.cap.signing import signed_xml, signing_key
    from responder.cap.xml_writer import to_xml

    key = signing_key(ctx.settings) if sign else None
    if sign and key is None:
        raise InputError(Problem("no signing key is configured: set RESPONDER_CAP_SIGNING_KEY_FILE and "
                                 "RESPONDER_CAP_SIGNING_CERT_FILE", field="--sign"))
    out = []
    for message in messages:
        data = signed_xml(message, key) if key is not None else to_xml(message)
        found = problems(data)
        if found:
            raise InvalidMessage(f"CAP message {message.identifier} is not valid CAP 1.2: {'; '.join(found)}")
        out.append(data)
    return out


def write_messages(messages: Sequence[Alert], data: Sequence[bytes], folder: Path) -> list[Path]:
    """``{identifier}.xml`` for each message in ``folder`` (created); each file replaced whole, never half-written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(Problem(f"cannot create the folder: {exc.strerror}", str(folder), field="--out")) from None
    written = []
    for message, body in zip(messages, data, strict=True):
        path = folder / f"{message.identifier}.xml"
        partial = path.with_name(path.name + ".part")
        try:
            partial.write_bytes(body)
            os.replace(partial, path)
        except OSError as exc:
            raise InputError(Problem(f"cannot write: {exc.strerror}", str(path), field="--out")) from None
        written.append(path)
    return written
