"""The duty board in a real browser (Playwright driving Debian's chromium) against a real `responder serve` on a real
SQLite database, sending through the real twilio SDK to the local Twilio-compatible server.

Sign in, see the incident raised from the CLI, watch a confirmation (a signed Twilio webhook) arrive without a
reload, upgrade to level 2 through the preview and its confirm, check the messages reached the Twilio server,
stand down. Screenshots of every page in both languages go to ``tests/web/screenshots/`` (kept out of git).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from process_support import PUBLIC_URL, LoggedProcess, process_env, wait_for
from twilio.request_validator import RequestValidator

from responder.configfiles.plan_file import read_plan
from responder.testing import TwilioStubServer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
RESPONDER = Path(sys.executable).with_name("responder")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
OFFICER, PASSWORD = "duty1", "correct horse battery staple"
REASON = "龙河水位4.2米，接近警戒水位"
UPGRADE = "龙河水位超警戒0.3米，持续上涨"


class Serve(LoggedProcess):
    kind = "serve"

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.name, self.log_path, self.base_url = "board", root / "serve.log", None
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([str(RESPONDER), "serve", "--port", "0", "--lease-ttl", "5"], cwd=root,
                                         env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


class Township:
    def __init__(self, root: Path, stub: TwilioStubServer) -> None:
        self.root = root
        for folder in ("config", "contacts"):
            shutil.copytree(REPO / folder, root / folder)
        self.env = process_env(f"sqlite:///{root / 'responder.db'}", root / "config" / "plan.yaml",
                               root / "contacts" / "roster.csv", stub)

    def week_rota(self, now: datetime) -> None:
        """A rota around ``now`` (the sample's is for the 2027 season): a day shift each, O001..O004 in turn."""
        start = now.replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=1)
        rows = ["from,to,person,deputy"]
        for day in range(9):
            a, b = start + timedelta(days=day), start + timedelta(days=day + 1)
            rows.append(f"{a:%Y-%m-%d %H:%M},{b:%Y-%m-%d %H:%M},O00{day % 4 + 1},O00{(day + 1) % 4 + 1}")
        (self.root / "contacts" / "duty-rota.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    def __call__(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([str(RESPONDER), *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=120, input=stdin, check=False)
        output = done.stdout + done.stderr
        assert done.returncode == 0 and "Traceback" not in output, f"responder {' '.join(args)}:\n{output}"
        return output


@pytest.fixture
def stub() -> Iterator[TwilioStubServer]:
    with TwilioStubServer() as server:
        yield server
    assert server.internal_errors == []


def unavailable(why: str) -> NoReturn:
    """Skip where the browser is missing, but never in CI: there `make system-deps` and the dev extras install it."""
    if os.environ.get("CI"):
        pytest.fail(f"{why} in CI")
    pytest.skip(why)


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (the dev extras)")
    if not CHROMIUM.exists():
        unavailable("Debian's chromium is not installed (make system-deps)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def signed_inbound(stub: TwilioStubServer, base_url: str, from_: str, body: str, sid: str) -> httpx.Response:
    """An SMS reply as Twilio posts it: form-encoded, signed over the public URL with the account's token."""
    params = {"From": from_, "To": "+15005550006", "Body": body, "MessageSid": sid,
              "AccountSid": stub.account_sid, "NumMedia": "0"}
    signature = RequestValidator(stub.auth_token).compute_signature(PUBLIC_URL + "/twilio/inbound", params)
    return httpx.post(f"{base_url}/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature},
                      timeout=10)


def sign_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", OFFICER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def shoot_pages(page: Any, base_url: str, tag: str) -> None:
    for lang in ("zh", "en"):
        for name, path in (("now", "/"), ("incident", "/incidents/1"), ("stations", "/stations"), ("duty", "/duty")):
            page.goto(f"{base_url}{path}?lang={lang}")
            shoot(page, f"{tag}-{name}-{lang}")


def office_count(page: Any) -> str:
    return str(page.locator('#incident-1 td.count[data-group="office"]').inner_text())


def test_the_board_in_a_browser(tmp_path: Path, stub: TwilioStubServer, browser: Any) -> None:
    run = Township(tmp_path / "township", stub)
    zone = read_plan(run.root / "config" / "plan.yaml").plan.area.zone
    now = datetime.now(zone)
    run.week_rota(now)
    run("init")
    for hours, stage, rain in ((5, 3.6, 8.0), (3, 3.9, 21.5), (1, 4.2, 12.0)):
        at = f"{now - timedelta(hours=hours):%Y-%m-%d %H:%M}"
        run("reading", "add", "longhe-town", str(stage), "--time", at, "--by", "O001")
        run("reading", "add", "rain-yuquanzi", str(rain), "--time", at, "--by", "O001")
    run("users", "add", OFFICER, "--role", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    run("alert", "raise", "--level", "3", "--hazard", "flood", "--reason", REASON, "--yes", "--no-send")
    serve = Serve(run.root, run.env)
    try:
        base = serve.wait_listening()
        called = wait_for(lambda: len(stub.messages) >= 20 and stub.messages, 60, "the level 3 call-out to be sent")
        first_wave = len(called)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        sign_in(page, base)

        page.goto(f"{base}/?lang=en")
        assert "#1" in page.locator("#incident-1 h2").inner_text()
        assert "yellow" in page.locator("#incident-1 .level").inner_text()
        page.wait_for_selector("#live-state.on")
        before = office_count(page)
        assert before.startswith("0 /")
        page.evaluate("window.__not_reloaded = true")
        phone = next(m.to for m in stub.messages if m.to.endswith("23757"))  # O003, an office member
        assert signed_inbound(stub, base, phone, "1", "SM" + "b" * 32).status_code == 200
        page.wait_for_function("document.querySelector('#incident-1 td.count[data-group=\"office\"]')"
                               ".innerText.startsWith('1 /')", timeout=15000)
        assert page.evaluate("window.__not_reloaded") is True, "the count changed without a reload"
        shoot(page, "live-confirmed-en")

        page.goto(f"{base}/incidents/1?lang=en")
        page.click("a.button.upgrade")
        page.select_option("select[name=level]", "2")
        page.fill("textarea[name=reason]", UPGRADE)
        page.click("button[value=preview]")
        page.wait_for_selector("table.preview-texts")
        assert UPGRADE in page.locator("table.preview-texts").inner_text()
        assert page.locator("td.segments").count() >= 1
        shoot(page, "preview-upgrade-en")
        page.click("button[value=confirm]")
        page.wait_for_url(re.compile(r".*/incidents/1\?done="))
        assert "orange" in page.locator("article.incident .level").first.inner_text()
        upgraded = wait_for(lambda: [m for m in stub.messages if UPGRADE in m.body], 60,
                            "the upgrade messages to reach the Twilio server")
        assert len(stub.messages) > first_wave and all(m.to.startswith("+") for m in upgraded)

        shoot_pages(page, base, "open")

        page.goto(f"{base}/incidents/1?lang=zh")
        page.click("a.button.end")
        page.fill("textarea[name=reason]", "水位回落，险情解除")
        page.click("button[value=preview]")
        page.wait_for_selector("table.preview-texts")
        shoot(page, "preview-end-zh")
        page.click("button[value=confirm]")
        page.wait_for_url(re.compile(r".*/incidents/1\?done="))
        assert "已结束" in page.locator("span.status").inner_text()
        wait_for(lambda: [m for m in stub.messages if "险情解除" in m.body], 60, "the stand-down to be sent")
        page.goto(f"{base}/?lang=en")
        assert "No open incidents" in page.inner_text("main")
        stranger = httpx.get(f"{base}/incidents/1?lang=en", timeout=10)
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login"), "behind the sign-in"
        page.goto(f"{base}/incidents/1?lang=en")
        events = page.locator("table.timeline").inner_text()
        assert f"{OFFICER}" in events and "upgraded" in events and "ended" in events
    finally:
        code = serve.stop()
    assert code == 0, serve.log
    assert "Traceback" not in serve.log, serve.log
