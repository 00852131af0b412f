"""Tables of the duty board: its users, the sign-in throttle, and the secret that signs session cookies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from responder.storage.base import Base


class BoardUserRow(Base):
    """One person who may sign in to the board; ``responder users`` manages them. Never deleted: the audit record
    names them."""

    __tablename__ = "board_users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    """Raised by a new password or disabling: a session cookie signed for an older generation stops working."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime | None]


class LoginThrottleRow(Base):
    """Failed sign-ins in a row per key (``user:NAME`` or ``ip:ADDRESS``), shared by every worker."""

    __tablename__ = "board_login_throttle"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]


class BoardSecretRow(Base):
    """Secrets generated once and shared by every worker on the database (the session-signing key when
    ``RESPONDER_SESSION_SECRET`` is unset)."""

    __tablename__ = "board_secrets"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
