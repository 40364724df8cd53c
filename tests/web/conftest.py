from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integrator.web import accounts
from integrator.web.context import get_store
from tests.web.world import EMAILS, PASSWORD, World, build_world


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # scrypt is slow on purpose; the tests create many accounts. The scrypt path has its own test.
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def world(app: Flask) -> World:
    return build_world(get_store(app))


def login(client: FlaskClient, who: str) -> FlaskClient:
    resp = client.post("/login", data={"email": EMAILS[who], "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


@pytest.fixture
def as_coord_a(app: Flask, world: World) -> FlaskClient:
    return login(app.test_client(), "coord_a")


@pytest.fixture
def as_coord_b(app: Flask, world: World) -> FlaskClient:
    return login(app.test_client(), "coord_b")


@pytest.fixture
def as_admin(app: Flask, world: World) -> FlaskClient:
    return login(app.test_client(), "admin_all")


@pytest.fixture
def token_a(app: Flask, world: World) -> str:
    return accounts.create_token(get_store(app), world.coord_a, "test")


# Raisio pays its own rate; Naantali uses the file's global rules.
CONFIG_YAML = """\
rules:
  daily_compensation_eur: 9
organisations:
  - key: raisio
    name: Raisio
    rules:
      daily_compensation_eur: 12.5
  - key: naantali
    name: Naantali
"""


@pytest.fixture
def configured(app: Flask, tmp_path: Path) -> Path:
    """The app reads a real config file (as `integrator serve --config` does)."""
    path = tmp_path / "integrator.yaml"
    path.write_text(CONFIG_YAML, encoding="utf-8")
    app.config["CONFIG_FILE"] = str(path)
    return path
