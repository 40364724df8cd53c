"""The dashboard's groups: a page of them at a time, filtered by name, each with the week's grid.

One page of groups is read in a fixed number of statements (work days, memberships, clients,
attendance days and who is expected, each in one read for all the page's groups).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from integrator.domain import weeks
from integrator.domain.types import AttendanceStatus
from integrator.reports.expected import expected_pairs
from integrator.store.models import AttendanceDay, Client, Membership, PeerGroup, WorkDay
from integrator.web import access
from integrator.web.auth import Principal
from integrator.web.readmodels import attendance_cell, group_json

PAGE_SIZE = 25


@dataclass(frozen=True)
class GroupPage:
    groups: list[PeerGroup]  # this page's
    matching: int  # groups that match the filter
    page: int  # 1-based, clamped to the pages there are
    pages: int
    query: str


def page_of(groups: list[PeerGroup], query: str, page: int) -> GroupPage:
    """Groups whose name or key contains `query` (any case), PAGE_SIZE at a time, by name."""
    needle = query.strip().casefold()
    found = sorted((g for g in groups if needle in g.name.casefold() or needle in g.key.casefold()),
                   key=lambda g: (g.name.casefold(), g.id))
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    return GroupPage(found[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], len(found), page, pages, query.strip())


def group_weeks(s: Session, p: Principal, groups: list[PeerGroup], week: str, today: date) -> list[dict[str, Any]]:
    """Each group's week: its work days with "present / expected" and a row per visible member.

    The denominator of a day is who is expected that day (`reports.expected`): a hybrid group's
    client who works on site on Tuesdays is not missing from the Tuesday meeting. A client marked
    present on a day they were not expected (a coordinator's decision) counts on both sides.
    """
    if not groups:
        return []
    ids = [g.id for g in groups]
    dates = weeks.days_of(week)
    days = list(s.scalars(select(WorkDay).where(WorkDay.group_id.in_(ids), WorkDay.iso_week == week)
                          .order_by(WorkDay.day)))
    members = s.execute(select(Membership.group_id, Membership.client_id).where(
        Membership.group_id.in_(ids), Membership.start_date <= dates[-1],
        or_(Membership.end_date.is_(None), Membership.end_date >= dates[0]))).all()
    clients = {c.id: c for c in s.scalars(access.clients_query(p, today).where(
        Client.id.in_({m.client_id for m in members})))} if members else {}
    cells: dict[tuple[int, int], AttendanceDay] = {}
    expected: set[tuple[int, int]] = set()
    if days and clients:
        cells = {(a.client_id, a.work_day_id): a for a in s.scalars(select(AttendanceDay).where(
            AttendanceDay.work_day_id.in_([d.id for d in days]), AttendanceDay.client_id.in_(list(clients))))}
        expected = {(e.client_id, e.work_day_id) for e in expected_pairs(s, days, clients)}
    days_of: dict[int, list[WorkDay]] = defaultdict(list)
    for d in days:
        days_of[d.group_id].append(d)
    members_of: dict[int, list[Client]] = defaultdict(list)
    for m in members:
        c = clients.get(m.client_id)
        if c is not None and c not in members_of[m.group_id]:
            members_of[m.group_id].append(c)
    out = []
    for g in groups:
        rows = sorted(members_of[g.id], key=lambda c: c.code)
        tallies = []
        for d in days_of[g.id]:
            present = {c.id for c in rows if (a := cells.get((c.id, d.id))) is not None
                       and a.status is AttendanceStatus.PRESENT}
            counted = {c.id for c in rows if (c.id, d.id) in expected} | present
            tallies.append({"day": d.day, "cancelled": d.status.value == "cancelled",
                            "present": len(present), "expected": len(counted)})
        out.append({"group": group_json(g), "days": tallies,
                    "rows": [{"code": c.code, "cells": [
                        attendance_cell(cells.get((c.id, d.id))) if (c.id, d.id) in expected or (c.id, d.id) in cells
                        else None for d in days_of[g.id]]} for c in rows]})
    return out
