"""`integrator report attendance --month 2026-11 --format csv|xlsx [--group G]`;
`integrator report corrections --month 2026-11 [--format csv|xlsx] [--output FILE]`;
`integrator report surveys --from 2026-01-01 --to 2026-12-31 --format csv|xlsx`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from sqlalchemy import select

from integrator.cli.options import (
    config_option,
    database_url_option,
    load,
    load_if_present,
    open_store,
    org_option,
    the_organisation,
)
from integrator.domain.finnish import fi_count, fi_decimal
from integrator.reports import surveys as survey_results
from integrator.reports.corrections import month_report
from integrator.reports.export import corrections_to_csv, corrections_to_xlsx, to_csv, write
from integrator.reports.register import build_month, build_week
from integrator.store.models import Organisation, PeerGroup


@click.group()
def report() -> None:
    """Reports from the store (no tenant is contacted)."""


@report.command("attendance")
@config_option
@database_url_option
@click.option("--month", default=None, help="Calendar month, e.g. 2026-11.")
@click.option("--week", default=None, help="Or an ISO week, e.g. 2026-W48.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@org_option(help="Organisation key (default: the only one in the config).")
@click.option("--group", "group_key", default=None, help="Only this group.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="File to write (default: CSV to standard output, XLSX to ./lasnaolot-<org>-<period>.xlsx).")
def attendance(config_file: Path | None, database_url: str | None, month: str | None, week: str | None, fmt: str,
               org_key: str | None,
               group_key: str | None, out: Path | None) -> None:
    """The attendance register: each client's work days and statuses, days attended,
    compensation days and amount (each day at the rate recorded when it was evaluated, else
    at the configured daily rate)."""
    if (month is None) == (week is None):
        raise click.UsageError("give exactly one of --month (2026-11) or --week (2026-W48)")
    settings = load(config_file, check_secrets=False)
    org = org_key
    if org is None:
        if len(settings.organisations) != 1:
            raise click.UsageError("the config has several organisations: choose one with --org")
        org = settings.organisations[0].key
    rules = settings.rules_for(org)
    store = open_store(database_url, settings)
    try:
        if month is not None:
            reg = build_month(store, org, month, group_key=group_key, rules=rules)
        else:
            assert week is not None
            reg = build_week(store, org, week, group_key=group_key, rules=rules)
    except (LookupError, ValueError) as err:
        raise click.ClickException(str(err)) from err
    if fmt == "csv" and out is None:
        sys.stdout.write(to_csv(reg))
        return
    suffix = f"-{group_key}" if group_key else ""
    target = out or Path(f"lasnaolot-{org}-{reg.title}{suffix}.{fmt}")
    write(reg, fmt, target)
    # Coordinators run this: the summary is in Finnish, as the register itself.
    click.echo(f"{fi_count(len(reg.rows), 'asiakas', 'asiakasta')}, "
               f"{fi_count(reg.total_compensation_days, 'kulukorvauspäivä', 'kulukorvauspäivää')}, "
               f"{fi_decimal(reg.total_amount)} € -> {target}")


@report.command("corrections")
@config_option
@database_url_option
@click.option("--month", required=True, help="The month of the corrected days, e.g. 2026-11.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@org_option(help="Organisation key (default: the only one in the database).")
@click.option("--group", "group_key", default=None, help="Only this group's days.")
@click.option("--output", "--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File to write (default: CSV to standard output, XLSX to ./korjaukset-<org>-<month>.xlsx).")
def corrections(config_file: Path | None, database_url: str | None, month: str, fmt: str, org_key: str | None,
                group_key: str | None, out: Path | None) -> None:
    """Every correction of an attendance day (a decision, or a return to the computed status),
    one row per change: day, client code, group, status before and after, the computed status,
    reason, who, and when (Helsinki time).

    The rows are chosen by the month of the day corrected, not by when the change was made: a
    sick day agreed in October for 3.11. is in November's report, with November's register.
    CSV for Finnish Excel: ';' separated, UTF-8 with a BOM, Finnish words, dates as 24.11.2026.
    """
    settings = load_if_present(config_file)
    store = open_store(database_url, settings)
    org = the_organisation(store, org_key)
    try:
        rep = month_report(store, org, month, group_key=group_key)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--month") from err
    data = corrections_to_csv(rep) if fmt == "csv" else corrections_to_xlsx(rep)
    if fmt == "csv" and out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = out or Path(f"korjaukset-{org}-{rep.month}.{fmt}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    click.echo(f"{len(rep.events)} corrections -> {target}")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"expected a date as YYYY-MM-DD, got {value!r}", param_hint=option) from err


@report.command("surveys")
@config_option
@database_url_option
@click.option("--from", "from_s", required=True, help="First day of answers, e.g. 2026-01-01.")
@click.option("--to", "to_s", default=None, help="Last day of answers (default: today).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@org_option(help="Organisation key (default: the only one in the config).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="File to write (default: CSV to standard output, XLSX to ./kyselyt-<org>-<from>-<to>.xlsx).")
def surveys(config_file: Path | None, database_url: str | None, from_s: str, to_s: str | None, fmt: str,
            org_key: str | None, out: Path | None) -> None:
    """Survey results per group: digital support before -> after, the group experience (means
    normalised so that higher is better), the Likert items. No figure under five answers."""
    start = _day(from_s, "--from")
    end = _day(to_s, "--to") if to_s else date.today()
    settings = load(config_file, check_secrets=False)
    org = org_key
    if org is None:
        if len(settings.organisations) != 1:
            raise click.UsageError("the config has several organisations: choose one with --org")
        org = settings.organisations[0].key
    store = open_store(database_url, settings)
    with store.session() as s:
        groups = list(s.scalars(select(PeerGroup).join(Organisation).where(Organisation.key == org)
                                .order_by(PeerGroup.key)))
        rows = survey_results.table(survey_results.build(s, groups, start, end))
    if fmt == "csv" and out is None:
        sys.stdout.write(survey_results.write_csv(rows))
        return
    target = out or Path(f"kyselyt-{org}-{start}-{end}.{fmt}")
    survey_results.write(rows, fmt, target)
    click.echo(f"{len(groups)} groups, {len(rows)} rows -> {target}")
