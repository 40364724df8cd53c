"""The weekly world with a history: two Tuesdays the client attended (a task returned on time),
evaluated into the register, and the week 2026-W49 set up in the sandbox tenant.

Groups: ryhma-1 meets on Tuesdays (K-0001, K-0002), ryhma-2 on Thursdays (K-0003, K-0004).
Today is Friday 27.11.2026 (weekly_world.NOW).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from integrator.domain.types import WorkDayStatus
from integrator.domain.weeks import iso_week_of
from integrator.jobs.attendance.evaluate import evaluate_window
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.reports.register import build_month
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, Client, Organisation, PeerGroup, Submission, WorkDay

from .weekly_world import NOW, ORG, WEEK, WeeklyWorld

TUESDAYS = (date(2026, 11, 17), date(2026, 11, 24))
TODAY = date(2026, 11, 27)  # NOW's day in Helsinki
MOVE_DAY = date(2026, 11, 30)  # Monday of 2026-W49
THURSDAY = date(2026, 12, 3)


def build(sbx: Sandbox, store: Store, tmp: Path, *, meetings: bool = False) -> WeeklyWorld:
    world = WeeklyWorld.build(sbx, store, tmp, groups=2, clients_per_group=2, weekdays=[[2], [4]], plain_every=0)
    with store.session() as s:
        tue = s.scalars(select(PeerGroup).where(PeerGroup.key == "ryhma-1")).one()
        client = s.scalars(select(Client).where(Client.code == "K-0001")).one()
        org_id = s.scalars(select(Organisation.id).where(Organisation.key == ORG)).one()
        for day in TUESDAYS:
            start = datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)  # 10:00 Helsinki
            wd = WorkDay(group_id=tue.id, day=day, iso_week=iso_week_of(day), status=WorkDayStatus.PLANNED,
                         meeting_start=start, meeting_end=start + timedelta(hours=1))
            s.add(wd)
            s.flush()
            s.add(Submission(organisation_id=org_id, client_id=client.id, work_day_id=wd.id, source="classroom",
                             external_id=f"sub-{day.isoformat()}", state="TURNED_IN",
                             returned_at=start + timedelta(hours=3), late=False))
    evaluate(world)
    run_weekly_setup(store, world.settings, WEEK, ORG, None, False, "test", now=NOW,
                     client_factory=world.client_factory(), include_meetings=meetings)
    return world


def evaluate(world: WeeklyWorld, now: datetime = NOW) -> None:
    """The nightly sync's evaluation of the last weeks (it withdraws days no longer expected)."""
    with world.store.session() as s:
        org_id = s.scalars(select(Organisation.id).where(Organisation.key == ORG)).one()
    evaluate_window(world.store, org_id, world.settings.rules_for(ORG), now=now, since=date(2026, 11, 1))


def register_rows(world: WeeklyWorld, code: str = "K-0001") -> list[tuple[date, str, int]]:
    """The client's attendance days: (day, status, minutes)."""
    with world.store.session() as s:
        client = s.scalars(select(Client).where(Client.code == code)).one()
        rows = s.scalars(select(AttendanceDay).where(AttendanceDay.client_id == client.id)).all()
        return sorted((s.get(WorkDay, r.work_day_id).day, r.status.value, r.minutes)  # type: ignore[union-attr]
                      for r in rows)


def euros(world: WeeklyWorld, code: str = "K-0001") -> Decimal:
    """The client's compensation in November's register."""
    register = build_month(world.store, ORG, "2026-11", rules=world.settings.rules_for(ORG))
    return sum((r.amount for r in register.rows if r.client_code == code), Decimal(0))


def course(world: WeeklyWorld, group: str) -> list[str]:
    """The students and invited of a group's course in the tenant."""
    name = {"ryhma-1": "Ryhmä 1", "ryhma-2": "Ryhmä 2"}[group]
    c = world.snapshot()["courses"][f"{name}|p:ktt-raisio-{group}"]
    return sorted(c["students"] + c["invited"])


def folder_sharing(world: WeeklyWorld, code: str) -> list[tuple[str, str]]:
    return next(list(f[2]) for f in world.snapshot()["folders"] if f[0] == code)
