"""Shared fixtures: real SQLite and real PostgreSQL databases, the sample plan, a fake clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from responder.domain.clock import FakeClock
from responder.settings import Settings
from responder.testing import TwilioStubServer
from responder.wiring import AppContext

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PG_ADMIN_URL = os.environ.get("RESPONDER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SEASON_START = datetime(2027, 7, 1, 1, 0, tzinfo=UTC)
"""09:00 local on 1 July 2027: inside the main flood season, with a duty officer on the rota."""


def _pg_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except Exception:  # any failure means "not reachable here"
        return False


PG_AVAILABLE = _pg_reachable()

hypothesis_settings.register_profile(
    "ci", derandomize=True, database=None, max_examples=40, deadline=5000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
"""CI is deterministic (the same examples every run, no example database) and sized for two loaded cores; a
test's own ``@settings`` still wins for what it names. Locally hypothesis explores at random as usual."""
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def require_postgres() -> None:
    """Skip where there is no server, but never in CI: there the server must be used."""
    if not PG_AVAILABLE:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} in CI")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards."""
    require_postgres()
    import psycopg

    name = f"responder_test_{uuid.uuid4().hex[:12]}"
    admin = PG_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'responder.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on both engines."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'responder.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SEASON_START)


def make_context(url: str, clock: FakeClock, **overrides: object) -> AppContext:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        plan_file=REPO / "config" / "plan.yaml",
        roster_file=REPO / "contacts" / "roster.csv",
        **{"gateway": "fake", **overrides},  # type: ignore[arg-type]
    )
    return AppContext(settings, clock=clock)


def seeded_context(url: str, clock: FakeClock) -> Iterator[AppContext]:
    """The sample plan and roster on a freshly migrated database."""
    from responder.app.contacts import import_contacts
    from responder.app.setup import init_database

    context = make_context(url, clock)
    init_database(context)
    import_contacts(context, context.settings.roster_file)
    yield context
    context.engine.dispose()


@pytest.fixture
def ctx(db_url: str, clock: FakeClock) -> Iterator[AppContext]:
    """The sample plan and roster on a migrated database, on both engines."""
    yield from seeded_context(db_url, clock)


@pytest.fixture
def sqlite_ctx(sqlite_url: str, clock: FakeClock) -> Iterator[AppContext]:
    """Same as ``ctx`` on SQLite only, for tests of logic rather than storage."""
    yield from seeded_context(sqlite_url, clock)


@pytest.fixture
def stub() -> Iterator[TwilioStubServer]:
    """The local Twilio-compatible server; a test fails if the server itself hit an error."""
    with TwilioStubServer() as server:
        yield server
    assert server.internal_errors == []
