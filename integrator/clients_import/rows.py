"""Checking the rows of a client CSV: each row alone, then the rows together and against the store.

Every problem names the line, the column and the client code, never a name or an email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.clients_import.reading import (
    CLIENT_FIELDS,
    CLIENT_PARSERS,
    CODE,
    CONTROL,
    EMAIL,
    MODELS,
    PERIOD_COLUMNS,
    BadCell,
    RowProblem,
    choice,
    parse_date,
    parse_hours,
    parse_instant,
    parse_weekdays,
)
from integrator.config import Rules
from integrator.domain.finnish import fi_date
from integrator.domain.periods import validate_period
from integrator.domain.types import ServiceModel
from integrator.domain.weeks import WEEKDAY_FI
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period


@dataclass
class PeriodRow:
    start: date
    end: date
    weekdays: list[int]
    hours_per_day: float | None
    service_model: ServiceModel
    group_id: int | None
    briefing_recorded_at: datetime | None
    briefing_recorded_by_id: int | None
    responsible_worker_id: int | None
    group_from: date | None = None  # the group applies from this day: a move (clients_import.lifecycle)


@dataclass
class Row:
    line: int
    code: str
    client: dict[str, Any]
    period: PeriodRow | None




@dataclass
class RowContext:
    org: Organisation
    rules: Rules
    groups: dict[str, PeerGroup]
    staff: dict[str, tuple[int, int | None]]  # active staff: email -> (id, organisation id)
    today: date
    # Organisations whose staff may be responsible workers: the client's own and those its config
    # lists under responsible_workers_from (id -> key).
    worker_orgs: dict[int, str]
    # Periods ended early (keskeytys): (code, period start) -> (last day, planned end). A row may
    # name either end; the planned 3-24 month frame is checked on the planned one.
    interrupted: dict[tuple[str, date], tuple[date, date]] = field(default_factory=dict)


def _days(days: list[Any]) -> str:
    return ",".join(WEEKDAY_FI[d] for d in sorted(days) if isinstance(d, int) and 1 <= d <= 7)


def _period_column(words: str) -> str:
    """The column a problem from `validate_period` is about, so the row points at the right cell."""
    lowered = words.lower()
    if "viikonpäiv" in lowered or "päivänä viikossa" in lowered:
        return "weekdays"
    if "tuntia" in lowered:
        return "hours_per_day"
    return "period_end"


def check_row(line: int, cells: dict[str, str], ctx: RowContext) -> tuple[Row | None, list[RowProblem]]:
    problems: list[RowProblem] = []
    raw_code = cells.get("code", "")
    if not raw_code:
        return None, [RowProblem(line, "code", None, "asiakastunnus puuttuu",
                                 "pseudonyymi tunnus, esim. RAI-0001")]
    if not CODE.match(raw_code):
        # The cell is not printed: a name typed into the code column must not reach the output.
        return None, [RowProblem(line, "code", None, "ei ole kelvollinen asiakastunnus",
                                 "A-Z, 0-9 ja '-', 2-32 merkkiä, alussa kirjain tai numero, "
                                 "esim. RAI-0001")]
    code = raw_code
    dirty = sorted(column for column, value in cells.items() if CONTROL.search(value))
    if dirty:
        # Checked before anything else: a NUL or a line break in a name would reach letters and logs.
        return None, [RowProblem(line, column, code, "sisältää ohjausmerkin (NUL-tavu, rivinvaihto, "
                                 "sarkain tai tekstin suunnan ohitus)", "tavallista tekstiä yhdellä rivillä")
                      for column in dirty]

    def bad(column: str | None, e: BadCell | str, expected: str | None = None) -> None:
        if isinstance(e, BadCell):
            problems.append(RowProblem(line, column, code, e.reason, e.expected))
        else:
            problems.append(RowProblem(line, column, code, e, expected))

    client: dict[str, Any] = {}
    for name in CLIENT_FIELDS:
        value = cells.get(name, "")
        if value:
            try:
                client[name] = CLIENT_PARSERS[name](value)
            except BadCell as e:
                bad(name, e)

    def staff_id(column: str, orgs: dict[int, str]) -> int | None:
        """The staff user named in `column`, when they belong to one of `orgs`.

        An installation-wide admin (no organisation) is refused too: a responsible worker and
        whoever briefs a client work for an organisation that the client belongs to or serves.
        """
        value = cells.get(column, "").lower()
        if not value:
            return None
        if not EMAIL.match(value):
            bad(column, "ei ole sähköpostiosoite", "henkilökunnan käyttäjän sähköpostiosoite")
            return None
        found = ctx.staff.get(value)
        if found is None:
            bad(column, "yhdelläkään aktiivisella henkilökunnan käyttäjällä ei ole tätä sähköpostiosoitetta",
                "henkilökunnan käyttäjän sähköpostiosoite (lisää hänet asetuksiin ja aja `integrator config apply`)")
            return None
        staff_id, staff_org = found
        if staff_org not in orgs:
            others = [key for org_id, key in orgs.items() if org_id != ctx.org.id]
            who = "on koko asennuksen ylläpitäjä eikä kuulu mihinkään organisaatioon" if staff_org is None \
                else f"ei kuulu organisaation '{ctx.org.key}' henkilökuntaan"
            if column != "responsible_worker":
                where = f"organisaation '{ctx.org.key}' henkilökunnan käyttäjä"
            elif others:
                where = (f"organisaation '{ctx.org.key}' tai sen responsible_workers_from-kohdassa nimetyn "
                         f"organisaation ({', '.join(sorted(others))}) henkilökunnan käyttäjä")
            else:
                where = (f"organisaation '{ctx.org.key}' henkilökunnan käyttäjä (toisen organisaation vain, jos "
                         "asetukset nimeävät sen organisaation responsible_workers_from-kohdassa)")
            bad(column, f"tämä käyttäjä {who}", where)
            return None
        return staff_id

    period_cells = {c: cells.get(c, "") for c in PERIOD_COLUMNS}
    if not cells.get("period_start"):
        given = [c for c, v in period_cells.items() if v]
        if given:
            bad("period_start", f"puuttuu, vaikka {', '.join(given)} on annettu", "jakson ensimmäinen päivä")
        return (None if problems else Row(line, code, client, None)), problems

    parsed: dict[str, Any] = {}
    for column, parser in (("period_start", parse_date), ("period_end", parse_date),
                           ("weekdays", parse_weekdays), ("hours_per_day", parse_hours),
                           ("briefing_recorded_at", parse_instant)):
        value = cells.get(column, "")
        if not value:
            if column in ("period_end", "weekdays"):
                bad(column, "pakollinen, kun period_start on annettu",
                    "jakson viimeinen päivä" if column == "period_end" else "esim. 'ti,to'")
            continue
        try:
            parsed[column] = parser(value)
        except BadCell as e:
            bad(column, e)
    model: ServiceModel | None = None
    if cells.get("service_model"):
        try:
            model = choice(MODELS, cells["service_model"], "pitkä, lyhyt, intervalli tai hybridi "
                                                            "(long_term, short_term, interval, hybrid)")
        except BadCell as e:
            bad("service_model", e)
    else:
        bad("service_model", "pakollinen, kun period_start on annettu", "pitkä, lyhyt, intervalli tai hybridi")

    group: PeerGroup | None = None
    if cells.get("group"):
        group = ctx.groups.get(cells["group"].lower())
        if group is None:
            bad("group", f"organisaatiossa '{ctx.org.key}' ei ole ryhmää tällä tunnuksella",
                f"jokin näistä: {', '.join(sorted(ctx.groups)) or '(ei ryhmiä: aja `integrator config apply`)'}")
        elif not group.active:
            bad("group", "ryhmä ei ole enää käytössä (poistettu asetuksista)", "käytössä oleva ryhmä")

    briefing_at = parsed.get("briefing_recorded_at")
    briefing_by = staff_id("briefing_recorded_by", {ctx.org.id: ctx.org.key})
    responsible = staff_id("responsible_worker", ctx.worker_orgs)
    if briefing_at is not None and briefing_at.date() > ctx.today:
        bad("briefing_recorded_at", "on tulevaisuudessa", "päivä, jona perehdytys annettiin")
    if briefing_at is not None and not cells.get("briefing_recorded_by"):
        bad("briefing_recorded_by", "pakollinen, kun briefing_recorded_at on annettu",
            "perehdytyksen antaneen henkilökunnan käyttäjän sähköpostiosoite")
    if not cells.get("briefing_recorded_at") and cells.get("briefing_recorded_by"):
        bad("briefing_recorded_at", "puuttuu, vaikka briefing_recorded_by on annettu", "milloin perehdytys annettiin")

    if {"period_start", "period_end", "weekdays"} <= parsed.keys() and model is not None:
        hours = parsed.get("hours_per_day", ctx.rules.min_hours_per_day)
        planned_end = parsed["period_end"]
        early = ctx.interrupted.get((code, parsed["period_start"]))
        if early is not None and planned_end == early[0]:
            planned_end = early[1]  # the interruption's day: no minimum length applies to it
        for words in validate_period(parsed["period_start"], planned_end, parsed["weekdays"],
                                     hours, ctx.rules, model, finnish=True):
            bad(_period_column(words), words)
        outside = [d for d in parsed["weekdays"] if d not in ctx.rules.work_weekdays]
        if outside:
            bad("weekdays", f"ei ole sääntöjen mukainen työtoimintapäivä: {_days(outside)}",
                f"päiviä näistä: {_days(ctx.rules.work_weekdays)}")
        if group is not None and group.active and not set(parsed["weekdays"]) & set(group.weekdays):
            bad("weekdays", "jaksossa ei ole yhtään ryhmän tapaamispäivää",
                f"vähintään yksi ryhmän viikonpäivistä: {_days(group.weekdays)}")

    group_from: date | None = None
    if cells.get("group_from"):
        try:
            group_from = parse_date(cells["group_from"])
        except BadCell as e:
            bad("group_from", e)
        if not cells.get("group"):
            bad("group_from", "annettu ilman ryhmää", "ryhmän tunnus, johon asiakas siirtyy, sarakkeessa 'group'")
        elif group_from is not None and "period_start" in parsed and "period_end" in parsed and not (
                parsed["period_start"] <= group_from <= parsed["period_end"]):
            bad("group_from", "jakson ulkopuolella", "päivä väliltä period_start–period_end")

    if problems or model is None:
        return None, problems
    period = PeriodRow(
        start=parsed["period_start"], end=parsed["period_end"], weekdays=parsed["weekdays"],
        hours_per_day=parsed.get("hours_per_day"), service_model=model,
        group_id=group.id if group is not None else None, briefing_recorded_at=briefing_at,
        briefing_recorded_by_id=briefing_by, responsible_worker_id=responsible, group_from=group_from)
    return Row(line, code, client, period), problems


def cross_check(rows: list[Row], s: Session, org: Organisation) -> list[RowProblem]:
    """What no single row shows: repeated periods, one client described two ways, shared emails."""
    problems: list[RowProblem] = []
    first_line: dict[str, Row] = {}
    periods: dict[tuple[str, date], int] = {}
    email_owner: dict[str, str] = {}
    for row in rows:
        earlier = first_line.setdefault(row.code, row)
        if earlier is not row:
            for name in sorted(row.client.keys() & earlier.client.keys()):
                if row.client[name] != earlier.client[name]:
                    problems.append(RowProblem(row.line, name, row.code,
                                               f"eri kuin rivillä {earlier.line} samalle asiakkaalle",
                                               "sama arvo asiakkaan jokaisella rivillä"))
        if row.period is not None:
            key = (row.code, row.period.start)
            if key in periods:
                problems.append(RowProblem(row.line, "period_start", row.code,
                                           f"sama jakso on jo rivillä {periods[key]}",
                                           "yksi rivi asiakasta ja jakson alkua kohden"))
            periods.setdefault(key, row.line)
        email = row.client.get("email")
        if email:
            owner = email_owner.setdefault(email, row.code)
            if owner != row.code:
                problems.append(RowProblem(row.line, "email", row.code, f"sama sähköpostiosoite on annettu asiakkaalle {owner}",
                                           "yksi sähköpostiosoite asiakasta kohden (läsnäolot "
                                           "yhdistetään sen avulla)"))
    problems.extend(_history(rows, s, org))
    if email_owner:
        # The organisation's stored emails in one query: an IN list of a 20,000-row file's emails
        # would pass SQLite's limit of bound parameters.
        for code, email in s.execute(select(Client.code, Client.email).where(
                Client.organisation_id == org.id, Client.email.is_not(None))):
            if email in email_owner and email_owner[email] != code:
                line = next(r.line for r in rows if r.client.get("email") == email)
                problems.append(RowProblem(line, "email", email_owner[email],
                                           f"sama sähköpostiosoite on tallennettu asiakkaalle {code}",
                                           "yksi sähköpostiosoite asiakasta kohden (läsnäolot yhdistetään "
                                           "sen avulla)"))
    return problems


def _history(rows: list[Row], s: Session, org: Organisation) -> list[RowProblem]:
    """What would rewrite the past: a changed group without group_from (it would move every day of
    the period, also those documented and paid), or another end for a period ended early."""
    problems: list[RowProblem] = []
    chains: dict[str, list[tuple[date, int, str]]] = {}
    for code, start, group_id, key in s.execute(
            select(Client.code, Membership.start_date, Membership.group_id, PeerGroup.key)
            .join(Client, Membership.client_id == Client.id).join(PeerGroup, Membership.group_id == PeerGroup.id)
            .where(Client.organisation_id == org.id).order_by(Membership.start_date, Membership.id)):
        chains.setdefault(code, []).append((start, group_id, key))
    ended = {(code, start): (end, planned) for code, start, end, planned in s.execute(
        select(Client.code, Period.start_date, Period.end_date, Period.planned_end_date)
        .join(Client, Period.client_id == Client.id)
        .where(Client.organisation_id == org.id, Period.planned_end_date.is_not(None))) if planned is not None}
    for row in rows:
        p = row.period
        if p is None:
            continue
        early = ended.get((row.code, p.start))
        if early is not None and p.end not in early:
            problems.append(RowProblem(
                row.line, "period_end", row.code, f"jakso on keskeytetty {fi_date(early[0])} "
                f"(suunniteltu loppu {fi_date(early[1])})",
                f"{early[1].isoformat()} (suunniteltu loppu) tai peru keskeytys ensin: "
                f"integrator clients end {row.code} --undo"))
        chain = [m for m in chains.get(row.code, []) if p.start <= m[0] <= p.end]
        if p.group_id is not None and p.group_from is None and chain and chain[-1][1] != p.group_id:
            problems.append(RowProblem(
                row.line, "group", row.code,
                f"asiakas on ryhmässä '{chain[-1][2]}' {fi_date(chain[-1][0])} alkaen; toinen ryhmä ilman "
                "group_from-saraketta siirtäisi jakson kaikki päivät, myös jo kirjatut ja maksetut",
                "uuden ryhmän ensimmäinen päivä sarakkeessa group_from (esim. 2026-12-01)"))
    return problems
