"""OGC WaterML 2.0 time series (``wml2:Collection`` of ``om:OM_Observation``), parsed with lxml.

The parser resolves no entities, loads no DTD and touches no network: a feed is untrusted input.
The station is found among the observation's identifiers (feature of interest, monitoring point,
the collection's ``gml:identifier``), the parameter in ``om:observedProperty`` (e.g. USGS
``parmCd=00060``), the unit in the point or default point metadata (``wml2:uom``). A point with no
value (or ``xsi:nil``) is missing, not bad.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from responder.domain.readings import RawReading, Rejected
from responder.domain.stations import ParameterMap
from responder.feeds.base import FeedContext
from responder.feeds.http import FeedError

WML2 = "{http://www.opengis.net/waterml/2.0}"
OM = "{http://www.opengis.net/om/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
XLINK = "{http://www.w3.org/1999/xlink}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_TOKENS = re.compile(r"[.:/=&?#,;\s]+")


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_pis=True)


def read(ctx: FeedContext) -> None:
    parse(ctx.load(), ctx)


def parse(data: bytes, ctx: FeedContext) -> None:
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"invalid XML: {exc}") from None
    if root.tag == f"{OM}OM_Observation":
        observations = [root]
    elif root.tag == f"{WML2}Collection":
        observations = root.findall(f"{WML2}observationMember/{OM}OM_Observation")
    else:
        raise FeedError(f"changed schema: the document is {_local(root.tag)!r}, not a WaterML 2.0 Collection")
    if not observations:
        ctx.result.notes.append("no observations in the document")
    parameters = ctx.feed.parameter_map()
    for index, observation in enumerate(observations):
        _observation(ctx, root, observation, f"observation[{index}]", parameters)


def _observation(ctx: FeedContext, root: etree._Element, observation: etree._Element, where: str,
                 parameters: dict[str, ParameterMap]) -> None:
    series = observation.find(f"{OM}result/{WML2}MeasurementTimeseries")
    if series is None:
        ctx.result.fail(f"changed schema: {where} has no om:result/wml2:MeasurementTimeseries")
        return
    names = _identifiers(root, observation)
    source = _match(names, ctx.index)
    if source is None:
        if ctx.feed.unknown_stations == "quarantine":
            ctx.result.rejected.append(Rejected(" ".join(names), f"unknown station (identifiers: {', '.join(names)})",
                                                ctx.feed.id, None, where))
        return
    prop = observation.find(f"{OM}observedProperty")
    codes = [v for v in (prop.get(f"{XLINK}href"), prop.get(f"{XLINK}title")) if v] if prop is not None else []
    mapped = _parameter(codes, parameters)
    if mapped is None:
        ctx.result.notes.append(f"{where} ({source}): parameter {' '.join(codes) or '?'} is not mapped to a quantity")
        return
    if not ctx.wants(source, mapped.quantity):
        return
    default_unit = _unit(series.find(f"{WML2}defaultPointMetadata/{WML2}DefaultTVPMeasurementMetadata"))
    points = series.findall(f"{WML2}point/{WML2}MeasurementTVP")
    if not points:
        ctx.result.notes.append(f"{where} ({source}): no points")
    for index, tvp in enumerate(points):
        time = (tvp.findtext(f"{WML2}time") or "").strip() or None
        value_element = tvp.find(f"{WML2}value")
        value = (value_element.text or "").strip() if value_element is not None else ""
        if not value or (value_element is not None and value_element.get(XSI_NIL) in ("true", "1")):
            ctx.result.missing += 1
            continue
        unit = mapped.unit or _unit(tvp.find(f"{WML2}metadata/{WML2}TVPMeasurementMetadata")) or default_unit
        ctx.add(RawReading(ctx.feed.id, source, time, value, mapped.quantity, unit, f"{source},{time},{value}",
                           f"{where} point[{index}]"))


def _identifiers(root: etree._Element, observation: etree._Element) -> list[str]:
    found: list[str | None] = []
    feature = observation.find(f"{OM}featureOfInterest")
    if feature is not None:
        found += [feature.get(f"{XLINK}href"), feature.get(f"{XLINK}title")]
        for element in feature.iter():
            if not isinstance(element.tag, str):
                continue
            if element.tag == f"{GML}identifier":
                found.append(element.text)
            found += [element.get(f"{GML}id"), element.get(f"{XLINK}href")]
    found += [root.findtext(f"{GML}identifier"), root.get(f"{GML}id")]
    return list(dict.fromkeys(v.strip() for v in found if v and v.strip()))


def _match(names: list[str], index: Mapping[str, object]) -> str | None:
    """An identifier that is one of our stations' ids in this feed, whole or as a token (USGS.01646500)."""
    for name in names:
        if name in index:
            return name
    for name in names:
        for token in _TOKENS.split(name):
            if token in index:
                return token
    return None


def _parameter(codes: list[str], parameters: dict[str, ParameterMap]) -> ParameterMap | None:
    lowered = {k.lower(): v for k, v in parameters.items()}
    for code in codes:
        for token in [code, *_TOKENS.split(code)]:
            if token.lower() in lowered:
                return lowered[token.lower()]
    return None


def _unit(metadata: etree._Element | None) -> str | None:
    if metadata is None:
        return None
    uom = metadata.find(f"{WML2}uom")
    if uom is None:
        return None
    return uom.get("code") or uom.get(f"{XLINK}title") or None


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]
