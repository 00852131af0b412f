"""Fixtures of the scale-out tests: the Twilio stub in this process and a deployment folder on a fresh PostgreSQL
database (``pg_url`` from tests/conftest.py: skipped where there is no server, a failure in CI)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scaleout_support import Deployment

from responder.testing import TwilioStubServer


@pytest.fixture
def deployment(pg_url: str, stub: TwilioStubServer, tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment.create(tmp_path, pg_url, stub)
    try:
        yield deployment
    finally:
        deployment.close()
