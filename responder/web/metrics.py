"""``GET /metrics`` (Prometheus text format) and ``GET /healthz`` (JSON), both read from the database at request
time (``app.service_state``) so that every worker agrees, and neither behind the board's login.

/metrics, all gauges but the counter of messages sent (use ``rate()`` on it):

* ``responder_outbox_messages{state,channel}``: outbox rows by state;
* ``responder_outbox_sent_total{channel}``: messages the provider accepted, ever;
* ``responder_outbox_send_rate_per_second``: of those, per second over the last five minutes;
* ``responder_outbox_backlog_messages`` and ``responder_outbox_oldest_unsent_age_seconds``: messages due and not
  yet sent, and how long the longest-waiting one has been due (a reminder queued for later is not late);
* ``responder_feed_staleness_seconds{feed}`` (``+Inf`` if never read) and
  ``responder_feed_last_success_timestamp_seconds{feed}``;
* ``responder_open_incidents{level,hazard,drill}`` (each of the plan's levels is there, 0 when none is open);
* ``responder_scheduler_leader{holder}`` (1, absent when nobody holds the lease), ``responder_database_up``.

/healthz answers 503 unless the database answers, a scheduler leader holds the lease and no message has been due
for longer than ``RESPONDER_HEALTH_MAX_BACKLOG_SECONDS``.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from responder.app.ports import Context
from responder.app.service_state import ServiceState, service_state
from responder.web.forms import log

_PREFIX = "responder_"


class StateCollector(Collector):
    """Reads the service state at each scrape; a database that does not answer gives ``database_up 0``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(_PREFIX + "database_up", "1 if the database answered this scrape")
        try:
            state = service_state(self.ctx)
        except Exception:
            log.exception("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _outbox(state)
        yield from _feeds(state)
        yield from _incidents(state)
        leader = GaugeMetricFamily(_PREFIX + "scheduler_leader", "1 for the worker holding the scheduler lease",
                                   labels=["holder"])
        if state.leader is not None:
            leader.add_metric([state.leader], 1)
        yield leader


def _outbox(state: ServiceState) -> Iterator[Metric]:
    by_state = GaugeMetricFamily(_PREFIX + "outbox_messages", "Outbox messages by state and channel",
                                 labels=["state", "channel"])
    sent = CounterMetricFamily(_PREFIX + "outbox_sent", "Messages the provider accepted", labels=["channel"])
    totals: dict[str, int] = {}
    for group in state.outbox:
        by_state.add_metric([group.status, group.channel], group.count)
        totals[group.channel] = totals.get(group.channel, 0) + group.handed_over
    for channel, total in sorted(totals.items()):
        sent.add_metric([channel], total)
    yield by_state
    yield sent
    yield GaugeMetricFamily(_PREFIX + "outbox_send_rate_per_second",
                            "Messages the provider accepted per second over the last 5 minutes",
                            value=state.send_rate_per_second)
    yield GaugeMetricFamily(_PREFIX + "outbox_backlog_messages", "Messages due and not yet sent",
                            value=state.backlog)
    yield GaugeMetricFamily(_PREFIX + "outbox_oldest_unsent_age_seconds",
                            "Seconds the longest-waiting unsent message has been due", value=state.backlog_age_seconds)


def _feeds(state: ServiceState) -> Iterator[Metric]:
    staleness = GaugeMetricFamily(_PREFIX + "feed_staleness_seconds", "Seconds since the feed was last read "
                                  "successfully (+Inf: never)", labels=["feed"])
    last_ok = GaugeMetricFamily(_PREFIX + "feed_last_success_timestamp_seconds", "When the feed was last read "
                                "successfully (Unix time)", labels=["feed"])
    for feed in state.feeds:
        staleness.add_metric([feed.feed], math.inf if feed.staleness_seconds is None else feed.staleness_seconds)
        if feed.last_ok_at is not None:
            last_ok.add_metric([feed.feed], feed.last_ok_at.timestamp())
    yield staleness
    yield last_ok


def _incidents(state: ServiceState) -> Iterator[Metric]:
    family = GaugeMetricFamily(_PREFIX + "open_incidents", "Open incidents by level, hazard and drill flag",
                               labels=["level", "hazard", "drill"])
    counted = {(str(level), hazard, "false"): 0 for level in state.levels for hazard in state.hazards}
    counted.update({(str(level), hazard, "true" if drill else "false"): n
                    for hazard, level, drill, n in state.open_incidents})
    for labels, n in sorted(counted.items()):
        family.add_metric(list(labels), n)
    yield family


def health_report(ctx: Context) -> tuple[bool, dict[str, Any]]:
    """The /healthz verdict and its reasons."""
    try:
        state = service_state(ctx)
    except Exception as exc:
        return False, {"database": {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}}
    limit = ctx.settings.health_max_backlog_seconds
    report: dict[str, Any] = {
        "database": {"ok": True, "dialect": ctx.engine.dialect.name},
        "scheduler": {"ok": state.leader is not None, "leader": state.leader,
                      "lease_until": state.leader_until.isoformat() if state.leader_until else None},
        "outbox": {"ok": state.backlog_age_seconds <= limit, "backlog": state.backlog,
                   "backlog_age_seconds": round(state.backlog_age_seconds, 1), "limit_seconds": limit},
    }
    if state.leader is None:
        report["scheduler"]["error"] = "no worker holds the scheduler lease: escalations are not running"
    return all(part["ok"] for part in report.values()), report


def routes(ctx: Context) -> list[Route]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(ctx))

    token = ctx.settings.metrics_token.get_secret_value().encode() if ctx.settings.metrics_token else None

    async def metrics(request: Request) -> Response:
        if token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
                return Response("a bearer token is needed (RESPONDER_METRICS_TOKEN)", 401,
                                headers={"WWW-Authenticate": "Bearer"})
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        healthy, report = await run_in_threadpool(health_report, ctx)
        report["status"] = "ok" if healthy else "unhealthy"
        return Response(json.dumps(report, ensure_ascii=False), 200 if healthy else 503,
                        media_type="application/json")

    return [Route("/metrics", metrics, methods=["GET"]), Route("/healthz", healthz, methods=["GET"])]
