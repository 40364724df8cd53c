"""`integrator clients move|end`: a client's move to another group from a date, and an early end
(keskeytys) of their period. Each shows a preview in plain words and changes things only with --yes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

from integrator.cli.options import config_option, database_url_option, load, open_store, org_option
from integrator.clients_import.reading import BadCell, parse_date
from integrator.domain.periods import END_REASONS
from integrator.jobs.clients.changes import (
    ClientChange,
    LifecycleError,
    end_period,
    move_client,
    undo_end_period,
)
from integrator.jobs.locks import JobAlreadyRunning
from integrator.providers.errors import ProviderError

EXIT_REFUSED = 2


@click.group("clients")
def clients() -> None:
    """A client's move to another group, and an early end of their period (keskeytys)."""


def _day(value: str, option: str) -> date:
    try:
        return parse_date(value)
    except BadCell as err:
        raise click.BadParameter(f"{err.reason}; odotettiin päivämäärää kuten 1.12.2026 tai 2026-12-01",
                                 param_hint=option) from None


def _now(text: str | None) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _finish(change: ClientChange, yes: bool) -> None:
    click.echo(change.preview())
    if not yes and change.changed:
        click.echo("Tee muutos lisäämällä --yes.")
    if change.followed.errors:
        raise SystemExit(1)


def _run(fn: object) -> ClientChange:
    assert callable(fn)
    try:
        result = fn()
    except LifecycleError as err:
        click.echo(f"{err.field}: {err.fi}", err=True)
        raise SystemExit(EXIT_REFUSED) from None
    except JobAlreadyRunning as err:
        click.echo(f"Viikkoasetus on käynnissä, yritä hetken päästä uudelleen ({err}).", err=True)
        raise SystemExit(1) from None
    except ProviderError as err:
        click.echo(f"Palvelu ei vastannut odotetusti: {err}. Tiedot on tallennettu; aja komento uudelleen.",
                   err=True)
        raise SystemExit(1) from None
    assert isinstance(result, ClientChange)
    return result


@clients.command("move")
@click.argument("code")
@click.option("--to", "to_group", required=True, help="The key of the group the client moves to.")
@click.option("--from", "from_text", required=True, help="The first day in the new group (1.12.2026 or 2026-12-01).")
@org_option(help="Organisation key; optional when the config has one.")
@click.option("--yes", is_flag=True, help="Make the change (without it: a preview only).")
@click.option("--now", "now_text", default=None, hidden=True, help="Pretend it is this instant (tests).")
@config_option
@database_url_option
def move_cmd(code: str, to_group: str, from_text: str, org_key: str | None, yes: bool, now_text: str | None,
             config_file: Path | None, database_url: str | None) -> None:
    """Move client CODE to group --to from the day --from.

    The days before it stay exactly as they were documented and paid. The client is enrolled in
    the new group's course and leaves the old one (at once, when --from is today or past), and
    the groups' future meetings are updated.
    """
    settings = load(config_file)
    store = open_store(database_url, settings)
    day = _day(from_text, "--from")
    _finish(_run(lambda: move_client(store, settings, code, to_group, day, "cli", org_key=org_key,
                                     now=_now(now_text), apply=yes)), yes)


@clients.command("end")
@click.argument("code")
@click.option("--on", "on_text", default=None, help="The last day of participation (1.12.2026 or 2026-12-01).")
@click.option("--reason", type=click.Choice(list(END_REASONS)), default=None, help="Why, as a code.")
@click.option("--undo", is_flag=True, help="Undo the early end: the planned end and the access come back.")
@org_option(help="Organisation key; optional when the config has one.")
@click.option("--yes", is_flag=True, help="Make the change (without it: a preview only).")
@click.option("--now", "now_text", default=None, hidden=True, help="Pretend it is this instant (tests).")
@config_option
@database_url_option
def end_cmd(code: str, on_text: str | None, reason: str | None, undo: bool, org_key: str | None, yes: bool,
            now_text: str | None, config_file: Path | None, database_url: str | None) -> None:
    """End client CODE's period early (keskeytys), --on being the last day, or --undo it.

    Allowed whatever the planned length. Course enrolment and folder access end at once (a
    future --on: at the first nightly sync after it), queued letters and reminders after it are
    cancelled, future meeting invitations updated. Every record is kept.
    """
    settings = load(config_file)
    store = open_store(database_url, settings)
    if undo:
        if on_text or reason:
            raise click.UsageError("--undo takes neither --on nor --reason")
        _finish(_run(lambda: undo_end_period(store, settings, code, "cli", org_key=org_key, now=_now(now_text),
                                             apply=yes)), yes)
        return
    if not on_text or not reason:
        raise click.UsageError("give --on DATE and --reason CODE (or --undo)")
    day = _day(on_text, "--on")
    _finish(_run(lambda: end_period(store, settings, code, day, reason, "cli", org_key=org_key,
                                    now=_now(now_text), apply=yes)), yes)
