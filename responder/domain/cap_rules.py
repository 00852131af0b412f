"""CAP 1.2's rules that the XML schema does not express (specification section 3), checked on values.

The schema checks structure and enumerations; these are the sentences of section 3 it cannot say:
identifiers and sender without spaces, commas, < or &; times to the second with a numeric offset and
UTC written -00:00; ``references`` as whitespace-separated ``sender,identifier,sent`` triples, required
on Update and Cancel; polygons closed with at least four WGS 84 pairs; circles as a pair and a radius;
restriction and addresses where the scope needs them.
"""

from __future__ import annotations

import re
from datetime import datetime

from responder.domain.cap_model import DATETIME, Alert, Area, Info

RESTRICTED = re.compile(r"[\s,<&]")
LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
"""RFC 3066 language tags (CAP 1.2 3.2.2 language)."""
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def violations(alert: Alert) -> list[str]:
    """Every rule ``alert`` breaks, each as "where: what"; empty when it keeps them all."""
    out: list[str] = []
    _no_restricted(out, "identifier", alert.identifier)
    _no_restricted(out, "sender", alert.sender)
    _time(out, "sent", alert.sent)
    if alert.msg_type in ("Update", "Cancel", "Ack", "Error") and not (alert.references or "").strip():
        out.append(f"references: a {alert.msg_type} must reference the earlier message(s)")
    if alert.references is not None:
        _references(out, alert.references)
    if alert.scope == "Restricted" and not alert.restriction:
        out.append("restriction: required when scope is Restricted")
    if alert.scope == "Private" and not alert.addresses:
        out.append("addresses: required when scope is Private")
    if alert.msg_type == "Error" and not alert.note:
        out.append("note: required on an Error message")
    for i, info in enumerate(alert.infos):
        _info(out, f"info[{i}]", info)
    return out


def _no_restricted(out: list[str], where: str, value: str) -> None:
    if not value:
        out.append(f"{where}: empty")
    elif RESTRICTED.search(value):
        out.append(f"{where}: {value!r} contains a space, comma, < or & (not allowed)")


def _time(out: list[str], where: str, value: str) -> None:
    if not DATETIME.match(value):
        why = ("a fraction of a second" if re.search(r":\d\d\.\d", value) else
               "a letter time zone (write -00:00 for UTC)" if value.endswith(("Z", "z")) else
               "no offset" if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value) else "not the CAP form")
        out.append(f"{where}: {value!r} is not YYYY-MM-DDThh:mm:ss±hh:mm ({why})")
        return
    try:
        datetime.fromisoformat(value)
    except ValueError:
        out.append(f"{where}: {value!r} is not a real date and time")
        return
    if value.endswith("+00:00"):
        out.append(f"{where}: {value!r}: UTC must be written -00:00")


def _references(out: list[str], references: str) -> None:
    triples = references.split()
    if not triples:
        out.append("references: empty")
    for n, triple in enumerate(triples):
        parts = triple.split(",")
        if len(parts) != 3:
            out.append(f"references[{n}]: {triple!r} is not sender,identifier,sent")
            continue
        sender, identifier, sent = parts
        for where, value in (("sender", sender), ("identifier", identifier)):
            _no_restricted(out, f"references[{n}].{where}", value)
        _time(out, f"references[{n}].sent", sent)


def _info(out: list[str], where: str, info: Info) -> None:
    if info.language is not None and not LANGUAGE.match(info.language):
        out.append(f"{where}.language: {info.language!r} is not an RFC 3066 tag (e.g. zh-CN)")
    if not info.categories:
        out.append(f"{where}.category: at least one is required")
    if not info.event.strip():
        out.append(f"{where}.event: empty")
    for name in ("effective", "onset", "expires"):
        value = getattr(info, name)
        if value is not None:
            _time(out, f"{where}.{name}", value)
    for a, area in enumerate(info.areas):
        _area(out, f"{where}.area[{a}]", area)


def _area(out: list[str], where: str, area: Area) -> None:
    if not area.description.strip():
        out.append(f"{where}.areaDesc: empty")
    for p, polygon in enumerate(area.polygons):
        problem = polygon_problem(polygon)
        if problem:
            out.append(f"{where}.polygon[{p}]: {problem}")
    for c, circle in enumerate(area.circles):
        problem = circle_problem(circle)
        if problem:
            out.append(f"{where}.circle[{c}]: {problem}")
    for name in ("altitude", "ceiling"):
        value = getattr(area, name)
        if value is not None and not NUMBER.match(value.strip()):
            out.append(f"{where}.{name}: {value!r} is not a number")
    if area.ceiling is not None and area.altitude is None:
        out.append(f"{where}.ceiling: used only with altitude")


def _pair(text: str) -> str | None:
    """Why ``text`` is not a WGS 84 "lat,lon" pair, or None."""
    parts = text.split(",")
    if len(parts) != 2 or not all(NUMBER.match(p) for p in parts):
        return f"{text!r} is not a latitude,longitude pair"
    lat, lon = float(parts[0]), float(parts[1])
    if not -90 <= lat <= 90:
        return f"latitude {parts[0]} is outside -90..90"
    if not -180 <= lon <= 180:
        return f"longitude {parts[1]} is outside -180..180"
    return None


def polygon_problem(polygon: str) -> str | None:
    pairs = polygon.split()
    for pair in pairs:
        problem = _pair(pair)
        if problem:
            return problem
    if len(pairs) < 4:
        return f"{len(pairs)} coordinate pairs; a polygon needs at least 4"
    if tuple(map(float, pairs[0].split(","))) != tuple(map(float, pairs[-1].split(","))):
        return f"not closed: the first pair {pairs[0]} and the last {pairs[-1]} must be the same"
    return None


def circle_problem(circle: str) -> str | None:
    parts = circle.split()
    if len(parts) != 2:
        return f"{circle!r} is not 'latitude,longitude radius'"
    problem = _pair(parts[0])
    if problem:
        return problem
    if not NUMBER.match(parts[1]) or float(parts[1]) < 0:
        return f"radius {parts[1]!r} is not a distance in km"
    return None
