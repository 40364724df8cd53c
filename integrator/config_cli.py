"""`integrator config ...`: check a config file, and apply it to the store."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from integrator.config import ConfigError, Problem, Settings, check_config, config_path, load_settings

EXIT_PROBLEMS = 2


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(problem.format(), err=True)
    click.echo(f"{len(problems)} problem(s) found.", err=True)


def _summary(settings: Settings) -> str:
    groups = sum(len(o.groups) for o in settings.organisations)
    staff = sum(len(o.staff) for o in settings.organisations)
    return f"{len(settings.organisations)} organisation(s), {groups} group(s), {staff} staff user(s)"


@click.group()
def config() -> None:
    """Configuration file: check it, apply it to the database."""


@config.command("check")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--skip-secrets", is_flag=True,
              help="Do not check that secret files exist and secret environment variables are set.")
def check_cmd(file: Path | None, skip_secrets: bool) -> None:
    """Check FILE (default: $INTEGRATOR_CONFIG, else config/integrator.yaml).

    Prints every problem as FILE:LINE: key.path: message and exits with status 2 when
    there is any. Secret values are never printed.
    """
    settings, problems = check_config(file, check_secrets=not skip_secrets)
    if problems or settings is None:
        _print_problems(problems)
        raise SystemExit(EXIT_PROBLEMS)
    click.echo(f"{config_path(file)}: OK: {_summary(settings)}")


@config.command("apply")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--database-url", default=None,
              help="SQLAlchemy URL; default INTEGRATOR_DATABASE_URL, then database_url in the config, "
                   "then ./var/integrator.db")
def apply_cmd(file: Path | None, database_url: str | None) -> None:
    """Create or update organisations, staff users and groups in the database from FILE.

    Idempotent: a second run changes nothing. Groups removed from the file are deactivated,
    not deleted. Run `integrator db upgrade` first.
    """
    from integrator.config.apply import apply_settings
    from integrator.store.db import Store

    try:
        # Applying does not talk to any tenant, so secrets need not be present here.
        settings = load_settings(file, check_secrets=False)
    except ConfigError as e:
        _print_problems(e.problems)
        raise SystemExit(EXIT_PROBLEMS) from None
    url = database_url or os.environ.get("INTEGRATOR_DATABASE_URL") or settings.database_url
    store = Store(url)
    try:
        report: list[str] = []
        counts = apply_settings(store, settings, report)
    except SQLAlchemyError as e:
        # Not str(e): SQLAlchemy quotes the statement's parameters, which include staff emails.
        click.echo(f"database error ({type(e).__name__}); nothing was written. "
                   "Is the schema created? Run `integrator db upgrade`.", err=True)
        raise SystemExit(1) from None
    finally:
        store.dispose()
    for line in report:
        click.echo(line)
    if not report:
        click.echo("nothing to change: the database already matches the config")
    click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items() if v))
