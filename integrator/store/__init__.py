"""Persistence: SQLAlchemy models, sessions and Alembic migrations."""

from integrator.store.db import Store, database_url, make_engine

__all__ = ["Store", "database_url", "make_engine"]
