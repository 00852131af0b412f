"""``alert broadcast``: the loudspeaker script of an open incident, as text and as audio to play."""

from __future__ import annotations

import contextlib
import os
import wave
from dataclasses import dataclass
from pathlib import Path

from responder.app.ports import Context
from responder.domain.broadcast import BroadcastScript, broadcast_script
from responder.domain.errors import Conflict, NotFound
from responder.domain.messages import IncidentFacts


@dataclass(frozen=True)
class BroadcastFiles:
    incident_id: int
    code: str
    is_drill: bool
    script: BroadcastScript
    text: Path
    wav: Path
    mp3: Path | None
    voice: str
    seconds: float


def write_broadcast(ctx: Context, incident_id: int, out_dir: Path, language: str | None = None) -> BroadcastFiles:
    """Script from the incident's plan snapshot (its level, reason and drill mark), spoken by espeak-ng.

    Everything that can refuse (no such incident, ended, no template, no espeak-ng, a folder that
    cannot be written) refuses before any file is written; the files appear whole or not at all.
    """
    from responder.app.calltree import choose_language
    from responder.app.incident_basis import snapshot_of
    from responder.app.outfiles import prepare_folder, temporary_beside, write_whole
    from responder.speech.espeak import encode_mp3, espeak_path, speak
    from responder.storage.incidents import incident_with_snapshot

    ctx.require_schema()
    with ctx.sessions() as session:
        incident = incident_with_snapshot(session, incident_id)
    if incident is None:
        raise NotFound(f"no incident #{incident_id}")
    if incident.status != "open":
        raise Conflict(f"incident #{incident.id} ({incident.code}) has ended: a loudspeaker warning for it would "
                       "mislead residents")
    plan, _ = snapshot_of(incident)
    lang = choose_language(plan, language)
    is_drill = incident.is_drill or ctx.settings.drill_mode
    facts = IncidentFacts(incident.code, incident.hazard, incident.level, incident.reason, is_drill)
    script = broadcast_script(plan, facts, lang)
    espeak_path()
    prepare_folder(out_dir)
    base = out_dir / f"broadcast-{incident.code}-level{incident.level}-{lang}"
    wav, mp3 = base.with_suffix(".wav"), base.with_suffix(".mp3")
    temp = temporary_beside(wav)
    try:
        speech = speak(script.spoken, lang, temp)
        seconds = _seconds(temp)
        os.replace(temp, wav)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    text = write_whole(base.with_suffix(".txt"), script.text.encode("utf-8"))
    if encode_mp3(wav, mp3):
        return BroadcastFiles(incident.id, incident.code, is_drill, script, text, wav, mp3, speech.voice, seconds)
    with contextlib.suppress(OSError):
        mp3.unlink()  # an MP3 from an earlier run would say something else
    return BroadcastFiles(incident.id, incident.code, is_drill, script, text, wav, None, speech.voice, seconds)


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()
