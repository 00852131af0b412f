"""``/healthz`` and ``/metrics`` through the real app on SQLite and PostgreSQL: what they say follows the database
(an alert raised, messages sent, a feed read, the scheduler lease taken), with nobody signed in."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from web_hooks_support import AsgiClient, dispatch

from responder.app.alerts import raise_alert
from responder.app.feed_cycle import run_cycle
from responder.domain.clock import FakeClock
from responder.gateways.fake import FakeGateway
from responder.web import create_app
from responder.wiring import AppContext
from responder.worker.lease import try_acquire

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def client(ctx: AppContext) -> Iterator[AsgiClient]:
    with AsgiClient(create_app(ctx)) as client:
        yield client


def scrape(client: AsgiClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_follow_the_database(ctx: AppContext, client: AsgiClient, clock: FakeClock) -> None:
    fresh = scrape(client)
    assert value(fresh, "responder_database_up") == 1
    for level in ("1", "2", "3", "4"):
        for hazard in ("flood", "drought"):
            assert value(fresh, "responder_open_incidents", level=level, hazard=hazard, drill="false") == 0
    assert value(fresh, "responder_feed_staleness_seconds", feed="county-rain") == math.inf
    assert value(fresh, "responder_outbox_backlog_messages") == 0
    assert not any(name == "responder_scheduler_leader" for name, _ in fresh)

    outcome = raise_alert(ctx, "flood", 3, "river rising at Sanjian bridge", by="officer")
    queued = scrape(client)
    pending = value(queued, "responder_outbox_messages", state="pending", channel="sms")
    assert pending is not None and pending >= 3
    assert value(queued, "responder_outbox_backlog_messages") == pending
    assert value(queued, "responder_open_incidents", level="3", hazard="flood", drill="false") == 1
    clock.advance(timedelta(minutes=2))
    assert value(scrape(client), "responder_outbox_oldest_unsent_age_seconds") == 120

    dispatch(ctx, FakeGateway(clock=clock))
    sent = scrape(client)
    assert value(sent, "responder_outbox_sent_total", channel="sms") == pending
    assert value(sent, "responder_outbox_messages", state="sent", channel="sms") == pending
    assert value(sent, "responder_outbox_send_rate_per_second") == pytest.approx(pending / 300)
    assert value(sent, "responder_outbox_backlog_messages") == 0
    assert value(sent, "responder_outbox_oldest_unsent_age_seconds") == 0
    clock.advance(timedelta(minutes=6))
    assert value(scrape(client), "responder_outbox_send_rate_per_second") == 0
    assert outcome.incident_id

    run_cycle(ctx, feed_ids=["county-rain"])
    clock.advance(timedelta(minutes=10))
    read = scrape(client)
    assert value(read, "responder_feed_staleness_seconds", feed="county-rain") == 600
    assert value(read, "responder_feed_last_success_timestamp_seconds", feed="county-rain") == (
        clock.now() - timedelta(minutes=10)).timestamp()

    try_acquire(ctx, "scheduler", "worker-a", timedelta(hours=1))
    assert value(scrape(client), "responder_scheduler_leader", holder="worker-a") == 1


def test_healthz_needs_a_leader_and_no_old_backlog(ctx: AppContext, client: AsgiClient, clock: FakeClock) -> None:
    nobody = client.get("/healthz")
    assert nobody.status_code == 503
    body = nobody.json()
    assert body["database"]["ok"] and body["outbox"]["ok"] and not body["scheduler"]["ok"]
    assert "scheduler lease" in body["scheduler"]["error"] and body["status"] == "unhealthy"

    try_acquire(ctx, "scheduler", "worker-a", timedelta(hours=2))
    healthy = client.get("/healthz")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["scheduler"]["leader"] == "worker-a" and healthy.json()["status"] == "ok"

    raise_alert(ctx, "flood", 3, "river rising at Sanjian bridge", by="officer")
    clock.advance(timedelta(seconds=900))
    assert client.get("/healthz").status_code == 200  # at the limit, not over it
    clock.advance(timedelta(seconds=1))
    late = client.get("/healthz")
    assert late.status_code == 503 and late.json()["outbox"]["backlog_age_seconds"] == 901
    dispatch(ctx, FakeGateway(clock=clock))
    assert client.get("/healthz").status_code == 200

    clock.advance(timedelta(hours=2))  # the leader stopped renewing: its lease ran out
    assert client.get("/healthz").json()["scheduler"] == {
        "ok": False, "leader": None, "lease_until": None,
        "error": "no worker holds the scheduler lease: escalations are not running"}


def test_an_unreachable_database_is_reported_not_raised(sqlite_ctx: AppContext, tmp_path: object) -> None:
    from responder.wiring import AppContext as Context

    broken = Context(sqlite_ctx.settings.model_copy(update={"database_url": "sqlite:////nonexistent/dir/x.db"}),
                     clock=sqlite_ctx.clock)
    with AsgiClient(create_app(broken)) as client:
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["database"]["ok"] is False
        assert value(scrape(client), "responder_database_up") == 0


def test_metrics_are_cheap_on_a_big_outbox(sqlite_ctx: AppContext, clock: FakeClock) -> None:
    """Five scrapes with 20,000 outbox rows: each well under the scrape interval of any sane Prometheus."""
    from sqlalchemy import insert

    from responder.storage.models import OutboxRow

    now = clock.now()
    rows = [{"channel": "sms", "to_number": "+8617400000000", "body": "x", "language": "zh", "kind": "callout",
             "status": "pending" if i % 4 else "sent", "created_at": now, "due_at": now, "deadline_at": now,
             "sent_at": None if i % 4 else now} for i in range(20_000)]
    with sqlite_ctx.engine.begin() as conn:
        conn.execute(insert(OutboxRow), rows)
    with AsgiClient(create_app(sqlite_ctx)) as client:
        scrape(client)
        started = time.perf_counter()
        for _ in range(5):
            samples = scrape(client)
        per_scrape = (time.perf_counter() - started) / 5
    assert value(samples, "responder_outbox_messages", state="pending", channel="sms") == 15_000
    print(f"per scrape: {per_scrape * 1000:.1f} ms")
    assert per_scrape < 0.5, per_scrape


def test_a_metrics_token_keeps_other_scrapers_out(sqlite_ctx: AppContext) -> None:
    from web_hooks_support import twilio_context

    guarded = twilio_context(sqlite_ctx, gateway="fake", metrics_token="scrape-secret")
    with AsgiClient(create_app(guarded)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-secret"}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert allowed.status_code == 200 and "responder_database_up 1.0" in allowed.text
        assert client.get("/healthz").status_code == 503  # /healthz needs no token (no leader here)
