"""Peer-group meetings on the sandbox: one per work day, updated or cancelled, never doubled."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from integrator.domain.types import WorkDayStatus
from integrator.jobs.meetings.apply import apply_meetings
from integrator.jobs.meetings.plan import plan_meetings
from integrator.jobs.runs import RunRecorder
from integrator.store.models import ExternalResource, Membership, WorkDay
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import ORG, WEEK, World

sandbox_server, sb, world = nw.sandbox_server, nw.sb, nw.world  # fixtures


def run(world: World) -> RunRecorder:
    plan = plan_meetings(world.store, world.settings, ORG, WEEK)
    recorder = RunRecorder.start(world.store, "meetings", organisation_id=None, params={})
    apply_meetings(world.store, world.settings, ORG, plan, recorder)
    recorder.finish()
    return recorder


def meetings(world: World) -> dict[str, ExternalResource]:
    with world.store.session() as s:
        return {r.local_key: r for r in s.scalars(select(ExternalResource).where(ExternalResource.kind == "meeting"))}


def test_each_work_day_gets_one_meeting_with_its_clients_and_a_link(world: World) -> None:
    recorder = run(world)

    assert recorder.errors == []
    rows = meetings(world)
    assert sorted(rows) == ["meeting:keskiviikko:2026-01-14", "meeting:tiistai:2026-01-13",
                            "meeting:tiistai:2026-01-15"]
    teams = rows["meeting:tiistai:2026-01-13"]
    assert teams.status == "active" and teams.state["join_url"].startswith("https://teams.microsoft.com/")
    assert teams.state["online_meeting_id"], "the onlineMeeting id is stored for attendance"
    assert len(teams.state["attendees"]) == 4
    meet = rows["meeting:keskiviikko:2026-01-14"]
    assert meet.state["join_url"].startswith("https://meet.google.com/")
    stored = world.sb.graph.events[teams.external_id]
    assert stored.data["isOnlineMeeting"] is True
    assert stored.data["reminderMinutesBeforeStart"] == 60
    assert "Kirjoita lyhyt teksti" in stored.data["body"]["content"]


def test_a_second_run_changes_nothing(world: World) -> None:
    run(world)
    world.sb.state.log.reset()

    plan = plan_meetings(world.store, world.settings, ORG, WEEK)

    assert plan.actions == []
    run(world)
    assert world.sb.state.log.writes() == []


def test_a_time_change_updates_the_same_event(world: World) -> None:
    run(world)
    before = meetings(world)["meeting:tiistai:2026-01-13"].external_id
    with world.store.session() as s:
        wd = s.scalar(select(WorkDay).where(WorkDay.iso_week == WEEK).order_by(WorkDay.day))
        assert wd is not None
        wd.meeting_start = wd.meeting_start.replace(hour=wd.meeting_start.hour + 1)
        wd.meeting_end = wd.meeting_end.replace(hour=wd.meeting_end.hour + 1)

    plan = plan_meetings(world.store, world.settings, ORG, WEEK)
    assert [(a.op, a.key) for a in plan.actions] == [("update", "meeting:tiistai:2026-01-13")]
    assert "aika muuttui" in plan.actions[0].reason
    run(world)

    after = meetings(world)["meeting:tiistai:2026-01-13"]
    assert after.external_id == before
    assert world.sb.graph.events[before].start.hour == 9  # 11:00 Helsinki = 09:00 UTC
    assert len([e for e in world.sb.graph.events.values() if not e.data.get("isCancelled")]) == 2


def test_a_cancelled_work_day_cancels_its_meeting(world: World) -> None:
    run(world)
    with world.store.session() as s:
        for wd in s.scalars(select(WorkDay)):
            if wd.day.isoformat() in ("2026-01-13", "2026-01-14"):
                wd.status = WorkDayStatus.CANCELLED
                wd.cancelled_reason = "ohjaaja sairaana"
    rows = meetings(world)

    run(world)

    after = meetings(world)
    assert after["meeting:tiistai:2026-01-13"].status == "removed"
    assert after["meeting:keskiviikko:2026-01-14"].status == "removed"
    teams_event = world.sb.graph.events.get(rows["meeting:tiistai:2026-01-13"].external_id)
    assert teams_event is None or teams_event.data.get("isCancelled")
    google_event = world.sb.google.calendar.events[world.coordinator][rows["meeting:keskiviikko:2026-01-14"].external_id]
    assert google_event["status"] == "cancelled"
    assert after["meeting:tiistai:2026-01-15"].status == "active"


def test_a_client_leaving_is_removed_from_the_attendees(world: World) -> None:
    run(world)
    with world.store.session() as s:
        m = s.scalar(select(Membership).order_by(Membership.id))
        assert m is not None
        m.end_date = m.start_date  # left long before the week

    run(world)

    row = meetings(world)["meeting:tiistai:2026-01-13"]
    assert len(row.state["attendees"]) == 3
    attendees = world.sb.graph.events[row.external_id].data["attendees"]
    assert "k-0001@asiakas.example.fi" not in [a["emailAddress"]["address"] for a in attendees]


def test_a_crash_between_the_create_and_our_commit_resumes_without_a_second_meeting(world: World) -> None:
    from integrator.jobs.meetings.apply import _prepare_create
    from integrator.jobs.meetings.plan import organisation_id
    from integrator.jobs.meetings.services import MeetingProviders
    from integrator.providers.microsoft.events import create_teams_event

    plan = plan_meetings(world.store, world.settings, ORG, WEEK)
    action = next(a for a in plan.actions if a.key == "meeting:tiistai:2026-01-13")
    with world.store.session() as s:
        org_id = organisation_id(s, ORG)
    providers = MeetingProviders(world.settings.organisation(ORG))
    prepared = _prepare_create(world.store, world.settings, world.settings.organisation(ORG), org_id, providers,
                               action)
    made = create_teams_event(providers.graph(), prepared.spec, prepared.state["idempotency_key"])
    providers.close()  # ...and the process dies here: the row still says "pending"
    assert meetings(world)["meeting:tiistai:2026-01-13"].status == "pending"

    run(world)

    row = meetings(world)["meeting:tiistai:2026-01-13"]
    assert row.status == "active" and row.external_id == made.event_id
    assert len(world.sb.graph.events) == 2  # Tuesday and Thursday, not three


def test_a_meet_create_whose_event_was_deleted_meanwhile_is_made_again_with_a_new_id(world: World) -> None:
    from integrator.jobs.meetings.apply import _prepare_create
    from integrator.jobs.meetings.plan import organisation_id
    from integrator.jobs.meetings.services import MeetingProviders
    from integrator.providers.google.calendar import cancel_meet_event, create_meet_event

    key = "meeting:keskiviikko:2026-01-14"
    plan = plan_meetings(world.store, world.settings, ORG, WEEK)
    action = next(a for a in plan.actions if a.key == key)
    with world.store.session() as s:
        org_id = organisation_id(s, ORG)
    providers = MeetingProviders(world.settings.organisation(ORG))
    prepared = _prepare_create(world.store, world.settings, world.settings.organisation(ORG), org_id, providers,
                               action)
    lost = create_meet_event(providers.google(), prepared.spec, prepared.state["idempotency_key"])
    # ...the process dies before our commit, and the coordinator deletes the event in Calendar.
    assert cancel_meet_event(providers.google(), world.coordinator, lost.event_id)
    providers.close()

    recorder = run(world)

    assert recorder.errors == []
    row = meetings(world)[key]
    assert row.status == "active" and row.state["generation"] == 2
    assert row.external_id != lost.event_id and row.state["join_url"].startswith("https://meet.google.com/")
    calendar = world.sb.google.calendar.events[world.coordinator]
    assert calendar[lost.event_id]["status"] == "cancelled"
    assert calendar[row.external_id]["status"] == "confirmed"
    world.sb.state.log.reset()
    assert run(world).errors == [], "the next night is quiet"
    assert world.sb.state.log.writes() == []


def test_a_new_coordinator_gets_a_new_meeting_and_the_old_one_is_cancelled(world: World) -> None:
    from integrator.domain.types import StaffRole
    from integrator.store.models import PeerGroup, StaffUser

    run(world)
    old = meetings(world)["meeting:tiistai:2026-01-13"].external_id
    world.sb.graph.grant_meeting_policy(world.sb.graph.add_user("uusi@sandbox.example.fi", "Uusi Ohjaaja"))
    with world.store.session() as s:
        staff = StaffUser(email="uusi@sandbox.example.fi", display_name="Uusi Ohjaaja", role=StaffRole.COORDINATOR)
        s.add(staff)
        s.flush()
        group = s.scalar(select(PeerGroup).where(PeerGroup.key == "tiistai"))
        assert group is not None
        group.coordinator_id = staff.id

    recorder = run(world)

    assert recorder.errors == []
    row = meetings(world)["meeting:tiistai:2026-01-13"]
    assert row.external_id != old and row.state["organizer"] == "uusi@sandbox.example.fi"
    assert row.state["online_meeting_id"]
    gone = world.sb.graph.events.get(old)
    assert gone is None or gone.data.get("isCancelled")
    assert world.sb.state.log.counts()["graph events cancel"] == 2  # both Tuesday-group days moved


def test_a_meet_link_that_came_late_is_fetched_by_the_next_run(world: World) -> None:
    run(world)
    key = "meeting:keskiviikko:2026-01-14"
    link = meetings(world)[key].state["join_url"]
    with world.store.session() as s:
        row = s.scalar(select(ExternalResource).where(ExternalResource.local_key == key))
        assert row is not None
        row.state = {**row.state, "join_url": None}  # as when Meet's createRequest was still pending

    plan = plan_meetings(world.store, world.settings, ORG, WEEK)
    assert [(a.op, a.key, a.reason) for a in plan.actions] == [("update", key, "tapaamislinkki puuttuu")]
    run(world)

    assert meetings(world)[key].state["join_url"] == link
    assert plan_meetings(world.store, world.settings, ORG, WEEK).actions == []


def test_clients_do_not_see_each_others_addresses_in_the_invitations(world: World) -> None:
    run(world)
    rows = meetings(world)
    world.sb.state.log.reset()

    teams = world.sb.graph.events[rows["meeting:tiistai:2026-01-13"].external_id]
    meet = world.sb.google.calendar.events[world.coordinator][rows["meeting:keskiviikko:2026-01-14"].external_id]
    assert teams.data["hideAttendees"] is True
    assert meet["guestsCanSeeOtherGuests"] is False and meet["guestsCanInviteOthers"] is False
    assert plan_meetings(world.store, world.settings, ORG, WEEK).actions == []
    run(world)
    assert world.sb.state.log.writes() == [], "already private: nothing is written again"


def test_meetings_made_with_visible_attendees_are_made_private_once(world: World) -> None:
    from integrator.jobs.meetings.plan import HIDE_REASON

    run(world)
    rows = meetings(world)
    # As the job left them before attendees were hidden: the provider defaults, nothing in our memory.
    for row in rows.values():
        if row.state["provider"] == "teams":
            world.sb.graph.events[row.external_id].data["hideAttendees"] = False
        else:
            event = world.sb.google.calendar.events[world.coordinator][row.external_id]
            del event["guestsCanSeeOtherGuests"], event["guestsCanInviteOthers"]
    with world.store.session() as s:
        for stored in s.scalars(select(ExternalResource).where(ExternalResource.kind == "meeting")):
            stored.state = {k: v for k, v in stored.state.items() if k != "attendees_hidden"}

    plan = plan_meetings(world.store, world.settings, ORG, WEEK)
    assert sorted((a.op, a.key, a.reason) for a in plan.actions) == sorted(
        ("update", key, HIDE_REASON) for key in rows)
    recorder = run(world)

    assert recorder.errors == []
    after = meetings(world)
    assert {k: r.external_id for k, r in after.items()} == {k: r.external_id for k, r in rows.items()}
    for row in after.values():
        if row.state["provider"] == "teams":
            assert world.sb.graph.events[row.external_id].data["hideAttendees"] is True
        else:
            event = world.sb.google.calendar.events[world.coordinator][row.external_id]
            assert event["guestsCanSeeOtherGuests"] is False and event["guestsCanInviteOthers"] is False
    world.sb.state.log.reset()
    run(world)
    assert world.sb.state.log.writes() == []


def _an_hour_later(world: World, day: str) -> None:
    with world.store.session() as s:
        for wd in s.scalars(select(WorkDay)):
            if wd.day.isoformat() == day:
                wd.meeting_start = wd.meeting_start.replace(hour=wd.meeting_start.hour + 1)
                wd.meeting_end = wd.meeting_end.replace(hour=wd.meeting_end.hour + 1)


def test_an_answer_without_the_meet_code_keeps_the_code_we_know(world: World) -> None:
    run(world)
    key = "meeting:keskiviikko:2026-01-14"
    known = meetings(world)[key]
    assert known.state["conference_id"] and known.state["join_url"]
    # Calendar answers as while the conference is still being made: no code, no link.
    event = world.sb.google.calendar.events[world.coordinator][known.external_id]
    event["conferenceData"] = {"createRequest": {**event["conferenceData"]["createRequest"],
                                                 "status": {"statusCode": "pending"}}}
    del event["hangoutLink"]
    _an_hour_later(world, "2026-01-14")

    assert [(a.op, a.key) for a in plan_meetings(world.store, world.settings, ORG, WEEK).actions] == [
        ("update", key)]
    assert run(world).errors == []

    after = meetings(world)[key]
    assert after.external_id == known.external_id
    moved = datetime.fromisoformat(event["start"]["dateTime"])  # Calendar echoes it in Helsinki's offset
    assert moved == datetime(2026, 1, 14, 9, tzinfo=UTC), "the patch went through"
    assert after.state["conference_id"] == known.state["conference_id"], "attendance is read with it"
    assert after.state["join_url"] == known.state["join_url"]


def test_a_meet_event_deleted_in_calendar_is_made_again_when_the_meeting_changes(world: World) -> None:
    from integrator.jobs.meetings.services import MeetingProviders
    from integrator.providers.google.calendar import cancel_meet_event

    run(world)
    key = "meeting:keskiviikko:2026-01-14"
    old = meetings(world)[key]
    providers = MeetingProviders(world.settings.organisation(ORG))
    # The coordinator deletes the event in Calendar: Calendar keeps it as "cancelled".
    assert cancel_meet_event(providers.google(), world.coordinator, str(old.external_id))
    providers.close()
    _an_hour_later(world, "2026-01-14")

    recorder = run(world)

    assert recorder.errors == []
    row = meetings(world)[key]
    calendar = world.sb.google.calendar.events[world.coordinator]
    assert row.status == "active" and row.state["generation"] == old.state["generation"] + 1
    assert row.external_id != old.external_id and row.state["event_id"] == row.external_id
    assert calendar[row.external_id]["status"] == "confirmed"
    assert datetime.fromisoformat(calendar[row.external_id]["start"]["dateTime"]) == datetime(2026, 1, 14, 9, tzinfo=UTC)
    assert calendar[str(old.external_id)]["status"] == "cancelled"
    assert row.state["conference_id"] and row.state["conference_id"] != old.state["conference_id"]
    assert row.state["join_url"] != old.state["join_url"], "the letters carry the new link"
    world.sb.state.log.reset()
    assert run(world).errors == [], "the next night is quiet"
    assert world.sb.state.log.writes() == []


def test_a_teams_event_cancelled_in_outlook_is_made_again_with_its_own_online_meeting(world: World) -> None:
    from integrator.jobs.meetings.services import MeetingProviders
    from integrator.providers.microsoft.events import cancel_teams_event

    run(world)
    key = "meeting:tiistai:2026-01-13"
    old = meetings(world)[key]
    providers = MeetingProviders(world.settings.organisation(ORG))
    assert cancel_teams_event(providers.graph(), world.coordinator, str(old.external_id))
    providers.close()
    _an_hour_later(world, "2026-01-13")

    recorder = run(world)

    assert recorder.errors == []
    row = meetings(world)[key]
    assert row.status == "active" and row.external_id != old.external_id
    assert row.external_id in world.sb.graph.events and old.external_id not in world.sb.graph.events
    assert row.state["join_url"] != old.state["join_url"]
    assert row.state["online_meeting_id"] and row.state["online_meeting_id"] != old.state["online_meeting_id"], \
        "attendance is read from the new meeting, not the cancelled one"
    world.sb.state.log.reset()
    assert run(world).errors == []
    assert world.sb.state.log.writes() == []
