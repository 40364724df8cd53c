"""Per-app services the views share: the store, the settings and the background job tracker."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from integrator.store.db import Store

if TYPE_CHECKING:
    from integrator.config import Settings

STORE_KEY = "integrator.store"
SETTINGS_KEY = "integrator.settings"


def init_app(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        # A random key would log everyone out on each restart and differ between workers.
        raise RuntimeError("SECRET_KEY is not set: export INTEGRATOR_SECRET_KEY (a long random string)")
    app.extensions[STORE_KEY] = Store(app.config.get("DATABASE_URL"))
    if app.config.get("SETTINGS") is not None:
        app.extensions[SETTINGS_KEY] = app.config["SETTINGS"]


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
        from integrator.config import load_settings  # type: ignore[attr-defined,unused-ignore]

        settings = load_settings(Path(path))
        the_app.extensions[SETTINGS_KEY] = settings
    return settings  # type: ignore[no-any-return]
