"""Moves from a date and early ends (keskeytys) in the store: the rules that the CSV import and
`integrator.jobs.clients` (which also follows them up in the tenants) share. No vendor calls here.

A move never rewrites the past: the membership of the day before the move ends that day and a
new one starts on the move's day, so every earlier day keeps the group it was documented and paid
under. An early end keeps the planned end (`Period.planned_end_date`) so that it can be undone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.finnish import fi_day
from integrator.domain.periods import END_REASONS, check_early_end
from integrator.domain.rules import PeriodRules
from integrator.domain.types import AttendanceStatus, WorkDayStatus
from integrator.domain.weeks import WEEKDAY_FI
from integrator.store.models import AttendanceDay, Client, Membership, PeerGroup, Period, WorkDay


class LifecycleError(ValueError):
    """A move or an early end that cannot be made; the words say which value and what was expected.

    `reason` is English (the client CSV's row problems are English, an admin reads them); `fi` says
    the same in Finnish for the coordinator (the page, the API's answer, `integrator clients`), and
    is what `str()` gives: "field: Finnish reason"."""

    def __init__(self, field_name: str, reason: str, fi: str | None = None) -> None:
        super().__init__(f"{field_name}: {fi or reason}")
        self.field = field_name
        self.reason = reason
        self.fi = fi or reason


def _days_fi(days: list[int] | None) -> str:
    return ", ".join(WEEKDAY_FI[d] for d in days or []) or "-"


@dataclass
class MoveChange:
    """What a move did (or would do) in the store. `changed` False: the client was already there."""

    code: str
    from_date: date
    to_group: str
    from_group: str | None = None
    old_membership_id: int | None = None
    old_end: date | None = None  # the old membership's end before the move
    new_membership_id: int | None = None
    weekdays_before: list[int] = field(default_factory=list)
    weekdays_after: list[int] = field(default_factory=list)
    changed: bool = False

    def audit(self) -> dict[str, Any]:
        return {"client": self.code, "from": self.from_group, "to": self.to_group,
                "from_date": self.from_date.isoformat(),
                "old_end": self.old_end.isoformat() if self.old_end else None,
                "weekdays": {"from": self.weekdays_before, "to": self.weekdays_after}}


def membership_on(s: Session, client_id: int, day: date) -> Membership | None:
    """The client's membership that covers `day` (the latest-starting one, if several do)."""
    found = [m for m in s.scalars(select(Membership).where(Membership.client_id == client_id))
             if m.start_date <= day and (m.end_date is None or day <= m.end_date)]
    return max(found, key=lambda m: (m.start_date, m.id)) if found else None


def period_on(client: Client, day: date) -> Period | None:
    """The client's period whose planned span covers `day` (an interrupted period's planned end counts)."""
    found = [p for p in client.periods if p.start_date <= day <= (p.planned_end_date or p.end_date)]
    return max(found, key=lambda p: p.start_date) if found else None


def attended_after(s: Session, client_id: int, after: date, group_id: int | None = None) -> date | None:
    """The client's last attended (computed PRESENT, no coordinator's decision) planned work day after
    `after`, in `group_id` only when given; None if there is none.

    A move or an early end from a date before such a day would make it no longer expected, and the
    nightly re-evaluation would withdraw it: a paid day lost without anyone deciding it. A day with a
    coordinator's decision stays as decided (the register counts it), so it does not stop the change."""
    q = (select(WorkDay.day).join(AttendanceDay, AttendanceDay.work_day_id == WorkDay.id)
         .where(AttendanceDay.client_id == client_id, AttendanceDay.override_status.is_(None),
                AttendanceDay.computed_status == AttendanceStatus.PRESENT, WorkDay.day > after,
                WorkDay.status == WorkDayStatus.PLANNED))
    if group_id is not None:
        q = q.where(WorkDay.group_id == group_id)
    return s.scalar(q.order_by(WorkDay.day.desc()).limit(1))


def move_membership(s: Session, client: Client, group: PeerGroup, from_date: date, today: date,
                    rules: PeriodRules | None = None) -> MoveChange:
    """Move `client` to `group` from `from_date`: the membership of that day ends the day before
    and a new one (recorded today) starts that day. Nothing before `from_date` changes.

    The period has one list of weekdays for all its days. When it lists none of the new group's
    days, those are added and the old ones stay: the days before the move were worked on the old
    days, and the membership already decides which group's work days count on each date.
    """
    change = MoveChange(client.code, from_date, group.key)
    if not group.active:
        raise LifecycleError("to_group", f"group '{group.key}' is no longer active",
                             f"ryhmä '{group.key}' ei ole enää käytössä")
    period = period_on(client, from_date)
    if period is None:
        raise LifecycleError("from", f"no period of client {client.code} covers {from_date.isoformat()}",
                             f"asiakkaalla {client.code} ei ole jaksoa, johon {fi_day(from_date)} kuuluu")
    if period.planned_end_date is not None and from_date > period.end_date:
        raise LifecycleError("from", f"the period was ended early on {period.end_date.isoformat()}; "
                                     "undo the early end first",
                             f"jakso on keskeytetty {fi_day(period.end_date)}: peru keskeytys ensin")
    current = membership_on(s, client.id, from_date)
    change.weekdays_before = change.weekdays_after = sorted(period.weekdays or [])
    if current is not None:
        change.from_group = s.get(PeerGroup, current.group_id).key  # type: ignore[union-attr]
        if current.group_id == group.id:
            return change  # already there: a re-run changes nothing
        attended = attended_after(s, client.id, from_date - timedelta(days=1), current.group_id)
        if attended is not None:
            raise LifecycleError("from", f"client {client.code} attended group '{change.from_group}' on "
                                         f"{attended.isoformat()} (a paid day): the move must start after it",
                                 f"asiakas {client.code} oli läsnä ryhmässä {change.from_group} "
                                 f"{fi_day(attended)} (maksettu päivä): siirron on alettava sen jälkeen; "
                                 "jos päivä on väärin, korjaa se ensin")
    if not set(period.weekdays or []) & set(group.weekdays or []):
        merged = sorted(set(period.weekdays or []) | set(group.weekdays or []))
        if rules is not None and len(merged) > rules.max_days_per_week:
            raise LifecycleError("to_group", f"the period's weekdays {period.weekdays} and the group's "
                                             f"{group.weekdays} together exceed {rules.max_days_per_week} days",
                                 f"jakson viikonpäivät ({_days_fi(period.weekdays)}) ja ryhmän "
                                 f"({_days_fi(group.weekdays)}) ovat yhdessä yli {rules.max_days_per_week} "
                                 "päivää viikossa")
        period.weekdays = merged
        change.weekdays_after = merged
    change.changed = True
    if current is None:
        new = Membership(group_id=group.id, client_id=client.id, start_date=from_date,
                         end_date=period.end_date, recorded_on=today)
    else:
        change.old_membership_id, change.old_end = current.id, current.end_date
        if current.start_date == from_date:
            # No day before the move is under this membership: it changes group as a whole.
            current.group_id = group.id
            current.recorded_on = today
            change.new_membership_id = current.id
            s.flush()
            return change
        current.end_date = from_date - timedelta(days=1)
        new = Membership(group_id=group.id, client_id=client.id, start_date=from_date,
                         end_date=change.old_end, recorded_on=today)
    s.add(new)
    s.flush()
    change.new_membership_id = new.id
    return change


@dataclass
class EndChange:
    """What an early end (or its undo) did in the store."""

    code: str
    period_id: int
    on: date | None
    reason: str | None
    planned_end: date
    memberships: list[dict[str, Any]] = field(default_factory=list)  # id and end before the change
    groups: list[str] = field(default_factory=list)  # groups the client was in after `on`
    changed: bool = False

    def audit(self) -> dict[str, Any]:
        return {"client": self.code, "on": self.on.isoformat() if self.on else None, "reason": self.reason,
                "planned_end": self.planned_end.isoformat(), "memberships": self.memberships,
                "groups": self.groups}


def end_period_early(s: Session, client: Client, on: date, reason: str, actor: str, now: datetime) -> EndChange:
    """End the client's period covering `on` with `on` as its last day (keskeytys).

    Whatever the planned length: the 3-24 month rule is for planned periods. The planned end is kept
    on the period; memberships that went on after `on` end on it too (their ends are returned, for
    the audit event and the undo).
    """
    if reason not in END_REASONS:
        raise LifecycleError("reason", f"'{reason}' is not a reason code; expected one of "
                                       f"{', '.join(END_REASONS)}",
                             f"'{reason}' ei ole keskeytyksen syy; valitse jokin näistä: "
                             + ", ".join(f"{fi} ({code})" for code, fi in END_REASONS.items()))
    period = period_on(client, on)
    if period is None:
        raise LifecycleError("on", f"no period of client {client.code} covers {on.isoformat()}",
                             f"asiakkaalla {client.code} ei ole jaksoa, johon {fi_day(on)} kuuluu")
    planned = period.planned_end_date or period.end_date
    why = check_early_end(period.start_date, planned, on)
    if why is not None:
        raise LifecycleError("on", why, f"jakso alkaa {fi_day(period.start_date)}: keskeytys ei voi olla sitä ennen"
                             if on < period.start_date else f"jakso päättyy jo {fi_day(planned)}: keskeytyksen "
                             "viimeisen päivän on oltava sitä ennen")
    change = EndChange(client.code, period.id, on, reason, planned)
    if period.planned_end_date is not None:
        if period.end_date == on and period.end_reason == reason:
            return change  # the same early end again: nothing changes, nothing is audited twice
        raise LifecycleError("on", f"the period was already ended early on {period.end_date.isoformat()} "
                                   f"({period.end_reason}); undo that first",
                             f"jakso on jo keskeytetty {fi_day(period.end_date)} (syy: "
                             f"{END_REASONS.get(period.end_reason or '', period.end_reason)}); peru se ensin")
    attended = attended_after(s, client.id, on)
    if attended is not None:
        raise LifecycleError("on", f"client {client.code} attended on {attended.isoformat()} (a paid day): "
                                   "the last day cannot be before it",
                             f"asiakas {client.code} oli läsnä {fi_day(attended)} (maksettu päivä): "
                             "keskeytyksen viimeinen päivä ei voi olla sitä ennen; jos päivä on väärin, "
                             "korjaa se ensin")
    for m in s.scalars(select(Membership).where(Membership.client_id == client.id)
                       .order_by(Membership.start_date)):
        if m.start_date <= on and (m.end_date is None or m.end_date > on):
            change.memberships.append({"id": m.id, "end": m.end_date.isoformat() if m.end_date else None})
            change.groups.append(s.get(PeerGroup, m.group_id).key)  # type: ignore[union-attr]
            m.end_date = on
    period.planned_end_date = planned
    period.end_date = on
    period.end_reason = reason
    period.ended_at = now
    period.ended_by = actor
    change.changed = True
    s.flush()
    return change


def undo_early_end(s: Session, client: Client, memberships: list[dict[str, Any]]) -> EndChange | None:
    """Give the client's interrupted period its planned end back, and the memberships their ends
    (`memberships`: the ids and ends the early end recorded). None when no period is interrupted."""
    ended = [p for p in client.periods if p.planned_end_date is not None]
    if not ended:
        return None
    period = max(ended, key=lambda p: p.start_date)
    assert period.planned_end_date is not None
    change = EndChange(client.code, period.id, period.end_date, period.end_reason, period.planned_end_date,
                       changed=True)
    for item in memberships:
        m = s.get(Membership, int(item["id"]))
        if m is not None and m.client_id == client.id and m.end_date == period.end_date:
            change.memberships.append({"id": m.id, "end": m.end_date.isoformat() if m.end_date else None})
            change.groups.append(s.get(PeerGroup, m.group_id).key)  # type: ignore[union-attr]
            m.end_date = date.fromisoformat(item["end"]) if item.get("end") else None
    period.end_date = period.planned_end_date
    period.planned_end_date = None
    period.end_reason = None
    period.ended_at = None
    period.ended_by = None
    s.flush()
    return change
