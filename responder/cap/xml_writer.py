"""A CAP message value as CAP 1.2 XML, in the schema's element order, the same bytes every time."""

from __future__ import annotations

from lxml import etree

from responder.domain.cap_model import CAP_NAMESPACE, Alert, Area, Info, NamedValue, Resource

_NS = "{" + CAP_NAMESPACE + "}"


def to_element(alert: Alert) -> etree._Element:
    root = etree.Element(_NS + "alert", nsmap={None: CAP_NAMESPACE})  # type: ignore[dict-item]
    for tag, value in (("identifier", alert.identifier), ("sender", alert.sender), ("sent", alert.sent),
                       ("status", alert.status), ("msgType", alert.msg_type), ("source", alert.source),
                       ("scope", alert.scope), ("restriction", alert.restriction), ("addresses", alert.addresses)):
        _text(root, tag, value)
    for code in alert.codes:
        _text(root, "code", code)
    for tag, value in (("note", alert.note), ("references", alert.references), ("incidents", alert.incidents)):
        _text(root, tag, value)
    for info in alert.infos:
        _info(etree.SubElement(root, _NS + "info"), info)
    return root


def to_xml(alert: Alert) -> bytes:
    """UTF-8 XML with a declaration, indented: what ``alert cap`` writes and ``/cap/{id}.xml`` serves."""
    return serialize(to_element(alert))


def serialize(root: etree._Element, indent: bool = True) -> bytes:
    if indent:
        etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def _text(parent: etree._Element, tag: str, value: str | None) -> None:
    if value is not None:
        etree.SubElement(parent, _NS + tag).text = value


def _pairs(parent: etree._Element, tag: str, values: tuple[NamedValue, ...]) -> None:
    for nv in values:
        element = etree.SubElement(parent, _NS + tag)
        _text(element, "valueName", nv.name)
        _text(element, "value", nv.value)


def _info(element: etree._Element, info: Info) -> None:
    _text(element, "language", info.language)
    for category in info.categories:
        _text(element, "category", category)
    _text(element, "event", info.event)
    for response in info.response_types:
        _text(element, "responseType", response)
    for tag, value in (("urgency", info.urgency), ("severity", info.severity), ("certainty", info.certainty),
                       ("audience", info.audience)):
        _text(element, tag, value)
    _pairs(element, "eventCode", info.event_codes)
    for tag, value in (("effective", info.effective), ("onset", info.onset), ("expires", info.expires),
                       ("senderName", info.sender_name), ("headline", info.headline),
                       ("description", info.description), ("instruction", info.instruction), ("web", info.web),
                       ("contact", info.contact)):
        _text(element, tag, value)
    _pairs(element, "parameter", info.parameters)
    for resource in info.resources:
        _resource(etree.SubElement(element, _NS + "resource"), resource)
    for area in info.areas:
        _area(etree.SubElement(element, _NS + "area"), area)


def _resource(element: etree._Element, resource: Resource) -> None:
    _text(element, "resourceDesc", resource.description)
    _text(element, "mimeType", resource.mime_type)
    _text(element, "size", None if resource.size is None else str(resource.size))
    for tag, value in (("uri", resource.uri), ("derefUri", resource.deref_uri), ("digest", resource.digest)):
        _text(element, tag, value)


def _area(element: etree._Element, area: Area) -> None:
    _text(element, "areaDesc", area.description)
    for polygon in area.polygons:
        _text(element, "polygon", polygon)
    for circle in area.circles:
        _text(element, "circle", circle)
    _pairs(element, "geocode", area.geocodes)
    _text(element, "altitude", area.altitude)
    _text(element, "ceiling", area.ceiling)
