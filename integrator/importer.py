"""Client import from CSV: `integrator import clients FILE.csv [--org KEY] [--dry-run]`.

The file is UTF-8 (with or without the BOM Excel writes), separated by `;` or `,` (sniffed
from the header row). A header row is required; column names are case-insensitive and
only `code` is required. A column that is absent, or a cell that is empty, leaves the stored
value unchanged (empty on a new client).

=====================  =========================================================================
column                 value
=====================  =========================================================================
code                   pseudonymous client code, required: A-Z, 0-9 and '-', 2-32 characters,
                       e.g. RAI-0001. Logs, folder names and URLs use only this.
display_name           the name used in letters; defaults to the code for a new client
email                  the client's email address (letters, reminders, attendance matching)
phone                  phone number, e.g. +358 40 123 4567
google_user_id         the client's Google Workspace user id, when known
entra_object_id        the client's Microsoft Entra object id (a GUID), when known
plain_language         selkokieli: kyllä/ei, yes/no, true/false, 1/0
digital_support        a_lot | a_little | none | helps_others
                       (also paljon | vähän | ei | auttaa_muita)
loan_device_note       a short note of a loan device (lainalaite), at most 200 characters
group                  the key of the peer group (from the config) the client belongs to
service_model          long_term | short_term | interval | hybrid
                       (also pitkä | lyhyt | intervalli | hybridi)
period_start           first day of the period (jakso): 2026-01-13 or 13.1.2026
period_end             last day of the period (inclusive), same forms
weekdays               the period's work-activity weekdays: "ti,to", "2,4", "tuesday,thursday"
hours_per_day          hours per work-activity day, e.g. 4 or 4,5; default: the rules' minimum
briefing_recorded_at   when the data-protection briefing was given: a date or a date and time
                       (2026-01-10, 2026-01-10 14:30, 10.1.2026 14:30; Finnish time unless an
                       offset is given). Empty: not yet briefed. Allowed, but nothing is
                       provisioned for the client until it is recorded (the consent gate).
briefing_recorded_by   email of the staff user who gave the briefing (required with the above)
responsible_worker     email of the responsible social worker (omatyöntekijä), a staff user
=====================  =========================================================================

A row with `period_start` describes a period; `period_end`, `weekdays` and `service_model` are
then required. A client with several periods has one row per period.

Natural keys, so that importing the same file again changes nothing: a client is
(organisation, code); a period is (client, period_start); a group membership is
(group, client, period_start) and follows the period's dates.

Every row is checked before anything is written; if any row is bad, every problem is
reported (line, column, reason, what was expected) and nothing is written. Problems name
rows by line and client code only, never by a person's name or email.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from integrator.config import ConfigError, Rules, Settings, config_path, load_settings
from integrator.domain.types import ServiceModel, SupportLevel
from integrator.domain.weeks import WEEKDAY_FI, parse_weekday
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period, StaffUser

EXIT_PROBLEMS = 2
COLUMNS = (
    "code", "display_name", "email", "phone", "google_user_id", "entra_object_id", "plain_language",
    "digital_support", "loan_device_note", "group", "service_model", "period_start", "period_end",
    "weekdays", "hours_per_day", "briefing_recorded_at", "briefing_recorded_by", "responsible_worker",
)
PERIOD_COLUMNS = ("group", "service_model", "period_end", "weekdays", "hours_per_day",
                  "briefing_recorded_at", "briefing_recorded_by", "responsible_worker")
CLIENT_FIELDS = ("display_name", "email", "phone", "google_user_id", "entra_object_id", "plain_language",
                 "digital_support", "loan_device_note")

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")
GOOGLE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2})[:.](\d{2}))?$")
LOCAL = ZoneInfo("Europe/Helsinki")  # a wall-clock time in the file is Finnish time

BOOLEANS = {"kyllä": True, "k": True, "yes": True, "y": True, "true": True, "1": True,
            "ei": False, "e": False, "no": False, "n": False, "false": False, "0": False}
SUPPORT = {"a_lot": SupportLevel.A_LOT, "a_little": SupportLevel.A_LITTLE, "none": SupportLevel.NONE,
           "helps_others": SupportLevel.HELPS_OTHERS, "paljon": SupportLevel.A_LOT,
           "vähän": SupportLevel.A_LITTLE, "ei": SupportLevel.NONE, "auttaa_muita": SupportLevel.HELPS_OTHERS}
MODELS = {"long_term": ServiceModel.LONG_TERM, "short_term": ServiceModel.SHORT_TERM,
          "interval": ServiceModel.INTERVAL, "hybrid": ServiceModel.HYBRID, "pitkä": ServiceModel.LONG_TERM,
          "lyhyt": ServiceModel.SHORT_TERM, "intervalli": ServiceModel.INTERVAL, "hybridi": ServiceModel.HYBRID}


@dataclass(frozen=True)
class RowProblem:
    """One bad cell or row. `code` only when it is a valid pseudonym (never a name)."""

    line: int
    column: str | None
    code: str | None
    reason: str
    expected: str | None = None

    def format(self, file: str) -> str:
        col = f" column '{self.column}'" if self.column else ""
        who = f" (client {self.code})" if self.code else ""
        sep = ":" if col or who else ""
        exp = f"; expected {self.expected}" if self.expected else ""
        return f"{file}:{self.line}:{col}{who}{sep} {self.reason}{exp}"


class _Bad(ValueError):
    def __init__(self, reason: str, expected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected


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


@dataclass
class Row:
    line: int
    code: str
    client: dict[str, Any]
    period: PeriodRow | None


@dataclass
class ImportResult:
    problems: list[RowProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    not_briefed: int = 0
    written: bool = False


# --- reading ------------------------------------------------------------------------------------

def read_rows(raw: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """(header, [(line, {column: cell})], problems) from the file's bytes."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return [], [], [RowProblem(line, None, None, "the file is not UTF-8 text",
                                   "UTF-8 (in Excel: save as 'CSV UTF-8')")]
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header_cells = next(reader, None)
    except csv.Error as e:
        return [], [], [RowProblem(1, None, None, f"the header row cannot be read ({e})")]
    if header_cells is None or not any(c.strip() for c in header_cells):
        return [], [], [RowProblem(1, None, None, "the file is empty",
                                   f"a header row with the columns: {', '.join(COLUMNS)}")]
    header = [c.strip().lower() for c in header_cells]
    if "code" not in header:
        # Without a code column the first row is most likely data: never echo its cells.
        return header, [], [RowProblem(1, "code", None, "the required column is missing (is the header row there?)",
                                       f"a header row with the columns: {', '.join(COLUMNS)}")]
    problems: list[RowProblem] = []
    for name in sorted({h for h in header if header.count(h) > 1}):
        problems.append(RowProblem(1, name, None, "column given twice"))
    for name in header:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1)
            problems.append(RowProblem(1, name or "(empty)", None, "unknown column",
                                       f"'{close[0]}'" if close else f"one of: {', '.join(COLUMNS)}"))
    if problems:
        return header, [], problems

    rows: list[tuple[int, dict[str, str]]] = []
    last = reader.line_num
    try:
        for cells in reader:
            line = last + 1
            last = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(RowProblem(line, None, None, f"the row has {len(cells)} fields, the header has "
                                                             f"{len(header)}",
                                           f"'{delimiter}' between fields and quotes around cells that contain it"))
                continue
            rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    except csv.Error as e:
        problems.append(RowProblem(last + 1, None, None, f"the row cannot be read ({e})"))
    return header, rows, problems


# --- cell parsers (raise _Bad with a reason and what was expected; never quote the cell) ---------

def parse_date(value: str) -> date:
    m = FINNISH_DATE.match(value)
    try:
        if m and m.group(4) is None:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad("not a valid date", "YYYY-MM-DD or d.m.yyyy, e.g. 2026-01-13 or 13.1.2026") from None


def parse_instant(value: str) -> datetime:
    """A date (Finnish midnight), a local date and time, or an ISO instant with an offset; aware."""
    m = FINNISH_DATE.match(value)
    try:
        if m:
            d = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            t = time(int(m.group(4)), int(m.group(5))) if m.group(4) else time(0, 0)
            result = datetime.combine(d, t)
        elif len(value) == 10:
            result = datetime.combine(date.fromisoformat(value), time(0, 0))
        else:
            result = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad("not a valid date or date and time",
                   "YYYY-MM-DD, YYYY-MM-DD HH:MM or d.m.yyyy HH:MM (Finnish time)") from None
    return result if result.tzinfo is not None else result.replace(tzinfo=LOCAL)


def parse_weekdays(value: str) -> list[int]:
    days: list[int] = []
    for token in re.split(r"[,\s/+]+", value.strip().lower()):
        if not token:
            continue
        try:
            day = parse_weekday(int(token) if token.isdigit() else token)
        except ValueError:
            raise _Bad("not a list of weekdays", "e.g. 'ti,to', '2,4' or 'tuesday,thursday'") from None
        if day in days:
            raise _Bad("a weekday is given twice", "each weekday once")
        days.append(day)
    if not days:
        raise _Bad("no weekdays given", "e.g. 'ti,to' or '2,4'")
    return sorted(days)


def parse_hours(value: str) -> float:
    try:
        hours = float(value.replace(",", "."))
    except ValueError:
        raise _Bad("not a number", "hours per day, e.g. 4 or 4,5") from None
    if not math.isfinite(hours) or not 0 < hours <= 24:
        raise _Bad("out of range", "hours per day between 0 and 24")
    return hours


def _choice(table: dict[str, Any], value: str, expected: str) -> Any:
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in table:
        raise _Bad("not an allowed value", expected)
    return table[key]


def _pattern(rx: re.Pattern[str], value: str, reason: str, expected: str) -> str:
    if not rx.match(value):
        raise _Bad(reason, expected)
    return value


def _text(value: str, limit: int) -> str:
    if len(value) > limit:
        raise _Bad(f"too long ({len(value)} characters)", f"at most {limit} characters")
    return value


CLIENT_PARSERS: dict[str, Any] = {
    "display_name": lambda v: _text(v, 200),
    "email": lambda v: _pattern(EMAIL, v, "not an email address", "name@example.fi").lower(),
    "phone": lambda v: _pattern(PHONE, v, "not a phone number", "digits, spaces, '-', e.g. +358 40 123 4567"),
    "google_user_id": lambda v: _pattern(GOOGLE_ID, v, "not a Google user id", "letters and digits"),
    "entra_object_id": lambda v: _pattern(GUID, v, "not an Entra object id",
                                          "a GUID like 0f8fad5b-d9cb-469f-a165-70867728950e").lower(),
    "plain_language": lambda v: _choice(BOOLEANS, v, "kyllä/ei, yes/no, true/false or 1/0"),
    "digital_support": lambda v: _choice(SUPPORT, v, "a_lot, a_little, none or helps_others "
                                                     "(paljon, vähän, ei, auttaa_muita)"),
    "loan_device_note": lambda v: _text(v, 200),
}


# --- checking ----------------------------------------------------------------------------------

@dataclass
class _Context:
    org: Organisation
    rules: Rules
    groups: dict[str, PeerGroup]
    staff: dict[str, int]
    today: date


def _days(days: list[Any]) -> str:
    return ",".join(WEEKDAY_FI[d] for d in sorted(days) if isinstance(d, int) and 1 <= d <= 7)


def _period_column(words: str) -> str:
    """The column a problem from `validate_period` is about, so the row points at the right cell."""
    lowered = words.lower()
    if "weekday" in lowered or "days a week" in lowered:
        return "weekdays"
    if "hours" in lowered:
        return "hours_per_day"
    return "period_end"


def _check_row(line: int, cells: dict[str, str], ctx: _Context) -> tuple[Row | None, list[RowProblem]]:
    from integrator.domain.periods import validate_period

    problems: list[RowProblem] = []
    raw_code = cells.get("code", "")
    if not raw_code:
        return None, [RowProblem(line, "code", None, "the client code is missing",
                                 "a pseudonymous code like RAI-0001")]
    if not CODE.match(raw_code):
        # The cell is not printed: a name typed into the code column must not reach the output.
        return None, [RowProblem(line, "code", None, "not a valid client code",
                                 "A-Z, 0-9 and '-', 2-32 characters, starting with a letter or digit, "
                                 "e.g. RAI-0001")]
    code = raw_code

    def bad(column: str | None, e: _Bad | str, expected: str | None = None) -> None:
        if isinstance(e, _Bad):
            problems.append(RowProblem(line, column, code, e.reason, e.expected))
        else:
            problems.append(RowProblem(line, column, code, e, expected))

    client: dict[str, Any] = {}
    for name in CLIENT_FIELDS:
        value = cells.get(name, "")
        if value:
            try:
                client[name] = CLIENT_PARSERS[name](value)
            except _Bad as e:
                bad(name, e)

    def staff_id(column: str) -> int | None:
        value = cells.get(column, "").lower()
        if not value:
            return None
        if not EMAIL.match(value):
            bad(column, "not an email address", "a staff user's email")
            return None
        found = ctx.staff.get(value)
        if found is None:
            bad(column, "no active staff user has this email",
                "the email of a staff user (add them to the config and run `integrator config apply`)")
        return found

    period_cells = {c: cells.get(c, "") for c in PERIOD_COLUMNS}
    if not cells.get("period_start"):
        given = [c for c, v in period_cells.items() if v]
        if given:
            bad("period_start", f"missing, but {', '.join(given)} given", "the first day of the period")
        return (None if problems else Row(line, code, client, None)), problems

    parsed: dict[str, Any] = {}
    for column, parser in (("period_start", parse_date), ("period_end", parse_date),
                           ("weekdays", parse_weekdays), ("hours_per_day", parse_hours),
                           ("briefing_recorded_at", parse_instant)):
        value = cells.get(column, "")
        if not value:
            if column in ("period_end", "weekdays"):
                bad(column, "required when period_start is given",
                    "the last day of the period" if column == "period_end" else "e.g. 'ti,to'")
            continue
        try:
            parsed[column] = parser(value)
        except _Bad as e:
            bad(column, e)
    model: ServiceModel | None = None
    if cells.get("service_model"):
        try:
            model = _choice(MODELS, cells["service_model"], "long_term, short_term, interval or hybrid "
                                                            "(pitkä, lyhyt, intervalli, hybridi)")
        except _Bad as e:
            bad("service_model", e)
    else:
        bad("service_model", "required when period_start is given", "long_term, short_term, interval or hybrid")

    group: PeerGroup | None = None
    if cells.get("group"):
        group = ctx.groups.get(cells["group"].lower())
        if group is None:
            bad("group", f"no group with this key in organisation '{ctx.org.key}'",
                f"one of: {', '.join(sorted(ctx.groups)) or '(no groups: run `integrator config apply`)'}")
        elif not group.active:
            bad("group", "the group is no longer active (removed from the config)", "an active group")

    briefing_at = parsed.get("briefing_recorded_at")
    briefing_by = staff_id("briefing_recorded_by")
    responsible = staff_id("responsible_worker")
    if briefing_at is not None and briefing_at.date() > ctx.today:
        bad("briefing_recorded_at", "is in the future", "the day the briefing was given")
    if briefing_at is not None and not cells.get("briefing_recorded_by"):
        bad("briefing_recorded_by", "required when briefing_recorded_at is given",
            "the email of the staff user who gave the briefing")
    if not cells.get("briefing_recorded_at") and cells.get("briefing_recorded_by"):
        bad("briefing_recorded_at", "missing, but briefing_recorded_by is given", "when the briefing was given")

    if {"period_start", "period_end", "weekdays"} <= parsed.keys() and model is not None:
        hours = parsed.get("hours_per_day", ctx.rules.min_hours_per_day)
        for words in validate_period(parsed["period_start"], parsed["period_end"], parsed["weekdays"],
                                     hours, ctx.rules, model):
            bad(_period_column(words), words)
        outside = [d for d in parsed["weekdays"] if d not in ctx.rules.work_weekdays]
        if outside:
            bad("weekdays", f"not a work-activity day in the rules: {_days(outside)}",
                f"days among {_days(ctx.rules.work_weekdays)}")
        if group is not None and group.active and not set(parsed["weekdays"]) & set(group.weekdays):
            bad("weekdays", "the period has none of the group's meeting days",
                f"at least one of the group's weekdays: {_days(group.weekdays)}")

    if problems or model is None:
        return None, problems
    period = PeriodRow(
        start=parsed["period_start"], end=parsed["period_end"], weekdays=parsed["weekdays"],
        hours_per_day=parsed.get("hours_per_day"), service_model=model,
        group_id=group.id if group is not None else None, briefing_recorded_at=briefing_at,
        briefing_recorded_by_id=briefing_by, responsible_worker_id=responsible)
    return Row(line, code, client, period), problems


def _cross_check(rows: list[Row], s: Session, org: Organisation) -> list[RowProblem]:
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
                                               f"differs from line {earlier.line} for the same client",
                                               "the same value on every row of one client"))
        if row.period is not None:
            key = (row.code, row.period.start)
            if key in periods:
                problems.append(RowProblem(row.line, "period_start", row.code,
                                           f"the same period is already on line {periods[key]}",
                                           "one row per client and period start"))
            periods.setdefault(key, row.line)
        email = row.client.get("email")
        if email:
            owner = email_owner.setdefault(email, row.code)
            if owner != row.code:
                problems.append(RowProblem(row.line, "email", row.code, f"the same email is given for client {owner}",
                                           "one email per client (attendance is matched by it)"))
    if email_owner:
        for code, email in s.execute(select(Client.code, Client.email).where(
                Client.organisation_id == org.id, Client.email.in_(set(email_owner)))):
            if email is not None and email_owner[email] != code:
                line = next(r.line for r in rows if r.client.get("email") == email)
                problems.append(RowProblem(line, "email", email_owner[email],
                                           f"the same email is stored for client {code}",
                                           "one email per client (attendance is matched by it)"))
    return problems


# --- writing ------------------------------------------------------------------------------------

def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _write(s: Session, org: Organisation, rules: Rules, rows: list[Row]) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter({f"{kind}_{outcome}": 0 for kind in ("clients", "periods", "memberships")
                                    for outcome in ("created", "updated", "unchanged")})
    seen_clients: dict[str, Client] = {}
    not_briefed = 0
    for row in rows:
        client = seen_clients.get(row.code)
        if client is None:
            client = s.scalars(select(Client).where(Client.organisation_id == org.id,
                                                    Client.code == row.code)).one_or_none()
            if client is None:
                client = Client(organisation_id=org.id, code=row.code, display_name=row.code, plain_language=False)
                _assign(client, row.client)
                s.add(client)
                counts["clients_created"] += 1
            else:
                counts["clients_updated" if _assign(client, row.client) else "clients_unchanged"] += 1
            s.flush()
            seen_clients[row.code] = client
        if row.period is None:
            continue
        p = row.period
        period = s.scalars(select(Period).where(Period.client_id == client.id,
                                                Period.start_date == p.start)).one_or_none()
        values: dict[str, Any] = {"end_date": p.end, "weekdays": p.weekdays, "service_model": p.service_model}
        if p.hours_per_day is not None:
            values["hours_per_day"] = p.hours_per_day
        # Empty briefing cells never erase a recorded briefing: consent, once recorded, stays.
        for name in ("briefing_recorded_at", "briefing_recorded_by_id", "responsible_worker_id"):
            if getattr(p, name) is not None:
                values[name] = getattr(p, name)
        if period is None:
            period = Period(client_id=client.id, start_date=p.start, hours_per_day=rules.min_hours_per_day)
            _assign(period, values)
            s.add(period)
            counts["periods_created"] += 1
        else:
            counts["periods_updated" if _assign(period, values) else "periods_unchanged"] += 1
        s.flush()
        if period.briefing_recorded_at is None:
            not_briefed += 1
        if p.group_id is None:
            continue
        # One membership per client and period start: moving a client to another group moves it.
        membership = s.scalars(select(Membership).join(PeerGroup).where(
            Membership.client_id == client.id, Membership.start_date == p.start,
            PeerGroup.organisation_id == org.id)).first()
        if membership is None:
            s.add(Membership(group_id=p.group_id, client_id=client.id, start_date=p.start, end_date=p.end))
            counts["memberships_created"] += 1
        else:
            changed = _assign(membership, {"group_id": p.group_id, "end_date": p.end})
            counts["memberships_updated" if changed else "memberships_unchanged"] += 1
        s.flush()
    return counts, not_briefed


# --- the whole import --------------------------------------------------------------------------

def resolve_organisation(s: Session, org_key: str | None) -> tuple[Organisation | None, str | None]:
    if org_key is not None:
        org = s.scalars(select(Organisation).where(Organisation.key == org_key)).one_or_none()
        if org is None:
            return None, (f"no organisation '{org_key}' in the database; "
                          "add it to the config and run `integrator config apply`")
        return org, None
    orgs = list(s.scalars(select(Organisation).order_by(Organisation.key)))
    if len(orgs) == 1:
        return orgs[0], None
    if not orgs:
        return None, "no organisations in the database; run `integrator config apply` first"
    return None, f"give --org: the database has several organisations ({', '.join(o.key for o in orgs)})"


def import_clients(store: Store, raw: bytes, *, org_key: str | None = None, settings: Settings | None = None,
                   dry_run: bool = False, today: date | None = None) -> ImportResult:
    """Check every row, then write all of them in one transaction (or nothing).

    Raises LookupError when the organisation cannot be chosen.
    """
    settings = settings or Settings()
    result = ImportResult()
    _, cells, result.problems = read_rows(raw)
    with store.sessions() as s:
        org, why = resolve_organisation(s, org_key)
        if org is None:
            raise LookupError(why)
        if result.problems:
            return result
        rules = settings.rules_for(org.key) if any(o.key == org.key for o in settings.organisations) \
            else settings.rules
        ctx = _Context(
            org=org, rules=rules,
            groups={g.key: g for g in s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id))},
            staff={email.lower(): sid for sid, email in s.execute(
                select(StaffUser.id, StaffUser.email).where(StaffUser.active.is_(True)))},
            today=today or datetime.now(LOCAL).date())
        rows: list[Row] = []
        for line, row_cells in cells:
            row, problems = _check_row(line, row_cells, ctx)
            result.problems.extend(problems)
            if row is not None:
                rows.append(row)
        if not result.problems:
            result.problems.extend(_cross_check(rows, s, org))
        if result.problems:
            result.problems.sort(key=lambda p: p.line)
            return result
        try:
            counts, result.not_briefed = _write(s, org, rules, rows)
            result.counts = dict(counts)
            if dry_run:
                s.rollback()
            else:
                s.commit()
                result.written = True
        except BaseException:
            s.rollback()
            raise
    return result


@click.group("import")
def import_cmd() -> None:
    """Import data from files."""


@import_cmd.command("clients")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--org", "org_key", default=None, help="Organisation key; optional when there is only one.")
@click.option("--dry-run", is_flag=True, help="Check and count the changes, write nothing.")
@click.option("--config", "config_file", default=None, type=click.Path(path_type=Path),
              help="Config file for the rules (default: $INTEGRATOR_CONFIG, else config/integrator.yaml "
                   "if present, else the legal defaults).")
@click.option("--database-url", default=None,
              help="SQLAlchemy URL; default INTEGRATOR_DATABASE_URL, then the config's database_url.")
def clients_cmd(file: Path, org_key: str | None, dry_run: bool, config_file: Path | None,
                database_url: str | None) -> None:
    """Create or update clients, their periods and group memberships from a CSV FILE.

    Every row is checked first; if any is bad, all problems are listed and nothing is
    written (exit status 2). Importing the same file again changes nothing.
    """
    settings = Settings()
    path = config_path(config_file)
    if config_file is not None or os.environ.get("INTEGRATOR_CONFIG") or path.exists():
        try:
            settings = load_settings(path, check_secrets=False)
        except ConfigError as e:
            for problem in e.problems:
                click.echo(problem.format(), err=True)
            raise SystemExit(EXIT_PROBLEMS) from None
    try:
        raw = file.read_bytes()
    except OSError as e:
        click.echo(f"{file}: cannot be read: {e.strerror}", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None
    store = Store(database_url or os.environ.get("INTEGRATOR_DATABASE_URL") or settings.database_url)
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
    finally:
        store.dispose()
    if result.problems:
        for row_problem in result.problems:
            click.echo(row_problem.format(str(file)), err=True)
        lines = len({p.line for p in result.problems})
        click.echo(f"{len(result.problems)} problem(s) on {lines} line(s); nothing was written.", err=True)
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
