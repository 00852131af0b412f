"""``responder alert broadcast``: the village loudspeaker script (大喇叭/村村响) of an open incident."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from responder.cli.common import app_context, console


def broadcast(
    incident: Annotated[int, typer.Argument(help="Incident id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the .txt and the audio (created if "
                                                         "missing).")] = Path("."),
    language: Annotated[str | None, typer.Option("--lang", help="zh or en (default: --lang before the command, "
                                                               "else the plan's first language).")] = None,
) -> None:
    """Write the loudspeaker script as text and speak it into a WAV (and an MP3 where lame is installed)."""
    from rich.markup import escape

    from responder.app.broadcast import write_broadcast

    ctx = app_context()
    files = write_broadcast(ctx, incident, out, language or ctx.settings.display_language)
    show = console()
    drill = " [magenta]DRILL 演练[/magenta]" if files.is_drill else ""
    show.print(f"#{files.incident_id} {files.code}{drill}: loudspeaker script in {files.script.language}, "
               f"{files.seconds:.0f} s spoken (espeak-ng voice {files.voice})")
    show.print(escape(files.script.once))
    for path in (files.text, files.wav, files.mp3):
        if path is not None:
            show.print(f"wrote {escape(str(path))}")
