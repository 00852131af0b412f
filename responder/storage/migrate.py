"""Schema upgrades through Alembic, the same on SQLite and PostgreSQL.

Alembic itself is imported only to upgrade: every other command just asks whether the schema is current, and
importing Alembic for that cost a fifth of ``alert status``'s start-up. The two questions are answered here
from the revision table and the migration files' own ``revision`` / ``down_revision`` lines (a test checks
the answers agree with Alembic's).
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from responder.domain.errors import DatabaseUnavailable
from responder.storage.db import create_sqlite_file, remove_sqlite_file, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


@functools.cache
def head_revision() -> str | None:
    """This version's schema revision (several heads are listed joined by '+'): the revisions no other revises."""
    revisions, revised = _revisions()
    heads = sorted(revisions - revised)
    return "+".join(heads) if heads else None


@functools.cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """Every revision this version's migrations define, and those another revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = _revision_lines(path)
        if found is None:
            continue
        revision, down = found
        revisions.add(revision)
        revised.update(down)
    return frozenset(revisions), frozenset(revised)


def unknown_revisions(current: str) -> list[str]:
    """The database's revisions this version has no migration for: a newer responder upgraded it."""
    return [r for r in current.split("+") if r not in _revisions()[0]]


def newer_schema(current: str) -> DatabaseUnavailable:
    """A database upgraded by a newer responder: `db upgrade` cannot help (Alembic does not know the revision)."""
    return DatabaseUnavailable(
        f"the database schema is at {current}, which this version of responder does not know (it goes up to "
        f"{head_revision()}): a newer responder has upgraded it; run that version, or restore a backup made for "
        "this one (`db upgrade` cannot go back)")


_FIRST_DEFINITION = re.compile(r"^(?:def |async def |class |@)", re.MULTILINE)
"""Where a migration's code starts: its ``revision`` lines come before (Alembic's template puts them there)."""


def _revision_lines(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """A migration file's ``revision`` and what it revises (``down_revision``: None, one id or a tuple).

    Only the part before the first definition is parsed (parsing every migration whole cost ``alert status`` ~20 ms
    at each start); the whole file when that part does not parse or does not say."""
    text = path.read_text(encoding="utf-8")
    start = _FIRST_DEFINITION.search(text)
    if start is not None:
        try:
            values = _assignments(text[: start.start()])
        except SyntaxError:  # a docstring line that starts with "def ": the head is not a module on its own
            values = {}
        if {"revision", "down_revision"} <= values.keys():
            return _revision_and_downs(path, values)
    return _revision_and_downs(path, _assignments(text))


def _assignments(source: str) -> dict[str, object]:
    """The module-level ``revision`` and ``down_revision`` values in ``source``."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            values[target.id] = ast.literal_eval(value)
    return values


def _revision_and_downs(path: Path, values: dict[str, object]) -> tuple[str, tuple[str, ...]] | None:
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str):
        return None
    if down is None:
        downs: tuple[str, ...] = ()
    elif isinstance(down, str):
        downs = (down,)
    else:
        assert isinstance(down, tuple | list), f"{path}: down_revision {down!r}"
        downs = tuple(str(d) for d in down)
    return revision, downs


def current_revision(engine: Engine) -> str | None:
    """The database's revision(s), None where it has none (not set up, or a SQLite file not created yet)."""
    path = sqlite_path(engine)
    if path is not None and not path.exists():
        return None
    try:
        with engine.connect() as conn:
            heads = sorted(str(v) for v in conn.scalars(text("SELECT version_num FROM alembic_version")))
    except DBAPIError as exc:
        if _no_such_table(exc):  # no revision table: nothing set up yet
            return None
        raise  # unreachable, busy, not a database: the caller's error boundary says which
    return "+".join(heads) if heads else None


def _no_such_table(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "42P01" or "no such table" in str(exc.orig)


def upgrade(engine: Engine, revision: str = "heads") -> tuple[str | None, str | None]:
    """Bring the schema to ``revision``; safe to run again. Returns (before, after)."""
    from alembic import command

    created = create_sqlite_file(engine)
    try:
        before = current_revision(engine)
        if before is not None and unknown_revisions(before):
            raise newer_schema(before)
        cfg = alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except BaseException:
        if created is not None:
            engine.dispose()
            remove_sqlite_file(created)
        raise
    return before, current_revision(engine)
