"""`integrator weekly-setup --week 2026-W49 [--org X] [--group G] [--tasks FILE] [--dry-run]`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from integrator.cli.options import config_option, database_url_option, load, open_store, org_option
from integrator.domain import weeks
from integrator.jobs.locks import JobAlreadyRunning
from integrator.jobs.weekly.plan import ALL_CONFIRMED
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.errors import NeedsReauth
from integrator.store.models import JobRun


@click.command("weekly-setup")
@config_option
@database_url_option
@click.option("--week", required=True,
              help=f"ISO week to set up, e.g. 2026-W49: this week to {weeks.SETUP_WEEKS_AHEAD} weeks ahead "
                   f"({weeks.SETUP_WEEKS_BACK} weeks back too with --dry-run).")
@org_option()
@click.option("--group", "group_key", default=None, help="Only this group.")
@click.option("--tasks", "tasks_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML file with the week's tasks (see integrator/jobs/weekly/tasks.py).")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing in Google or Microsoft.")
@click.option("--confirm-removals", is_flag=True,
              help="Apply the plan's removals of access (course enrolments, folder sharing) too; without it they "
                   "are held back and listed, and the access stays. Check them with --dry-run first.")
@click.option("--force-past-week", "forced_week", default=None, metavar="WEEK",
              help="Apply a past week (at most "
                   f"{weeks.SETUP_WEEKS_BACK} weeks back): type the same week again as the confirmation.")
@click.option("--no-meetings", is_flag=True, help="Leave the week's meetings out (Google part only).")
@click.option("--now", "now_text", default=None, hidden=True, help="Pretend it is this instant (tests).")
def weekly_setup(config_file: Path | None, database_url: str | None, week: str, org_key: str | None, group_key: str | None,
                 tasks_file: Path | None, dry_run: bool, confirm_removals: bool, forced_week: str | None,
                 no_meetings: bool, now_text: str | None) -> None:
    """Set up next week: courses, topics, enrolments, task folders, coursework and meetings.

    Safe to run again: what exists is not created twice, and a run with nothing changed
    makes no changes at all. Nothing is taken away without --confirm-removals, and a past
    week is refused unless forced with --force-past-week.
    """
    settings = load(config_file)
    now = None
    if now_text:
        parsed = datetime.fromisoformat(now_text)
        now = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    today = now.astimezone(ZoneInfo("Europe/Helsinki")).date() if now else weeks.today()
    try:
        weeks.check_setup_week(week, today, apply=not dry_run, forced_week=forced_week)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="'--week'") from None
    store = open_store(database_url, settings)
    try:
        plan, run_id = run_weekly_setup(store, settings, week, org_key, group_key, dry_run, "cli",
                                        confirmed_removals=ALL_CONFIRMED if confirm_removals else (),
                                        tasks_file=tasks_file, now=now, include_meetings=not no_meetings,
                                        echo=lambda line: click.echo(line, err=True))
    except NeedsReauth as err:
        click.echo(f"Credentials or delegation need fixing: {err}\nRun: integrator tenant check --org {org_key or 'X'}",
                   err=True)
        sys.exit(3)
    except JobAlreadyRunning as err:
        click.echo(str(err), err=True)
        sys.exit(4)
    click.echo(plan.render())
    with store.session() as s:
        run = s.get(JobRun, run_id)
        assert run is not None
        status, counts, errors = run.status.value, dict(run.counts), list(run.errors)
    click.echo(f"{'Dry run' if dry_run else 'Run'} #{run_id}: {status} {json.dumps(counts, sort_keys=True)}")
    if counts.get("held_removals"):
        click.echo(f"{counts['held_removals']} removal(s) of access held back (listed above as skip with "
                   "'poistoa ei vahvistettu'): check them and run again with --confirm-removals to apply them.",
                   err=True)
    for item in errors:
        click.echo(f"  error {item['item']}: {item['error']}", err=True)
    if errors:
        sys.exit(1)
