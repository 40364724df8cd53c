"""Does client C take part on day D? The one rule, used by the meetings (who is invited), the
weekly setup (whose coursework and sharing exist) and the attendance register (who is expected).

A client takes part in a group's work day when all of these hold:
- they are a member of the group that day (membership start..end, both inclusive);
- one of their periods covers the day (start..end inclusive) and lists its weekday: the period's
  own remote days, so a hybrid client's on-site days are not remote days;
- the data-protection briefing of that period was recorded on or before the day (Finnish
  calendar day): nothing is provisioned, invited or expected before it (DOMAIN.md).

Taking part is not the same as "can be absent": a client imported today with a period that
began three weeks ago takes part on those past days (a return they made still counts), but
they were never invited to them, so those days are no absence (`absence_possible`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from integrator.domain.consent import has_consent


class MembershipSpan(Protocol):
    @property
    def start_date(self) -> date: ...

    @property
    def end_date(self) -> date | None: ...


class RecordedMembership(Protocol):
    @property
    def recorded_on(self) -> date | None: ...


class PeriodSpan(Protocol):
    @property
    def start_date(self) -> date: ...

    @property
    def end_date(self) -> date: ...

    @property
    def weekdays(self) -> Sequence[int]: ...

    @property
    def briefing_recorded_at(self) -> datetime | None: ...


def member_on(membership: MembershipSpan, day: date) -> bool:
    """In the group on `day`: the membership's start..end, both inclusive (no end = open)."""
    return membership.start_date <= day and (membership.end_date is None or day <= membership.end_date)


def period_day(period: PeriodSpan, day: date) -> bool:
    """`day` is inside the period and on one of its weekdays."""
    return period.start_date <= day <= period.end_date and day.isoweekday() in (period.weekdays or ())


def takes_part(membership: MembershipSpan, periods: Iterable[PeriodSpan], day: date) -> bool:
    """The rule above: a member that day, in a period's remote weekday, briefed by then."""
    if not member_on(membership, day):
        return False
    return any(period_day(p, day) and has_consent(p.briefing_recorded_at, on=day) for p in periods)


def absence_possible(membership: RecordedMembership, day: date) -> bool:
    """Can `day` be an absence of this membership's client? Not before the Finnish calendar day
    the membership was recorded in the product: nothing was provisioned or invited before it.
    NULL (rows from before this was kept) = no such limit. A coordinator's decision on the day
    stands whatever this says (the callers keep an override); a day the client did attend
    stays PRESENT (they are paid for it)."""
    return membership.recorded_on is None or day >= membership.recorded_on
