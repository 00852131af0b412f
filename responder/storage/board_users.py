"""The duty board's users, sign-in throttle and shared secrets, as stored. Functions take the caller's Session."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Table, case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from responder.storage.board_models import BoardSecretRow, BoardUserRow, LoginThrottleRow


def get_user(session: Session, username: str) -> BoardUserRow | None:
    return session.get(BoardUserRow, username)


def all_users(session: Session) -> list[BoardUserRow]:
    return list(session.scalars(select(BoardUserRow).order_by(BoardUserRow.username)))


def add_user(session: Session, username: str, role: str, password_hash: str, now: datetime) -> BoardUserRow:
    row = BoardUserRow(username=username, role=role, password_hash=password_hash, active=True, generation=0,
                       created_at=now, updated_at=now, last_sign_in_at=None)
    session.add(row)
    session.flush()
    return row


def session_user(conn: Connection, username: str) -> tuple[str, bool, int] | None:
    """(role, active, generation) of a user, for the check on every board request: one primary-key read."""
    row = conn.execute(select(BoardUserRow.role, BoardUserRow.active, BoardUserRow.generation)
                       .where(BoardUserRow.username == username)).one_or_none()
    return None if row is None else (str(row[0]), bool(row[1]), int(row[2]))


def credentials(conn: Connection, username: str) -> tuple[str, str, bool, int] | None:
    """(password hash, role, active, generation) of a user, for signing in."""
    row = conn.execute(select(BoardUserRow.password_hash, BoardUserRow.role, BoardUserRow.active,
                              BoardUserRow.generation).where(BoardUserRow.username == username)).one_or_none()
    return None if row is None else (str(row[0]), str(row[1]), bool(row[2]), int(row[3]))


def throttle_state(conn: Connection, keys: Iterable[str]) -> dict[str, tuple[int, datetime | None]]:
    """(failures, last failure) of each key that has failed before."""
    rows = conn.execute(select(LoginThrottleRow.key, LoginThrottleRow.failures, LoginThrottleRow.last_failure_at)
                           .where(LoginThrottleRow.key.in_(list(keys))))
    return {key: (int(failures), at) for key, failures, at in rows}


def count_failure(session: Session, key: str, now: datetime, forget_before: datetime) -> int:
    """One more failure in a row for ``key`` (a failure before ``forget_before`` no longer counts), in one atomic
    upsert so that two workers failing at once both count; returns the count."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table: Table = LoginThrottleRow.__table__  # type: ignore[assignment]
    statement = insert(table).values(key=key, failures=1, last_failure_at=now)
    fresh = table.c.last_failure_at.is_not(None) & (table.c.last_failure_at >= forget_before)
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": case((fresh, table.c.failures + 1), else_=1), "last_failure_at": now},
    ).returning(table.c.failures)
    return int(session.execute(upsert).scalar_one())


def clear_failures(session: Session, key: str) -> None:
    session.execute(update(LoginThrottleRow).where(LoginThrottleRow.key == key)
                    .values(failures=0, last_failure_at=None))


def shared_secret(session: Session, name: str, now: datetime) -> str:
    """The secret called ``name``, made the first time it is asked for; every worker then reads the same one."""
    row = session.get(BoardSecretRow, name)
    if row is not None:
        return row.value
    try:
        with session.begin_nested():
            session.add(BoardSecretRow(name=name, value=secrets.token_urlsafe(48), created_at=now))
    except IntegrityError:
        pass  # another worker made it at the same moment: use theirs
    row = session.get(BoardSecretRow, name, populate_existing=True)
    assert row is not None
    return row.value
