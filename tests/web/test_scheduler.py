"""The in-process scheduler: what runs when, and the database lock that keeps runs apart."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrator.config import Settings, WeeklyAt
from integrator.jobs.locks import job_lock
from integrator.jobs.schedule import ALL, Clock, build_scheduler, planned_jobs, run_locked
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from tests.jobs import notify_world as nw

SETTINGS = Settings.model_validate({"organisations": [
    {"key": "raisio", "name": "Raisio"}, {"key": "naantali", "name": "Naantali"}]})
HELSINKI = ZoneInfo("Europe/Helsinki")
# The weekly letters' default moment: Thursday 12:00 in Finland. Next week (2026-W48) has no
# public holiday, so every group meets on its usual days.
THURSDAY_NOON = datetime(2026, 11, 19, 12, 0, tzinfo=HELSINKI)
NEXT_WEEK = "2026-W48"


def test_default_schedule_is_nightly_at_two_reminders_every_five_minutes_and_weekly_letters() -> None:
    jobs = {(j.kind, j.org_key): j for j in planned_jobs(SETTINGS)}
    assert set(jobs) == {("reminders", ALL), ("nightly_sync", "raisio"), ("nightly_sync", "naantali"),
                         ("weekly_letters", "raisio"), ("weekly_letters", "naantali")}
    nightly = jobs[("nightly_sync", "raisio")].trigger
    fire = nightly.get_next_fire_time(None, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert fire.time() == time(2, 0) and str(fire.tzinfo) == "Europe/Helsinki"
    assert jobs[("reminders", ALL)].trigger.interval.total_seconds() == 300
    letters = jobs[("weekly_letters", "raisio")].trigger
    fire = letters.get_next_fire_time(None, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    assert (fire.isoweekday(), fire.time()) == (4, time(12, 0))


def test_weekly_setup_is_scheduled_only_when_enabled() -> None:
    enabled = Settings.model_validate({"schedule": {"weekly_setup": {"weekday": "friday", "time": "09:00",
                                                                     "enabled": True}},
                                       "organisations": [{"key": "raisio", "name": "Raisio"}]})
    assert ("weekly_setup", "raisio") in {(j.kind, j.org_key) for j in planned_jobs(enabled)}
    assert "weekly_setup" not in {j.kind for j in planned_jobs(SETTINGS)}


def test_a_second_run_of_the_same_job_and_organisation_is_skipped(store: Store) -> None:
    calls: list[str] = []
    with job_lock(store, "schedule:nightly_sync:raisio"):  # another process is running it
        assert run_locked(store, SETTINGS, "nightly_sync", "raisio", lambda *_: calls.append("ran")) is False
        assert run_locked(store, SETTINGS, "nightly_sync", "naantali", lambda *_: calls.append("naantali")) is True
    assert calls == ["naantali"]
    assert run_locked(store, SETTINGS, "nightly_sync", "raisio", lambda *_: calls.append("ran")) is True


def test_a_failing_job_does_not_stop_the_scheduler(store: Store) -> None:
    def boom(*_: object) -> None:
        raise RuntimeError("tenant down")

    assert run_locked(store, SETTINGS, "nightly_sync", "raisio", boom) is False
    # The lock was released: the next firing runs.
    assert run_locked(store, SETTINGS, "nightly_sync", "raisio", lambda *_: None) is True


def test_the_scheduler_fires_jobs_through_the_lock(store: Store) -> None:
    fired = threading.Event()
    seen: list[str] = []

    def job(_store: Store, _settings: Settings, org_key: str, now: Clock) -> None:
        seen.append(org_key)
        told.append(now())
        fired.set()

    told: list[datetime] = []
    scheduler = build_scheduler(store, SETTINGS, targets={"reminders": job}, now=lambda: THURSDAY_NOON)
    assert [j.id for j in scheduler.get_jobs()] == ["reminders:*"]
    scheduler.start()
    try:
        scheduler.get_job("reminders:*").modify(next_run_time=datetime.now(UTC))
        assert fired.wait(10)
    finally:
        scheduler.shutdown(wait=True)
    assert seen == [ALL]
    # The trigger fires on the wall clock; the job works on the scheduler's clock.
    assert told == [THURSDAY_NOON]


def test_the_scheduler_runs_on_the_wall_clock_unless_given_one(store: Store) -> None:
    told: list[datetime] = []
    before = datetime.now(UTC)
    assert run_locked(store, SETTINGS, "reminders", ALL, lambda *a: told.append(a[3]())) is True
    assert told[0].tzinfo is not None and before <= told[0] <= datetime.now(UTC)


def test_a_rehearsal_runs_the_scheduled_jobs_on_the_sandbox_clock(store: Store) -> None:
    """`serve --sandbox` gives the app the sandbox tenant's clock as CLOCK (as the pages use it):
    the scheduler it starts hands the same clock to every job."""
    from flask import Flask

    from integrator.cli.serve import _start_scheduler
    from integrator.web.context import SETTINGS_KEY, STORE_KEY

    app = Flask(__name__)
    app.config["CLOCK"] = lambda: THURSDAY_NOON
    app.extensions[STORE_KEY] = store
    app.extensions[SETTINGS_KEY] = SETTINGS
    scheduler = _start_scheduler(app)
    try:
        clocks = {j.id: j.args[-1] for j in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert set(clocks) == {"reminders:*", "nightly_sync:raisio", "nightly_sync:naantali",
                           "weekly_letters:raisio", "weekly_letters:naantali"}
    assert {clock() for clock in clocks.values()} == {THURSDAY_NOON}


def test_every_scheduled_job_runs_against_the_real_job_modules(tmp_path: Path, store: Store) -> None:
    """The adapters call the jobs with the signatures they really have: one firing of each on a
    demo organisation on the sandbox, through the same lock path the scheduler uses, on the
    sandbox clock (as in `serve --sandbox`) pinned to Thursday 12:00 before 2026-W48."""
    from sqlalchemy import func, select

    from integrator.demo.world import DEMO_GROUPS, ORG, DemoWorld, local
    from integrator.domain.types import JobStatus, MessageKind, OutboxStatus
    from integrator.domain.weeks import days_of
    from integrator.jobs.schedule import JOB_FUNCTIONS
    from integrator.sandbox import Sandbox
    from integrator.store.models import JobRun, Organisation, OutboxMessage

    tuesday = days_of(NEXT_WEEK)[1]
    with Sandbox(start_time=THURSDAY_NOON) as sb:
        clock = sb.state.clock
        world = DemoWorld.build(sb, store, tmp_path / "demo", period_start=THURSDAY_NOON.date() - timedelta(days=30))
        settings = world.settings.model_copy(update={"schedule": world.settings.schedule.model_copy(
            update={"weekly_setup": WeeklyAt(weekday=5, time=time(9, 0), enabled=True)})})

        def fire(kind: str) -> None:
            org = ALL if kind == "reminders" else ORG
            assert run_locked(store, settings, kind, org, JOB_FUNCTIONS[kind], clock.now) is True, kind

        fire("weekly_setup")
        fire("weekly_letters")
        clock.set(local(tuesday, 9, 30))  # half an hour before Tuesday's meetings (reminder at 60 min)
        fire("reminders")
        clock.set(local(tuesday + timedelta(days=1), 2, 0))  # the night after
        fire("nightly_sync")
        work_days = world.work_days()
        in_week = {code for wd, _ in work_days if wd.iso_week == NEXT_WEEK for code in world.participants(wd.id)}
        on_tuesday = {code for wd, _ in work_days if wd.day == tuesday for code in world.participants(wd.id)}
    with store.session() as s:
        kinds = set(s.scalars(select(JobRun.kind)))
        sends = [(r.organisation_id, r.triggered_by, r.params) for r in s.scalars(
            select(JobRun).where(JobRun.kind == "notify_send").order_by(JobRun.id))]
        demo_org = s.scalar(select(Organisation.id).where(Organisation.key == ORG))
        letters = s.scalar(select(func.count()).select_from(OutboxMessage))
        nightly = list(s.scalars(select(JobRun.status).where(JobRun.kind == "nightly_sync")))
        sent = {(m.kind, m.key.split(":")[2]): (m.key, m.status) for m in s.scalars(select(OutboxMessage))}
    assert {"weekly_setup", "nightly_sync"} <= kinds
    assert letters and letters > 0
    # The weekly setup set up next week on the pinned clock, and every group meets that week.
    assert {wd.iso_week for wd, _ in work_days} == {NEXT_WEEK}
    assert {g for wd, g in work_days} == {g.key for g in DEMO_GROUPS}
    # One letter to every client with a work day in 2026-W48 (every demo client), for that week.
    assert len(in_week) == sum(g.clients for g in DEMO_GROUPS)
    letter_for = {code: v for (kind, code), v in sent.items() if kind == MessageKind.WEEKLY_LETTER}
    assert set(letter_for) == in_week
    assert {key.rsplit(":", 1)[1] for key, _ in letter_for.values()} == {NEXT_WEEK}
    # One reminder to everyone meeting on Tuesday (the Tuesday group and the hybrid group's
    # Tuesday half), and nobody else; letters and reminders both went out.
    reminded = {code for (kind, code) in sent if kind == MessageKind.REMINDER}
    assert reminded == on_tuesday and len(on_tuesday) == 6 + 3
    assert {status for _, status in sent.values()} == {OutboxStatus.SENT}
    assert letters == len(in_week) + len(on_tuesday)
    # Each scheduled sending is its organisation's run, as from the CLI: the letters', then the reminders'.
    assert sends == [(demo_org, "scheduler", {"trigger": "weekly_letters"}),
                     (demo_org, "scheduler", {"trigger": "reminders"})]
    # The nightly sync ran (and finished) for the organisation.
    assert nightly == [JobStatus.SUCCEEDED]


sandbox_server, sb = nw.sandbox_server, nw.sb  # fixtures


@pytest.fixture
def letters_world(sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> nw.World:
    return nw.World.build(sb, store, db_url, tmp_path, groups=nw.TWO_GROUPS)


def test_a_scheduled_send_records_the_uncertain_message_on_its_organisations_run(
        store: Store, letters_world: nw.World) -> None:
    """Under `serve`, the scheduler's weekly letters: a 503 from sendMail leaves one letter
    UNCERTAIN, and the coordinators find it on the organisation's run."""
    from sqlalchemy import select

    from integrator.domain.types import JobStatus, OutboxStatus
    from integrator.jobs.schedule import JOB_FUNCTIONS
    from integrator.store.models import JobRun, Organisation, OutboxMessage

    letters_world.sb.state.faults.inject(vendor="graph", path_glob="*sendMail", rate=1.0, status=503, count=1)

    assert run_locked(store, letters_world.settings, "weekly_letters", nw.ORG, JOB_FUNCTIONS["weekly_letters"],
                      lambda: nw.LETTER_DAY) is True

    with store.session() as s:
        run = s.scalars(select(JobRun).where(JobRun.kind == "notify_send")).one()
        uncertain = s.scalars(select(OutboxMessage.key).where(OutboxMessage.status == OutboxStatus.UNCERTAIN)).one()
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == nw.ORG))
    assert (run.organisation_id, run.triggered_by, run.params) == (org_id, "scheduler", {"trigger": "weekly_letters"})
    assert run.status == JobStatus.PARTIAL and run.counts["sent"] == 6 and run.counts["uncertain"] == 1
    assert [(e["item"], e["kind"]) for e in run.errors] == [(uncertain, "uncertain")]
