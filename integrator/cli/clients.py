"""`integrator import clients FILE.csv [--org KEY] [--dry-run]` (the file format: integrator.clients_import)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from integrator.cli.options import config_option, database_url_option, load, open_store, org_option
from integrator.clients_import.reading import EXIT_PROBLEMS, MAX_FILE_BYTES
from integrator.clients_import.writing import import_clients
from integrator.config import Settings, config_path
from integrator.domain.finnish import fi_count


@click.group("import")
def import_cmd() -> None:
    """Import data from files."""


@import_cmd.command("clients")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@org_option(help="Organisation key; optional when there is only one.")
@click.option("--dry-run", is_flag=True, help="Check and count the changes, write nothing.")
@config_option
@database_url_option
def clients_cmd(file: Path, org_key: str | None, dry_run: bool, config_file: Path | None,
                database_url: str | None) -> None:
    """Create or update clients, their periods and group memberships from a CSV FILE.

    Every row is checked first; if any is bad, all problems are listed and nothing is
    written (exit status 2). Importing the same file again changes nothing. A file may have
    at most 20,000 rows and 5 MiB.
    """
    settings = Settings()
    path = config_path(config_file)
    if config_file is not None or os.environ.get("INTEGRATOR_CONFIG") or path.exists():
        # Without a file the legal defaults apply; a file that is there must be right (exit 2).
        settings = load(path, check_secrets=False)
    try:
        with file.open("rb") as f:
            # One byte past the limit is enough to refuse the file (read_rows says so).
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        click.echo(f"{file}: cannot be read: {e.strerror}", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None
    store = open_store(database_url, settings)
    try:
        result = import_clients(store, raw, org_key=org_key, settings=settings, dry_run=dry_run)
    except LookupError as e:
        click.echo(f"{file}: {e}", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None
    except SQLAlchemyError as e:
        # Not str(e): SQLAlchemy quotes the statement's parameters, which may be emails.
        click.echo(f"{file}: database error ({type(e).__name__}); nothing was written. "
                   "Is the schema created? Run `integrator db upgrade`.", err=True)
        raise SystemExit(1) from None
    for notice in result.notices:
        click.echo(f"{file}: huomautus: {notice}", err=True)
    if result.problems:
        for row_problem in result.problems:
            click.echo(row_problem.format(str(file)), err=True)
        lines = len({p.line for p in result.problems})
        # The row problems are in Finnish (the file is a coordinator's); so is their summary.
        click.echo(f"{fi_count(len(result.problems), 'virhe', 'virhettä')} "
                   f"{fi_count(lines, 'rivillä', 'rivillä')}; mitään ei tallennettu.", err=True)
        raise SystemExit(EXIT_PROBLEMS)
    c = result.counts
    for kind in ("clients", "periods", "memberships"):
        click.echo(f"{kind}: {c[kind + '_created']} created, {c[kind + '_updated']} updated, "
                   f"{c[kind + '_unchanged']} unchanged")
    if result.not_briefed:
        click.echo(f"{result.not_briefed} period(s) have no data-protection briefing recorded: nothing is "
                   "provisioned for those clients until it is.")
    if dry_run:
        click.echo("dry run: nothing was written.")
