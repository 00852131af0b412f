"""A CAP 1.2 message as plain values, field for field as the XML carries them.

Times, polygons and circles are kept in their CAP text form ("2027-07-01T09:00:00+08:00",
"29.98,108.09 29.99,108.10 ..."), so a message read from any sender's XML can be checked against
the specification's rules exactly as it was written (:mod:`responder.domain.cap_rules`), and written
back unchanged. :func:`cap_time` and :func:`parse_cap_time` convert to and from aware datetimes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
"""CAP 1.2 3.3.2: seconds, no fraction, an explicit numeric offset (never "Z")."""


@dataclass(frozen=True)
class NamedValue:
    """valueName/value pairs: eventCode, parameter, geocode."""

    name: str
    value: str


@dataclass(frozen=True)
class Resource:
    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class Area:
    description: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[NamedValue, ...] = ()
    altitude: str | None = None
    ceiling: str | None = None


@dataclass(frozen=True)
class Info:
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str | None = None
    """None when the element is absent (CAP's default is en-US)."""
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[NamedValue, ...] = ()
    effective: str | None = None
    onset: str | None = None
    expires: str | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[NamedValue, ...] = ()
    resources: tuple[Resource, ...] = ()
    areas: tuple[Area, ...] = ()

    def parameter(self, name: str) -> str | None:
        return next((p.value for p in self.parameters if p.name == name), None)


@dataclass(frozen=True)
class Alert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: str | None = None
    incidents: str | None = None
    infos: tuple[Info, ...] = field(default_factory=tuple)

    @property
    def sent_at(self) -> datetime:
        return parse_cap_time(self.sent)

    @property
    def expires_at(self) -> datetime | None:
        """The latest expiry of its info blocks (None: no block says, the message does not expire)."""
        times = [parse_cap_time(i.expires) for i in self.infos if i.expires]
        return max(times) if times else None

    def reference(self) -> str:
        """This message as another one references it: ``sender,identifier,sent``."""
        return f"{self.sender},{self.identifier},{self.sent}"

    def info(self, language: str) -> Info | None:
        return next((i for i in self.infos if i.language == language), None)


def cap_time(when: datetime) -> str:
    """``when`` as CAP writes a time: to the second, with its offset; UTC as -00:00 (CAP 1.2 3.3.2)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a CAP time needs a time zone")
    when = when.replace(microsecond=0)
    offset = when.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes <= 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S')}{sign}{hours:02d}:{mins:02d}"


def parse_cap_time(text: str) -> datetime:
    """A CAP time as an aware datetime with the offset it was written with; ValueError if not CAP's form."""
    if not DATETIME.match(text):
        raise ValueError(f"{text!r} is not a CAP time (YYYY-MM-DDThh:mm:ss with an offset such as +08:00)")
    parsed = datetime.fromisoformat(text)
    offset = parsed.utcoffset()
    return parsed.replace(tzinfo=timezone(offset)) if offset is not None else parsed
