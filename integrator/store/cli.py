"""`integrator db ...`: schema migrations."""

from __future__ import annotations

import click

from integrator.store.migrate import current_revision, upgrade


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--database-url", envvar="INTEGRATOR_DATABASE_URL", default=None,
              help="SQLAlchemy URL; default ./var/integrator.db")
@click.option("--revision", default="head", show_default=True)
def upgrade_cmd(database_url: str | None, revision: str) -> None:
    """Create or migrate the database schema to the latest revision."""
    upgrade(database_url, revision)
    click.echo(f"database at revision {current_revision(database_url)}")


@db.command("current")
@click.option("--database-url", envvar="INTEGRATOR_DATABASE_URL", default=None)
def current_cmd(database_url: str | None) -> None:
    """Print the schema revision of the database."""
    click.echo(current_revision(database_url) or "(empty database)")
