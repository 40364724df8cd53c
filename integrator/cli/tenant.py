"""`integrator tenant check --org X [--deep]`: verify an organisation's tenants end to end, with fix hints.

`--deep` adds reversible probes (providers/google/probe.py, providers/microsoft/probe.py): they
make what the product makes, with its permissions, and delete it again.

The checks run as the job `jobs.tenant_check` (recorded as a "tenant_check" run, as when an admin
runs them on the web's status page), so the page shows the last result whichever door ran it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from integrator.cli.options import config_option, database_url_option, load, org_option, resolve_database_url
from integrator.jobs.tenant_check import run_tenant_check
from integrator.providers.checks import CheckResult
from integrator.store.db import Store, database_url

MARK = {"ok": "  OK ", "fail": " FAIL", "warn": " WARN", "skip": " SKIP"}


def render(results: list[CheckResult]) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(f"[{MARK[r.status]}] {r.name}: {r.detail}")
        if r.status in ("fail", "warn") and r.hint:
            lines.append(f"         fix: {r.hint}")
    return "\n".join(lines)


def _recording_store(url: str | None) -> Store | None:
    """The database to record the check in, when it exists and is migrated; a missing SQLite file
    is not created (the check must work before the database does)."""
    parsed = make_url(database_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not Path(parsed.database).exists():
        return None
    store = Store(url)
    try:
        migrated = inspect(store.engine).has_table("job_run")
    except Exception as err:  # noqa: BLE001 - an unreachable database: the check still runs, unrecorded
        click.echo(f"The database cannot be read ({type(err).__name__}); the check is not recorded.", err=True)
        migrated = False
    if not migrated:
        store.dispose()
        return None
    return store


@click.group()
def tenant() -> None:
    """Tenant configuration: verify Google Workspace and Microsoft 365 settings."""


@tenant.command("check")
@config_option
@database_url_option
@org_option(required=True)
@click.option("--deep", is_flag=True,
              help="Also make and delete what the product makes (a draft course with its alias, a shared folder, "
                   "a Meet or Teams meeting) and send one test message: proves every permission it needs.")
def check(config_file: Path | None, database_url: str | None, org_key: str, deep: bool) -> None:
    """Check token, delegation, every scope, Classroom, Drive, shared drive (and Microsoft)."""
    settings = load(config_file)
    try:
        org_cfg = settings.organisation(org_key)
    except KeyError as err:
        raise click.BadParameter(str(err), param_hint="--org") from err
    store = _recording_store(resolve_database_url(database_url, settings))
    try:
        result = run_tenant_check(store, settings, org_key, deep=deep)
    finally:
        if store is not None:
            store.dispose()
    click.echo(f"Tenant check for {org_cfg.key} ({org_cfg.name}){' with probes' if deep else ''}:")
    click.echo(render(result.results))
    failed = result.failed
    click.echo(f"{len(failed)} check(s) failed." if failed else "All checks passed.")
    click.echo(f"Recorded as job run {result.run_id}." if store is not None
               else "Not recorded: the database is not set up yet (integrator db upgrade).")
    if failed:
        sys.exit(1)
