"""The register grid of a group's page: one row per client, one cell per work day, each cell its
status and the evidence in short Finnish, the cell's history, the month's totals per client.

Everything comes from the register read model (`reports.register`): the statuses, the days a
client is expected on, the money. Nothing here counts days or euros itself.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from integrator.config import Rules
from integrator.domain import weeks
from integrator.domain.finnish import HELSINKI, fi_date, fi_decimal, fi_time
from integrator.domain.types import AttendanceStatus, WorkDayStatus
from integrator.reports.corrections import CorrectionEvent, events
from integrator.reports.register import STATUS_LABEL, Register, RegisterDay, build
from integrator.store.db import Store
from integrator.store.models import WorkDay
from integrator.web import access, readmodels, services
from integrator.web.auth import Principal

#: The page's status words (capitalised as the cell shows them).
STATUS_FI = {AttendanceStatus.PRESENT: "Läsnä", AttendanceStatus.ABSENT: "Poissa",
             AttendanceStatus.EXCUSED: "Poissa, hyväksytty syy", AttendanceStatus.PENDING: "Odottaa tietoja"}
REVERT = "revert"  # the select's value for "palauta laskettu"
NO_RATE_FI = ("Organisaation kulukorvauksen päivähintaa ei voitu lukea asetuksista, joten euroja ei näytetä. "
              "Pyydä ylläpitäjää korjaamaan asetukset.")


@dataclass
class Cell:
    work_day_id: int
    day: date
    kind: str  # a status value, "future", "not_evaluated", "not_expected", "cancelled", "none"
    label: str
    evidence: str = ""
    decision: str | None = None  # "korjattu: Sairas (laskettu: Poissa)"
    attendance_day_id: int | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)  # empty: not editable
    history: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Row:
    client_id: int
    code: str
    name: str
    cells: list[Cell]
    days: int | None = None  # the month's compensation days
    euros: str | None = None  # the month's amount, Finnish format; None: the rate is not known
    percent: int | None = None


@dataclass
class Grid:
    group: dict[str, Any]
    first: date
    last: date
    month: str  # the month whose totals the rows carry, "2026-11"
    work_days: list[dict[str, Any]]
    rows: list[Row]
    money_error: str | None  # why the euros are not shown


def returned_text(ret: dict[str, Any]) -> str:
    """'palautus ti 14.05' (Helsinki time), 'palautus ti 14.05 myöhässä'."""
    try:
        at = datetime.fromisoformat(str(ret.get("at"))).astimezone(HELSINKI)
    except ValueError:
        return "palautus"
    return f"palautus {weeks.weekday_fi(at.date())} {fi_time(at)}" + (" myöhässä" if ret.get("late") else "")


def evidence_text(d: RegisterDay) -> str:
    """The day's evidence in a few Finnish words: 'kokouksessa 42/30 min, palautus ti 14.05'."""
    ev = d.evidence or {}
    parts: list[str] = []
    if d.needs_decision:
        parts.append("odottaa päätöstä")
    meeting: dict[str, Any] = ev["meeting"] if isinstance(ev.get("meeting"), dict) else {}
    rules: dict[str, Any] = ev["rules"] if isinstance(ev.get("rules"), dict) else {}
    limit = rules.get("attendance_min_minutes")
    minutes = meeting.get("minutes") if isinstance(meeting.get("minutes"), int) else d.minutes
    if meeting.get("report_available") or minutes:
        parts.append(f"kokouksessa {minutes}/{limit} min" if limit is not None else f"kokouksessa {minutes} min")
    elif d.status is AttendanceStatus.PENDING:
        parts.append("raportti tulossa")
    returns = [r for r in ev.get("returns") or [] if isinstance(r, dict)]
    on_time = [r for r in returns if not r.get("late")]
    if returns:
        parts.append(returned_text((on_time or returns)[0]))
    if not d.expected:
        parts.append("ei enää odotettu päivä")
    return ", ".join(parts)


def _choices(d: RegisterDay | None, future: bool) -> list[tuple[str, str]]:
    """The decisions a coordinator may choose for the day ("ei muutosta" is the form's own first)."""
    if d is None or (future and not d.expected):
        return []
    out = [(AttendanceStatus.PRESENT.value, "Läsnä")]
    if not future:  # nobody is absent before the day (jobs.attendance.corrections)
        out.append((AttendanceStatus.ABSENT.value, "Poissa"))
    out.append((AttendanceStatus.EXCUSED.value, "Poissa, hyväksytty syy"))
    if d.overridden:
        computed = STATUS_FI.get(d.computed, "ei arvioitu") if d.computed else "ei arvioitu"
        out.append((REVERT, f"Palauta laskettu ({computed})"))
    return out


def _history_line(e: CorrectionEvent) -> dict[str, str]:
    at = e.at.astimezone(HELSINKI)
    return {"at": f"{fi_date(at.date())} klo {fi_time(at)}", "when": e.at.isoformat(), "who": e.staff_name or e.actor,
            "from": STATUS_LABEL[e.before] if e.before else "ei arvioitu",
            "to": STATUS_LABEL[e.after] if e.after else "ei arvioitu",
            "reason": e.reason, "action": "palautettu laskettuun" if e.reverted else "päätös"}


def _cell(wd: WorkDay, d: RegisterDay | None, today: date, history: list[dict[str, str]]) -> Cell:
    future = wd.day > today
    if wd.status is not WorkDayStatus.PLANNED:
        return Cell(wd.id, wd.day, "cancelled", "Peruttu", wd.cancelled_reason or "", history=history)
    if d is None:
        return Cell(wd.id, wd.day, "none", "–", history=history)
    cell = Cell(wd.id, wd.day, "", "", evidence_text(d), attendance_day_id=d.attendance_day_id,
                choices=_choices(d, future), history=history)
    if d.status is None:
        cell.kind, cell.label = ("future", "Tulossa") if future else ("not_evaluated", "Ei vielä arvioitu")
    elif not d.counts:
        cell.kind, cell.label = "not_expected", "Ei odotettu"
    else:
        cell.kind, cell.label = d.status.value, STATUS_FI[d.status]
    if d.overridden:
        computed = STATUS_FI.get(d.computed, "ei arvioitu") if d.computed else "ei arvioitu"
        cell.decision = f"korjattu: {d.override_reason} (laskettu: {computed})"
    return cell


def _rules(org_key: str) -> tuple[Rules, str | None]:
    """The organisation's rules; without them the statuses still show, the euros do not."""
    try:
        return services.register_rules(org_key), None
    except services.RulesUnavailable:
        return Rules(), NO_RATE_FI


def month_bounds(day: date) -> tuple[date, date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def build_grid(store: Store, p: Principal, group_id: int, first: date, last: date, today: date) -> Grid:
    """The grid of the group's work days in [first, last] for the clients the principal sees,
    with the totals of the month `first` is in (a week view shows that month's totals).
    404 for a group the principal may not see."""
    month_first, month_last = month_bounds(first)
    with store.session() as s:
        group = access.group_or_404(s, p, group_id)
        org_id, org_key, group_key = group.organisation_id, group.organisation.key, group.key
        group_dict = readmodels.group_json(group)
        wds = list(s.scalars(select(WorkDay).where(WorkDay.group_id == group.id, WorkDay.day >= first,
                                                   WorkDay.day <= last).order_by(WorkDay.day)))
        members = readmodels.active_members(s, p, group, first, last)
        found = events(s, org_id, first, last, group_key=group_key)
        work_days = [readmodels.work_day_json(w) for w in wds]
    rules, money_error = _rules(org_key)
    shown = build(store, org_key, first, last, f"{first}..{last}", rules=rules, group_key=group_key, today=today)
    month: Register = shown if (first, last) == (month_first, month_last) else build(
        store, org_key, month_first, month_last, month_first.strftime("%Y-%m"), rules=rules, group_key=group_key,
        today=today)
    days = {(r.client_id, d.work_day_id): d for r in shown.rows for d in r.days}
    totals = {r.client_id: r for r in month.rows}
    history: dict[tuple[str, date], list[dict[str, str]]] = defaultdict(list)
    for e in found:
        history[(e.client_code, e.day)].append(_history_line(e))
    rows = []
    for c in sorted(members, key=lambda c: c.code):
        row = Row(c.id, c.code, c.display_name,
                  [_cell(w, days.get((c.id, w.id)), today, history.get((c.code, w.day), [])) for w in wds])
        total = totals.get(c.id)
        if total is not None:
            row.days, row.percent = total.compensation_days, total.attendance_percent
            row.euros = None if money_error else fi_decimal(total.amount)
        rows.append(row)
    return Grid(group_dict, first, last, month_first.strftime("%Y-%m"), work_days, rows,
                money_error)
