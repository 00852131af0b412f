"""OGC WaterML 2.0 time series, wherever the ``wml2:MeasurementTimeseries`` sits, parsed with lxml.

Agencies wrap the series differently: a ``wml2:Collection`` of ``om:OM_Observation``, a
``gml:FeatureCollection`` of collections or observations (USGS), a bare observation, a SOS response.
Every series in the document is read with what surrounds it: the observation's parameter
(``om:observedProperty``, e.g. USGS ``parmCd=00060``), the site ids the feed says to look at
(:data:`~responder.domain.stations.SITE_PLACES`), the unit (``uom`` on the point, its metadata, the
series' default metadata or the series itself) and the monitoring point's time zone (``wml2:timeZone``),
which then reads the times written without an offset. A series whose unit we cannot convert is refused
whole, with where it is; a point with no value (or ``xsi:nil``) is missing, not bad.

The parser resolves no entities, loads no DTD and touches no network: a feed is untrusted input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta, timezone, tzinfo

from lxml import etree

from responder.domain.readings import RawReading, Rejected
from responder.domain.stations import SITE_PLACES, ParameterMap, SitePlace, station_for, unit_scale
from responder.feeds.base import FeedContext
from responder.feeds.http import FeedError

WML2 = "{http://www.opengis.net/waterml/2.0}"
OM = "{http://www.opengis.net/om/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
XLINK = "{http://www.w3.org/1999/xlink}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
SAMPLED_FEATURE = "sampledFeature"
"""Local name: ``sams:`` and ``sa:`` (sampling 2.0) both carry it."""
CONTAINERS = ("Collection", "FeatureCollection", "OM_Observation", "GetObservationResponse", "featureMember",
              "observationMember", "ObservationCollection")
"""Documents that are WaterML-shaped even when they hold no series (an empty reply is not a changed schema)."""
_TOKENS = re.compile(r"[.:/=&?#,;\s]+")
_OFFSET = re.compile(r"^\s*([+-])?(\d{1,2})(?::?(\d{2}))?\s*$")


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
    series = list(root.iter(f"{WML2}MeasurementTimeseries"))
    if not series:
        _no_series(ctx, root)
        return
    document = _Document(root)
    parameters = ctx.feed.parameter_map()
    places = tuple(ctx.feed.site_id_from) or SITE_PLACES
    for index, element in enumerate(series):
        _series(ctx, document, element, index, parameters, places)


def _no_series(ctx: FeedContext, root: etree._Element) -> None:
    if _local(root.tag) not in CONTAINERS:
        raise FeedError(f"changed schema: the document is {_local(root.tag)!r}, not a WaterML 2.0 Collection "
                        "(no wml2:MeasurementTimeseries in it)")
    observations = list(root.iter(f"{OM}OM_Observation"))
    for index, _ in enumerate(observations):
        ctx.result.fail(f"changed schema: observation[{index}] has no om:result/wml2:MeasurementTimeseries")
    if not observations:
        ctx.result.notes.append("no observations in the document")


class _Document:
    """The parsed document with its ``gml:id`` index, so that ``xlink:href="#mp.1"`` finds the feature it names."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.by_id: dict[str, etree._Element] = {}
        for element in root.iter():
            if isinstance(element.tag, str) and (gml_id := element.get(f"{GML}id")):
                self.by_id.setdefault(gml_id, element)


@dataclass(frozen=True)
class _Context:
    """What surrounds one series: its observation, enclosing collection and the feature it is of."""

    series: etree._Element
    observation: etree._Element | None
    collection: etree._Element | None
    features: tuple[etree._Element, ...]

    @classmethod
    def of(cls, document: _Document, series: etree._Element) -> _Context:
        ancestors = list(series.iterancestors())
        observation = next((a for a in ancestors if a.tag == f"{OM}OM_Observation"), None)
        collection = next((a for a in ancestors if a.tag == f"{WML2}Collection"), None)
        features: list[etree._Element] = []
        foi = observation.find(f"{OM}featureOfInterest") if observation is not None else None
        if foi is not None:
            features += [child for child in foi if isinstance(child.tag, str)]
            href = foi.get(f"{XLINK}href") or ""
            if href.startswith("#") and href[1:] in document.by_id:
                features.append(document.by_id[href[1:]])
        return cls(series, observation, collection, tuple(features))

    def ids(self, place: SitePlace) -> list[str]:
        found: list[str | None] = []
        foi = self.observation.find(f"{OM}featureOfInterest") if self.observation is not None else None
        if place == "feature_of_interest":
            if foi is not None:
                found += [foi.get(f"{XLINK}href"), foi.get(f"{XLINK}title")]
            found += [f.get(f"{GML}id") for f in self.features]
        elif place == "identifier":
            found += [e.text for f in self.features for e in f.iter(f"{GML}identifier")]
            if self.collection is not None:
                found.append(self.collection.findtext(f"{GML}identifier"))
        elif place == "monitoring_point_name":
            found += [e.text for f in self.features if f.tag == f"{WML2}MonitoringPoint"
                      for e in f.findall(f"{GML}name")]
        elif place == "sampled_feature":
            for f in self.features:
                for e in f.iter():
                    if isinstance(e.tag, str) and _local(e.tag) == SAMPLED_FEATURE:
                        found += [e.get(f"{XLINK}href"), e.get(f"{XLINK}title"),
                                  *[i.text for i in e.iter(f"{GML}identifier")]]
        elif place == "observation_id":
            if self.observation is not None:
                found.append(self.observation.get(f"{GML}id"))
            found.append(self.series.get(f"{GML}id"))
        return list(dict.fromkeys(v.strip() for v in found if v and v.strip()))

    def zone(self) -> tzinfo | None:
        """The monitoring point's ``wml2:timeZone`` (a fixed offset), if the document gives one."""
        for f in self.features:
            text = f.findtext(f"{WML2}timeZone/{WML2}TimeZone/{WML2}zoneOffset")
            match = _OFFSET.match(text or "")
            if match:
                sign, hours, minutes = match.groups()
                offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
                return timezone(-offset if sign == "-" else offset)
        return None


def _series(ctx: FeedContext, document: _Document, element: etree._Element, index: int,
            parameters: dict[str, ParameterMap], places: tuple[SitePlace, ...]) -> None:
    around = _Context.of(document, element)
    where = f"series[{index}]"
    if (gml_id := element.get(f"{GML}id") or (around.observation is not None
                                                and around.observation.get(f"{GML}id"))):
        where += f" ({gml_id})"
    prop = around.observation.find(f"{OM}observedProperty") if around.observation is not None else None
    codes = [v for v in (prop.get(f"{XLINK}href"), prop.get(f"{XLINK}title")) if v] if prop is not None else []
    mapped = _parameter(codes, parameters)
    if mapped is None:
        ctx.unknown_parameter(_code(codes), f"{where}: parameter {' '.join(codes) or '?'} is not mapped to a "
                                            "quantity")
        return
    seen = {place: around.ids(place) for place in places}
    source = _match(seen, ctx.index)
    if source is None:
        if ctx.feed.unknown_stations == "quarantine":
            described = "; ".join(f"{place} {', '.join(ids)}" for place, ids in seen.items() if ids) or "none"
            ctx.result.rejected.append(Rejected(described, f"unknown station (ids seen: {described})",
                                                ctx.feed.id, None, where))
        return
    if not ctx.wants(source, mapped.quantity):
        return
    default = _DefaultUnit.of(element)
    if mapped.unit is None and default.unit is not None:
        try:
            unit_scale(default.unit, mapped.quantity)
        except ValueError as exc:
            station = station_for(ctx.index.get(source, ()), mapped.quantity)
            ctx.result.rejected.append(Rejected(f"uom {default.unit}", f"series refused: {exc}", ctx.feed.id,
                                                station.id if station else None, f"{where} {default.where}"))
            return
    zone = around.zone()
    points = element.findall(f"{WML2}point/{WML2}MeasurementTVP")
    if not points:
        ctx.result.notes.append(f"{where} ({source}): no points")
    for number, tvp in enumerate(points):
        time = (tvp.findtext(f"{WML2}time") or "").strip() or None
        value_element = tvp.find(f"{WML2}value")
        value = (value_element.text or "").strip() if value_element is not None else ""
        if not value or (value_element is not None and value_element.get(XSI_NIL) in ("true", "1")):
            ctx.result.missing += 1
            continue
        unit = mapped.unit or _point_unit(tvp, value_element) or default.unit
        ctx.add(RawReading(ctx.feed.id, source, time, value, mapped.quantity, unit, f"{source},{time},{value}",
                           f"{where} point[{number}]"), zone=zone)


@dataclass(frozen=True)
class _DefaultUnit:
    unit: str | None
    where: str

    @classmethod
    def of(cls, series: etree._Element) -> _DefaultUnit:
        metadata = series.find(f"{WML2}defaultPointMetadata/{WML2}DefaultTVPMeasurementMetadata")
        unit = _uom(metadata)
        if unit is not None:
            return cls(unit, "wml2:defaultPointMetadata uom")
        return cls(series.get("uom") or None, "wml2:MeasurementTimeseries uom")


def _point_unit(tvp: etree._Element, value: etree._Element | None) -> str | None:
    return ((value.get("uom") if value is not None else None) or tvp.get("uom")
            or _uom(tvp.find(f"{WML2}metadata/{WML2}TVPMeasurementMetadata")))


def _uom(metadata: etree._Element | None) -> str | None:
    """A metadata element's unit: its ``uom`` attribute or its ``wml2:uom`` (code, title, or link's tail)."""
    if metadata is None:
        return None
    if metadata.get("uom"):
        return metadata.get("uom")
    uom = metadata.find(f"{WML2}uom")
    if uom is None:
        return None
    href = uom.get(f"{XLINK}href") or ""
    tail = href.split("/UCUM/", 1)[1] if "/UCUM/" in href else href.rstrip("/").rsplit("/", 1)[-1]
    return uom.get("code") or uom.get("uom") or uom.get(f"{XLINK}title") or tail or None


def _match(seen: Mapping[SitePlace, list[str]], index: Mapping[str, object]) -> str | None:
    """The first of our stations' ids among the ids seen, place by place in the feed's order: whole, then as
    a token of a longer id (``USGS.01646500``, ``.../stations/60812300``)."""
    for ids in seen.values():
        for name in ids:
            if name in index:
                return name
        for token in _tokens(ids):
            if token in index:
                return token
    return None


def _tokens(ids: list[str]) -> Iterator[str]:
    for name in ids:
        yield from (t for t in _TOKENS.split(name) if t)


def _parameter(codes: list[str], parameters: dict[str, ParameterMap]) -> ParameterMap | None:
    lowered = {k.lower(): v for k, v in parameters.items()}
    for code in codes:
        for token in [code, *_TOKENS.split(code)]:
            if token.lower() in lowered:
                return lowered[token.lower()]
    return None


def _code(codes: list[str]) -> str:
    """A short name for an unmapped parameter: USGS ``parmCd=00010`` → 00010, else the title or link's tail."""
    for code in codes:
        match = re.search(r"parmCd=([^&#\s]+)", code)
        if match:
            return match.group(1)
    for code in reversed(codes):
        tail = code.rstrip("/").rsplit("/", 1)[-1].strip()
        if tail:
            return tail
    return "?"


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]
