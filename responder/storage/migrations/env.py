"""Alembic environment: runs against the connection responder hands it (see storage/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from responder.storage.schema import Base

config = context.config
target_metadata = Base.metadata


def _exclude(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # APScheduler creates and owns its job table.
    return not (type_ == "table" and name is not None and name.startswith("apscheduler"))


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.",
                                    poolclass=pool.NullPool)
        with engine.connect() as conn:
            _configure_and_run(conn)
    else:
        _configure_and_run(connection)


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        include_object=_exclude,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
