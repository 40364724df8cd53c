"""A small world for web tests: two organisations, three groups, clients, a week of attendance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from integrator.domain.types import AttendanceStatus, JobStatus, MeetingProvider, ServiceModel
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    MeetingAttendance,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    WorkDay,
)
from integrator.web import accounts

PASSWORD = "correct horse battery staple"
WEEK = "2026-W48"  # Monday 2026-11-23
TUESDAY = date(2026, 11, 24)

# Rehearsals (sandbox tenant + demo organisation) start on a pinned Monday, never on the wall
# clock: "next week" is then WEEK, whose Tuesday to Thursday (the demo groups' days) hold no
# Finnish public holiday (test_rehearsal checks that with integrator.domain.calendar).
REHEARSAL_NOW = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # Monday 10:00 in Helsinki


@dataclass
class World:
    org_a: int
    org_b: int
    group_a: int  # coordinated by coord_a
    group_b: int  # coordinated by coord_b, same organisation
    group_c: int  # organisation B
    coord_a: int
    coord_b: int
    admin_all: int
    admin_b: int
    client_a: int
    client_b: int
    work_day_a: int
    work_day_b: int
    attendance_a: int
    attendance_b: int
    run_a: int
    run_b: int
    run_org: int  # organisation-wide (nightly sync): items of both groups


def _group(s: object, org: Organisation, key: str, coordinator: int) -> PeerGroup:
    g = PeerGroup(organisation_id=org.id, key=key, name=f"Ryhmä {key}", coordinator_id=coordinator, weekdays=[2],
                  meeting_start=time(10, 0), meeting_end=time(12, 0), meeting_provider=MeetingProvider.TEAMS)
    s.add(g)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    return g


def _client(s: object, org: Organisation, group: PeerGroup, code: str, name: str) -> tuple[Client, WorkDay, AttendanceDay]:
    c = Client(organisation_id=org.id, code=code, display_name=name, email=f"{code.lower()}@asiakas.example.fi")
    s.add(c)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    s.add(Period(client_id=c.id, service_model=ServiceModel.LONG_TERM, start_date=date(2026, 9, 1),  # type: ignore[attr-defined]
                 end_date=date(2027, 2, 28), weekdays=[2]))
    s.add(Membership(group_id=group.id, client_id=c.id, start_date=date(2026, 9, 1)))  # type: ignore[attr-defined]
    wd = WorkDay(group_id=group.id, day=TUESDAY, iso_week=WEEK,
                 meeting_start=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
                 meeting_end=datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    s.add(wd)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    ad = AttendanceDay(client_id=c.id, work_day_id=wd.id, computed_status=AttendanceStatus.ABSENT)
    s.add(ad)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    return c, wd, ad


def build_world(store: Store) -> World:
    _ensure_orgs(store)
    coord_a = accounts.add_staff(store, email="ohjaaja.a@example.fi", name="Ohjaaja A", role="coordinator",
                                 org_key="raisio", password=PASSWORD)
    coord_b = accounts.add_staff(store, email="ohjaaja.b@example.fi", name="Ohjaaja B", role="coordinator",
                                 org_key="raisio", password=PASSWORD)
    admin_all = accounts.add_staff(store, email="admin@example.fi", name="Ylläpitäjä", role="admin",
                                   org_key=None, password=PASSWORD)
    admin_b = accounts.add_staff(store, email="admin.b@example.fi", name="Ylläpitäjä B", role="admin",
                                 org_key="naantali", password=PASSWORD)
    with store.session() as s:
        org_a = s.query(Organisation).filter_by(key="raisio").one()
        org_b = s.query(Organisation).filter_by(key="naantali").one()
        ga = _group(s, org_a, "ti-ryhma", coord_a)
        gb = _group(s, org_a, "to-ryhma", coord_b)
        gc = _group(s, org_b, "ke-ryhma", coord_b)
        ca, wda, ada = _client(s, org_a, ga, "K-0001", "Aino Asiakas")
        cb, wdb, adb = _client(s, org_a, gb, "K-0002", "Bertta Berg")
        # Someone joined group A's meeting by phone; nobody could tell who.
        s.add(MeetingAttendance(organisation_id=org_a.id, work_day_id=wda.id, source="teams", record_key="r1:a1",
                                participant_key="phone:+358401234567", display_name="+358 40 123 4567",
                                via_phone=True, seconds=3600))
        run_a = JobRun(organisation_id=org_a.id, kind="weekly_setup", params={"week": WEEK, "group_key": "ti-ryhma"},
                       status=JobStatus.PARTIAL, errors=[{"item": "K-0001", "error": "403 forbidden", "kind": "fatal"}])
        run_b = JobRun(organisation_id=org_a.id, kind="weekly_setup", params={"week": WEEK, "group_key": "to-ryhma"},
                       status=JobStatus.SUCCEEDED)
        nightly = JobRun(organisation_id=org_a.id, kind="nightly_sync", params={"org": "raisio"},
                         status=JobStatus.PARTIAL,
                         errors=[{"item": "K-0001", "error": "no responsible worker", "kind": "no_worker"},
                                 {"item": "K-0002", "error": "no responsible worker", "kind": "no_worker"},
                                 {"item": "meeting:ti-ryhma:2026-11-24", "error": "503", "kind": "teams"},
                                 {"item": "credentials", "error": "expired", "kind": "reauth"}],
                         plan=[{"op": "create", "resource": "course", "key": "course:ti-ryhma", "group": "ti-ryhma",
                                "client": None, "reason": "", "detail": {}},
                               {"op": "create", "resource": "course", "key": "course:to-ryhma", "group": "to-ryhma",
                                "client": None, "reason": "", "detail": {}}])
        s.add_all([run_a, run_b, nightly])
        s.flush()
        return World(org_a=org_a.id, org_b=org_b.id, group_a=ga.id, group_b=gb.id, group_c=gc.id,
                     coord_a=coord_a, coord_b=coord_b, admin_all=admin_all, admin_b=admin_b,
                     client_a=ca.id, client_b=cb.id, work_day_a=wda.id, work_day_b=wdb.id,
                     attendance_a=ada.id, attendance_b=adb.id, run_a=run_a.id, run_b=run_b.id, run_org=nightly.id)


def _ensure_orgs(store: Store) -> None:
    with store.session() as s:
        s.add_all([Organisation(key="raisio", name="Raisio"), Organisation(key="naantali", name="Naantali")])


EMAILS = {"coord_a": "ohjaaja.a@example.fi", "coord_b": "ohjaaja.b@example.fi", "admin_all": "admin@example.fi",
          "admin_b": "admin.b@example.fi"}
