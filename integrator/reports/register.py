"""The attendance register (läsnäolorekisteri): per client the work days, each day's status,
days attended, compensation days and amount. Built from the store only.

A row per client; a client in two groups (e.g. a hybrid period) has one row with both groups'
days, so that the compensation is counted once per person.

Money is counted per calendar date, not per work day: a client with two work days on one date
(moved to another group that day, or two groups meeting the same day) has one status that date,
the best of the two (present > excused > pending > not evaluated > absent), is paid for it at
most once, and the date carries a note saying so.

Only expected days count (the client a member of the group that day, inside a briefed period,
on one of the period's weekdays; see `jobs.attendance.expected_pairs`). A stored row for a day
that is no longer expected (the period was shortened, the weekdays or the membership changed,
and the sync has not withdrawn it yet) counts only if a coordinator decided it; otherwise it is
shown as not expected (*ei odotettu*), with a note, and is never paid.

The rate: every register is built with the organisation's rules given explicitly (no default:
a silent 9 € for an organisation that pays another amount would be wrong without anyone
noticing). A day is priced at the rate recorded in its evidence when it was evaluated
(`evidence["rules"]["daily_compensation_eur"]`, see `jobs.attendance.rules_snapshot`), so that a
past month is reported at the rate then in force; a day without a recorded rate (evaluated
before rates were recorded, or not evaluated) is priced at the configured rate, which is also
the rate the file's heading names. A row paid at another rate says so in its notes.
"""

from __future__ import annotations

import calendar
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from integrator.config import Rules
from integrator.domain.attendance import compensation_amount, compensation_days, daily_rate
from integrator.domain.types import AttendanceStatus, WorkDayStatus
from integrator.domain.weeks import week_monday
from integrator.reports.expected import expected_pairs
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, Client, Organisation, PeerGroup, StaffUser, WorkDay

#: Finnish labels for the coordinator (UI text is Finnish).
STATUS_LABEL = {
    AttendanceStatus.PRESENT: "läsnä",
    AttendanceStatus.ABSENT: "poissa",
    AttendanceStatus.PENDING: "odottaa",
    AttendanceStatus.EXCUSED: "perusteltu poissaolo",
}
NOT_EVALUATED = "-"  # a work day not evaluated yet (in the future, or its meeting has not ended)
NOT_EXPECTED = "not_expected"  # a stored day the client is no longer expected on (not counted)
NOT_EXPECTED_LABEL = "ei odotettu"
#: The best status wins when one date has two work days (lower rank is better).
_RANK: dict[AttendanceStatus | None, int] = {
    AttendanceStatus.PRESENT: 0, AttendanceStatus.EXCUSED: 1, AttendanceStatus.PENDING: 2, None: 3,
    AttendanceStatus.ABSENT: 4,
}


def _fi(d: date) -> str:
    return f"{d.day}.{d.month}."


@dataclass(frozen=True)
class RegisterDay:
    day: date
    group: str
    work_day_id: int
    attendance_day_id: int | None
    status: AttendanceStatus | None  # effective; None: not evaluated yet
    computed: AttendanceStatus | None
    overridden: bool
    override_reason: str | None
    override_by: str | None
    minutes: int
    expected: bool = True  # False: a stored row for a day that is no longer expected
    rate: Decimal | None = None  # the rate recorded when the day was evaluated, if any
    # Still pending when its re-evaluation window closed (the meeting report never came): the
    # coordinator decides it; their decision (an override) resolves it.
    needs_decision: bool = False
    #: The evidence the day was evaluated on (minutes, limit, returns; see jobs.attendance.evaluate),
    #: for the register page's short explanation; never compared or hashed.
    evidence: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return STATUS_LABEL[self.status] if self.status is not None else NOT_EVALUATED

    @property
    def counts(self) -> bool:
        """An expected day, or one a coordinator decided (their decision stands)."""
        return self.expected or self.overridden


@dataclass
class RegisterRow:
    client_id: int
    client_code: str
    groups: list[str]
    days: list[RegisterDay]
    rate: Decimal

    def days_on(self, day: date) -> list[RegisterDay]:
        return [d for d in self.days if d.day == day]

    @property
    def dates(self) -> list[date]:
        return sorted({d.day for d in self.days})

    def count(self, status: AttendanceStatus) -> int:
        """Dates (not work days) whose status is `status`."""
        return sum(1 for day in self.dates if self.status_on(day) is status)

    @property
    def attended(self) -> int:
        return self.count(AttendanceStatus.PRESENT)

    @property
    def attendance_percent(self) -> int | None:
        """Present dates of the decided ones (present, absent, excused), rounded; None before any
        is decided. Pending and not yet evaluated dates are left out: they are not known yet."""
        decided = sum(self.count(st) for st in (AttendanceStatus.PRESENT, AttendanceStatus.ABSENT,
                                                AttendanceStatus.EXCUSED))
        return round(100 * self.attended / decided) if decided else None

    @property
    def compensation_days(self) -> int:
        """Distinct dates with an effective PRESENT status: one date is paid once."""
        return compensation_days(st for day in self.dates
                                 if isinstance(st := self.status_on(day), AttendanceStatus))

    def _deciding_day(self, day: date) -> RegisterDay | None:
        """The counting work day whose status is the date's (the first, by group, on a tie)."""
        counting = [d for d in self.days_on(day) if d.counts]
        return min(counting, key=lambda d: _RANK[d.status]) if counting else None

    @property
    def paid_days_by_rate(self) -> dict[Decimal, int]:
        """{rate: compensation days paid at it}; a day's recorded rate, else the configured one."""
        by_rate: Counter[Decimal] = Counter()
        for day in self.dates:
            d = self._deciding_day(day)
            if d is not None and d.status is AttendanceStatus.PRESENT:
                by_rate[d.rate if d.rate is not None else self.rate] += 1
        return dict(by_rate)

    @property
    def amount(self) -> Decimal:
        return sum((compensation_amount(n, r) for r, n in sorted(self.paid_days_by_rate.items())),
                   compensation_amount(0, self.rate))

    def status_on(self, day: date) -> AttendanceStatus | None | str:
        """The date's status, the best of its counting work days (None: not evaluated yet);
        NOT_EXPECTED when the date has only days no longer expected; "" when the date is not
        one of this client's work days."""
        found = self.days_on(day)
        if not found:
            return ""
        counting = [d for d in found if d.counts]
        if not counting:
            return NOT_EXPECTED
        return min((d.status for d in counting), key=lambda st: _RANK[st])


    @property
    def notes(self) -> list[str]:
        """Finnish notes for the coordinator, one per date or day that needs explaining."""
        out: list[str] = []
        for day in self.dates:
            found = self.days_on(day)
            counting = [d for d in found if d.counts]
            if len(counting) > 1:
                out.append(f"{_fi(day)}: kaksi toimintapäivää samana päivänä "
                           f"({', '.join(d.group for d in counting)}), korvaus enintään kerran")
            deciding = self._deciding_day(day)
            if (deciding is not None and deciding.status is AttendanceStatus.PRESENT
                    and deciding.rate is not None and deciding.rate != self.rate):
                out.append(f"{_fi(day)}: korvaus {deciding.rate:.2f} € (arvioitaessa voimassa ollut päivähinta)")
            for d in found:
                if d.needs_decision and d.counts:
                    out.append(f"{_fi(day)} ({d.group}): kokousraportti puuttuu edelleen, päätä päivä itse")
                if d.expected:
                    continue
                if d.overridden:
                    out.append(f"{_fi(day)} ({d.group}): ei enää odotettu toimintapäivä, "
                               f"ohjaajan päätös ({d.label}) on voimassa")
                else:
                    out.append(f"{_fi(day)} ({d.group}): ei enää odotettu toimintapäivä, "
                               f"laskettua tilaa ({d.label}) ei huomioida")
        return out


@dataclass
class Register:
    organisation_key: str
    organisation_name: str
    title: str  # e.g. "2026-11" or "2026-W48"
    start: date
    end: date
    group_key: str | None
    rate: Decimal
    rows: list[RegisterRow] = field(default_factory=list)

    @property
    def dates(self) -> list[date]:
        return sorted({d.day for r in self.rows for d in r.days})

    @property
    def total_compensation_days(self) -> int:
        return sum(r.compensation_days for r in self.rows)

    @property
    def total_amount(self) -> Decimal:
        return sum((r.amount for r in self.rows), Decimal("0.00"))

    def table(self) -> dict[str, dict[date, str]]:
        """{client code: {day: status value}} - the compact shape tests and the UI compare."""
        return {r.client_code: {day: _value(r.status_on(day)) for day in r.dates} for r in self.rows}


def _value(st: AttendanceStatus | None | str) -> str:
    """A date's status as the machine-readable text of the CSV and `Register.table`."""
    if isinstance(st, AttendanceStatus):
        return st.value
    return NOT_EVALUATED if st is None else st


def _org(store: Store, org: str | int) -> Organisation:
    with store.session() as s:
        found = s.get(Organisation, org) if isinstance(org, int) else s.scalar(
            select(Organisation).where(Organisation.key == org))
        if found is None:
            raise LookupError(f"no organisation {org!r} in the store")
        return found


def _recorded_rate(evidence: dict[str, Any] | None) -> Decimal | None:
    """The daily rate a day was evaluated with, when its evidence recorded a sane one."""
    snap = (evidence or {}).get("rules")
    value = snap.get("daily_compensation_eur") if isinstance(snap, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return Decimal(repr(float(value)))


def build(store: Store, org: str | int, start: date, end: date, title: str, *, rules: Rules,
          group_key: str | None = None, today: date | None = None) -> Register:
    """The register of [start, end]. `rules` is required: see the module docstring (the rate)."""
    if not isinstance(rules, Rules):
        raise TypeError("a register needs the organisation's rules (its daily compensation rate); none given")
    organisation = _org(store, org)
    rate = daily_rate(rules)
    reg = Register(organisation.key, organisation.name, title, start, end, group_key, rate)
    with store.session() as s:
        q = (select(WorkDay, PeerGroup.key).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
             .where(PeerGroup.organisation_id == organisation.id, WorkDay.day >= start, WorkDay.day <= end,
                    WorkDay.status == WorkDayStatus.PLANNED))
        if group_key is not None:
            q = q.where(PeerGroup.key == group_key)
        found = s.execute(q.order_by(WorkDay.day, PeerGroup.key)).all()
        work_days = [w for w, _ in found]
        group_of = {w.id: g for w, g in found}
        by_id = {w.id: w for w in work_days}
        expected = {(p.client_id, p.work_day_id) for p in expected_pairs(s, work_days)}
        rows = {(a.client_id, a.work_day_id): a for a in s.scalars(
            select(AttendanceDay).where(AttendanceDay.work_day_id.in_(list(by_id)))).all()}
        # A stored day no longer expected is listed (the coordinator sees it) but counts only
        # with a coordinator's decision: see RegisterDay.counts.
        pairs = expected | set(rows)
        clients = {c.id: c.code for c in s.scalars(
            select(Client).where(Client.id.in_({c for c, _ in pairs}))).all()}
        staff = dict(s.execute(select(StaffUser.id, StaffUser.display_name)).all())
    per_client: dict[int, list[RegisterDay]] = defaultdict(list)
    for client_id, wd_id in pairs:
        w = by_id[wd_id]
        a = rows.get((client_id, wd_id))
        per_client[client_id].append(RegisterDay(
            day=w.day, group=group_of[wd_id], work_day_id=wd_id, attendance_day_id=a.id if a else None,
            status=a.status if a else None, computed=a.computed_status if a else None,
            overridden=bool(a and a.override_status), override_reason=a.override_reason if a else None,
            override_by=staff.get(a.override_by_id) if a and a.override_by_id else None,
            minutes=a.minutes if a else 0, expected=(client_id, wd_id) in expected,
            rate=_recorded_rate(a.evidence) if a else None,
            needs_decision=bool(a and a.override_status is None and (a.evidence or {}).get("needs_decision") is True),
            evidence=dict(a.evidence or {}) if a else {}))
    for client_id, days in per_client.items():
        days.sort(key=lambda d: (d.day, d.group))
        reg.rows.append(RegisterRow(client_id, clients[client_id], sorted({d.group for d in days}), days, rate))
    reg.rows.sort(key=lambda r: r.client_code)
    return reg


def build_month(store: Store, org: str | int, month: str | date, *, rules: Rules, group_key: str | None = None,
                today: date | None = None) -> Register:
    first = month.replace(day=1) if isinstance(month, date) else _parse_month(month)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return build(store, org, first, last, first.strftime("%Y-%m"), group_key=group_key, rules=rules, today=today)


def build_week(store: Store, org: str | int, week: str, *, rules: Rules, group_key: str | None = None,
               today: date | None = None) -> Register:
    monday = week_monday(week)
    return build(store, org, monday, monday + timedelta(days=6), week, group_key=group_key, rules=rules,
                 today=today)


def _parse_month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError as err:
        raise ValueError(f"expected a month like 2026-11, got {text!r}") from err
