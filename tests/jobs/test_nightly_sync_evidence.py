"""Evidence the nightly sync must not trust as it comes, and failures it must not spread.

Same sandbox week as test_nightly_sync.py (2026-W03: "tiistai" on Teams Tue+Thu, "keskiviikko"
on Meet Wed), played with the real SDKs against the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.attendance_record import AttendanceRecord
from sqlalchemy import select

from integrator.cli.nightly import nightly_sync as nightly_sync_command
from integrator.demo.world import DemoWorld, local
from integrator.domain.types import JobStatus
from integrator.jobs.nightly.evidence import MEETING_ID_UNKNOWN
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.providers.google.harvest import session_intervals, to_return
from integrator.providers.microsoft.attendance import record_from_sdk
from integrator.sandbox.google.meet import Session
from integrator.store.models import Client, ExternalResource, JobRun, MeetingAttendance, Submission
from tests.jobs import test_nightly_sync as nightly
from tests.jobs.test_nightly_sync import THU, TUE, WED, play_week, table

# The nightly sync tests' sandbox (small pages: every list must read every page) and world.
sandbox_server, world = nightly.sandbox_server, nightly.world  # fixtures


def stored_record(w: DemoWorld, code: str, source: str) -> MeetingAttendance:
    with w.store.session() as s:
        (row,) = s.scalars(select(MeetingAttendance).where(MeetingAttendance.client_id == w.client_id(code),
                                                           MeetingAttendance.source == source)
                           .order_by(MeetingAttendance.id).limit(1)).all()
        return row


# ---- F1: reversed and naive intervals ----------------------------------------------------


def test_a_teams_interval_that_ends_before_it_starts_is_dropped_counted_and_never_pays(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    someone = next(a for a in world.sb.graph.attendance if a.email == world.emails["K-0001"])
    with world.store.session() as s:
        k3 = s.get(Client, world.client_id("K-0003"))
        assert k3 is not None and k3.entra_object_id
        oid = k3.entra_object_id
    # K-0003 never came; Teams says they joined at 10:55 and left at 10:05.
    world.sb.graph.attendance.append(dataclasses.replace(
        someone, identity_id=oid, email=world.emails["K-0003"], join=local(TUE, 10, 55), leave=local(TUE, 10, 5)))
    result = world.nightly_sync()
    assert result.errors == [] and result.counts["teams_intervals_rejected"] == 1
    record = stored_record(world, "K-0003", "teams")
    assert record.intervals == [] and record.raw["rejected_intervals"] == 1 and record.seconds == 0
    assert table(world)["K-0003"][TUE] == "absent"


def test_a_meet_session_that_ends_before_it_starts_is_dropped_and_counted(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    meeting = world.resource("meeting", f"meeting:keskiviikko:{WED.isoformat()}")
    assert meeting is not None
    code = str(meeting.state["conference_id"])
    (record,) = [r for r in world.sb.google.meet.records.values() if r.meeting_code == code]
    (k4,) = [p for p in record.participants.values() if p.key == f"user:{world.google_ids['K-0004']}"]
    k4.sessions.append(Session("reversed0000001", local(WED, 10, 59), local(WED, 10, 1)))
    result = world.nightly_sync()
    assert result.errors == [] and result.counts["meet_intervals_rejected"] == 1
    row = stored_record(world, "K-0004", "meet")
    assert len(row.intervals) == 1 and row.raw["rejected_intervals"] == 1 and row.seconds == 40 * 60
    assert table(world)["K-0004"][WED] == "present"  # the 40 good minutes still count


def test_teams_intervals_without_a_time_zone_or_reversed_are_rejected_from_the_graph_wire_shape() -> None:
    payload = {"id": "r1", "totalAttendanceInSeconds": 7500, "role": "Attendee",
               "identity": {"@odata.type": "#microsoft.graph.communicationsUserIdentity", "id": "u1",
                            "displayName": "Aino", "tenantId": "t1"},
               "attendanceIntervals": [
                   {"joinDateTime": "2026-01-13T08:00:00Z", "leaveDateTime": "2026-01-13T08:40:00Z"},
                   {"joinDateTime": "2026-01-13T08:50:00Z", "leaveDateTime": "2026-01-13T08:45:00Z"},
                   {"joinDateTime": "2026-01-13T08:00:00", "leaveDateTime": "2026-01-13T09:00:00"}]}
    node = JsonParseNodeFactory().get_root_parse_node("application/json", json.dumps(payload).encode())
    record = record_from_sdk(node.get_object_value(AttendanceRecord))
    assert [(a.isoformat(), b.isoformat()) for a, b in record.intervals] == [
        ("2026-01-13T08:00:00+00:00", "2026-01-13T08:40:00+00:00")]
    assert record.rejected_intervals == 2 and record.raw()["rejected_intervals"] == 2
    assert record.seconds == 40 * 60  # Teams' total included the broken pairs: only the kept one counts


def test_meet_sessions_naive_reversed_or_garbled_are_rejected_without_a_crash() -> None:
    intervals, rejected = session_intervals([
        {"startTime": "2026-01-14T08:00:00.123Z", "endTime": "2026-01-14T08:40:00Z"},
        {"startTime": "2026-01-14T08:50:00Z", "endTime": "2026-01-14T08:45:00Z"},
        {"startTime": "2026-01-14T08:00:00", "endTime": "2026-01-14T09:00:00"},
        {"startTime": "yesterday", "endTime": "2026-01-14T09:00:00Z"},
        {"startTime": "2026-01-14T08:55:00Z"},  # still in the meeting: not an error, not counted
    ])
    assert [(a.isoformat(), b.isoformat()) for a, b in intervals] == [
        ("2026-01-14T08:00:00.123000+00:00", "2026-01-14T08:40:00+00:00")]
    assert rejected == 3


# ---- F1: one organisation's failure does not stop the others -------------------------------


def test_without_org_a_failing_organisation_is_recorded_the_others_still_run_and_the_exit_is_non_zero(
        world: DemoWorld, tmp_path: Path) -> None:
    play_week(world, nightly=False)
    raw = yaml.safe_load(world.config_path.read_text(encoding="utf-8"))
    broken = {**raw["organisations"][0], "key": "naantali", "name": "Naantali (ei tietokannassa)", "staff": [],
              "groups": []}
    raw["organisations"].insert(0, broken)  # first in the list: it must not stop raisio
    config = tmp_path / "two-orgs.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    now = world.sb.state.clock.now().isoformat()
    out = CliRunner().invoke(nightly_sync_command, ["--config", str(config), "--now", now])
    assert out.exit_code == 1, (out.output, out.exception)
    with world.store.session() as s:
        runs = s.scalars(select(JobRun).where(JobRun.kind == "nightly_sync").order_by(JobRun.id)).all()
        assert [r.status for r in runs] == [JobStatus.FAILED, JobStatus.SUCCEEDED], (out.output, out.exception)
        assert runs[0].errors[0]["item"] == "org:naantali" and "config apply" in runs[0].errors[0]["error"]
    assert table(world)["K-0001"] == {TUE: "present", THU: "present"}



def test_a_crash_inside_an_organisations_run_is_recorded_on_that_run(world: DemoWorld) -> None:
    play_week(world, nightly=False)

    def broken_tenant(org: object) -> object:
        raise RuntimeError("the tenant's client could not be built")

    providers = Providers(google=broken_tenant)
    now = world.sb.state.clock.now()
    (result,) = run_nightly_sync(world.store, world.settings, now=now, providers=providers)  # all organisations
    assert result.status is JobStatus.FAILED
    assert result.errors == [{"item": "run", "error": "RuntimeError: the tenant's client could not be built",
                              "kind": "crash"}]
    with world.store.session() as s:
        run = s.get(JobRun, result.run_id)
        assert run is not None and (run.status, run.errors) == (JobStatus.FAILED, result.errors)
    with pytest.raises(RuntimeError):  # one organisation asked for by name: the caller sees the exception
        run_nightly_sync(world.store, world.settings, org_key="raisio", now=now, providers=providers)

# ---- F7: a resubmission does not make an on-time return late -----------------------------


def test_a_task_turned_in_on_time_and_resubmitted_the_next_day_still_counts_as_returned_on_time(
        world: DemoWorld) -> None:
    play_week(world, nightly=False)  # K-0002 was in Tuesday's meeting 15 min and turned in at 11:30
    assert world.turn_in("K-0002", "tiistai", TUE, at=local(WED, 9))  # a corrected version, the next morning
    assert world.nightly_sync().errors == []
    with world.store.session() as s:
        tuesday, _thursday = s.scalars(select(Submission).where(Submission.client_id == world.client_id("K-0002"))
                                       .order_by(Submission.returned_at)).all()
        assert (tuesday.returned_at, tuesday.late) == (local(TUE, 11, 30), False)
    assert table(world)["K-0002"][TUE] == "present"


def test_the_first_turn_in_of_the_classroom_history_is_the_return_and_decides_lateness() -> None:
    due = local(TUE, 23, 59)
    sub = {"courseId": "c1", "courseWorkId": "w1", "id": "s1", "userId": "u1", "state": "TURNED_IN", "late": True,
           "updateTime": "2026-01-14T07:30:00Z",
           "submissionHistory": [
               {"stateHistory": {"state": "CREATED", "stateTimestamp": "2026-01-13T06:00:00Z"}},
               {"stateHistory": {"state": "TURNED_IN", "stateTimestamp": "2026-01-13T09:30:00Z"}},
               {"stateHistory": {"state": "RECLAIMED_BY_STUDENT", "stateTimestamp": "2026-01-14T07:00:00Z"}},
               {"stateHistory": {"state": "TURNED_IN", "stateTimestamp": "2026-01-14T07:30:00Z"}},
               {"gradeHistory": {"pointsEarned": 1}}]}
    returned = to_return(sub)
    assert returned.turned_in_at == local(TUE, 11, 30) and returned.turned_in_count == 2
    assert returned.late_against(due) is False  # Classroom says late (the last turn-in); the first was on time
    first_late = to_return({**sub, "submissionHistory": sub["submissionHistory"][3:]})  # type: ignore[index]
    assert first_late.late_against(due) is True


# ---- F6: a meeting whose id the weekly setup did not get ---------------------------------


def forget_the_meeting_id(w: DemoWorld, key: str, **state: str | None) -> dict[str, object]:
    """As a weekly setup leaves the row when the id lookup failed or the conference was not ready."""
    with w.store.session() as s:
        row = s.scalar(select(ExternalResource).where(ExternalResource.kind == "meeting",
                                                      ExternalResource.local_key == key))
        assert row is not None
        before = dict(row.state)
        row.state = {**row.state, **state}
    return before


def meeting_state(w: DemoWorld, key: str) -> dict[str, object]:
    row = w.resource("meeting", key)
    assert row is not None
    return dict(row.state)


def test_a_teams_meeting_without_its_online_meeting_id_is_found_by_its_join_url_and_read(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    key = f"meeting:tiistai:{TUE.isoformat()}"
    before = forget_the_meeting_id(world, key, online_meeting_id=None, online_meeting_error="not found")
    result = world.nightly_sync()
    assert result.errors == [] and result.counts["meeting_ids_resolved"] == 1
    assert table(world)["K-0001"] == {TUE: "present", THU: "present"}
    assert meeting_state(world, key)["online_meeting_id"] == before["online_meeting_id"]


def test_a_meet_meeting_without_its_code_gets_it_from_the_calendar_event_and_is_read(world: DemoWorld) -> None:
    play_week(world, nightly=False)
    key = f"meeting:keskiviikko:{WED.isoformat()}"
    before = forget_the_meeting_id(world, key, conference_id=None)
    result = world.nightly_sync()
    assert result.errors == [] and result.counts["meeting_ids_resolved"] == 1
    assert table(world)["K-0004"] == {WED: "present"}
    assert meeting_state(world, key)["conference_id"] == before["conference_id"]


def test_a_teams_meeting_whose_id_cannot_be_found_is_an_error_in_the_job_history_not_a_silent_pending(
        world: DemoWorld) -> None:
    play_week(world, nightly=False)
    forget_the_meeting_id(world, f"meeting:tiistai:{TUE.isoformat()}", online_meeting_id=None,
                          join_url="https://teams.microsoft.com/l/meetup-join/19%3ameeting_gone%40thread.v2/0")
    result = world.nightly_sync()
    assert result.errors == [{"item": "meeting:tiistai:2026-01-13", "error": MEETING_ID_UNKNOWN,
                              "kind": "meeting_id"}]
    assert result.status is JobStatus.PARTIAL and "alerts_postponed" not in result.counts
    assert table(world)["K-0001"] == {TUE: "pending", THU: "present"}  # never an absence
    with world.store.session() as s:
        run = s.get(JobRun, result.run_id)
        assert run is not None and run.errors == result.errors


def test_a_meet_conference_still_being_created_is_an_error_in_the_job_history_and_its_day_stays_pending(
        world: DemoWorld) -> None:
    play_week(world, nightly=False)
    key = f"meeting:keskiviikko:{WED.isoformat()}"
    before = forget_the_meeting_id(world, key, conference_id=None)
    event = world.sb.google.calendar.events[world.coordinator][str(before["event_id"])]
    event["conferenceData"] = {"createRequest": {**event["conferenceData"]["createRequest"],
                                                 "status": {"statusCode": "pending"}}}
    result = world.nightly_sync()
    assert result.errors == [{"item": "meeting:keskiviikko:2026-01-14", "error": MEETING_ID_UNKNOWN,
                              "kind": "meeting_id"}]
    assert table(world)["K-0004"] == {WED: "pending"}
    assert meeting_state(world, key)["conference_id"] is None  # nothing invented
