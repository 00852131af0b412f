"""Storage adapter: SQLAlchemy 2 models, engine set-up, Alembic migrations, repositories."""
