"""The shared send-rate row per sender (worker/rate_limit.DatabaseLimiter): slots handed out in order."""

from __future__ import annotations

from sqlalchemy import Connection, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from responder.storage.models import RateSlotRow


def ensure_slot_row(conn: Connection, sender: str) -> None:
    if conn.execute(select(RateSlotRow.sender).where(RateSlotRow.sender == sender)).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(RateSlotRow).values(sender=sender, next_at=0.0))
        except IntegrityError:
            pass  # another worker created it first


def take_slot(conn: Connection, sender: str, now: float, interval: float) -> float:
    """The next free slot (wall-clock seconds) for ``sender``, moving the row's next slot on by ``interval``, in one
    UPDATE ... RETURNING: whichever worker asks, slots come out ``interval`` apart and in order."""
    if conn.dialect.name == "postgresql":
        # Every worker's every send goes through this one row, and its lock is held until the commit
        # returns: waiting for the WAL flush (milliseconds) would cap all workers together at a few hundred
        # slots a second. A slot lost in a database crash only lets a few messages go out early once.
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    start = case((RateSlotRow.next_at > now, RateSlotRow.next_at), else_=now)
    next_at = conn.execute(update(RateSlotRow).where(RateSlotRow.sender == sender)
                           .values(next_at=start + interval).returning(RateSlotRow.next_at)).scalar_one()
    return float(next_at) - interval
