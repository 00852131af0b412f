"""Fixtures of the hostile-input and lost-connection tests: working folders as an operator has them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from resilience_support import Folder


@pytest.fixture
def folder(tmp_path: Path) -> Folder:
    """The sample plan and roster, no database yet."""
    return Folder.create(tmp_path / "office")


@pytest.fixture(scope="session")
def _set_up(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Folder.create(tmp_path_factory.mktemp("set-up") / "office")
    result = folder.run("init")
    assert result.returncode == 0, result.stderr
    return folder.root


@pytest.fixture
def ready(_set_up: Path, tmp_path: Path) -> Folder:
    """A folder whose SQLite database (responder.db) is set up: a copy of one `responder init` made once."""
    root = tmp_path / "office"
    shutil.copytree(_set_up, root)
    return Folder(root)
