"""The in-process scheduler: what runs when, and the database lock that keeps runs apart."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from integrator.config import Settings, WeeklyAt
from integrator.jobs.runs import job_lock
from integrator.scheduler import ALL, build_scheduler, planned_jobs, run_locked
from integrator.store.db import Store
from integrator.web.weeks import today, week_of

SETTINGS = Settings.model_validate({"organisations": [
    {"key": "raisio", "name": "Raisio"}, {"key": "naantali", "name": "Naantali"}]})


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

    def job(_store: Store, _settings: Settings, org_key: str) -> None:
        seen.append(org_key)
        fired.set()

    scheduler = build_scheduler(store, SETTINGS, targets={"reminders": job})
    assert [j.id for j in scheduler.get_jobs()] == ["reminders:*"]
    scheduler.start()
    try:
        scheduler.get_job("reminders:*").modify(next_run_time=datetime.now(UTC))
        assert fired.wait(10)
    finally:
        scheduler.shutdown(wait=True)
    assert seen == [ALL]


def test_every_scheduled_job_runs_against_the_real_job_modules(tmp_path: Path, store: Store) -> None:
    """The adapters call the jobs with the signatures they really have: one firing of each on a
    demo organisation on the sandbox, through the same lock path the scheduler uses."""
    from sqlalchemy import func, select

    from integrator.demo_world import DEMO_GROUPS, ORG, DemoWorld
    from integrator.domain.calendar import work_days_for_week
    from integrator.sandbox import Sandbox
    from integrator.scheduler import JOB_FUNCTIONS
    from integrator.store.models import JobRun, OutboxMessage

    with Sandbox(start_time=datetime.now(UTC)) as sb:
        world = DemoWorld.build(sb, store, tmp_path / "demo", period_start=date.today() - timedelta(days=30))
        settings = world.settings.model_copy(update={"schedule": world.settings.schedule.model_copy(
            update={"weekly_setup": WeeklyAt(weekday=5, time=time(9, 0), enabled=True)})})
        for kind in ("weekly_setup", "weekly_letters", "reminders", "nightly_sync"):
            org = ALL if kind == "reminders" else ORG
            assert run_locked(store, settings, kind, org, JOB_FUNCTIONS[kind]) is True, kind
    with store.session() as s:
        kinds = set(s.scalars(select(JobRun.kind)))
        letters = s.scalar(select(func.count()).select_from(OutboxMessage))
    assert {"weekly_setup", "nightly_sync"} <= kinds
    # The adapters take "next week" from the wall clock (integrator.scheduler has no clock to pin),
    # so whether there is anything to write depends on the date: a week whose Tuesday to Thursday
    # are all public holidays (2030-W52) has no work day, so letters are only required otherwise.
    next_week = week_of(today(settings.time_zone) + timedelta(days=7))
    if any(work_days_for_week(next_week, g.weekdays).days for g in DEMO_GROUPS):
        assert letters and letters > 0
