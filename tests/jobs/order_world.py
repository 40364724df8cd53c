"""A small week on the sandbox, played in a drawn order of events, and the same week in one pass.

Used by test_register_event_order.py. One group ("ryhma") meets Tue 13.1., Wed 14.1. and Thu
15.1.2026, 10-11 Helsinki time, on Teams or on Meet; three clients K-0001..K-0003. The world
is built and set up (the product's own weekly setup) once per provider; every example starts
from a copy of that moment: the SQLite file is copied and the sandbox tenant's data restored.

A `Scenario` is the final facts (who attended how long, who returned what when, when each
meeting ended, the coordinator's decisions and mappings) plus the order things happened in
(when each sync ran, with `--since` or a fault that breaks it half-way). `play` runs it against
the real nightly sync over real sockets; `one_pass` computes the register from the same final
facts with a fresh database and ONE sync after every deadline and report; `figures` is the
register in the terms that matter (status, minutes, paid days, euros per client).
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from integrator.demo.world import HELSINKI, ORG, DemoWorld, GroupPlan, fast_policy, local
from integrator.domain.types import AttendanceStatus, ServiceModel
from integrator.jobs.attendance.identity import map_identity
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.providers.google.client import GoogleClient
from integrator.reports.register import build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AttendanceDay, Client, Membership, PeerGroup, Period, WorkDay

WEEK = "2026-W03"
MONDAY = date(2026, 1, 12)
DAYS = [date(2026, 1, 13), date(2026, 1, 14), date(2026, 1, 15)]
CODES = ["K-0001", "K-0002", "K-0003"]
GROUP = "ryhma"
PHONE = "+358 40 765 4321"  # a full number: a stable key, remembered once mapped
PHONE_CLIENT = "K-0002"
LATE_MEMBER = "K-0003"  # in the product only from the moment their membership is recorded
#: After every deadline (Thu's task 23:59, a resubmission on Fri) and every report (21:00 at the
#: latest), and inside the default 7-day re-evaluation window of every day of the week.
FINAL = local(date(2026, 1, 19), 2)


def decide(store: Store, client_id: int, work_day_id: int, status: AttendanceStatus | None, reason: str) -> None:
    """A coordinator's decision on a day (None withdraws it): the product's one correction path.

    The only place this module names the correction functions. Decisions are taken as of the
    final night (`today`), so that the rules on advance decisions do not refuse a drawn one.
    """
    from integrator.jobs.attendance.corrections import Actor, correct, correct_day, revert_day

    actor = Actor("cli:order-test")
    with store.session() as s:
        row = s.scalar(select(AttendanceDay).where(AttendanceDay.client_id == client_id,
                                                   AttendanceDay.work_day_id == work_day_id))
        row_id = row.id if row is not None else None
        day = s.scalars(select(WorkDay.day).where(WorkDay.id == work_day_id)).one()
    if status is None:
        assert row_id is not None, "a decision is withdrawn only from a day that has one"
        revert_day(store, row_id, reason, actor)
    elif row_id is None:
        correct(store, client_id, day, status, reason, actor, work_day_id=work_day_id, today=FINAL.date(),
                allow_unexpected=True)
    else:
        correct_day(store, row_id, status, reason, actor, today=FINAL.date())


# ---- the drawn week ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attend:
    code: str
    day: int  # index into DAYS
    late_by: int  # minutes after 10:00
    minutes: int
    phone: bool = False  # dialled in from PHONE (K-0002 only): unmatched until mapped


@dataclass(frozen=True)
class Return:
    code: str
    day: int
    via: str  # classroom | drive
    at: datetime
    resubmit_at: datetime | None = None  # classroom: turned in again (a corrected version)


@dataclass(frozen=True)
class Sync:
    at: datetime
    since: bool = False  # `--since` the Monday: re-reads Classroom whatever its cursors say
    fault: str | None = None  # a source that fails throughout the run (FAULTS), or KILLED


@dataclass(frozen=True)
class Decision:
    at: datetime
    code: str
    day: int
    status: str | None  # present | absent | excused; None withdraws the earlier decision


@dataclass(frozen=True)
class Scenario:
    provider: str  # teams | meet
    attends: tuple[Attend, ...] = ()
    returns: tuple[Return, ...] = ()
    # When each day's meeting ends: the organiser stays until then (None: not there at all), so
    # Teams publishes the report (Meet ends the conference) only then.
    meeting_ends: tuple[datetime | None, ...] = (None, None, None)
    syncs: tuple[Sync, ...] = ()
    decisions: tuple[Decision, ...] = ()
    map_at: datetime | None = None  # when the coordinator maps PHONE to K-0002
    member_at: datetime | None = None  # when K-0003's membership is recorded (None: from the start)

    def __repr__(self) -> str:
        """Short and in Helsinki time, so that a falsifying example reads as a story."""
        parts = [self.provider]
        parts += [f"{a.code} {_d(a.day)} {'phone ' if a.phone else ''}meeting +{a.late_by}min {a.minutes}min"
                  for a in self.attends]
        parts += [f"{r.code} {_d(r.day)} {r.via} return {_t(r.at)}" + (f" again {_t(r.resubmit_at)}"
                                                                      if r.resubmit_at else "") for r in self.returns]
        parts += [f"{_d(i)} meeting ends {_t(e)}" for i, e in enumerate(self.meeting_ends) if e is not None]
        parts += [f"sync {_t(x.at)}" + (" --since" if x.since else "") + (f" fault {x.fault}" if x.fault else "")
                  for x in self.syncs]
        parts += [f"decide {d.code} {_d(d.day)} {d.status or 'withdraw'} at {_t(d.at)}" for d in self.decisions]
        if self.map_at:
            parts.append(f"map phone at {_t(self.map_at)}")
        if self.member_at:
            parts.append(f"{LATE_MEMBER} membership recorded {_t(self.member_at)}")
        return "Scenario(" + "; ".join(parts) + ")"


def _d(i: int) -> str:
    return f"{DAYS[i]:%a %d.%m.}"


def _t(at: datetime) -> str:
    return f"{at.astimezone(HELSINKI):%a %d.%m. %H:%M}"


#: Fault kinds: glob and mode of a rule that fails every matching request of one run.
FAULTS: dict[str, dict[str, Any]] = {
    "teams_reports": {"vendor": "graph", "path_glob": "*attendanceReports", "status": 503},
    "teams_records": {"vendor": "graph", "path_glob": "*attendanceRecords*", "status": 500},
    "classroom": {"vendor": "google", "path_glob": "*studentSubmissions*", "status": 500},
    "drive_lost": {"vendor": "google", "path_glob": "/drive/*", "mode": "lose_answer"},
    "meet_participants": {"vendor": "google", "path_glob": "*participants*", "status": 500},
    "meet_records": {"vendor": "google", "path_glob": "/meet/v2/conferenceRecords", "status": 503},
}


#: A run that dies after the Google half of the harvest (Classroom, Drive and Meet stored with
#: their cursors), before Teams is read and before anything is evaluated.
KILLED = "killed_after_google"


class KilledMidway(BaseException):
    """The process dies: not an error the run could record and go on from."""


def _sync(w: DemoWorld, *, since: date | None, killed: bool) -> None:
    if not killed:
        w.nightly_sync(since=since)
        return

    def dies(org: object) -> object:
        raise KilledMidway

    providers = Providers(google=lambda org: GoogleClient(org.google, policy=fast_policy()) if org.google else None,
                          graph=dies)
    try:
        run_nightly_sync(w.store, w.settings, org_key=ORG, now=w.sb.state.clock.now(), providers=providers,
                         since=since)
    except KilledMidway:
        pass


# ---- one prepared world per provider ----------------------------------------------------------


class Prepared:
    """A world right after the weekly setup: the database file and the tenant's data.

    A plain class with a short repr: hypothesis prints the test's fixtures beside a falsifying
    example, and would print a dataclass field by field (the tenant's data is ~100 kB).
    """

    def __init__(self, world: DemoWorld, db_file: Path, google: dict[str, Any], graph: dict[str, Any], rng: Any,
                 folder: Path) -> None:
        self.world, self.db_file, self.google, self.graph, self.rng, self.folder = (
            world, db_file, google, graph, rng, folder)

    def __repr__(self) -> str:
        return f"Prepared({self.folder.name})"


# Shared machinery, a key that is kept across resets, and the sign-in book (its own lock; no
# sign-in happens in these scenarios).
_TENANT_SKIP = {"state", "signing_key", "sign_in"}


def _copy(data: dict[str, Any], tenant: Any) -> dict[str, Any]:
    """A deep copy whose back-references to the tenant and its shared state stay the live ones
    (the Graph drive store points at its tenant, whose state holds a lock)."""
    return copy.deepcopy(data, {id(tenant): tenant, id(tenant.state): tenant.state})


def _tenant_data(tenant: Any) -> dict[str, Any]:
    return _copy({k: v for k, v in vars(tenant).items() if k not in _TENANT_SKIP}, tenant)


def prepare(sb: Sandbox, provider: str, folder: Path) -> Prepared:
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "after-setup.db"
    url = f"sqlite:///{db_file}"
    upgrade(url)
    store = Store(url)
    sb.reset()
    sb.state.clock.set(local(date(2026, 1, 9), 12))  # the Friday before
    world = DemoWorld.build(sb, store, folder / "world", groups=[
        GroupPlan(GROUP, "Ti-ke-to-ryhmä", [2, 3, 4], provider, ServiceModel.LONG_TERM, len(CODES))], db_url=url)
    world.weekly_setup(WEEK)
    store.dispose()
    return Prepared(world, db_file, _tenant_data(sb.google), _tenant_data(sb.graph), sb.state.rng.getstate(), folder)


def restore(p: Prepared, sb: Sandbox, db_file: Path, late_member: bool) -> DemoWorld:
    """A copy of the prepared moment: its own database file, the tenant as the setup left it."""
    shutil.copyfile(p.db_file, db_file)
    if late_member:  # set up for the week, but their membership is recorded only later
        store = Store(f"sqlite:///{db_file}")
        with store.session() as s:
            s.execute(delete(Membership).where(Membership.client_id == p.world.client_id(LATE_MEMBER)))
        store.dispose()
    with sb.state.lock:
        sb.state.reset()
        vars(sb.google).update(_copy(p.google, sb.google))
        vars(sb.graph).update(_copy(p.graph, sb.graph))
        sb.state.rng.setstate(p.rng)
    return dataclasses.replace(p.world, store=Store(f"sqlite:///{db_file}"))


# ---- playing it -------------------------------------------------------------------------------


@dataclass
class Played:
    world: DemoWorld
    seconds: float = 0.0
    early_absences: list[str] = field(default_factory=list)  # "K-0001 13.1. at 12:00": ABSENT before 23:59
    member_recorded_on: date | None = None


def _member_recorded(w: DemoWorld, on: date) -> None:
    with w.store.session() as s:
        group = s.scalar(select(PeerGroup).where(PeerGroup.key == GROUP))
        client = s.scalar(select(Client).where(Client.code == LATE_MEMBER))
        assert group is not None and client is not None
        period = s.scalar(select(Period).where(Period.client_id == client.id))
        assert period is not None
        # Backdated to the period's start, as a coordinator enters a client who began earlier.
        s.execute(delete(Membership).where(Membership.client_id == client.id))
        s.add(Membership(group_id=group.id, client_id=client.id, start_date=period.start_date, recorded_on=on))


def work_day_id(w: DemoWorld, day: date) -> int:
    with w.store.session() as s:
        found = s.scalar(select(WorkDay.id).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
                         .where(PeerGroup.key == GROUP, WorkDay.day == day))
        assert found is not None
        return found


def _meetings(w: DemoWorld, sc: Scenario) -> None:
    """Meeting attendance goes in up front: the sandbox shows it only as the clock passes its end."""
    for i, end in enumerate(sc.meeting_ends):
        if end is None:
            continue
        row = w.resource("meeting", f"meeting:{GROUP}:{DAYS[i].isoformat()}")
        assert row is not None
        minutes = int((end - local(DAYS[i], 10)).total_seconds() // 60)
        if sc.provider == "teams":
            w.sb.graph.join_meeting(str(row.state["join_url"]), email=w.coordinator, minutes=minutes,
                                    start=local(DAYS[i], 10))
        else:
            w.sb.google.join_meet(str(row.state["conference_id"]), email=w.coordinator, minutes=minutes,
                                  start=local(DAYS[i], 10))
    for a in sc.attends:
        w.attend(a.code, GROUP, DAYS[a.day], a.minutes, late_by=a.late_by, phone=PHONE if a.phone else None)


def _client_acts(sc: Scenario) -> list[tuple[datetime, int, Any]]:
    acts: list[tuple[datetime, int, Any]] = []
    for r in sc.returns:
        acts.append((r.at, 0, ("return", r, r.at)))
        if r.resubmit_at is not None:
            acts.append((r.resubmit_at, 0, ("return", r, r.resubmit_at)))
    return acts


def _do_return(w: DemoWorld, r: Return, at: datetime) -> None:
    if r.via == "classroom":
        w.turn_in(r.code, GROUP, DAYS[r.day], at=at)  # False: not published yet or not assigned
    else:
        w.drop_file(r.code, WEEK, f"tyo-{at:%d%H%M}.jpg", "image/jpeg", at=at)


def _early_absences(w: DemoWorld, now: datetime) -> list[str]:
    """Days computed ABSENT while their task could still be returned (due 23:59 local)."""
    out = []
    with w.store.session() as s:
        rows = s.execute(select(Client.code, WorkDay.day).join(AttendanceDay, AttendanceDay.client_id == Client.id)
                         .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
                         .where(AttendanceDay.computed_status == AttendanceStatus.ABSENT)).all()
    for code, day in rows:
        if now < local(day, 23, 59):
            out.append(f"{code} {day:%d.%m.} computed absent at {now.astimezone(HELSINKI):%d.%m. %H:%M}")
    return out


def play(p: Prepared, sb: Sandbox, db_file: Path, sc: Scenario) -> Played:
    """The week in the drawn order, then a final sync after every deadline and report."""
    started = time.perf_counter()
    w = restore(p, sb, db_file, sc.member_at is not None)
    played = Played(w)
    _meetings(w, sc)
    events: list[tuple[datetime, int, Any]] = _client_acts(sc)
    if sc.member_at is not None:
        events.append((sc.member_at, 1, ("member",)))
    if sc.map_at is not None:
        events.append((sc.map_at, 2, ("map",)))
    events += [(d.at, 3, ("decide", d)) for d in sc.decisions]
    events += [(x.at, 4, ("sync", x)) for x in sc.syncs]
    events.sort(key=lambda e: (e[0], e[1]))
    clock = sb.state.clock
    for at, _, ev in events:
        clock.set(at)
        if ev[0] == "return":
            _do_return(w, ev[1], ev[2])
        elif ev[0] == "member":
            played.member_recorded_on = at.astimezone(HELSINKI).date()
            _member_recorded(w, played.member_recorded_on)
        elif ev[0] == "map":
            map_phone(w)
        elif ev[0] == "decide":
            d: Decision = ev[1]
            _decide(w, d.code, d.day, d.status)
        else:
            x: Sync = ev[1]
            if x.fault in FAULTS:
                sb.state.faults.inject(rate=1.0, **FAULTS[x.fault])
            try:
                _sync(w, since=MONDAY if x.since else None, killed=x.fault == KILLED)
            finally:
                sb.state.faults.clear()
            played.early_absences += _early_absences(w, at)
    clock.set(FINAL)
    w.nightly_sync()
    played.seconds = time.perf_counter() - started
    return played


def map_phone(w: DemoWorld) -> None:
    source = "teams" if any(g.provider == "teams" for g in w.groups) else "meet"
    map_identity(w.store, 1, source, f"phone:{PHONE}", w.client_id(PHONE_CLIENT), "staff:1")


def _decide(w: DemoWorld, code: str, day: int, status: str | None) -> None:
    decide(w.store, w.client_id(code), work_day_id(w, DAYS[day]),
           AttendanceStatus(status) if status else None, "ohjaajan päätös")


def final_decisions(sc: Scenario) -> dict[tuple[str, int], str | None]:
    """The decision standing on each day at the end (the last one made; None: withdrawn)."""
    out: dict[tuple[str, int], str | None] = {}
    for d in sorted(sc.decisions, key=lambda d: d.at):
        if d.status is None and (d.code, d.day) not in out:
            continue  # nothing to withdraw yet: the coordinator cannot withdraw nothing
        out[(d.code, d.day)] = d.status
    return out


def effective_decisions(sc: Scenario) -> tuple[Decision, ...]:
    """The drawn decisions without withdrawals of nothing (see `final_decisions`)."""
    seen: set[tuple[str, int]] = set()
    kept = []
    for d in sorted(sc.decisions, key=lambda d: d.at):
        if d.status is None and (d.code, d.day) not in seen:
            continue
        seen.add((d.code, d.day))
        kept.append(d)
    return tuple(kept)


def one_pass(p: Prepared, sb: Sandbox, db_file: Path, sc: Scenario, member_recorded_on: date | None) -> DemoWorld:
    """The same final facts in a fresh database (as the setup left it) and ONE sync at FINAL;
    then the mapping and the decisions that stand at the end. The tenant is left as it is: the
    played week left it in its final state, and a sync only reads it."""
    shutil.copyfile(p.db_file, db_file)
    w = dataclasses.replace(p.world, store=Store(f"sqlite:///{db_file}"))
    if member_recorded_on is not None:
        _member_recorded(w, member_recorded_on)
    sb.state.clock.set(FINAL)
    w.nightly_sync()
    if sc.map_at is not None:
        map_phone(w)
    for (code, day), status in final_decisions(sc).items():
        if status is not None:
            _decide(w, code, day, status)
    return w


def figures(w: DemoWorld) -> dict[str, Any]:
    """Per client: each date's (status, minutes), paid days and euros."""
    reg = build_week(w.store, "raisio", WEEK, rules=w.settings.rules_for("raisio"))
    table = reg.table()
    return {row.client_code: {
        "days": {f"{d:%d.%m.}": (table[row.client_code][d], max(x.minutes for x in row.days_on(d)))
                 for d in row.dates},
        "paid_days": row.compensation_days, "euros": str(row.amount.quantize(Decimal("0.01")))}
        for row in reg.rows}


def stored_statuses(w: DemoWorld) -> dict[str, dict[str, tuple[str, str | None]]]:
    """(computed, decided) per client and date, for the failure message."""
    out: dict[str, dict[str, tuple[str, str | None]]] = {}
    with w.store.session() as s:
        for code, day, a in s.execute(select(Client.code, WorkDay.day, AttendanceDay)
                                      .join(AttendanceDay, AttendanceDay.client_id == Client.id)
                                      .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)).all():
            out.setdefault(code, {})[f"{day:%d.%m.}"] = (
                a.computed_status.value, a.override_status.value if a.override_status else None)
    return out


def late_member_absences(w: DemoWorld, recorded_on: date | None) -> list[str]:
    """The late member's days before their membership was recorded, if computed ABSENT."""
    if recorded_on is None:
        return []
    table = build_week(w.store, "raisio", WEEK, rules=w.settings.rules_for("raisio")).table()
    return [f"{LATE_MEMBER} {d:%d.%m.} (recorded {recorded_on:%d.%m.})"
            for d, st in table.get(LATE_MEMBER, {}).items() if d < recorded_on and st == "absent"]


@dataclass
class Tally:
    """Examples run and their wall time, shown at the end of the pytest run (tests/jobs/conftest.py)."""

    seconds: list[float] = field(default_factory=list)
    failing: int = 0

    def add(self, seconds: float, ok: bool) -> None:
        self.seconds.append(seconds)
        self.failing += 0 if ok else 1

    def summary(self) -> str:
        n = len(self.seconds)
        mean = sum(self.seconds) / n
        worst = max(self.seconds)
        return (f"register event-order property: {n} examples, {mean:.2f} s per example on average "
                f"(slowest {worst:.2f} s), {self.failing} failing")


TALLY = Tally()
