"""``responder plan calltree`` through the real CLI: one A4 page per level, every person the level calls with the
number to dial (found by text extraction from the PDF), nobody it does not call, Noto Sans CJK embedded, the page
rendered to PNG (pdftoppm) with the level's colour in its band; the HTML variant self-contained with the same
people; bad options refused with one located line."""

from __future__ import annotations

import csv
import re
import subprocess
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from offline_support import DUTY_OFFICER, Invoke, need_tool, people
from PIL import Image
from pypdf import PdfReader
from sample_plan import PLAN, ROSTER, callout_entry, evacuation_people, expected_people, raw_plan

from responder.app.calltree import build_call_tree
from responder.domain.clock import FakeClock
from responder.settings import Settings
from responder.wiring import AppContext

LEVELS = (4, 3, 2, 1)
BAND = {4: (0x1F, 0x5F, 0xBF), 3: (0xF2, 0xC2, 0x00), 2: (0xE8, 0x73, 0x0C), 1: (0xC8, 0x1E, 0x1E)}
"""The band colour of each level's sheet (blue, yellow, orange, red)."""
ZONE = ZoneInfo("Asia/Shanghai")


def rota_now(clock: FakeClock) -> tuple[str, str | None, list[str]]:
    """The duty officer and deputy on the rota now, and who is on duty in the coming week (from the CSV)."""
    now = clock.now().astimezone(ZONE).replace(tzinfo=None)
    with (ROSTER.parent / "duty-rota.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    times = [(datetime.fromisoformat(r["from"]), datetime.fromisoformat(r["to"]), r) for r in rows]
    current = next(r for start, end, r in times if start <= now < end)
    coming = [r["person"] for start, _, r in times if now < start < now + timedelta(days=7)]
    return current["person"], current.get("deputy") or None, coming


def allowed_on_page(hazard: str, level: int, clock: FakeClock) -> set[str]:
    """Everyone a page may name: the groups the level calls, the chain, the duty rota, the evacuation zones."""
    officer, deputy, coming = rota_now(clock)
    chain = {"C002"} | {pid for pid, p in people().items() if p["groups"].get("command") == "leader"}
    ids = expected_people(hazard, level) | chain | {officer, *coming} | ({deputy} if deputy else set())
    return ids | (evacuation_people() if callout_entry(hazard, level).get("evacuation") else set())


def page_texts(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf).pages]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_has_one_a4_page_per_level_naming_everyone_called_there(run: Invoke, tmp_path: Path, clock: FakeClock,
                                                                   lang: str) -> None:
    out = tmp_path / f"tree-{lang}.pdf"
    result = run("plan", "calltree", "--lang", lang, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}: flood level(s) 4, 3, 2, 1, 4 page(s)" in result.output
    reader = PdfReader(out)
    assert len(reader.pages) == 4
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4 in mm
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts and all("Noto-Sans-CJK-SC" in f for f in fonts), fonts  # the CJK font, embedded (subset prefix)
    officer, _, _ = rota_now(clock)
    assert officer == DUTY_OFFICER
    for level, text in zip(LEVELS, page_texts(out), strict=True):
        heading = f"{level}级" if lang == "zh" else f"Level {level}"
        assert heading in text
        flat = re.sub(r"\s+", "", text)
        expected = expected_people("flood", level)
        for pid in expected | {officer, "C002"}:
            person = people()[pid]
            assert person["name"] in text, f"level {level}: {pid} {person['name']} missing"
            assert person["dial"].replace(" ", "") in flat, f"level {level}: {pid}'s number {person['dial']} missing"
        assert "17400009999" in flat, "the county office's number (the top of the reporting chain)"
        for pid in set(people()) - allowed_on_page("flood", level, clock):
            assert people()[pid]["name"] not in text, f"level {level} names {pid}, whom it does not call"
        printed = clock.now().astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
        assert printed in text  # the print date tells an outdated wall copy
        version = f"预案第 {raw_plan()['version']} 版" if lang == "zh" else f"plan version {raw_plan()['version']}"
        assert version in text
    level1 = page_texts(out)[3]
    for zone in raw_plan()["evacuation_zones"]:
        assert zone["stretch"][lang] in level1.replace("\n", "") and zone["shelter"][lang] in level1


def test_the_rendered_page_shows_the_level_colour_and_fits(run: Invoke, tmp_path: Path) -> None:
    """pdftoppm renders each page; the band at the top has the level's colour and the foot of the page is blank
    paper (the sheet ended on the page: nothing was pushed off it)."""
    pdftoppm = need_tool("pdftoppm", "poppler-utils")
    out = tmp_path / "tree.pdf"
    assert run("plan", "calltree", "--out", str(out)).exit_code == 0
    subprocess.run([pdftoppm, "-r", "60", "-png", str(out), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == 4
    for level, png in zip(LEVELS, pngs, strict=True):
        with Image.open(png) as image:
            rgb = image.convert("RGB")
            width, height = rgb.size
            assert abs(height / width - 297 / 210) < 0.01
            band = rgb.getpixel((width // 2, int(height * 0.04)))
            assert all(abs(a - b) < 40 for a, b in zip(band, BAND[level], strict=True)), (level, band)
            foot = rgb.crop((0, int(height * 0.97), width, height)).getcolors(maxcolors=4)
            assert foot == [(width * (height - int(height * 0.97)), (255, 255, 255))], f"level {level}: not blank"


def test_one_level_is_one_page(run: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "two.pdf"
    result = run("plan", "calltree", "--level", "2", "--hazard", "drought", "--out", str(out))
    assert result.exit_code == 0, result.output
    [text] = page_texts(out)
    assert "2级" in text and "干旱" in text
    for pid in expected_people("drought", 2):
        assert people()[pid]["name"] in text


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.sections.append("")
        self.external += [f"{tag} {k}={v}" for k, v in attrs if k in ("src", "href")]
        if tag == "link":
            self.external.append("link")

    def handle_data(self, data: str) -> None:
        if self.sections:
            self.sections[-1] += data + "\n"


def test_html_variant_is_self_contained_with_the_same_people(run: Invoke, tmp_path: Path, clock: FakeClock) -> None:
    html_file, pdf_file = tmp_path / "tree.html", tmp_path / "tree.pdf"
    assert run("plan", "calltree", "-f", "html", "--out", str(html_file)).exit_code == 0
    assert run("plan", "calltree", "--out", str(pdf_file)).exit_code == 0
    html = html_file.read_text(encoding="utf-8")
    parser = _Text()
    parser.feed(html)
    assert parser.external == [] and "url(" not in html and "@import" not in html
    assert len(parser.sections) == 4
    for level, section, pdf_text in zip(LEVELS, parser.sections, page_texts(pdf_file), strict=True):
        on_page = {pid for pid, p in people().items() if p["name"] in section}
        assert on_page == {pid for pid, p in people().items() if p["name"] in pdf_text}
        assert expected_people("flood", level) <= on_page <= allowed_on_page("flood", level, clock)


def test_the_tree_holds_whom_a_raise_calls(clock: FakeClock, tmp_path: Path) -> None:
    """The tree and a real raise agree person for person (the tree comes from the same decision)."""
    from responder.app.alerts import end_alert, raise_alert
    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database
    from responder.storage import incidents as store

    ctx = AppContext(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", plan_file=PLAN), clock=clock)
    init_database(ctx)
    import_contacts(ctx, ROSTER)
    for level in LEVELS:
        outcome = raise_alert(ctx, "flood", level, "演练核对", "test", is_drill=True)
        with ctx.sessions() as session:
            raised = {r.person_id for r in store.recipients_of(session, outcome.incident_id)}
        end_alert(ctx, outcome.incident_id, "核对完毕", "test")
        [tree] = build_call_tree(ctx, "flood", level).levels
        on_tree = {e.person_id for g in tree.groups for e in g.heads + g.members}
        on_tree |= {e.person_id for z in tree.zones for e in z.people}
        on_tree |= {c.person_id for rung in tree.chain if rung.at_once for c in rung.contacts}
        assert on_tree == raised, level
        assert tree.people == len(raised)


@pytest.mark.parametrize(
    ("args", "where", "message"),
    [
        (("--level", "5"), "--level", "unknown level 5"),
        (("--level", "0"), "--level", "unknown level 0"),
        (("--hazard", "storm"), "--hazard", "unknown hazard 'storm'"),
        (("--lang", "fr"), "--lang", "language 'fr' is not one of the plan's (zh, en)"),
        (("--out", "{file}/tree.pdf"), "--out", "it is a file, not a folder"),
        (("--out", "{file}/sub/tree.pdf"), "--out", "Not a directory"),
    ],
)
def test_bad_options_give_one_located_line(run: Invoke, tmp_path: Path, args: tuple[str, ...], where: str,
                                           message: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("plan", "calltree", *(a.replace("{file}", str(blocker)) for a in args))
    assert result.exit_code == 2, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"{where}: error: ") and message in line, line  # the option leads, not '<input>'
    assert not list(tmp_path.rglob("*.pdf")) and not list((tmp_path / "cwd").iterdir())


def test_no_roster_in_the_database_is_refused(run: Invoke, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    result = run("--db", f"sqlite:///{empty}", "plan", "calltree")
    assert result.exit_code == 2
    assert "is not set up: run `responder init` first" in result.output


def _roster_with_volunteers(tmp_path: Path, extra: int) -> Path:
    """The sample roster and ``extra`` more volunteers (numbers in the sample's fictitious +86 174 00 block)."""
    rows = ROSTER.read_text(encoding="utf-8").rstrip("\n").splitlines()
    rows += [f"X{i:04d},志愿者{i:04d},+86 174 0090 {i:04d},volunteers:member,鱼泉子,zh" for i in range(extra)]
    path = tmp_path / "roster-big.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_crowded_level_is_set_smaller_to_stay_on_one_page(run: Invoke, tmp_path: Path) -> None:
    assert run("contacts", "import", str(_roster_with_volunteers(tmp_path, 60))).exit_code == 0
    out = tmp_path / "one.pdf"
    result = run("plan", "calltree", "--level", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert re.search(r"level 1 is set in [\d.]+ pt type to fit its page", result.output), result.output
    [text] = page_texts(out)
    assert all(f"志愿者{i:04d}" in text for i in range(60))


def test_a_level_too_crowded_for_any_type_size_runs_on_and_says_so(run: Invoke, tmp_path: Path) -> None:
    assert run("contacts", "import", str(_roster_with_volunteers(tmp_path, 400))).exit_code == 0
    out = tmp_path / "long.pdf"
    result = run("plan", "calltree", "--level", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "warning: level 1 does not fit one page even in the smallest type" in result.output
    texts = page_texts(out)
    assert len(texts) > 1
    assert all(f"志愿者{i:04d}" in "".join(texts) for i in range(400))
