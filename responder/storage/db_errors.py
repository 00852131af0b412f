"""What a database error means for the person or the worker that met it: busy, unreachable, refused, or broken.

The CLI turns these into one line (``cli/errors.py``); the workers tell an outage they should wait out (the server
restarted, the SQLite write lock is held) from a fault of their own. Drivers quote URLs and DSNs in their messages,
so every text here goes through :func:`~responder.domain.redact.redact`.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from responder.domain.redact import redact

_BUSY = ("database is locked", "database is busy", "database table is locked")
_PG_UNAVAILABLE = ("57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006", "08007", "53300")
"""Admin shutdown (pg_terminate_backend), crash shutdown, cannot connect now, connection exceptions, too many
connections: all an outage of the server, not a fault of the statement."""


def is_busy(exc: BaseException) -> bool:
    """SQLite's write lock held by another process past the busy timeout."""
    return isinstance(exc, OperationalError) and any(b in str(exc.orig).lower() for b in _BUSY)


def is_outage(exc: BaseException) -> bool:
    """The database went away or is busy: worth waiting for and trying again (a worker's loop does)."""
    if isinstance(exc, DisconnectionError) or is_busy(exc):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _PG_UNAVAILABLE:
        return True
    return isinstance(exc, OperationalError | InterfaceError) and sqlstate is None and not _sqlite_fault(exc)


def _sqlite_fault(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "not a database" in text or "no such" in text or "unable to open" in text or "readonly" in text


def first_line(exc: BaseException) -> str:
    """The driver's own words, first line, credentials hidden."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return redact(lines[0] if lines else type(orig).__name__)


def explain(exc: BaseException, url: str) -> str | None:
    """What is wrong with the database at ``url`` and what to do, in one line; None if ``exc`` says nothing of it."""
    if not isinstance(exc, DBAPIError | DisconnectionError):
        return None
    where = redact(url)
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc)
    low = text.lower()
    if is_busy(exc):
        return (f"the database is busy: another process has held its write lock past the busy timeout "
                f"(RESPONDER_DATABASE_BUSY_TIMEOUT_SECONDS); try again in a moment ({where})")
    if "file is not a database" in low or "file is encrypted" in low:
        return f"{where} is not a responder database (not a SQLite file): check --db / RESPONDER_DATABASE_URL"
    if "unable to open database file" in low:
        return (f"cannot open {where} ({first_line(exc)}): check --db / RESPONDER_DATABASE_URL, or run "
                "`responder init` to create it")
    if "readonly" in low or "read-only" in low:
        return f"cannot write to {where}: the database file is read-only; check its permissions"
    if "connection refused" in low or "could not connect" in low or "timeout expired" in low:
        return (f"cannot reach the database server of {where} ({first_line(exc)}): is it running, and are the host "
                "and port right? Check --db / RESPONDER_DATABASE_URL")
    if "password authentication failed" in low or ("role" in low and "does not exist" in low):
        return (f"the database server refused the login of {where} ({first_line(exc)}): check the user and password "
                "in --db / RESPONDER_DATABASE_URL")
    if "database" in low and "does not exist" in low:
        return f"{where}: {first_line(exc)}: create it (createdb) or check --db / RESPONDER_DATABASE_URL"
    if is_outage(exc):
        return (f"the database {where} is unavailable ({first_line(exc)}): check that the server is up and try "
                "again")
    return None
