"""Engine and session set-up: SQLite in WAL mode by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import Connection, Engine, Select, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from responder.domain.errors import DatabaseUnavailable, InputError, Problem
from responder.domain.redact import redact

Ts = TypeVarTuple("Ts")

BUSY_TIMEOUT_SECONDS = 30.0


def make_engine(url: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS, **kwargs: Any) -> Engine:
    """An engine whose pooled connections are tested before use (``pool_pre_ping``): after a server restart or a
    failover a worker gets a fresh connection rather than the dead one. A SQLite file is opened, never created:
    only ``migrate.upgrade`` creates one, so a command that fails leaves no empty database behind."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:
        raise InputError(Problem(f"cannot use database URL {redact(url)!r}: {redact(str(exc))}",
                                 field="RESPONDER_DATABASE_URL")) from None
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, busy_timeout)
        _open_existing_only(engine)
    return engine


def _open_existing_only(engine: Engine) -> None:
    path = sqlite_path(engine)
    if path is None:
        return

    @event.listens_for(engine, "do_connect")
    def _refuse_to_create(*_: Any) -> None:
        if not path.exists():  # sqlite3's own error, so every handler of a database error handles this one too
            import sqlite3

            where = f"the folder {path.parent} does not exist" if not path.parent.is_dir() else "no such file"
            raise sqlite3.OperationalError(f"unable to open database file {path}: {where}")


def create_sqlite_file(engine: Engine) -> Path | None:
    """Create the (empty) SQLite file of ``engine`` if it is not there; the path created, else None."""
    import sqlite3

    path = sqlite_path(engine)
    if path is None or path.exists():
        return None
    if not path.parent.is_dir():
        raise DatabaseUnavailable(f"cannot create the database {path}: the folder {path.parent} does not exist")
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot create the database {path}: {exc}") from None
    return path


def remove_sqlite_file(path: Path) -> None:
    """Undo :func:`create_sqlite_file` (a failed ``init`` leaves no half-made database)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def scratch_engine() -> Engine:
    """A private in-memory SQLite database on one connection: a simulated drill's working copy.

    A drill is rebuilt from its scenario rather than recovered, so it needs no journal on disk: thousands
    of small commits (a claim, a reply) then cost no file writes. ``save_copy`` writes the result to its
    file. Never for real incidents.
    """
    from sqlalchemy.pool import StaticPool

    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    _tune_sqlite(engine)
    return engine


def save_copy(engine: Engine, path: Path) -> None:
    """Write a SQLite database (a scratch one) to ``path`` with SQLite's online backup, replacing the file."""
    import sqlite3

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        raw.close()


def let_go(engine: Engine) -> None:
    """Close ``engine``'s connections and hand the memory they freed back to the system.

    A scratch database lives in the C library's heap, page by page; freed, those pages stay with the process
    (glibc returns only the top of its heap by itself), so a drill's working copy, tens of MB, would still count
    in the process's memory while its report is drawn. ``malloc_trim`` gives back every free page, where there is one.
    """
    engine.dispose()
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _tune_sqlite(engine: Engine, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself so that BEGIN IMMEDIATE can be used for claims.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: no deadlock between two writers that read first. A
        # connection from ``reading`` only reads: its deferred BEGIN neither waits for a writer nor holds one up.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "responder_read_only"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads alone (the loop's and the dispatcher's frequent "anything due?" questions): on
    SQLite its transaction does not take the write lock; elsewhere it is an ordinary connection."""
    with engine.connect() as conn:
        yield conn.execution_options(**{READ_ONLY: True})


def sqlite_path(engine: Engine) -> Path | None:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return Path(str(engine.url.database))
    return None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with factory() as session, session.begin():
        yield session


def has_tables(engine: Engine) -> bool:
    return "alembic_version" in inspect(engine).get_table_names()


def probe(engine: Engine) -> tuple[str | None, str | None]:
    """(error, schema revision) of a health check: error None when the database answered. On a bare DBAPI
    connection: on SQLite a SQLAlchemy transaction would begin IMMEDIATE and wait behind writers, and a health
    check must not take the write lock."""
    try:
        raw = engine.raw_connection()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}", None
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        except Exception as exc:
            cursor.close()
            return f"{type(exc).__name__}: {exc}", None
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
            return None, "+".join(sorted(str(r[0]) for r in cursor.fetchall())) or None
        except Exception:
            return None, None
        finally:
            cursor.close()
    finally:
        raw.close()


def locked(session: Session, query: Select[*Ts], skip_locked: bool = False) -> Select[*Ts]:
    """``query`` with FOR UPDATE on PostgreSQL, so the rows are held for this transaction; unchanged on SQLite, whose
    single writer already orders transactions (and which has no FOR UPDATE)."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=skip_locked)
    return query
