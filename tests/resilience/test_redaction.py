"""Credentials in a URL never surface: a feed URL's user:password@ and token, a database URL's password, hidden by one
function (``domain/redact.redact``) in the table and ``--json`` of `feeds check`, ``audit_events``, ``feed_status``,
``/health``'s errors, the workers' log lines and the CLI's errors."""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest
from resilience_support import Folder, clean_env
from sqlalchemy.exc import OperationalError

from responder.domain.redact import redact
from responder.worker.outage import DatabaseWatch

SECRETS = ("s3cretpw", "tok123")
FEED_URL = "http://bob:s3cretpw@127.0.0.1:1/rain.csv?site=7&token=tok123"


@pytest.mark.parametrize(("text", "shown"), [
    (FEED_URL, "http://bob:***@127.0.0.1:1/rain.csv?site=7&token=***"),
    ("postgresql+psycopg://duty:pw@db:5432/responder", "postgresql+psycopg://duty:***@db:5432/responder"),
    ("fetch https://u:p@x.org/a: HTTP 401; then https://y.org/b?api_key=K&x=1", "fetch https://u:***@x.org/a: HTTP "
     "401; then https://y.org/b?api_key=***&x=1"),
    ("https://ghp_0123456789abcdefghij@github.com/x.csv", "https://***@github.com/x.csv"),
    ("host=db user=duty password=pw dbname=r", "host=db user=duty password=*** dbname=r"),
    ("sqlite:///responder.db", "sqlite:///responder.db"),
    ("https://feeds.example.org/a.csv?site=1", "https://feeds.example.org/a.csv?site=1"),
])
def test_one_function_hides_every_kind_of_credential(text: str, shown: str) -> None:
    assert redact(text) == shown
    assert redact(shown) == shown, "idempotent"


def test_feeds_check_hides_the_feed_urls_credentials_everywhere(ready: Folder) -> None:
    folder = ready
    plan = folder.root / "config" / "plan.yaml"
    text = plan.read_text(encoding="utf-8")
    local = "    path: config/feeds/county-rain.csv\n"
    assert local in text
    plan.write_text(text.replace(local, f"    url: {FEED_URL}\n    timeout: 1s\n    retries: 0\n", 1), encoding="utf-8")
    table = folder.run("feeds", "check", env=clean_env(COLUMNS="400"))
    listed = folder.run("feeds", "check", "--json")
    assert table.returncode == listed.returncode == 1, "a feed failed"
    [feed] = [f for f in json.loads(listed.stdout)["feeds"] if f["feed"] == "county-rain"]
    assert "bob:***@127.0.0.1:1" in feed["error"] and "token=***" in feed["error"]
    assert "bob:***@127.0.0.1:1" in table.stdout
    with sqlite3.connect(folder.root / "responder.db") as conn:
        stored = [str(row) for table_name in ("audit_events", "feed_status")
                  for row in conn.execute(f"SELECT * FROM {table_name}")]
    assert any("bob:***@" in row for row in stored), "the failure is recorded, credentials hidden"
    for output in (table.stdout + table.stderr, listed.stdout + listed.stderr, *stored):
        assert not any(secret in output for secret in SECRETS), output


def test_a_database_outage_is_logged_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    watch = DatabaseWatch("postgresql+psycopg://duty:hunter2@db.example.org:5432/responder", max_wait=1)
    down = OperationalError("SELECT 1", {}, Exception("connection to server failed: password=hunter2 refused"))
    with caplog.at_level(logging.WARNING, logger="responder.worker.outage"):
        assert watch.failed(down, "a test") is not None
        assert watch.failed(down, "a test") is not None  # still the same outage: not logged again
        watch.ok()
    assert len(caplog.records) == 2, "one line when it goes, one when it is back"
    assert "duty:***@db.example.org" in caplog.text and "hunter2" not in caplog.text
    assert watch.health()["outages_total"] == 1 and watch.health()["failed_tries_total"] == 2
