"""``responder alert broadcast`` through the real CLI and the real espeak-ng: the script from the plan's broadcast
template (hazard, level, colour, advice, evacuation zones, read twice), a drill marked in text and speech, a valid
WAV of plausible length spoken with the right voice; refusals before anything is written."""

from __future__ import annotations

import os
import re
import subprocess
import wave
from pathlib import Path

import pytest
from offline_support import Invoke, need_tool
from sample_plan import callout_entry, raw_plan

from responder.speech.espeak import choose_voice

REASON = {"zh": "龙河水位4.6米，超过警戒水位", "en": "The Long River is at 4.6 m"}


@pytest.fixture
def espeak_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """espeak-ng as installed, behind a wrapper on PATH that records its arguments and what it was given to say."""
    real = need_tool("espeak-ng", "espeak-ng")
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "espeak.log"
    wrapper = folder / "espeak-ng"
    wrapper.write_text(f'#!/bin/sh\necho "ARGS $*" >> {log}\nif [ "$1" = --voices ]; then exec {real} "$@"; fi\n'
                       f'tee -a {log} | exec {real} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    return log


def raise_flood(run: Invoke, level: int, lang: str = "zh", drill: bool = False) -> int:
    args = ("drill", "start", "--live") if drill else ("alert", "raise")
    result = run(*args, "--level", str(level), "--hazard", "flood", "--reason", REASON[lang], "--yes", "--no-send")
    assert result.exit_code == 0, result.output
    found = re.search(r"incident #(\d+)", result.output)
    assert found, result.output
    return int(found.group(1))


def broadcast(run: Invoke, incident: int, out: Path, lang: str) -> dict[str, Path]:
    result = run("alert", "broadcast", str(incident), "--out", str(out), "--lang", lang)
    assert result.exit_code == 0, result.output
    written = {Path(m).suffix: Path(m) for m in re.findall(r"^wrote (\S+)$", result.output, re.M)}
    assert {".txt", ".wav"} <= set(written), result.output
    return written


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)  # 16-bit mono PCM
        assert audio.getframerate() >= 16000
        return audio.getnframes() / audio.getframerate()


@pytest.mark.parametrize(("lang", "voice"), [("zh", "cmn-latn-pinyin"), ("en", "en-gb")])
def test_live_level_1_script_says_what_to_do_and_where_to_go_twice(run: Invoke, tmp_path: Path, espeak_log: Path,
                                                                  lang: str, voice: str) -> None:
    incident = raise_flood(run, 1, lang)
    files = broadcast(run, incident, tmp_path / "out", lang)
    text = files[".txt"].read_text(encoding="utf-8")
    plan = raw_plan()
    level = next(x for x in plan["levels"] if x["level"] == 1)
    advice = callout_entry("flood", 1)["advice"][lang]
    hazard, colour = plan["hazards"][0]["name"][lang], level["colour_name"][lang]
    warning = f"{hazard}{colour}预警，1级" if lang == "zh" else f"{hazard} {colour} warning, level 1"
    for said in (advice, warning, REASON[lang]):
        assert text.count(said) == 2, (said, text)  # read twice
    for zone in plan["evacuation_zones"]:
        assert text.count(zone["stretch"][lang]) == 2 and text.count(zone["shelter"][lang]) == 2
    assert plan["templates"]["broadcast"]["repeat"][lang] in text
    assert "演练" not in text and "DRILL" not in text and "drill" not in text
    log = espeak_log.read_text(encoding="utf-8")
    assert re.search(rf"^ARGS -v {voice} .*-w \S+\.part --stdin$", log, re.M), log
    assert "演练" not in log and "This is a drill" not in log
    chars = len(re.sub(r"\s", "", text))
    per_char = (0.12, 0.8) if lang == "zh" else (0.03, 0.2)  # Mandarin says a syllable a character
    assert per_char[0] * chars < seconds(files[".wav"]) < per_char[1] * chars


@pytest.mark.parametrize(("lang", "written", "spoken"),
                         [("zh", "【演练】", "演练。"), ("en", "[DRILL]", "This is a drill.")])
def test_a_live_drill_starts_with_the_drill_marker_in_text_and_speech(run: Invoke, tmp_path: Path, espeak_log: Path,
                                                                      lang: str, written: str, spoken: str) -> None:
    incident = raise_flood(run, 2, lang, drill=True)
    files = broadcast(run, incident, tmp_path / "out", lang)
    text = files[".txt"].read_text(encoding="utf-8")
    readings = [r for r in text.split("\n\n") if r.strip()]
    assert len(readings) == 2 and readings[0].startswith(written)
    assert readings[1].splitlines()[1].startswith(written)  # after the repeat phrase
    log = espeak_log.read_text(encoding="utf-8")
    said = log[log.index("<speak>"):]
    assert said.startswith(f"<speak>{spoken}"), said
    assert said.count(spoken) == 2 and "【" not in said and "[DRILL]" not in said
    assert seconds(files[".wav"]) > 5


def test_the_chinese_voice_speaks_mandarin_not_english_pinyin(espeak_log: Path) -> None:
    """espeak-ng 1.51's cmn voice says 演练 as "yan three lian four" (English for the tone digits); the voice
    chosen must give Mandarin phonemes only (no switch to English, shown as "(en)" in its transcription)."""
    espeak = need_tool("espeak-ng", "espeak-ng")
    voice = choose_voice(espeak, "zh")
    phonemes = subprocess.run([espeak, "-q", "-x", "-v", voice, "演练。三建乡防汛抗旱指挥部通知"], capture_output=True,
                              text=True, check=True).stdout
    assert phonemes.strip() and "(en)" not in phonemes, phonemes


def test_mp3_beside_the_wav_where_lame_is_installed(run: Invoke, tmp_path: Path, espeak_log: Path) -> None:
    need_tool("lame", "lame")
    files = broadcast(run, raise_flood(run, 3), tmp_path / "out", "zh")
    head = files[".mp3"].read_bytes()[:3]
    assert head == b"ID3" or head[0] == 0xFF, head
    assert files[".mp3"].stat().st_size < files[".wav"].stat().st_size / 4


def test_without_espeak_ng_it_refuses_in_one_line_naming_the_package(run: Invoke, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    incident = raise_flood(run, 2)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "out"
    result = run("alert", "broadcast", str(incident), "--out", str(out))
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "espeak-ng is not installed" in line and "apt-get install espeak-ng" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("setup", "args", "code", "message"),
    [
        ("none", ("99",), 2, "no incident #99"),
        ("open", ("{id}", "--out", "{file}"), 2, "--out: error: cannot write into"),
        ("open", ("{id}", "--out", "{file}/sub"), 2, "--out: error: cannot write"),
        ("open", ("{id}", "--lang", "fr"), 2, "--lang: error: language 'fr' is not one of the plan's"),
        ("ended", ("{id}",), 3, "has ended: a loudspeaker warning for it would mislead residents"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(run: Invoke, tmp_path: Path, espeak_log: Path, setup: str,
                                                 args: tuple[str, ...], code: int, message: str) -> None:
    incident = raise_flood(run, 2) if setup != "none" else 0
    if setup == "ended":
        assert run("alert", "end", str(incident), "--reason", "水位回落", "--yes", "--no-send").exit_code == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("alert", "broadcast", *(a.replace("{id}", str(incident)).replace("{file}", str(blocker))
                                         for a in args))
    assert result.exit_code == code, result.output
    [line] = result.output.strip().splitlines()
    assert message in line, line
    assert "ARGS -v" not in espeak_log.read_text(encoding="utf-8")  # nothing was spoken
    assert not list((tmp_path / "cwd").glob("broadcast-*")) and blocker.read_text() == "not a folder"
