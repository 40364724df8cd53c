"""Engine and sessions: a SQLite file by default, PostgreSQL by INTEGRATOR_DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

DEFAULT_URL = "sqlite:///./var/integrator.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("INTEGRATOR_DATABASE_URL") or DEFAULT_URL


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the web service read while a job writes; busy_timeout waits out short locks
    # instead of failing a coordinator's click with "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: an IntegrityError's text would otherwise quote the row (names, emails)
        # into logs and job-run errors. A file database is not pooled (NullPool): each unit of work
        # opens its own connection and closes it with the session, so no connection outlives its
        # work, whoever forgets to dispose of a Store (opening a SQLite file costs microseconds).
        # An in-memory database lives only as long as its one connection, so that one is pooled.
        memory = not parsed.database or parsed.database == ":memory:"
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True,
                               **({} if memory else {"poolclass": NullPool}))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)


class Store:
    """One engine and its session factory, shared by the CLI, the jobs and the web app."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
