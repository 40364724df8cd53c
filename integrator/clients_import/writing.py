"""Writing checked rows: clients, periods and memberships under their natural keys, all in one
transaction or nothing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.clients_import.reading import LOCAL, RowProblem, read_rows
from integrator.clients_import.rows import Row, RowContext, check_row, cross_check
from integrator.config import Rules, Settings
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period, StaffUser


@dataclass
class ImportResult:
    problems: list[RowProblem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    not_briefed: int = 0
    written: bool = False


# --- reading ------------------------------------------------------------------------------------



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
        ctx = RowContext(
            org=org, rules=rules,
            groups={g.key: g for g in s.scalars(select(PeerGroup).where(PeerGroup.organisation_id == org.id))},
            staff={email.lower(): sid for sid, email in s.execute(
                select(StaffUser.id, StaffUser.email).where(StaffUser.active.is_(True)))},
            today=today or datetime.now(LOCAL).date())
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
