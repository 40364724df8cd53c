"""The in-process scheduler: what runs when, and the database lock that keeps runs apart."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time

from integrator.config import Settings
from integrator.jobs.runs import job_lock
from integrator.scheduler import ALL, build_scheduler, planned_jobs, run_locked
from integrator.store.db import Store

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
