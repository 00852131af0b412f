"""CAP 1.2 XML from any sender back into message values: ours, the OASIS examples, a hub's copy.

Text is kept exactly as written (line breaks and indentation inside a description included), so
that a message read and written again says the same. A signature (XML-DSig) is checked elsewhere
(:mod:`responder.cap.signing`); here it is skipped like any element outside the CAP namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lxml import etree

from responder.domain.cap_model import CAP_NAMESPACE, Alert, Area, Info, NamedValue, Resource

_NS = "{" + CAP_NAMESPACE + "}"
T = TypeVar("T")


class CapParseError(ValueError):
    """Not a CAP 1.2 message: the line and element say where."""


def safe_parser() -> etree.XMLParser:
    """No entities expanded, no network, no huge trees: the bytes may come from anyone."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                           remove_pis=True)


def parse(data: bytes) -> Alert:
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise CapParseError(f"not well-formed XML: {exc}") from None
    return from_element(root)


def from_element(root: etree._Element) -> Alert:
    if root.tag != _NS + "alert":
        raise CapParseError(f"line {root.sourceline}: the root is {root.tag!r}, not a CAP 1.2 <alert> "
                            f"(namespace {CAP_NAMESPACE})")
    fields = _Fields(root)
    return Alert(
        identifier=fields.one("identifier"), sender=fields.one("sender"), sent=fields.one("sent"),
        status=fields.one("status"), msg_type=fields.one("msgType"), scope=fields.one("scope"),
        source=fields.maybe("source"), restriction=fields.maybe("restriction"),
        addresses=fields.maybe("addresses"), codes=fields.texts("code"), note=fields.maybe("note"),
        references=fields.maybe("references"), incidents=fields.maybe("incidents"),
        infos=fields.each("info", _info),
    )


class _Fields:
    """The CAP children of one element, by local name, in document order."""

    def __init__(self, element: etree._Element) -> None:
        self.element = element
        self.children: dict[str, list[etree._Element]] = {}
        for child in element:
            if isinstance(child.tag, str) and child.tag.startswith(_NS):
                self.children.setdefault(child.tag[len(_NS):], []).append(child)

    def maybe(self, name: str) -> str | None:
        found = self.children.get(name)
        if not found:
            return None
        if len(found) > 1:
            raise CapParseError(f"line {found[1].sourceline}: <{name}> appears more than once")
        return found[0].text or ""

    def one(self, name: str) -> str:
        value = self.maybe(name)
        if value is None:
            raise CapParseError(f"line {self.element.sourceline}: <{_local(self.element)}> has no <{name}>")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        return tuple(e.text or "" for e in self.children.get(name, []))

    def each(self, name: str, read: Callable[[etree._Element], T]) -> tuple[T, ...]:
        return tuple(read(e) for e in self.children.get(name, []))

    def pairs(self, name: str) -> tuple[NamedValue, ...]:
        return self.each(name, lambda e: NamedValue((f := _Fields(e)).one("valueName"), f.one("value")))


def _local(element: etree._Element) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _info(element: etree._Element) -> Info:
    f = _Fields(element)
    return Info(
        language=f.maybe("language"), categories=f.texts("category"), event=f.one("event"),
        response_types=f.texts("responseType"), urgency=f.one("urgency"), severity=f.one("severity"),
        certainty=f.one("certainty"), audience=f.maybe("audience"), event_codes=f.pairs("eventCode"),
        effective=f.maybe("effective"), onset=f.maybe("onset"), expires=f.maybe("expires"),
        sender_name=f.maybe("senderName"), headline=f.maybe("headline"), description=f.maybe("description"),
        instruction=f.maybe("instruction"), web=f.maybe("web"), contact=f.maybe("contact"),
        parameters=f.pairs("parameter"), resources=f.each("resource", _resource), areas=f.each("area", _area),
    )


def _resource(element: etree._Element) -> Resource:
    f = _Fields(element)
    size = f.maybe("size")
    try:
        size_value = int(size) if size is not None else None
    except ValueError:
        raise CapParseError(f"line {element.sourceline}: <size> {size!r} is not a whole number") from None
    return Resource(description=f.one("resourceDesc"), mime_type=f.one("mimeType"), size=size_value,
                    uri=f.maybe("uri"), deref_uri=f.maybe("derefUri"), digest=f.maybe("digest"))


def _area(element: etree._Element) -> Area:
    f = _Fields(element)
    return Area(description=f.one("areaDesc"), polygons=f.texts("polygon"), circles=f.texts("circle"),
                geocodes=f.pairs("geocode"), altitude=f.maybe("altitude"), ceiling=f.maybe("ceiling"))
