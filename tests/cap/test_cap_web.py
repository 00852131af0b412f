"""``/cap/feed.atom`` and ``/cap/{identifier}.xml`` on the app ``responder serve`` runs, served by a real
uvicorn server on a real SQLite database: public, read-only, drills only if the plan says so."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from cap_support import Incidents, make_key, sample_plan, schema_errors, with_plan
from lxml import etree

from responder.app.cap_export import incident_messages
from responder.cap.signing import verify
from responder.cap.xml_reader import parse
from responder.domain.clock import FakeClock
from responder.domain.errors import InputError
from responder.web import create_app
from responder.wiring import AppContext

ATOM = "{http://www.w3.org/2005/Atom}"


@contextmanager
def _client(ctx: AppContext) -> Iterator[httpx.Client]:
    """The app on a free port of 127.0.0.1, in a thread, and a client for it."""
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.01)
        assert server.started, "the server did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


def _entries(body: bytes) -> list[tuple[str, str]]:
    root = etree.fromstring(body)
    return [(e.findtext(ATOM + "title") or "", e.find(ATOM + "link").get("href")) for e in root.iter(ATOM + "entry")]


def test_the_feed_lists_the_latest_message_of_each_current_incident(sqlite_ctx: AppContext,
                                                                    incidents: Incidents) -> None:
    flood = incident_messages(sqlite_ctx, incidents.flood).messages
    with _client(sqlite_ctx) as client:
        feed = client.get("/cap/feed.atom")
        assert feed.status_code == 200
        assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
        entries = _entries(feed.content)
        assert entries == [("三建乡洪涝预警解除", f"{client.base_url}/cap/{flood[-1].identifier}.xml")], \
            "the Cancel replaces the earlier messages; the drill stays out of the public feed"
        root = etree.fromstring(feed.content)
        assert root.findtext(ATOM + "updated") == flood[-1].sent
        for message in flood:  # every message stays retrievable: the Cancel references them
            got = client.get(f"/cap/{message.identifier}.xml")
            assert got.status_code == 200
            assert got.headers["content-type"] == "application/cap+xml; charset=utf-8"
            assert schema_errors(got.content) == [] and parse(got.content) == message


def test_drills_only_when_the_plan_publishes_them(sqlite_ctx: AppContext, incidents: Incidents) -> None:
    drill = incident_messages(sqlite_ctx, incidents.drill).messages[0]
    assert drill.status == "Exercise"
    with _client(sqlite_ctx) as client:
        assert client.get(f"/cap/{drill.identifier}.xml").status_code == 404

    def publish(data: dict[str, Any]) -> None:
        data["cap"]["public_drills"] = True

    with _client(with_plan(sqlite_ctx, sample_plan(publish))) as client:
        titles = [t for t, _ in _entries(client.get("/cap/feed.atom").content)]
        assert titles == ["三建乡洪涝预警解除", "【演练】三建乡发布干旱蓝色预警（4级）"], "newest first"
        got = client.get(f"/cap/{drill.identifier}.xml")
        assert got.status_code == 200 and parse(got.content).status == "Exercise"


def test_expired_messages_leave_the_feed(sqlite_ctx: AppContext, incidents: Incidents, clock: FakeClock) -> None:
    flood = incident_messages(sqlite_ctx, incidents.flood).messages
    clock.advance(timedelta(hours=23, minutes=59))
    with _client(sqlite_ctx) as client:
        assert len(_entries(client.get("/cap/feed.atom").content)) == 1
        clock.advance(timedelta(minutes=2))
        feed = client.get("/cap/feed.atom")
        assert feed.status_code == 200 and _entries(feed.content) == []
        assert client.get(f"/cap/{flood[0].identifier}.xml").status_code == 200, "expired, still retrievable"


@pytest.mark.parametrize("path", [
    "/cap/sanjian-flood-20270701T010000Z-999-1.xml",      # no such incident
    "/cap/sanjian-flood-20270701T010000Z-1-9.xml",        # no such message
    "/cap/sanjian-flood-19990101T000000Z-1-1.xml",        # right numbers, wrong incident
    "/cap/nothing.xml",
    "/cap/%3Cscript%3E.xml",
])
def test_unknown_messages_are_404(sqlite_ctx: AppContext, incidents: Incidents, path: str) -> None:
    with _client(sqlite_ctx) as client:
        got = client.get(path)
        assert got.status_code == 404 and got.headers["content-type"].startswith("text/plain")


def test_the_feed_is_read_only_and_needs_no_login(sqlite_ctx: AppContext, incidents: Incidents) -> None:
    with _client(sqlite_ctx) as client:
        assert client.post("/cap/feed.atom").status_code == 405
        assert client.get("/cap/feed.atom", headers={"Authorization": ""}).status_code == 200


def test_served_messages_are_signed_when_a_key_is_configured(sqlite_ctx: AppContext, incidents: Incidents,
                                                             tmp_path) -> None:
    pair = make_key(tmp_path)
    settings = sqlite_ctx.settings.model_copy(update={"cap_signing_key_file": pair.key_file,
                                                      "cap_signing_cert_file": pair.cert_file})
    signed_ctx = AppContext(settings, clock=sqlite_ctx.clock, engine_override=sqlite_ctx.engine)
    message = incident_messages(sqlite_ctx, incidents.flood).messages[1]
    with _client(signed_ctx) as client:
        got = client.get(f"/cap/{message.identifier}.xml")
    assert got.status_code == 200
    assert verify(got.content, pair.cert).tag.endswith("alert")
    assert schema_errors(got.content) == [] and parse(got.content) == message


def test_the_public_url_names_the_links(sqlite_ctx: AppContext, incidents: Incidents) -> None:
    settings = sqlite_ctx.settings.model_copy(update={"public_url": "https://warn.sanjian.example/"})
    with _client(AppContext(settings, clock=sqlite_ctx.clock, engine_override=sqlite_ctx.engine)) as client:
        root = etree.fromstring(client.get("/cap/feed.atom").content)
    assert root.findtext(ATOM + "id") == "https://warn.sanjian.example/cap/feed.atom"
    assert next(href for _, href in _entries(etree.tostring(root))).startswith("https://warn.sanjian.example/cap/")


def test_a_broken_key_configuration_stops_the_app_at_start(sqlite_ctx: AppContext, tmp_path) -> None:
    pair, other = make_key(tmp_path / "a"), make_key(tmp_path / "b", name="other")
    settings = sqlite_ctx.settings.model_copy(update={"cap_signing_key_file": pair.key_file,
                                                      "cap_signing_cert_file": other.cert_file})
    with pytest.raises(InputError, match="the certificate is not the private key's"):
        create_app(AppContext(settings, clock=sqlite_ctx.clock, engine_override=sqlite_ctx.engine))
