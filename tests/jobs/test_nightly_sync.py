"""The nightly sync against the sandbox tenant: real SDKs, real sockets, the product's own weekly setup.

Week 2026-W03 (Tue 13.1., Wed 14.1., Thu 15.1.). Group "tiistai" meets Tue+Thu on Teams,
group "keskiviikko" meets Wed on Meet, both 10-11 Helsinki time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integrator.demo.world import DemoWorld, GroupPlan, local
from integrator.domain.types import ServiceModel
from integrator.jobs.attendance.identity import map_identity, unmatched_attendees
from integrator.reports.register import build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, MeetingAttendance, OutboxMessage, SyncCursor

WEEK = "2026-W03"
TUE, WED, THU = date(2026, 1, 13), date(2026, 1, 14), date(2026, 1, 15)
GROUPS = [GroupPlan("tiistai", "Tiistai- ja torstairyhmä", [2, 4], "teams", ServiceModel.LONG_TERM, 3),
          GroupPlan("keskiviikko", "Keskiviikkoryhmä", [3], "meet", ServiceModel.SHORT_TERM, 3)]
PHONE = "+358 40 765 4321"

EXPECTED = {
    "K-0001": {TUE: "present", THU: "present"},  # 45 min; Thursday two sessions of 20 min
    "K-0002": {TUE: "present", THU: "absent"},  # Tue: 15 min but the task turned in; Thu: turned in late
    "K-0003": {TUE: "absent", THU: "absent"},  # two in a row: the social worker hears of it
    "K-0004": {WED: "present"},  # 40 min on Meet
    "K-0005": {WED: "present"},  # a photo in the Drive folder only
    "K-0006": {WED: "present"},  # dialled in by phone; the coordinator maps the number once
}


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox(page_size=3) as sb:  # small pages: every list must read every page
        yield sb


def _world(sb: Sandbox, store: Store, tmp_path: Path) -> DemoWorld:
    sb.reset()
    sb.state.faults.clear()
    sb.state.clock.set(datetime(2026, 1, 9, 10, 0, tzinfo=UTC))  # the Friday before
    w = DemoWorld.build(sb, store, tmp_path / "demo", groups=GROUPS, db_url=store.url)
    w.weekly_setup(WEEK)
    return w


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> DemoWorld:
    return _world(sandbox_server, store, tmp_path)


@pytest.fixture
def world_any(sandbox_server: Sandbox, any_store: Store, tmp_path: Path) -> DemoWorld:
    """On SQLite and on PostgreSQL (when a server is given)."""
    return _world(sandbox_server, any_store, tmp_path)


def play_week(w: DemoWorld, *, nightly: bool = True) -> None:
    clock = w.sb.state.clock
    clock.set(local(TUE, 12))
    w.attend("K-0001", "tiistai", TUE, 45)
    w.attend("K-0002", "tiistai", TUE, 15)
    assert w.turn_in("K-0002", "tiistai", TUE, at=local(TUE, 11, 30))
    if nightly:
        clock.set(local(WED, 2))
        w.nightly_sync()
    clock.set(local(WED, 12))
    w.attend("K-0004", "keskiviikko", WED, 40)
    w.drop_file("K-0005", WEEK, "tyo.jpg", "image/jpeg", at=local(WED, 11, 45))
    w.attend("K-0006", "keskiviikko", WED, 50, phone=PHONE)
    if nightly:
        clock.set(local(THU, 2))
        w.nightly_sync()
    clock.set(local(THU, 12))
    w.attend("K-0001", "tiistai", THU, 20)
    w.attend("K-0001", "tiistai", THU, 20, late_by=30)
    clock.set(local(date(2026, 1, 16), 1))
    assert w.turn_in("K-0002", "tiistai", THU, at=local(date(2026, 1, 16), 1))
    clock.set(local(date(2026, 1, 16), 2))


def map_the_phone_number(w: DemoWorld) -> None:
    (phone,) = [u for u in unmatched_attendees(w.store, 1) if u.via_phone]
    client_id = w.client_id("K-0006")
    map_identity(w.store, 1, phone.source, phone.participant_key, client_id, "staff:1")


def table(w: DemoWorld) -> dict[str, dict[date, str]]:
    return build_week(w.store, "raisio", WEEK, rules=w.settings.rules_for("raisio")).table()


def test_a_week_on_the_sandbox_gives_the_expected_register(world_any: DemoWorld) -> None:
    play_week(world_any)
    result = world_any.nightly_sync()
    assert result.errors == []
    map_the_phone_number(world_any)
    assert table(world_any) == EXPECTED


def test_two_absences_in_a_row_send_one_alert_with_code_group_and_dates_only(world: DemoWorld) -> None:
    play_week(world)
    world.nightly_sync()
    world.nightly_sync()
    with world.store.session() as s:
        alerts = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "absence_alert")).all()
    assert [(a.to_address, a.subject) for a in alerts] == [
        ("sosiaaliohjaaja@sandbox.example.fi", "Toistuvia poissaoloja: asiakas K-0003")]
    assert "13.1.2026, 15.1.2026" in alerts[0].body_text and "Tiistai- ja torstairyhmä" in alerts[0].body_text


def test_a_night_without_new_data_reads_the_drive_feed_and_one_listing_per_meeting_of_the_window(
        world: DemoWorld) -> None:
    play_week(world)
    world.nightly_sync()
    world.sb.state.log.reset()
    second = world.nightly_sync()
    calls = {k: v for k, v in world.sb.state.log.counts().items() if "oauth" not in k and "login" not in k}
    # The week's three meetings are listed again (a later report or conference may have come),
    # in one batch per vendor; no report or conference already stored is read again.
    assert calls == {"google drive changes.list": 1, "google meet batch": 1, "google meet conferenceRecords.list": 1,
                     "graph batch batch": 1, "graph attendanceReports list": 2, "graph users get": 1}
    assert second.counts["requests"] == 4


def test_the_saved_drive_cursor_is_where_the_feed_ended(world: DemoWorld) -> None:
    play_week(world)
    world.nightly_sync()
    with world.store.session() as s:
        cursor = s.scalar(select(SyncCursor.value).where(SyncCursor.source == "drive_changes"))
    assert cursor == str(len(world.sb.google.drive.changes) + 1)  # the sandbox's next position


def test_a_teams_outage_leaves_days_pending_without_alerts_and_the_next_night_corrects_them(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    world.sb.state.faults.inject(vendor="graph", path_glob="*attendanceReports*", rate=1.0, status=503)
    broken = world.nightly_sync()
    assert broken.status.value == "partial" and broken.counts.get("alerts_postponed") == 1
    during = table(world)
    assert during["K-0001"] == {TUE: "pending", THU: "pending"}
    assert during["K-0002"] == {TUE: "present", THU: "pending"}  # the task return still counts
    world.sb.state.faults.clear()
    world.nightly_sync()
    map_the_phone_number(world)
    assert table(world) == EXPECTED


def test_a_classroom_outage_leaves_that_groups_days_as_they_were_until_the_next_night(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    course = world.resource("course", "course:tiistai")
    assert course is not None
    world.sb.state.faults.inject(vendor="google", path_glob=f"*{course.external_id}*studentSubmissions*", rate=1.0,
                                 status=503)
    broken = world.nightly_sync()
    assert broken.status.value == "partial" and broken.counts["days_kept_unread_source"] == 2
    during = table(world)
    assert during["K-0002"] == {TUE: "-", THU: "-"}  # not turned into absences: the return was not seen
    assert during["K-0004"] == {WED: "present"}  # the Meet group's day does not depend on Classroom
    world.sb.state.faults.clear()
    world.nightly_sync()
    map_the_phone_number(world)
    assert table(world) == EXPECTED


def test_a_sync_that_was_down_for_ten_days_still_catches_the_week_up(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    world.sb.state.clock.set(local(date(2026, 1, 26), 2))  # the week is outside the 7-day window
    result = world.nightly_sync()
    assert result.counts["days_outside_window_evaluated"] == 9
    map_the_phone_number(world)
    assert table(world) == EXPECTED


def test_sigkill_during_the_sync_leaves_the_register_unchanged_and_the_next_run_correct(
        world: DemoWorld, tmp_path: Path) -> None:
    play_week(world, nightly=False)
    world.sb.state.latency_ms = 40  # slow enough to be killed half-way
    env = {**os.environ, "INTEGRATOR_DATABASE_URL": world.store.url}
    now = world.sb.state.clock.now().isoformat()
    proc = subprocess.Popen([sys.executable, "-c", "from integrator.cli import main; main()", "nightly-sync", "--config",
                             str(world.config_path), "--now", now], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with world.store.session() as s:
                if (s.scalar(select(func.count(MeetingAttendance.id))) or 0) > 0:
                    break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with world.store.session() as s:
        assert s.scalar(select(func.count(AttendanceDay.id))) == 0  # killed before the register moved
    world.sb.state.latency_ms = 0
    from integrator.store.models import JobLock

    with world.store.session() as s:  # the killed run's lock would expire in 2 h; a test cannot wait
        s.query(JobLock).delete()
    world.nightly_sync()
    map_the_phone_number(world)
    assert table(world) == EXPECTED
