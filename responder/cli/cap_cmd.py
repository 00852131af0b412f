"""``responder alert cap ID``: an incident's public warnings as CAP 1.2 files, or one on standard output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import app_context, console, local_time

DEFAULT_OUT = Path("cap-out")


def cap(
    incident: Annotated[int, typer.Argument(help="Incident id (see `responder alert list`).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder to write every message into, one "
                                                                "{identifier}.xml each (default cap-out, unless "
                                                                "--print alone is given).")] = None,
    show: Annotated[str | None, typer.Option("--print", help="Print one message's XML on standard output: its "
                                                            "number (1 = the Alert), 'last', or its "
                                                            "identifier.")] = None,
    sign: Annotated[bool, typer.Option("--sign", help="Sign each message (XML-DSig) with the key in "
                                                     "RESPONDER_CAP_SIGNING_KEY_FILE.")] = False,
) -> None:
    """Write the incident's CAP 1.2 messages: the Alert for its declaration, an Update for each level change
    (referencing every earlier message), the Cancel for its stand-down. Each is checked against the OASIS
    schema and the specification's rules before anything is written."""
    from rich.markup import escape

    from responder.app.cap_export import checked_xml, incident_messages, write_messages
    from responder.domain.cap import message_level

    ctx = app_context()
    found = incident_messages(ctx, incident)
    messages = list(found.messages)
    if not messages:
        console(stderr=True).print(f"incident #{incident} has no declared level in its audit trail: no message")
        raise typer.Exit(1)
    chosen = _choose(show, [m.identifier for m in messages]) if show is not None else None
    data = checked_xml(messages, sign, ctx)
    info = console(stderr=True)  # stdout carries the XML alone when --print is given
    drill = " [magenta](drill: status Exercise)[/magenta]" if found.is_drill else ""
    if out is not None or chosen is None:
        folder = out or DEFAULT_OUT
        paths = write_messages(messages, data, folder)
        info.print(f"incident #{found.incident_id} ({found.code}){drill}: {len(paths)} CAP 1.2 message(s)"
                   f"{' signed' if sign else ''} written to {escape(str(folder))}/")
        for message, path in zip(messages, paths, strict=True):
            info.print(f"  {message.msg_type:<6} level {message_level(message)}  sent "
                       f"{local_time(message.sent_at)}  {escape(str(path))}")
    if chosen is not None:
        message = messages[chosen]
        info.print(f"incident #{found.incident_id} ({found.code}){drill}: message {chosen + 1} of {len(messages)}, "
                   f"{message.msg_type} {escape(message.identifier)}")
        sys.stdout.buffer.write(data[chosen])
        sys.stdout.flush()


def _choose(which: str, identifiers: list[str]) -> int:
    from responder.domain.errors import InputError, Problem

    if which == "last":
        return len(identifiers) - 1
    if which.isdigit() and 1 <= int(which) <= len(identifiers):
        return int(which) - 1
    if which in identifiers:
        return identifiers.index(which)
    raise InputError(Problem(f"{which!r} is not one of this incident's messages: give 1 to {len(identifiers)}, "
                             "'last' or an identifier", field="--print"))
