"""`integrator nightly-sync [--org X] [--since DATE]`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import click

from integrator.cli.options import config_option, database_url_option, load, open_store, org_option
from integrator.domain.types import JobStatus
from integrator.jobs.nightly.run import run_nightly_sync


@click.command("nightly-sync")
@config_option
@database_url_option
@org_option()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Re-read and re-evaluate from this day (default: the last reevaluate_days days).")
@click.option("--now", "now_s", default=None, hidden=True,
              help="Pretend it is this instant (ISO 8601): for the sandbox clock and rehearsals.")
def nightly_sync(config_file: Path | None, database_url: str | None, org_key: str | None, since: object,
                 now_s: str | None) -> None:
    """Harvest returns and meeting attendance, update the attendance days, queue absence alerts."""
    settings = load(config_file)
    store = open_store(database_url, settings)
    since_day: date | None = since.date() if since is not None else None  # type: ignore[attr-defined]
    failed = False
    now = datetime.fromisoformat(now_s) if now_s else None
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    for r in run_nightly_sync(store, settings, org_key=org_key, since=since_day, now=now):
        click.echo(f"[{r.org_key}] {r.status.value} (run {r.run_id}): {json.dumps(r.counts, sort_keys=True)}")
        for err in r.errors:
            click.echo(f"  error {err['item']}: {err['error']}", err=True)
        failed = failed or r.status is not JobStatus.SUCCEEDED
    if failed:
        raise SystemExit(1)
