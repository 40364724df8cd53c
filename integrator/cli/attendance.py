"""`integrator attendance correct|revert|history`: a coordinator's decisions on attendance days
from the shell, with the same rules and the same audit as the pages (jobs.attendance.corrections).

A correction changes a paid day, so `correct` and `revert` show what they would do and write
only with --yes. Who is audited: with --by EMAIL, that staff member (as on the pages: the
register names them as the decider) and the shell user as the way it came in; without --by,
the shell user as "cli:<user>". Messages are in Finnish (a coordinator reads them); bad input
names the argument and exits 2.
"""

from __future__ import annotations

import calendar
import getpass
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import func, or_, select

from integrator.cli.options import config_option, database_url_option, load_if_present, open_store, org_option
from integrator.cli.options import the_organisation as organisation_key
from integrator.domain.types import StaffRole
from integrator.domain.weeks import parse_month
from integrator.jobs.attendance.corrections import (
    Actor,
    CorrectionError,
    Outcome,
    correct,
    fi_date,
    history,
    parse_day,
    parse_status,
    revert,
    status_fi,
)
from integrator.store.db import Store
from integrator.store.models import Client, Organisation, StaffUser

#: CorrectionError.field -> the argument a coordinator typed.
PARAM = {"status": "--status", "reason": "--reason", "day": "DATE", "group": "--group", "client": "CODE"}


@click.group()
def attendance() -> None:
    """A coordinator's decisions on attendance days: record (also in advance), revert, history."""


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


def _fail(err: CorrectionError) -> click.BadParameter:
    return click.BadParameter(str(err), param_hint=PARAM.get(err.field or "", None))


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except CorrectionError as err:
        raise _fail(err) from err


def _client_id(store: Store, org_key: str, code: str) -> int:
    with store.session() as s:
        found = s.scalar(select(Client.id).join(Organisation, Client.organisation_id == Organisation.id)
                         .where(Organisation.key == org_key, Client.code == code.strip()))
    if found is None:
        raise click.BadParameter(f"asiakasta {code!r} ei ole organisaatiossa {org_key}; odotettiin asiakkaan "
                                 "koodia, esim. K-0005", param_hint="CODE")
    return found


def _actor(store: Store, org_key: str, by: str | None) -> Actor:
    cli_user = f"cli:{_os_user()}"
    if by is None:
        return Actor(cli_user)
    with store.session() as s:
        staff = s.scalar(select(StaffUser).join(Organisation, StaffUser.organisation_id == Organisation.id,
                                                isouter=True)
                         .where(func.lower(StaffUser.email) == by.strip().lower(), StaffUser.active.is_(True),
                                StaffUser.role.in_([StaffRole.ADMIN, StaffRole.COORDINATOR]),
                                or_(Organisation.key == org_key, StaffUser.organisation_id.is_(None))))
    if staff is None:
        raise click.BadParameter(f"{by!r} ei ole organisaation {org_key} aktiivinen ohjaaja tai ylläpitäjä; "
                                 "odotettiin henkilökunnan sähköpostiosoitetta", param_hint="--by")
    return Actor.staff(staff.id, via=cli_user)


def _setup(config_file: Path | None, database_url: str | None, org_key: str | None) -> tuple[Store, str]:
    settings = load_if_present(config_file)
    store = open_store(database_url, settings)
    return store, organisation_key(store, org_key)


def _report(outcome: Outcome, *, nothing: str) -> None:
    if not outcome.changed:
        click.echo(f"Ei muutosta: {outcome.client_code} {fi_date(outcome.day)} ({outcome.group}): {nothing}.")
    elif outcome.applied:
        click.echo(f"Tallennettu: {outcome.describe()}")
    else:
        click.echo(f"Esikatselu, ei tallennettu: {outcome.describe()}\nTallenna ajamalla sama komento "
                   "valitsimella --yes.")


F = TypeVar("F", bound=Callable[..., Any])


def _common(f: F) -> F:
    for option in (
        click.option("--yes", is_flag=True, help="Write the change (without it: only show what would change)."),
        click.option("--by", default=None, metavar="EMAIL",
                     help="The staff member who decided (audited and named in the register); "
                          "default: the shell user as cli:<user>."),
        click.option("--group", "group_key", default=None, help="The group, when two groups meet that day."),
        org_option(help="Organisation key (default: the only one in the database)."),
        config_option, database_url_option,
    ):
        f = option(f)
    return f


@attendance.command("correct")
@click.argument("code")
@click.argument("day_text", metavar="DATE")
@click.option("--status", required=True,
              help="present|absent|excused, or läsnä|poissa|perusteltu poissaolo (hyväksytty poissaolo).")
@click.option("--reason", required=True, help="Why (1-500 characters); kept in the audit trail.")
@click.option("--not-expected", "not_expected", is_flag=True,
              help="Allow a past day the client is not expected on (outside their period or weekdays).")
@_common
def correct_cmd(code: str, day_text: str, status: str, reason: str, not_expected: bool, yes: bool, by: str | None,
                group_key: str | None, org_key: str | None, config_file: Path | None,
                database_url: str | None) -> None:
    """Record a decision on client CODE's work day DATE (2026-11-24 or 24.11.2026).

    In advance, too: a known sick day or an agreed day off is excused before the day (an
    absence cannot be recorded in advance). The nightly sync never overwrites the decision.
    """
    day = _day(day_text)
    try:
        decision = parse_status(status)
    except CorrectionError as err:
        raise _fail(err) from err
    store, org = _setup(config_file, database_url, org_key)
    client_id = _client_id(store, org, code)
    actor = _actor(store, org, by)
    try:
        outcome = correct(store, client_id, day, decision, reason, actor, group_key=group_key,
                          allow_unexpected=not_expected, apply=yes)
    except CorrectionError as err:
        raise _fail(err) from err
    _report(outcome, nothing=f"päätös ({status_fi(decision)}) ja syy ovat jo nämä")


@attendance.command("revert")
@click.argument("code")
@click.argument("day_text", metavar="DATE")
@click.option("--reason", required=True, help="Why the decision is withdrawn (1-500 characters).")
@_common
def revert_cmd(code: str, day_text: str, reason: str, yes: bool, by: str | None, group_key: str | None,
               org_key: str | None, config_file: Path | None, database_url: str | None) -> None:
    """Return client CODE's day DATE to its computed status (the decision is removed, audited)."""
    day = _day(day_text)
    store, org = _setup(config_file, database_url, org_key)
    client_id = _client_id(store, org, code)
    actor = _actor(store, org, by)
    try:
        outcome = revert(store, client_id, day, reason, actor, group_key=group_key, apply=yes)
    except CorrectionError as err:
        raise _fail(err) from err
    _report(outcome, nothing="päivällä ei ole ohjaajan päätöstä")


@attendance.command("history")
@click.argument("code")
@click.argument("day_text", metavar="[DATE]", required=False)
@click.option("--month", default=None, help="Only the days of this month, e.g. 2026-11.")
@org_option(help="Organisation key (default: the only one in the database).")
@config_option
@database_url_option
def history_cmd(code: str, day_text: str | None, month: str | None, org_key: str | None,
                config_file: Path | None, database_url: str | None) -> None:
    """Every correction of client CODE's days (of DATE, or of --month), oldest first:
    when (Helsinki time), who, the status before and after, the computed status, the reason."""
    if day_text is not None and month is not None:
        raise click.UsageError("give DATE or --month, not both")
    first: date | None = None
    last: date | None = None
    if day_text is not None:
        first = _day(day_text)
    elif month is not None:
        try:
            year, num = parse_month(month)
        except ValueError as err:
            raise click.BadParameter(f"{month!r}: odotettiin kuukautta muodossa 2026-11", param_hint="--month") from err
        first = date(year, num, 1)
        last = date(year, num, calendar.monthrange(year, num)[1])
    store, org = _setup(config_file, database_url, org_key)
    found = history(store, _client_id(store, org, code), first, last=last)
    if not found:
        click.echo("Ei korjauksia.")
        return
    for e in found:
        at = e.local_at
        what = "palautettu laskettuun" if e.reverted else "päätös"
        click.echo(f"{fi_date(e.day)} ({e.group}) {what}: {status_fi(e.before)} -> {status_fi(e.after)} "
                   f"(laskettu: {status_fi(e.computed)}); syy: {e.reason}; tekijä: {e.who}; "
                   f"{at.day}.{at.month}.{at.year} {at:%H:%M}")
