"""Validation of CAP XML: the OASIS schema (shipped beside this module) and the specification's own rules.

The schema is the OASIS CAP 1.2 XSD, verbatim. What it cannot express (section 3's sentences on
times, identifiers, references, polygons) is :func:`responder.domain.cap_rules.violations`; both run
before anything is written or served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from responder.cap.xml_reader import parse, safe_parser
from responder.domain.cap_rules import violations

SCHEMA_FILE = Path(__file__).with_name("CAP-v1.2.xsd")


@cache
def load_schema(path: Path = SCHEMA_FILE) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), safe_parser()))


def schema_errors(data: bytes, schema: etree.XMLSchema | None = None) -> list[str]:
    """Where ``data`` breaks the XSD, as "line N: message"; empty when valid."""
    checker = schema or load_schema()
    try:
        document = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    if checker.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]  # type: ignore[attr-defined]


def problems(data: bytes, schema: etree.XMLSchema | None = None) -> list[str]:
    """Everything wrong with a CAP message's bytes: the schema first, then the specification's rules."""
    found = schema_errors(data, schema)
    if found:
        return found
    return violations(parse(data))
