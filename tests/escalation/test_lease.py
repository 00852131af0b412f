"""The scheduler lease: one holder at a time, taken over when the holder stops renewing, kept by renewing, freed by
release; and the scheduler runner that only runs APScheduler while it holds it. SQLite and PostgreSQL (``ctx``),
on the fake clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alerts_support import sibling

from responder.domain.clock import FakeClock
from responder.wiring import AppContext
from responder.worker.lease import LeaseState, current, release, try_acquire
from responder.worker.scheduler import LEASE, SchedulerRunner

TTL = timedelta(seconds=30)


def test_one_holder_at_a_time(ctx: AppContext, clock: FakeClock) -> None:
    now = clock.now()
    assert try_acquire(ctx, LEASE, "a", TTL) == LeaseState(True, "a", now + TTL)
    assert try_acquire(ctx, LEASE, "b", TTL) == LeaseState(False, "a", now + TTL)
    assert current(ctx, LEASE) == LeaseState(False, "a", now + TTL)
    assert try_acquire(ctx, "another-lease", "b", TTL).held, "leases are independent of each other"


def test_expiry_lets_another_take_over(ctx: AppContext, clock: FakeClock) -> None:
    start = clock.now()
    assert try_acquire(ctx, LEASE, "a", TTL).held
    clock.advance(TTL - timedelta(seconds=1))
    assert not try_acquire(ctx, LEASE, "b", TTL).held
    clock.advance(timedelta(seconds=1))  # a has not renewed for a whole ttl
    assert current(ctx, LEASE) == LeaseState(False, None, None)
    assert try_acquire(ctx, LEASE, "b", TTL) == LeaseState(True, "b", start + 2 * TTL)
    assert try_acquire(ctx, LEASE, "a", TTL) == LeaseState(False, "b", start + 2 * TTL), "a comes back too late"


def test_renewal_keeps_it(ctx: AppContext, clock: FakeClock) -> None:
    assert try_acquire(ctx, LEASE, "a", TTL).held
    for _ in range(10):  # renewed every 20 s for 200 s, far longer than one ttl
        clock.advance(timedelta(seconds=20))
        renewed = try_acquire(ctx, LEASE, "a", TTL)
        assert renewed == LeaseState(True, "a", clock.now() + TTL)
        assert not try_acquire(ctx, LEASE, "b", TTL).held
    clock.advance(TTL)
    assert try_acquire(ctx, LEASE, "b", TTL).held


def test_release_frees_it_for_the_holder_only(ctx: AppContext, clock: FakeClock) -> None:
    assert try_acquire(ctx, LEASE, "a", TTL).held
    release(ctx, LEASE, "b")  # not b's to release
    assert current(ctx, LEASE).holder == "a"
    release(ctx, LEASE, "a")
    assert current(ctx, LEASE) == LeaseState(False, None, None)
    assert try_acquire(ctx, LEASE, "b", TTL).held, "at once, without waiting for the ttl"


@pytest.mark.parametrize("existing", [False, True], ids=["first-ever", "after-expiry"])
def test_many_at_once_get_one_holder(ctx: AppContext, clock: FakeClock, existing: bool) -> None:
    """Processes starting together (each with its own engine): exactly one wins, whether they race to create the
    lease row or to take over an expired one."""
    if existing:
        assert try_acquire(ctx, LEASE, "dead", TTL).held
        clock.advance(TTL * 2)
    others = [sibling(ctx) for _ in range(6)]
    barrier = threading.Barrier(len(others))

    def contend(i: int) -> LeaseState:
        barrier.wait(timeout=10)
        return try_acquire(others[i], LEASE, f"w{i}", TTL)

    try:
        with ThreadPoolExecutor(len(others)) as pool:
            states = list(pool.map(contend, range(len(others))))
    finally:
        for other in others:
            other.engine.dispose()
    winners = [s.holder for s in states if s.held]
    assert len(winners) == 1, states
    assert current(ctx, LEASE).holder == winners[0]
    # The losers say who won (their /health names the leader at once), even those whose own insert collided
    # with the winner's; SQLite may instead answer "busy", which only leaves the holder unknown until renewal.
    told = {s.holder for s in states if not s.held}
    assert told <= {winners[0], None}, states
    if ctx.engine.dialect.name == "postgresql":
        assert told == {winners[0]}, states


# -- the scheduler runner -------------------------------------------------------------------------------------------
@pytest.fixture
def runners(ctx: AppContext) -> Iterator[tuple[SchedulerRunner, SchedulerRunner]]:
    """Two `serve` processes' scheduler runners on one database (the second with its own engine)."""
    other = sibling(ctx)
    first, second = SchedulerRunner(ctx, "first", ttl=30), SchedulerRunner(other, "second", ttl=30)
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()
        other.engine.dispose()


def test_only_the_lease_holder_runs_the_scheduler_and_the_other_says_why(
        runners: tuple[SchedulerRunner, SchedulerRunner], clock: FakeClock) -> None:
    first, second = runners
    first.tick()
    second.tick()
    leader, standby = first.health(), second.health()
    assert (leader["role"], leader["running"], leader["holder"], leader["message"]) == ("leader", True, "first",
                                                                                      "leader")
    assert (standby["role"], standby["running"], standby["holder"], standby["jobs"]) == ("standby", False, "first", 0)
    assert "another worker (first) runs the scheduler on this database" in standby["message"]
    assert "a second scheduler on one job store would run jobs twice" in standby["message"]

    clock.advance(timedelta(seconds=5))  # both keep ticking: nothing changes
    first.tick()
    second.tick()
    assert (first.health()["role"], second.health()["role"]) == ("leader", "standby")

    clock.advance(timedelta(seconds=31))  # first stops renewing (it hangs, or died): second takes over
    second.tick()
    assert (second.health()["role"], second.health()["running"]) == ("leader", True)
    first.tick()  # first wakes up to find it lost the lease: it stops its scheduler
    assert (first.health()["role"], first.health()["running"], first.health()["holder"]) == ("standby", False,
                                                                                             "second")
    assert first.scheduler is None


def test_stopping_releases_the_lease_for_the_next_one_at_once(
        runners: tuple[SchedulerRunner, SchedulerRunner], ctx: AppContext) -> None:
    first, second = runners
    first.tick()
    second.tick()
    assert second.health()["role"] == "standby"
    first.stop()  # Ctrl-C / SIGTERM: the lease is released, not left to expire
    assert current(ctx, LEASE) == LeaseState(False, None, None)
    second.tick()
    assert second.health()["role"] == "leader"
