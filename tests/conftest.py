"""Fixtures shared by the whole suite: the Flask app, its test client and CLI runner, and stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.web import create_app
from integrator.web.context import close_app

POSTGRES_URL = os.environ.get("INTEGRATOR_TEST_POSTGRES_URL")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'integrator.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated SQLite store in a fresh file."""
    upgrade(db_url)
    s = Store(db_url)
    yield s
    s.dispose()


def _reset_postgres(url: str) -> None:
    st = Store(url)
    with st.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    st.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same test on a real SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'integrator.db'}"
    else:
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL server given (set INTEGRATOR_TEST_POSTGRES_URL; .ci/run starts one)")
        url = POSTGRES_URL
        _reset_postgres(url)
    upgrade(url)
    s = Store(url)
    yield s
    s.dispose()


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    upgrade(db_url)
    the_app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret-key",
                          "WTF_CSRF_ENABLED": False})
    yield the_app
    close_app(the_app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


