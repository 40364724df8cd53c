"""The audit log for admins ("Tapahtumaloki"): who did what, when, to which record, filtered and
paged, and exported as the one Finnish CSV.

Who sees what. An organisation's admin sees the events of their organisation; an admin of every
organisation (no organisation of their own, `access`) sees all of them and may filter by one, or
by the events that belong to none (this page's own exports of everything). Coordinators get 403.

Paging is by keyset (the event's time and id, newest first): a page is the same 50 rows however many events
arrive meanwhile, and a deep page costs what the first does. What a row says passes
`audit_text.redact_details` first, on the page and in the file alike: client data by code only.
An export is itself an event (`audit.exported`: who, and which filter).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from integrator.domain.finnish import HELSINKI, fi_date, parse_date
from integrator.reports.finnish_csv import finnish_csv
from integrator.store.models import AuditEvent, Client, Organisation, StaffUser
from integrator.web import access, context
from integrator.web.audit_text import (
    ACTION_FI,
    Staff,
    action_label,
    actor_label,
    client_codes,
    client_name_parts,
    entity_label,
    redact_details,
    summary,
)
from integrator.web.auth import Principal, current_principal
from integrator.web.context import get_store
from integrator.web.validation import parse_id

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50
EXPORT_MAX = 50_000  # a bigger file is a filter mistake; Excel itself stops at about a million rows
EXPORTED = "audit.exported"
NO_ORGANISATION = "none"
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_ACTION = re.compile(r"[a-z_]{1,40}\.[a-z_]{1,39}")
CSV_HEADER = ("Aika", "Organisaatio", "Tekijä", "Tapahtuma", "Tapahtuman tunnus", "Kohde", "Tiedot")


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    organisation_id: int | None = None
    without_organisation: bool = False  # the events of no organisation (system-wide admins only)
    first: date | None = None
    last: date | None = None

    def args(self) -> dict[str, str]:
        """The filter as the form's query arguments (Finnish dates, as the admin typed them)."""
        org = NO_ORGANISATION if self.without_organisation else (str(self.organisation_id)
                                                                  if self.organisation_id else "")
        out = {"actor": self.actor or "", "action": self.action or "", "organisation": org,
               "from": fi_date(self.first) if self.first else "", "to": fi_date(self.last) if self.last else ""}
        return {k: v for k, v in out.items() if v}

    def audit(self, orgs: Mapping[int, Organisation]) -> dict[str, Any]:
        org = orgs.get(self.organisation_id) if self.organisation_id else None
        return {"actor": self.actor, "action": self.action,
                "organisation": NO_ORGANISATION if self.without_organisation else (org.key if org else None),
                "from": self.first.isoformat() if self.first else None,
                "to": self.last.isoformat() if self.last else None}


def parse_filter(args: Mapping[str, str], p: Principal, orgs: Mapping[int, Organisation]
                 ) -> tuple[AuditFilter, list[str]]:
    """The filter of the query string, and a Finnish message naming each field that is wrong."""
    errors: list[str] = []
    actor = (args.get("actor") or "").strip() or None
    if actor is not None and len(actor) > 200:
        errors.append("Tekijä: valitse tekijä listasta (enintään 200 merkkiä).")
        actor = None
    action = (args.get("action") or "").strip() or None
    if action is not None and not _ACTION.fullmatch(action):
        errors.append("Tapahtuma: valitse tapahtuma listasta.")
        action = None
    org_id, without = None, False
    org_text = (args.get("organisation") or "").strip()
    if org_text:
        if p.organisation_id is not None and org_text == str(p.organisation_id):
            org_id = p.organisation_id
        elif p.organisation_id is None and org_text == NO_ORGANISATION:
            without = True
        elif p.organisation_id is None and (parse_id(org_text) or 0) in orgs:
            org_id = parse_id(org_text)
        else:
            errors.append("Organisaatio: valitse organisaatio listasta.")
    first = _day(args.get("from"), "Alkaen", errors)
    last = _day(args.get("to"), "Päättyen", errors)
    if first and last and last < first:
        errors.append(f"Päättyen: päivä ei voi olla ennen alkamispäivää {fi_date(first)}.")
    return AuditFilter(actor, action, org_id, without, first, last), errors


def _day(text: str | None, field: str, errors: list[str]) -> date | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        day = parse_date(value)
    except ValueError:
        errors.append(f"{field}: päivämäärä ”{value[:40]}” ei kelpaa; kirjoita muodossa 8.12.2026 tai 2026-12-08.")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        errors.append(f"{field}: päivämäärän pitää olla vuosien {FIRST_DAY.year}–{LAST_DAY.year} välillä.")
        return None
    return day


def _midnight(day: date) -> datetime:
    """The start of a Helsinki day as an instant: the log's days are Finnish days."""
    return datetime.combine(day, time(0, 0), HELSINKI)


def conditions(p: Principal, f: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if p.organisation_id is not None:  # never another organisation's, nor the service's own events
        where.append(AuditEvent.organisation_id == p.organisation_id)
    if f.organisation_id is not None:
        where.append(AuditEvent.organisation_id == f.organisation_id)
    if f.without_organisation:
        where.append(AuditEvent.organisation_id.is_(None))
    if f.actor:
        where.append(AuditEvent.actor == f.actor)
    if f.action:
        where.append(AuditEvent.action == f.action)
    if f.first:
        where.append(AuditEvent.at >= _midnight(f.first))
    if f.last:
        where.append(AuditEvent.at < _midnight(f.last + timedelta(days=1)))
    return where


def _staff(s: Session, actors: set[str]) -> dict[int, Staff]:
    ids = {int(a[6:]) for a in actors if a.startswith("staff:") and a[6:].isdigit() and len(a) < 17}
    if not ids:
        return {}
    return {i: Staff(name, role) for i, name, role in s.execute(
        select(StaffUser.id, StaffUser.display_name, StaffUser.role).where(StaffUser.id.in_(ids)))}


def _client_names(s: Session, events: list[AuditEvent]) -> dict[tuple[int | None, str], list[str]]:
    """The names of the clients the events refer to by code, to take out of their free texts."""
    codes = set().union(*(client_codes(e.details or {}) for e in events)) if events else set()
    if not codes:
        return {}
    names: dict[tuple[int | None, str], list[str]] = {}
    for org_id, code, name in s.execute(select(Client.organisation_id, Client.code, Client.display_name)
                                        .where(Client.code.in_(codes))):
        names.setdefault((org_id, code), []).extend(client_name_parts(name))
        names.setdefault((None, code), []).extend(client_name_parts(name))
    return names


def rows_of(s: Session, events: list[AuditEvent], orgs: Mapping[int, Organisation]) -> list[dict[str, Any]]:
    staff = _staff(s, {e.actor for e in events})
    names = _client_names(s, events)
    out = []
    for e in events:
        details = e.details if isinstance(e.details, dict) else {"tiedot": e.details}
        code = next(iter(client_codes(details)), None)
        clean = redact_details(details, names.get((e.organisation_id, code), []) if code else [])
        org = orgs.get(e.organisation_id) if e.organisation_id else None
        out.append({"id": e.id, "at": e.at, "organisation": org.name if org else "–",
                    "who": actor_label(e.actor, staff), "what": action_label(e.action), "action": e.action,
                    "entity": entity_label(e.entity, e.entity_id), "summary": summary(clean)})
    return out


def _visible_orgs(s: Session, p: Principal) -> dict[int, Organisation]:
    return {o.id: o for o in s.scalars(access.organisations_query(p))}


def _options(s: Session, p: Principal) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The who and what choices: every actor of the admin's events; every audited action."""
    scope = conditions(p, AuditFilter())
    actors = set(s.scalars(select(AuditEvent.actor).where(*scope).distinct()))
    staff = _staff(s, actors)
    stored = set(s.scalars(select(AuditEvent.action).where(*scope).distinct()))
    who = sorted(((a, actor_label(a, staff)) for a in actors), key=lambda o: o[1].casefold())
    what = sorted(((a, action_label(a)) for a in set(ACTION_FI) | stored), key=lambda o: o[1].casefold())
    return who, what


def _cursor(name: str) -> int | None:
    value = request.args.get(name)
    if not value:
        return None
    cursor = parse_id(value)
    if cursor is None:
        abort(400, description=f"Sivu: {name} pitää olla tapahtuman numero.")
    return cursor


def _cursor_event(s: Session, where: list[ColumnElement[bool]], name: str) -> AuditEvent | None:
    cursor = _cursor(name)
    if cursor is None:
        return None
    event = s.scalar(select(AuditEvent).where(*where, AuditEvent.id == cursor))
    if event is None:  # not one of these events (another filter, another organisation's)
        abort(400, description=f"Sivu: tapahtumaa {cursor} ei ole näillä rajauksilla; aloita alusta.")
    return event


def _older(e: AuditEvent) -> ColumnElement[bool]:
    return or_(AuditEvent.at < e.at, and_(AuditEvent.at == e.at, AuditEvent.id < e.id))


def _newer(e: AuditEvent) -> ColumnElement[bool]:
    return or_(AuditEvent.at > e.at, and_(AuditEvent.at == e.at, AuditEvent.id > e.id))


NEWEST_FIRST = (AuditEvent.at.desc(), AuditEvent.id.desc())


def _page(s: Session, where: list[ColumnElement[bool]]) -> tuple[list[AuditEvent], bool, bool]:
    """A page of events, newest first (by time, then id), and whether there are newer and older
    ones around it. The cursor is an event of the page before (`before`) or after (`after`)."""
    before, after = _cursor_event(s, where, "before"), _cursor_event(s, where, "after")
    q: Select[AuditEvent] = select(AuditEvent).where(*where)
    if after is not None:
        events = list(s.scalars(q.where(_newer(after)).order_by(AuditEvent.at, AuditEvent.id)
                                .limit(PAGE_SIZE)))[::-1]
    else:
        q = q.where(_older(before)) if before is not None else q
        events = list(s.scalars(q.order_by(*NEWEST_FIRST).limit(PAGE_SIZE)))
    if not events:
        return [], before is not None, after is not None

    def exists(cond: ColumnElement[bool]) -> bool:
        return s.scalar(select(AuditEvent.id).where(*where, cond).limit(1)) is not None

    return events, exists(_newer(events[0])), exists(_older(events[-1]))


@bp.get("/admin/audit")
def audit_page() -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    with get_store().session() as s:
        orgs = _visible_orgs(s, p)
        f, errors = parse_filter(request.args, p, orgs)
        who, what = _options(s, p)
        rows: list[dict[str, Any]] = []
        total, newer, older = 0, False, False
        if not errors:
            where = conditions(p, f)
            total = s.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
            events, newer, older = _page(s, where)
            rows = rows_of(s, events, orgs)
    return render_template(
        "audit.html", f=f, form=request.args, errors=errors, rows=rows, total=total, newer=newer, older=older,
        who=who, what=what, orgs=list(orgs.values()) if p.organisation_id is None else [],
        all_orgs=p.organisation_id is None, args=f.args()), 400 if errors else 200


@bp.get("/admin/audit.csv")
def audit_export() -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    store = get_store()
    with store.session() as s:
        orgs = _visible_orgs(s, p)
        f, errors = parse_filter(request.args, p, orgs)
        if errors:
            abort(400, description=" ".join(errors))
        events = list(s.scalars(select(AuditEvent).where(*conditions(p, f)).order_by(*NEWEST_FIRST)
                                .limit(EXPORT_MAX + 1)))
        if len(events) > EXPORT_MAX:
            abort(400, description=f"Rajaus: tiedostoon mahtuu enintään {EXPORT_MAX} tapahtumaa; "
                                   "rajaa aikaväliä tai tapahtumaa.")
        rows = rows_of(s, events, orgs)
        # The export is an event too, written after the read: the file never lists itself.
        s.add(AuditEvent(organisation_id=f.organisation_id or p.organisation_id, actor=p.actor, action=EXPORTED,
                         entity="audit_event", entity_id=None, details={"filter": f.audit(orgs), "rows": len(rows)}))
    text = finnish_csv([CSV_HEADER, *([r["at"], r["organisation"], r["who"], r["what"], r["action"], r["entity"],
                                       r["summary"]] for r in rows)])
    name = f"tapahtumaloki_{f.first.isoformat() if f.first else 'alusta'}_" \
           f"{(f.last or context.today()).isoformat()}.csv"
    return Response(text.encode("utf-8"), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
