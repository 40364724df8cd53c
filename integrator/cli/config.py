"""`integrator config ...`: check a config file, and apply it to the store."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from integrator.cli.options import database_url_option, load, open_store
from integrator.config import Problem, Settings, check_config, config_path, organisation_dir
from integrator.config.apply import apply_settings
from integrator.config.capabilities import describe

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
    """Check FILE (default: $INTEGRATOR_CONFIG, else config/integrator.yaml) and the
    organisation files in the directory beside it named after it (config/integrator.d/*.yaml).

    Prints every problem as FILE:LINE: key.path: message and exits with status 2 when
    there is any. Secret values are never printed.
    """
    settings, problems = check_config(file, check_secrets=not skip_secrets)
    if problems or settings is None:
        _print_problems(problems)
        raise SystemExit(EXIT_PROBLEMS)
    path = config_path(file)
    own = sorted(organisation_dir(path).glob("*.yaml")) if organisation_dir(path).is_dir() else []
    also = f" (with {len(own)} organisation file(s) in {organisation_dir(path)})" if own else ""
    click.echo(f"{path}: OK: {_summary(settings)}{also}")
    for org in settings.organisations:  # what each organisation's tenants give it
        click.echo(f"  {describe(org)}")


@config.command("apply")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@database_url_option
def apply_cmd(file: Path | None, database_url: str | None) -> None:
    """Create or update organisations, staff users and groups in the database from FILE (and
    the organisation files beside it, config/integrator.d/*.yaml).

    Idempotent: a second run changes nothing. Groups removed from the file are deactivated,
    not deleted. Run `integrator db upgrade` first.
    """
    # Applying does not talk to any tenant, so secrets need not be present here.
    settings = load(file, check_secrets=False)
    store = open_store(database_url, settings)
    try:
        report: list[str] = []
        counts = apply_settings(store, settings, report)
    except SQLAlchemyError as e:
        # Not str(e): SQLAlchemy quotes the statement's parameters, which include staff emails.
        click.echo(f"database error ({type(e).__name__}); nothing was written. "
                   "Is the schema created? Run `integrator db upgrade`.", err=True)
        raise SystemExit(1) from None
    for line in report:
        click.echo(line)
    if not report:
        click.echo("nothing to change: the database already matches the config")
    click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items() if v))
