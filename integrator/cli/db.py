"""`integrator db ...`: schema migrations."""

from __future__ import annotations

import click

from integrator.cli.options import database_url_option, resolve_database_url
from integrator.store.migrate import current_revision, upgrade


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@database_url_option
@click.option("--revision", default="head", show_default=True)
def upgrade_cmd(database_url: str | None, revision: str) -> None:
    """Create or migrate the database schema to the latest revision."""
    url = resolve_database_url(database_url)
    upgrade(url, revision)
    click.echo(f"database at revision {current_revision(url)}")


@db.command("current")
@database_url_option
def current_cmd(database_url: str | None) -> None:
    """Print the schema revision of the database."""
    click.echo(current_revision(resolve_database_url(database_url)) or "(empty database)")
