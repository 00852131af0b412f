"""A migrated database on each engine (the ``db_url`` fixture), and one transaction on it per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from responder.storage.db import make_engine
from responder.storage.migrate import upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s, s.begin():
        yield s
