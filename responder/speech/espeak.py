"""Speaking the loudspeaker script with espeak-ng into a WAV file, and encoding an MP3 copy with lame.

Voice for Chinese: espeak-ng 1.51 (Debian 12) reads Chinese characters with its ``cmn`` voice (which
``zh`` also names) as pinyin whose tone digits it then says in English ("yan three lian four");
``cmn-latn-pinyin`` says the same characters as Mandarin syllables. Later versions fixed ``cmn``,
and ``cmn-latn-pinyin`` reads characters the same way there, so it comes first wherever it exists.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from responder.domain.errors import ResponderError

VOICES: dict[str, tuple[str, ...]] = {"zh": ("cmn-latn-pinyin", "cmn", "zh"), "en": ("en-gb", "en")}
"""espeak-ng voices for each plan language, best first; any other language is looked up by its own code."""
WORDS_PER_MINUTE = 140
"""Slower than espeak-ng's 175: a loudspeaker on a pole carries speech over wind and rain."""
PAUSE_MS = 1500
"""Between the two readings."""
TIMEOUT_SECONDS = 120


class SpeechUnavailable(ResponderError):
    """espeak-ng is missing or cannot speak the language: the text is still there to read out."""

    exit_code = 2


@dataclass(frozen=True)
class Speech:
    path: Path
    voice: str


def espeak_path() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise SpeechUnavailable("espeak-ng is not installed, so no audio can be made: install the Debian package "
                                "espeak-ng (sudo apt-get install espeak-ng, or make system-deps)")
    return found


def choose_voice(espeak: str, language: str) -> str:
    """The first of the language's voices this espeak-ng has."""
    listing = _run([espeak, "--voices"]).stdout.decode("utf-8", "replace")
    available = {line.split()[1].lower() for line in listing.splitlines()[1:] if len(line.split()) > 1}
    for voice in VOICES.get(language, (language,)):
        if voice in available:
            return voice
    raise SpeechUnavailable(f"espeak-ng at {espeak} has no voice for language {language!r} "
                            f"(looked for {', '.join(VOICES.get(language, (language,)))})")


def speak(readings: Sequence[str], language: str, wav: Path) -> Speech:
    """Say each reading in turn, a pause between them, into ``wav`` (16-bit mono PCM)."""
    espeak = espeak_path()
    voice = choose_voice(espeak, language)
    ssml = "<speak>" + f'<break time="{PAUSE_MS}ms"/>'.join(escape(r) for r in readings) + "</speak>"
    _run([espeak, "-v", voice, "-s", str(WORDS_PER_MINUTE), "-m", "-w", str(wav), "--stdin"], ssml.encode("utf-8"))
    return Speech(wav, voice)


def encode_mp3(wav: Path, mp3: Path) -> bool:
    """An MP3 beside the WAV where lame is installed (IP broadcast systems and phones take it); False if not."""
    lame = shutil.which("lame")
    if lame is None:
        return False
    _run([lame, "--quiet", "-m", "m", "-b", "64", str(wav), str(mp3)])
    return True


def _run(args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpeechUnavailable(f"{Path(args[0]).name} failed: {exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SpeechUnavailable(f"{Path(args[0]).name} failed (exit {done.returncode})"
                                + (f": {reason[-1]}" if reason else ""))
    return done
