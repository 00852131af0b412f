"""The Atom index of current CAP messages, the form public alerting hubs poll (RFC 4287).

One entry per message, linked to its XML (``application/cap+xml``). CAP times are RFC 3339 times
already, so they go into ``<updated>`` as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from responder.cap.xml_writer import serialize
from responder.domain.cap_model import Alert

ATOM = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
ATOM_MEDIA_TYPE = "application/atom+xml"
_NS = "{" + ATOM + "}"


@dataclass(frozen=True)
class FeedEntry:
    alert: Alert
    url: str
    """Where the message's XML is served."""


@dataclass(frozen=True)
class FeedHead:
    url: str
    title: str
    author: str
    updated: str
    """A CAP/RFC 3339 time: the newest entry's, or when the feed was asked for if it has none."""


def _add(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, _NS + tag, attributes)
    if text is not None:
        element.text = text
    return element


def feed_xml(head: FeedHead, entries: Sequence[FeedEntry], language: str | None = None) -> bytes:
    """The feed, newest first; each entry titled by its headline in ``language`` (else the first info's)."""
    root = etree.Element(_NS + "feed", nsmap={None: ATOM})  # type: ignore[dict-item]
    _add(root, "id", head.url)
    _add(root, "title", head.title)
    _add(root, "updated", head.updated)
    _add(_add(root, "author"), "name", head.author)
    _add(root, "link", rel="self", href=head.url, type=ATOM_MEDIA_TYPE)
    for entry in sorted(entries, key=lambda e: (e.alert.sent_at, e.alert.identifier), reverse=True):
        alert = entry.alert
        info = (alert.info(language) if language else None) or (alert.infos[0] if alert.infos else None)
        element = _add(root, "entry")
        _add(element, "id", entry.url)
        _add(element, "title", (info.headline or info.event) if info else f"{alert.msg_type} {alert.identifier}")
        _add(element, "updated", alert.sent)
        _add(element, "link", rel="alternate", href=entry.url, type=CAP_MEDIA_TYPE)
        if info is not None and info.description:
            _add(element, "summary", info.description)
        for term in (alert.msg_type, alert.status, *(info.categories if info else ())):
            _add(element, "category", term=term)
    return serialize(root)
