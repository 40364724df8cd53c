"""A work day is decided only when its evidence is final: the day's return deadline has passed
and the meeting's attendance is final (a Teams report published, a Meet conference ended).

The sandbox week of test_nightly_sync.py (2026-W03): "tiistai" meets on Teams Tue 13.1. and
Thu 15.1., "keskiviikko" on Meet Wed 14.1., both 10-11 Helsinki time; K-0001..K-0003 are in
"tiistai", K-0004..K-0006 in "keskiviikko". The return deadline is the default 23:59.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from integrator.demo.world import DemoWorld, local
from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.corrections import Actor, correct_day
from integrator.jobs.attendance.evaluate import REPORT_KIND
from integrator.reports.register import build_week
from integrator.store.models import AttendanceDay, ExternalResource, OutboxMessage, Submission, WorkDay
from tests.jobs import test_nightly_sync as nightly
from tests.jobs.test_nightly_sync import THU, TUE, WED, WEEK, table

FRI = date(2026, 1, 16)


# The nightly sync tests' sandbox (small pages: every list must read every page) and world.
sandbox_server, world = nightly.sandbox_server, nightly.world  # fixtures


def sync_at(w: DemoWorld, day: date, hh: int, **kw: object) -> dict[str, int]:
    w.sb.state.clock.set(local(day, hh))
    result = w.nightly_sync(**kw)
    assert result.errors == []
    return dict(result.counts)


def day_row(w: DemoWorld, code: str, day: date) -> AttendanceDay:
    with w.store.session() as s:
        row = s.scalar(select(AttendanceDay).join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
                       .where(AttendanceDay.client_id == w.client_id(code), WorkDay.day == day))
        assert row is not None, f"{code} has no attendance day on {day}"
        return row


def alerts(w: DemoWorld) -> list[str]:
    with w.store.session() as s:
        return [m.subject for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "absence_alert"))]


def report_markers(w: DemoWorld) -> list[str]:
    with w.store.session() as s:
        return list(s.scalars(select(ExternalResource.local_key).where(ExternalResource.kind == REPORT_KIND)))


def work_day_id(w: DemoWorld, group: str, day: date) -> int:
    return next(wd.id for wd, g in w.work_days() if g == group and wd.day == day)


# ---- a) the day's return deadline ------------------------------------------------------------


def test_before_the_deadline_no_one_is_absent_and_no_alert_goes_out(world: DemoWorld) -> None:
    clock = world.sb.state.clock
    clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    world.attend("K-0002", "tiistai", TUE, 15)
    sync_at(world, TUE, 16)  # the report is in, the day's deadline (23.59) is not
    assert table(world)["K-0001"][TUE] == "present"  # positive evidence decides at once
    assert table(world)["K-0002"][TUE] == "pending"
    assert table(world)["K-0003"][TUE] == "pending"
    assert "Päivän palautusaika päättyy ti 13.1. klo 23.59" in day_row(world, "K-0003", TUE).evidence["reasons"]
    clock.set(local(TUE, 20))
    assert world.turn_in("K-0002", "tiistai", TUE, at=local(TUE, 20))
    sync_at(world, WED, 2)
    assert table(world)["K-0002"][TUE] == "present"  # the evening's return counted
    assert table(world)["K-0003"][TUE] == "absent"  # nothing by the deadline
    assert alerts(world) == []

    clock.set(local(THU, 12))
    world.attend("K-0001", "tiistai", THU, 45)
    world.attend("K-0002", "tiistai", THU, 40)
    sync_at(world, THU, 16)  # K-0003's second day: not an absence yet, so no alert
    assert table(world)["K-0003"] == {TUE: "absent", THU: "pending"}
    assert alerts(world) == []
    counts = sync_at(world, FRI, 2)
    assert table(world)["K-0003"] == {TUE: "absent", THU: "absent"}
    assert alerts(world) == ["Toistuvia poissaoloja: asiakas K-0003"]
    assert counts["days_need_decision"] == 0


def test_the_coursework_is_due_at_the_rules_return_deadline(world: DemoWorld) -> None:
    works = [r for wd, g in world.work_days() if g == "tiistai" and wd.day == TUE
             for r in [world.resource("coursework", k) for k in _coursework_keys(world, wd.id)] if r is not None]
    assert works and all(str(r.state["fp"]["due"]).startswith("2026-01-13T21:59") for r in works)


def _coursework_keys(w: DemoWorld, wd_id: int) -> list[str]:
    with w.store.session() as s:
        return list(s.scalars(select(ExternalResource.local_key).where(
            ExternalResource.kind == "coursework", ExternalResource.local_key.like(f"%:wd{wd_id}:%"))))


# ---- b) a Teams report published late ------------------------------------------------------


def play_a_meeting_that_runs_until_three(w: DemoWorld) -> None:
    w.sb.graph.report_delay = timedelta(days=2)  # Teams has not published the report yet
    w.sb.state.clock.set(local(TUE, 12))
    w.attend("K-0001", "tiistai", TUE, 45)
    w.attend("K-0002", "tiistai", TUE, 17 * 60)  # stays on until 03:00 the next night


def test_a_teams_report_published_late_is_read_at_the_next_sync_and_decides_the_day(world: DemoWorld) -> None:
    play_a_meeting_that_runs_until_three(world)
    counts = sync_at(world, WED, 2)  # the meeting is still going on
    assert table(world)["K-0001"] == {TUE: "pending", THU: "-"}
    assert counts.get("teams_meetings_without_report") == 1
    sync_at(world, WED, 7)  # past the old 4-hour grace; still no report
    assert {c: t[TUE] for c, t in table(world).items() if TUE in t} == {
        "K-0001": "pending", "K-0002": "pending", "K-0003": "pending"}
    assert "Kokousraportti ei vielä valmis" in day_row(world, "K-0003", TUE).evidence["reasons"]
    assert report_markers(world) == []  # "no report yet" is never stored as final
    assert alerts(world) == []

    world.sb.graph.report_delay = timedelta(0)  # Teams publishes the report
    sync_at(world, WED, 8)
    assert (table(world)["K-0001"][TUE], day_row(world, "K-0001", TUE).minutes) == ("present", 45)
    assert (table(world)["K-0002"][TUE], day_row(world, "K-0002", TUE).minutes) == ("present", 60)
    assert table(world)["K-0003"][TUE] == "absent"
    assert len(report_markers(world)) == 1


def test_a_pending_meeting_costs_its_report_request_once_per_sync(world: DemoWorld) -> None:
    play_a_meeting_that_runs_until_three(world)
    sync_at(world, WED, 2)
    world.sb.state.log.reset()
    sync_at(world, WED, 7)
    calls = world.sb.state.log.counts()
    assert sum(n for k, n in calls.items() if "attendanceReports" in k) == 1, calls


def test_a_report_published_after_the_window_is_read_with_since(world: DemoWorld) -> None:
    play_a_meeting_that_runs_until_three(world)
    sync_at(world, WED, 2)
    sync_at(world, TUE + timedelta(days=8), 2)  # the day has left the window undecided
    world.sb.graph.report_delay = timedelta(0)
    sync_at(world, TUE + timedelta(days=9), 2)  # a night's sync no longer reads the old meeting
    assert table(world)["K-0001"][TUE] == "pending"
    sync_at(world, TUE + timedelta(days=9), 3, since=TUE)  # nightly-sync --since re-reads it
    assert table(world)["K-0001"][TUE] == "present" and day_row(world, "K-0001", TUE).minutes == 45
    assert table(world)["K-0003"][TUE] == "absent"


def test_a_no_report_marker_of_an_older_version_is_ignored_and_the_meeting_read_again(world: DemoWorld) -> None:
    world.sb.state.clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    wd = work_day_id(world, "tiistai", TUE)
    with world.store.session() as s:  # what an older sync stored after its 4-hour grace
        s.add(ExternalResource(organisation_id=1, kind=REPORT_KIND, local_key=f"{REPORT_KIND}:{wd}:teams:none",
                               external_id="none", state={"records": 0, "note": "no report"}, status="active"))
    sync_at(world, WED, 2)
    assert table(world)["K-0001"][TUE] == "present"


# ---- c) a report that never comes ----------------------------------------------------------


def test_a_day_without_its_report_after_the_window_waits_for_the_coordinators_decision(world: DemoWorld) -> None:
    world.sb.graph.report_delay = timedelta(days=365)  # never published
    world.sb.state.clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    sync_at(world, WED, 2)
    assert sync_at(world, TUE + timedelta(days=6), 2)["days_need_decision"] == 0  # still inside the window
    counts = sync_at(world, TUE + timedelta(days=7), 2)  # the window closes for Tuesday
    assert counts["days_need_decision"] == 3
    row = day_row(world, "K-0003", TUE)
    assert row.computed_status is AttendanceStatus.PENDING and row.evidence["needs_decision"] is True
    assert row.evidence["reasons"][-1] == "Kokousraportti puuttuu edelleen: päätä päivä itse"
    # Tuesday stays flagged, never absent; Wednesday's Meet meeting, which nobody joined (so no
    # conference record will ever come), leaves its window now too.
    assert sync_at(world, TUE + timedelta(days=8), 2)["days_need_decision"] == 3 + 3
    assert table(world)["K-0003"][TUE] == "pending" and table(world)["K-0004"][WED] == "pending"
    register = build_week(world.store, "raisio", WEEK, rules=world.settings.rules_for("raisio"))
    (k3,) = [r for r in register.rows if r.client_code == "K-0003"]
    assert [d.needs_decision for d in k3.days_on(TUE)] == [True]
    assert "13.1. (tiistai): kokousraportti puuttuu edelleen, päätä päivä itse" in k3.notes
    assert alerts(world) == []

    correct_day(world.store, row.id, AttendanceStatus.ABSENT, "Ei osallistunut, tarkistettu", Actor("cli:test"),
                today=TUE + timedelta(days=8))
    assert sync_at(world, TUE + timedelta(days=8), 3)["days_need_decision"] == 5  # the decision resolved one
    register = build_week(world.store, "raisio", WEEK, rules=world.settings.rules_for("raisio"))
    (k3,) = [r for r in register.rows if r.client_code == "K-0003"]
    assert [d.needs_decision for d in k3.days_on(TUE)] == [False] and k3.status_on(TUE) is AttendanceStatus.ABSENT


# ---- d) Meet: an open conference -----------------------------------------------------------


def test_an_open_meet_conference_keeps_the_day_pending_until_it_ends(world: DemoWorld) -> None:
    world.sb.state.clock.set(local(WED, 12))
    world.attend("K-0004", "keskiviikko", WED, 40)
    world.attend("K-0005", "keskiviikko", WED, 17 * 60)  # the conference goes on until 03:00
    counts = sync_at(world, THU, 2)
    assert table(world)["K-0004"] == {WED: "pending"} and table(world)["K-0006"] == {WED: "pending"}
    assert counts.get("meet_meetings_not_final") == 1
    assert report_markers(world) == []
    sync_at(world, THU, 4)
    assert (table(world)["K-0004"][WED], day_row(world, "K-0004", WED).minutes) == ("present", 40)
    assert table(world)["K-0006"] == {WED: "absent"}


def test_a_meet_meeting_without_any_conference_is_never_decided_absent(world: DemoWorld) -> None:
    sync_at(world, THU, 2)  # nobody joined: no conference record
    sync_at(world, THU, 9)  # the old code's 4-hour grace has passed
    assert table(world)["K-0004"] == {WED: "pending"}
    assert report_markers(world) == []


# ---- e) evidence that comes after the day was read -------------------------------------------


def test_a_meeting_whose_report_is_in_costs_one_report_listing_per_sync_in_the_window_and_none_after(
        world: DemoWorld) -> None:
    world.sb.state.clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    sync_at(world, WED, 2)  # Tuesday's report is read and stored
    world.sb.state.log.reset()
    sync_at(world, WED, 7)
    calls = world.sb.state.log.counts()
    # Listed again (Teams may cut a second report), but its stored report is not read again.
    assert sum(n for k, n in calls.items() if "attendanceReports" in k) == 1, calls
    assert sum(n for k, n in calls.items() if "attendanceRecords" in k) == 0, calls
    sync_at(world, FRI, 2)  # Thursday's meeting: nobody came, no report
    world.sb.state.log.reset()
    sync_at(world, TUE + timedelta(days=10), 2)  # both days have left the re-evaluation window
    calls = world.sb.state.log.counts()
    assert not any("attendanceReports" in k or "conferenceRecords" in k for k in calls), calls


def test_a_meet_conference_held_after_the_day_was_read_is_read_too(world: DemoWorld) -> None:
    world.sb.state.clock.set(local(WED, 12))
    world.attend("K-0004", "keskiviikko", WED, 40)
    sync_at(world, WED, 12)  # the 10:00 conference has ended: read, the day's attendance is in
    assert day_row(world, "K-0004", WED).minutes == 40
    world.attend("K-0005", "keskiviikko", WED, 20, late_by=3 * 60)  # 13:00: a new conference record
    sync_at(world, WED, 14)
    assert len(report_markers(world)) == 2
    meeting = day_row(world, "K-0005", WED).evidence["meeting"]
    # After the scheduled end: on the record for the coordinator, no minutes that count.
    assert len(meeting["records"]) == 1 and meeting["minutes"] == 0


def test_a_drive_return_read_between_local_midnight_and_the_utc_date_change_is_tied_to_its_day(
        world: DemoWorld) -> None:
    world.sb.state.clock.set(local(WED, 0, 30))
    world.drop_file("K-0005", WEEK, "kuva.jpg", "image/jpeg", at=local(WED, 0, 30))
    sync_at(world, WED, 1)  # 23:00 UTC on Tuesday
    with world.store.session() as s:
        (tied,) = s.scalars(select(Submission.work_day_id).where(Submission.source == "drive")).all()
    assert tied == work_day_id(world, "keskiviikko", WED)
