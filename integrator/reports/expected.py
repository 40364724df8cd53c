"""Who is expected on which work day, read from the store with the one participation rule.

The register (reports.register), the evaluation of attendance days (jobs.attendance) and the
nightly harvest all ask this, in one batched read instead of one query per client.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.participation import absence_possible, takes_part
from integrator.store.models import Membership, Period, WorkDay

CHUNK = 500  # ids per IN list: well under SQLite's bound parameter limit


class _Member(NamedTuple):
    """The columns of a membership the participation rule reads (not the ORM row: a night asks
    about every group of the window, and rows with their identity map cost far more)."""

    id: int
    client_id: int
    group_id: int
    start_date: date
    end_date: date | None
    recorded_on: date | None


class _Period(NamedTuple):
    start_date: date
    end_date: date
    weekdays: list[Any]
    briefing_recorded_at: datetime | None


@dataclass(frozen=True)
class Expected:
    client_id: int
    work_day_id: int
    # False on a day before the membership was recorded in the product (domain.participation):
    # the day is expected (a return counts), but it is never an absence.
    absence_possible: bool = True


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for i in range(0, len(ordered), CHUNK):
        yield ordered[i:i + CHUNK]


def expected_pairs(session: Session, work_days: Sequence[WorkDay],
                   client_ids: Iterable[int] | None = None) -> list[Expected]:
    """The clients who take part on each work day: a member of the group that day, inside a
    briefed period, and the day is one of the period's own (remote) weekdays (as jobs.meetings);
    each with whether the day can be an absence (`absence_possible`).

    Reads only the rule's columns, and with `client_ids` only those clients' memberships and
    periods (filtered in the store): the alerts and corrections ask about a few clients."""
    if not work_days:
        return []
    group_ids = {w.group_id for w in work_days}
    query = select(Membership.id, Membership.client_id, Membership.group_id, Membership.start_date, Membership.end_date,
                   Membership.recorded_on).where(Membership.group_id.in_(group_ids)).order_by(Membership.id)
    if client_ids is None:
        members = [_Member(*row) for row in session.execute(query)]
    else:
        # In the store's order, as without `client_ids`, whatever the chunks.
        members = sorted((_Member(*row) for part in _chunks(set(client_ids))
                          for row in session.execute(query.where(Membership.client_id.in_(part)))),
                         key=lambda m: m.id)
    periods: dict[int, list[_Period]] = defaultdict(list)
    for part in _chunks({m.client_id for m in members}):
        for cid, *span in session.execute(select(Period.client_id, Period.start_date, Period.end_date,
                                                 Period.weekdays, Period.briefing_recorded_at)
                                          .where(Period.client_id.in_(part))):
            periods[cid].append(_Period(*span))
    by_group: dict[int, list[_Member]] = defaultdict(list)
    for m in members:
        by_group[m.group_id].append(m)
    out: list[Expected] = []
    for w in work_days:
        seen: set[int] = set()
        for m in by_group[w.group_id]:
            if m.client_id not in seen and takes_part(m, periods[m.client_id], w.day):
                seen.add(m.client_id)
                out.append(Expected(m.client_id, w.id, absence_possible(m, w.day)))
    return out
