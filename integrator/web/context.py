"""Per-app services the views share: the store, the settings and the background job tracker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app

from integrator.config import load_settings
from integrator.store.db import Store
from integrator.store.types import utcnow

if TYPE_CHECKING:
    from integrator.config import Settings

STORE_KEY = "integrator.store"
LOCAL = ZoneInfo("Europe/Helsinki")
SETTINGS_KEY = "integrator.settings"


def init_app(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        # A random key would log everyone out on each restart and differ between workers.
        raise RuntimeError("SECRET_KEY is not set: export INTEGRATOR_SECRET_KEY (a long random string)")
    app.extensions[STORE_KEY] = Store(app.config.get("DATABASE_URL"))
    if app.config.get("SETTINGS") is not None:
        app.extensions[SETTINGS_KEY] = app.config["SETTINGS"]


def close_app(app: Flask) -> None:
    """Dispose of the app's database engine: its pooled connections close now, not at exit."""
    store = app.extensions.pop(STORE_KEY, None)
    if isinstance(store, Store):
        store.dispose()


def get_store(app: Flask | None = None) -> Store:
    store = (app or current_app).extensions[STORE_KEY]
    assert isinstance(store, Store)
    return store


def get_settings(app: Flask | None = None) -> Settings:
    """The tenant settings, loaded once from CONFIG_FILE (or given as SETTINGS by the CLI)."""
    the_app: Any = app or current_app
    settings = the_app.extensions.get(SETTINGS_KEY)
    if settings is None:
        path = the_app.config.get("CONFIG_FILE")
        if not path:
            raise LookupError("no configuration file: set INTEGRATOR_CONFIG_FILE or start with --config")

        settings = load_settings(Path(path))
        the_app.extensions[SETTINGS_KEY] = settings
    return settings  # type: ignore[no-any-return]


def now(app: Flask | None = None) -> datetime:
    """The service's "now": the wall clock, or the app's CLOCK (an aware-datetime callable).

    A rehearsal runs on the sandbox tenant's clock, and tests pin a date, so that "today",
    "next week" and the correction window agree with the tenant rather than the calendar.
    """
    the_app: Any = app or current_app
    clock: Callable[[], datetime] | None = the_app.config.get("CLOCK")
    return clock() if clock is not None else utcnow()


def today(app: Flask | None = None) -> date:
    """Today in Finland, on the app's clock."""
    return now(app).astimezone(LOCAL).date()
