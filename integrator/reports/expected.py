"""Who is expected on which work day, read from the store with the one participation rule.

The register (reports.register), the evaluation of attendance days (jobs.attendance) and the
nightly harvest all ask this, in one batched read instead of one query per client.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.participation import absence_possible, takes_part
from integrator.store.models import Membership, Period, WorkDay


@dataclass(frozen=True)
class Expected:
    client_id: int
    work_day_id: int
    # False on a day before the membership was recorded in the product (domain.participation):
    # the day is expected (a return counts), but it is never an absence.
    absence_possible: bool = True


def expected_pairs(session: Session, work_days: Sequence[WorkDay],
                   client_ids: Iterable[int] | None = None) -> list[Expected]:
    """The clients who take part on each work day: a member of the group that day, inside a
    briefed period, and the day is one of the period's own (remote) weekdays (as jobs.meetings);
    each with whether the day can be an absence (`absence_possible`)."""
    if not work_days:
        return []
    group_ids = {w.group_id for w in work_days}
    only = set(client_ids) if client_ids is not None else None
    members = session.scalars(select(Membership).where(Membership.group_id.in_(group_ids))).all()
    member_clients = {m.client_id for m in members}
    periods: dict[int, list[Period]] = defaultdict(list)
    if member_clients:
        for p in session.scalars(select(Period).where(Period.client_id.in_(member_clients))).all():
            periods[p.client_id].append(p)
    by_group: dict[int, list[Membership]] = defaultdict(list)
    for m in members:
        if only is None or m.client_id in only:
            by_group[m.group_id].append(m)
    out: list[Expected] = []
    for w in work_days:
        seen: set[int] = set()
        for m in by_group[w.group_id]:
            if m.client_id not in seen and takes_part(m, periods[m.client_id], w.day):
                seen.add(m.client_id)
                out.append(Expected(m.client_id, w.id, absence_possible(m, w.day)))
    return out
