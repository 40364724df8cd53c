"""Writing checked rows: clients, periods and memberships under their natural keys, all in one
transaction or nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from integrator.clients_import.lifecycle import LifecycleError, attended_after, move_membership
from integrator.clients_import.reading import CLIENT_FIELDS, LOCAL, RowProblem, read_rows
from integrator.clients_import.rows import PeriodRow, Row, RowContext, check_row, cross_check
from integrator.config import Rules, Settings
from integrator.domain.finnish import fi_date, fi_day
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, Membership, Organisation, PeerGroup, Period, StaffUser


@dataclass
class ImportResult:
    problems: list[RowProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    not_briefed: int = 0
    written: bool = False
    notices: list[str] = field(default_factory=list)  # how the file was read (e.g. its encoding)


_PERIOD_FIELDS = ("end_date", "weekdays", "service_model", "hours_per_day", "briefing_recorded_at",
                  "briefing_recorded_by_id", "responsible_worker_id", "planned_end_date")


class _RowRefused(Exception):
    """A row the store cannot take (a move it cannot make, an end over paid days); the import writes nothing."""

    def __init__(self, problem: RowProblem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


def _changes(stored: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if stored[name] != value}


def _count(counts: Counter[str], kind: str, created: bool, changed: bool) -> None:
    counts[f"{kind}_{'created' if created else 'updated' if changed else 'unchanged'}"] += 1


def _write(s: Session, org: Organisation, rules: Rules, rows: list[Row], today: date) -> tuple[Counter[str], int]:
    """Clients, then periods, then memberships: each kind read in one query, then written in bulk.

    The ORM's unit of work, one query and one flush per row, made a 10,000-row file take half a
    minute. Here each kind is read once for the whole organisation (at most some thousands of
    rows; cheaper than IN lists of the file's codes, which cost PostgreSQL a round trip per
    chunk) and written with bulk INSERT and UPDATE by primary key, so the statements do not grow
    with the file (scripts/bench/import_clients.py measures the rows per second).
    """
    counts: Counter[str] = Counter({f"{kind}_{outcome}": 0 for kind in ("clients", "periods", "memberships")
                                    for outcome in ("created", "updated", "unchanged")})
    first_rows: dict[str, Row] = {}
    for row in rows:
        first_rows.setdefault(row.code, row)
    stored_clients: dict[str, tuple[int, dict[str, Any]]] = {}
    for r in s.execute(select(Client.id, Client.code, *(getattr(Client, n) for n in CLIENT_FIELDS))
                       .where(Client.organisation_id == org.id)):
        stored_clients[r[1]] = (r[0], dict(zip(CLIENT_FIELDS, r[2:], strict=True)))
    new_clients: list[dict[str, Any]] = []
    changed_clients: list[dict[str, Any]] = []
    for code, row in first_rows.items():
        if code in stored_clients:
            client_id, stored = stored_clients[code]
            change = _changes(stored, row.client)
            if change:
                changed_clients.append({"id": client_id, **change})
            _count(counts, "clients", False, bool(change))
        else:
            new_clients.append({**dict.fromkeys(CLIENT_FIELDS), "display_name": code, "plain_language": False,
                                **row.client, "organisation_id": org.id, "code": code})
            _count(counts, "clients", True, True)
    client_ids = {code: ids[0] for code, ids in stored_clients.items()}
    if new_clients:
        client_ids.update((code, cid) for cid, code in s.execute(
            insert(Client).returning(Client.id, Client.code), new_clients))
    if changed_clients:
        s.execute(update(Client), changed_clients)

    with_period = [(client_ids[row.code], row.period) for row in rows if row.period is not None]
    lines = {id(row.period): row.line for row in rows}
    stored_periods: dict[tuple[int, date], tuple[int, dict[str, Any]]] = {}
    chains: dict[int, list[tuple[date, int, dict[str, Any]]]] = {}
    if with_period:
        for r in s.execute(select(Period.id, Period.client_id, Period.start_date,
                                  *(getattr(Period, n) for n in _PERIOD_FIELDS))
                           .join(Client, Period.client_id == Client.id).where(Client.organisation_id == org.id)):
            stored_periods[(r[1], r[2])] = (r[0], dict(zip(_PERIOD_FIELDS, r[3:], strict=True)))
        # Each client's memberships by start. The last one of a period follows the period's end; a
        # group changes only from a date (group_from): the days before it keep the group they were
        # documented and paid under (rows.cross_check refuses a changed group without it).
        for r in s.execute(select(Membership.id, Membership.client_id, Membership.start_date, Membership.group_id,
                                  Membership.end_date).join(PeerGroup)
                           .where(PeerGroup.organisation_id == org.id).order_by(Membership.start_date, Membership.id)):
            chains.setdefault(r[1], []).append((r[2], r[0], {"group_id": r[3], "end_date": r[4]}))

    writes: dict[str, list[dict[str, Any]]] = {"new_periods": [], "periods": [], "new_memberships": [],
                                               "memberships": []}
    not_briefed = 0
    moves: list[tuple[int, PeriodRow]] = []
    for client_id, p in with_period:
        values: dict[str, Any] = {"end_date": p.end, "weekdays": p.weekdays, "service_model": p.service_model}
        if p.hours_per_day is not None:
            values["hours_per_day"] = p.hours_per_day
        # Empty briefing cells never erase a recorded briefing: consent, once recorded, stays.
        for name in ("briefing_recorded_at", "briefing_recorded_by_id", "responsible_worker_id"):
            if getattr(p, name) is not None:
                values[name] = getattr(p, name)
        key = (client_id, p.start)
        interrupted = key in stored_periods and stored_periods[key][1]["planned_end_date"] is not None
        if interrupted:
            del values["end_date"]  # an early end stays until it is undone (`integrator clients end --undo`)
        if p.group_from is not None and key in stored_periods:
            # A move keeps the old weekdays listed: the days before it were worked on them.
            values["weekdays"] = sorted(set(stored_periods[key][1]["weekdays"] or []) | set(p.weekdays))
        if key in stored_periods:
            period_id, stored = stored_periods[key]
            _refuse_end_before_paid_days(s, client_id, stored["end_date"], values.get("end_date"), lines[id(p)])
            change = _changes(stored, values)
            if change:
                writes["periods"].append({"id": period_id, **change})
            _count(counts, "periods", False, bool(change))
            briefed = values.get("briefing_recorded_at", stored["briefing_recorded_at"])
        else:
            writes["new_periods"].append({**dict.fromkeys(_PERIOD_FIELDS), "hours_per_day": rules.min_hours_per_day,
                                          **values, "client_id": client_id, "start_date": p.start})
            _count(counts, "periods", True, True)
            briefed = p.briefing_recorded_at
        if briefed is None:
            not_briefed += 1
        if p.group_id is None:
            continue
        if p.group_from is not None:
            moves.append((client_id, p))
            continue
        membership = {"group_id": p.group_id, "end_date": p.end}
        chain = [m for m in chains.get(client_id, []) if p.start <= m[0] <= p.end]
        if chain:
            _, membership_id, stored = chain[-1]
            if interrupted:
                membership["end_date"] = stored["end_date"]
            change = _changes(stored, membership)
            if change:
                writes["memberships"].append({"id": membership_id, **change})
            _count(counts, "memberships", False, bool(change))
        else:
            # The day it began in the product: no day before it is an absence (domain.participation).
            writes["new_memberships"].append({**membership, "client_id": client_id, "start_date": p.start,
                                              "recorded_on": today})
            _count(counts, "memberships", True, True)
    for name, model in (("new_periods", Period), ("new_memberships", Membership)):
        if writes[name]:
            s.execute(insert(model), writes[name])
    for name, model in (("periods", Period), ("memberships", Membership)):
        if writes[name]:
            s.execute(update(model), writes[name])
    for client_id, p in moves:
        _move(s, org, rules, client_id, p, today, lines[id(p)], counts)
    return counts, not_briefed


def _refuse_end_before_paid_days(s: Session, client_id: int, stored_end: date, new_end: date | None,
                                 line: int) -> None:
    """A file that shortens a period over an attended day is refused, as an early end is: the nightly
    re-evaluation would withdraw the day no longer expected, and a paid day would be lost without
    anyone deciding it. The day is corrected first (a coordinator's decision stays), or the end moved."""
    if new_end is None or new_end >= stored_end:
        return
    attended = attended_after(s, client_id, new_end)
    if attended is not None and attended <= stored_end:
        code = s.scalar(select(Client.code).where(Client.id == client_id))
        raise _RowRefused(RowProblem(
            line, "period_end", code, f"asiakas oli läsnä {fi_day(attended)} (maksettu päivä) uuden päättymispäivän "
                                      f"{fi_date(new_end)} jälkeen: jaksoa ei lyhennetä maksettujen päivien yli; "
                                      "korjaa päivä ensin läsnäolorekisterissä tai päätä jakso sen jälkeen",
            f"päättymispäivä aikaisintaan {fi_date(attended)}"))


def _move(s: Session, org: Organisation, rules: Rules, client_id: int, p: PeriodRow, today: date, line: int,
          counts: Counter[str]) -> None:
    """A row with group_from: the same move as `integrator clients move` (clients_import.lifecycle),
    audited; the course and folder follow at the next weekly setup or nightly sync."""
    assert p.group_from is not None and p.group_id is not None
    client, group = s.get(Client, client_id), s.get(PeerGroup, p.group_id)
    assert client is not None and group is not None
    s.expire(client)  # its periods were just written in bulk
    try:
        change = move_membership(s, client, group, p.group_from, today, rules)
    except LifecycleError as err:
        column = "group" if err.field == "to_group" else "group_from"
        raise _RowRefused(RowProblem(line, column, client.code, err.reason,
                                      "a day inside the period, in an active group")) from None
    last = max((m for m in client.memberships if p.start <= m.start_date <= p.end), key=lambda m: m.start_date)
    period = next(x for x in client.periods if x.start_date == p.start)
    if period.planned_end_date is None and last.end_date is not None and last.end_date != p.end:
        last.end_date = p.end  # the last membership of a period follows its end, as above
    # A split makes a new membership (the old one's end moves with it); a whole move updates one.
    _count(counts, "memberships", change.changed and change.new_membership_id != change.old_membership_id,
           change.changed)
    if change.changed:
        s.add(AuditEvent(organisation_id=org.id, actor="import", action="client.moved", entity="client",
                         entity_id=str(client.id), details=change.audit()))
    s.flush()


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
    _, cells, result.problems = read_rows(raw, result.notices)
    with store.sessions() as s:
        org, why = resolve_organisation(s, org_key)
        if org is None:
            raise LookupError(why)
        if result.problems:
            return result
        org_config = next((o for o in settings.organisations if o.key == org.key), None)
        rules = (org_config.rules if org_config is not None else None) or settings.rules
        declared = list(org_config.responsible_workers_from) if org_config is not None else []
        worker_orgs = {org.id: org.key}
        if declared:
            worker_orgs.update(s.execute(select(Organisation.id, Organisation.key)
                                         .where(Organisation.key.in_(declared))).all())
        ctx = RowContext(
            org=org, rules=rules,
            groups={g.key: g for g in s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id))},
            staff={email.lower(): (sid, org_id) for sid, email, org_id in s.execute(
                select(StaffUser.id, StaffUser.email, StaffUser.organisation_id).where(StaffUser.active.is_(True)))},
            today=today or datetime.now(LOCAL).date(), worker_orgs=worker_orgs,
            interrupted={(code, start): (end, planned) for code, start, end, planned in s.execute(
                select(Client.code, Period.start_date, Period.end_date, Period.planned_end_date)
                .join(Client, Period.client_id == Client.id)
                .where(Client.organisation_id == org.id, Period.planned_end_date.is_not(None))) if planned is not None})
        rows: list[Row] = []
        for line, row_cells in cells:
            row, problems = check_row(line, row_cells, ctx)
            result.problems.extend(problems)
            if row is not None:
                rows.append(row)
        if not result.problems:
            result.problems.extend(cross_check(rows, s, org))
        if result.problems:
            result.problems.sort(key=lambda p: p.line)
            return result
        try:
            counts, result.not_briefed = _write(s, org, rules, rows, ctx.today)
            result.counts = dict(counts)
            if dry_run:
                s.rollback()
            else:
                s.commit()
                result.written = True
        except _RowRefused as refused:
            s.rollback()
            result.problems = [refused.problem]
            result.counts = {}
        except BaseException:
            s.rollback()
            raise
    return result
