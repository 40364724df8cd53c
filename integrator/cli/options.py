"""What every command shares: the --config, --database-url and --org options, and the Store.

The database is chosen the same way by every command: --database-url, else
$INTEGRATOR_DATABASE_URL, else the config file's `database_url`, else ./var/integrator.db.
A command opens its Store through `open_store`: it lives in the click context (`ctx.obj`) and
is disposed of when the command ends, however it ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import select

from integrator.config import Settings, config_path, load_settings
from integrator.store.db import Store
from integrator.store.models import Organisation

F = TypeVar("F", bound=Callable[..., Any])


def config_option(f: F) -> F:
    """--config FILE (default: $INTEGRATOR_CONFIG, else config/integrator.yaml)."""
    return click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
                        help="Config file (default: $INTEGRATOR_CONFIG, else config/integrator.yaml).")(f)


def database_url_option(f: F) -> F:
    """--database-url URL (default: $INTEGRATOR_DATABASE_URL, the config's, ./var/integrator.db)."""
    return click.option("--database-url", default=None,
                        help="SQLAlchemy URL (default: $INTEGRATOR_DATABASE_URL, else the config's "
                             "database_url, else ./var/integrator.db).")(f)


def org_option(*, required: bool = False, help: str | None = None) -> Callable[[F], F]:
    """--org KEY: the organisation's key in the config."""
    text = help or ("Organisation key." if required else "Organisation key (default: every organisation).")
    return click.option("--org", "org_key", required=required, default=None, help=text)


def load(config_file: Path | None, *, check_secrets: bool = True) -> Settings:
    """The settings of --config (ConfigError is reported by `integrator.cli.main`, exit 2)."""
    return load_settings(config_file, check_secrets=check_secrets)


def resolve_database_url(database_url: str | None, settings: Settings | None = None) -> str | None:
    """--database-url, else $INTEGRATOR_DATABASE_URL, else the config's (None: the default file)."""
    return database_url or os.environ.get("INTEGRATOR_DATABASE_URL") or (settings.database_url if settings else None)


def open_store(database_url: str | None = None, settings: Settings | None = None) -> Store:
    """The command's Store, kept in ctx.obj and disposed of when the command ends."""
    ctx = click.get_current_context()
    store = Store(resolve_database_url(database_url, settings))
    ctx.obj = store
    ctx.call_on_close(store.dispose)
    return store


def load_if_present(config_file: Path | None) -> Settings | None:
    """The settings when a config file is given or there is one (it must then be right, exit 2);
    None for commands that need only the database when there is no file."""
    path = config_path(config_file)
    if config_file is not None or os.environ.get("INTEGRATOR_CONFIG") or path.exists():
        return load(path, check_secrets=False)
    return None


def the_organisation(store: Store, org_key: str | None) -> str:
    """--org, checked against the database, or the database's only organisation (exit 2 otherwise)."""
    with store.session() as s:
        keys = list(s.scalars(select(Organisation.key).order_by(Organisation.key)))
    if org_key is not None:
        if org_key not in keys:
            raise click.BadParameter(f"no organisation {org_key!r} in the database; expected one of: "
                                     f"{', '.join(keys) or '(none)'}", param_hint="--org")
        return org_key
    if len(keys) != 1:
        raise click.UsageError(f"the database has {len(keys)} organisations ({', '.join(keys) or 'none'}): "
                               "choose one with --org")
    return keys[0]
