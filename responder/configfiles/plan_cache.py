"""Validated plans kept on disk by content, so that a fresh process neither builds the plan's models nor validates
the same plan again.

Every command is a process of its own, and building the plan's pydantic models and validating a plan (the file, or
the snapshot an incident was declared under) took ~5% of ``alert status``'s start-up, more where the plan file is
read too. The models are built on first validation (``defer_build``); a plan once validated is kept here, named by
the SHA-256 of what it was validated from and of the code that validates it (this package's and the domain's
modules, pydantic's version): an edited plan, or a changed model, has another name and is validated afresh, and
refused as before when invalid. Only a valid plan is ever stored. The cache is the user's own
(``$XDG_CACHE_HOME/responder``, else ``~/.cache/responder``); an entry that is not theirs, or cannot be read, is
ignored, and one that cannot be written is skipped: the cache only ever saves time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pydantic

import responder.configfiles
import responder.domain


def folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "responder" / "plans"


@functools.cache
def _code_key() -> str:
    """What the cached objects depend on besides their content: the modules that define and validate them."""
    digest = hashlib.sha256(f"{sys.version}\0{pydantic.VERSION}".encode())
    for package in (responder.domain, responder.configfiles):
        root = Path(package.__path__[0])
        for path in sorted(root.rglob("*.py")):
            stat = path.stat()
            digest.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def key(*parts: str | bytes) -> str:
    """The name of what is validated from ``parts`` (a file's text, a snapshot's digest), with the code's."""
    digest = hashlib.sha256(_code_key().encode())
    for part in parts:
        digest.update(b"\0" + (part.encode() if isinstance(part, str) else part))
    return digest.hexdigest()


T = TypeVar("T")


def kept(name: str, make: Callable[[], T], is_whole: Callable[[Any], bool]) -> T:
    """What is stored under ``name`` if ``is_whole`` accepts it, else ``make()`` (which may refuse by raising:
    nothing is stored then), stored for the next process."""
    cached = load(name)
    if cached is not None and is_whole(cached):
        return cached  # type: ignore[no-any-return]
    value = make()
    store(name, value)
    return value


def load(name: str) -> Any | None:
    """The object stored under ``name``; None when there is none, or none that is safe and readable."""
    path = folder() / f"{name}.pickle"
    try:
        with path.open("rb") as file:
            if not _private(os.fstat(file.fileno())) or not _private(os.stat(path.parent)):
                return None
            return pickle.load(file)  # our own file in our own folder, checked above
    except Exception:  # missing, truncated, or written by another version of a class: validate instead
        return None


def store(name: str, value: Any) -> None:
    """Keep ``value`` under ``name`` (atomically: readers see the whole file or none)."""
    target = folder()
    try:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.stat(target)):
            return
        fd, temporary = tempfile.mkstemp(dir=target, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target / f"{name}.pickle")
        except BaseException:
            os.unlink(temporary)
            raise
    except (OSError, pickle.PicklingError):  # a read-only home, a full disk: the next process validates again
        return


def _private(stat: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else: loading a pickle runs what it names."""
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022
