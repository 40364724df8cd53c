"""Who is who: the identity join order and the keys under which a coordinator's mapping is reused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from integrator.demo.world import DemoWorld, local
from integrator.jobs.attendance.identity import (
    ClientIndex,
    StaffIdentityError,
    is_stable_key,
    looks_like_phone,
    map_identity,
    participant_key,
    unmatched_attendees,
)
from integrator.store.models import IdentityMapping, MeetingAttendance
from tests.jobs import test_nightly_sync as nightly
from tests.jobs.test_nightly_sync import PHONE, THU, TUE, WED, table


def index() -> ClientIndex:
    return ClientIndex(by_entra={"oid-1": 1}, by_google={"g-2": 2}, by_email={"aino@example.fi": 3},
                       mappings={("teams", "email:aino@example.fi"): 4, ("meet", "phone:+358 40 1234567"): 5},
                       staff_emails={"ohjaaja@example.fi"})


def test_a_stable_account_id_wins_over_a_mapping_and_an_email() -> None:
    assert index().resolve("teams", user_id="oid-1", key="email:aino@example.fi", email="Aino@Example.fi") == 1
    assert index().resolve("meet", user_id="g-2", key="user:g-2", email=None) == 2


def test_a_coordinators_mapping_wins_over_an_email_match() -> None:
    assert index().resolve("teams", user_id="guest-uuid", key="email:aino@example.fi", email="aino@example.fi") == 4


def test_an_email_matches_case_insensitively_when_nothing_else_does() -> None:
    assert index().resolve("meet", user_id=None, key="email:aino@example.fi", email="AINO@example.FI") == 3


def test_an_unknown_guest_stays_unmatched() -> None:
    assert index().resolve("teams", user_id="x", key="name:vieras", email=None) is None


def test_keys_stay_the_same_from_one_meeting_to_the_next() -> None:
    # A guest gets a new session id every time; the address, the number or the name does not change.
    assert participant_key(user_id="a1", email=" Aino@Example.fi ", display_name="Aino") == "email:aino@example.fi"
    assert participant_key(user_id=None, email=None, display_name="+358 40 1234567", via_phone=True) == \
        "phone:+358 40 1234567"
    assert participant_key(user_id="g-2", email=None, display_name="Aino V") == "user:g-2"
    assert participant_key(user_id=None, email=None, display_name="Vieras Käyttäjä") == "name:vieras käyttäjä"


def test_a_masked_phone_number_is_recognised_as_a_dial_in() -> None:
    assert looks_like_phone("+358 40 *** **12")
    assert looks_like_phone("040-1234567")
    assert not looks_like_phone("Aino Virtanen")
    assert not looks_like_phone(None)


def test_only_account_ids_addresses_and_full_numbers_are_stable_keys() -> None:
    assert is_stable_key("user:g-2") and is_stable_key("email:aino@example.fi")
    assert is_stable_key("phone:+358 40 765 4321") and is_stable_key("phone:040-1234567")
    assert not is_stable_key("phone:+358 40 *** **12") and not is_stable_key("phone:+358 ••• ••• 123")
    assert not is_stable_key("name:vieras") and not is_stable_key("name:iphone") and not is_stable_key("phone:")


def test_a_weak_mapping_left_in_the_store_from_before_is_never_reused() -> None:
    legacy = ClientIndex(by_entra={}, by_google={}, by_email={},
                         mappings={("teams", "name:vieras"): 7, ("meet", "phone:+358 40 *** **12"): 7},
                         staff_emails=set())
    assert legacy.resolve("teams", user_id=None, key="name:vieras", email=None) is None
    assert legacy.resolve("meet", user_id=None, key="phone:+358 40 *** **12", email=None) is None


# ---- on the sandbox: the coordinator's mapping, meeting after meeting --------------------------

MASKED = "+358 40 *** **12"


# The nightly sync tests' sandbox (small pages: every list must read every page) and world.
sandbox_server, world = nightly.sandbox_server, nightly.world  # fixtures


def dial_in_or_join_as_guest(w: DemoWorld, day: date, name: str, *, phone: bool) -> None:
    """Someone joins Tuesday's/Thursday's Teams meeting for 50 minutes without signing in."""
    w.sb.state.clock.set(local(day, 12))
    meeting = w.resource("meeting", f"meeting:tiistai:{day.isoformat()}")
    assert meeting is not None
    w.sb.graph.join_meeting(str(meeting.state["join_url"]), display_name=name, minutes=50, start=local(day, 10),
                            via_phone=phone)
    w.sb.state.clock.set(local(day + timedelta(days=1), 2))
    assert w.nightly_sync().errors == []


def map_to(w: DemoWorld, key: str, code: str) -> int:
    (u,) = [u for u in unmatched_attendees(w.store, 1) if u.participant_key == key]
    return map_identity(w.store, 1, u.source, u.participant_key, w.client_id(code), "staff:1")


@pytest.mark.parametrize(("name", "phone", "key"), [("Vieras", False, "name:vieras"),
                                                     (MASKED, True, f"phone:{MASKED}")])
def test_a_guest_name_or_masked_number_mapped_once_does_not_pay_that_client_for_the_next_meeting(
        world: DemoWorld, name: str, phone: bool, key: str) -> None:
    dial_in_or_join_as_guest(world, TUE, name, phone=phone)
    assert map_to(world, key, "K-0003") == 1
    assert table(world)["K-0003"][TUE] == "present"
    dial_in_or_join_as_guest(world, THU, name, phone=phone)  # someone else, or nobody knows who
    assert table(world)["K-0003"][THU] == "absent"
    (again,) = [u for u in unmatched_attendees(world.store, 1) if u.participant_key == key]
    assert (again.records, again.stable) == (1, False)
    assert again.work_day_ids == [wd.id for wd, g in world.work_days() if g == "tiistai" and wd.day == THU]
    with world.store.session() as s:
        assert s.scalars(select(IdentityMapping)).all() == []  # nothing remembered for a weak key


def test_a_full_phone_number_mapped_once_is_recognised_in_the_next_meeting(world: DemoWorld) -> None:
    dial_in_or_join_as_guest(world, TUE, PHONE, phone=True)
    assert map_to(world, f"phone:{PHONE}", "K-0003") == 1
    dial_in_or_join_as_guest(world, THU, PHONE, phone=True)
    assert table(world)["K-0003"] == {TUE: "present", THU: "present"}
    assert [u for u in unmatched_attendees(world.store, 1) if u.via_phone] == []


def test_remapping_a_number_to_another_client_takes_the_day_back_from_the_first_one(world: DemoWorld) -> None:
    dial_in_or_join_as_guest(world, TUE, PHONE, phone=True)
    map_to(world, f"phone:{PHONE}", "K-0001")
    assert table(world)["K-0001"][TUE] == "present"
    assert map_identity(world.store, 1, "teams", f"phone:{PHONE}", world.client_id("K-0003"), "staff:1") == 1
    assert table(world)["K-0001"][TUE] == "absent"  # the number was not K-0001's: no compensation
    assert table(world)["K-0003"][TUE] == "present"


# ---- the organiser and other staff are never unmatched attendees, and never a client ----------


def staff_and_a_guest_join_both_meetings(w: DemoWorld) -> None:
    """The coordinator hosts Tuesday's Teams and Wednesday's Meet meeting; the social worker
    drops into the Meet one; a guest nobody knows joins both."""
    w.sb.google.add_user(w.social_worker, "Sari Sosiaaliohjaaja")
    w.sb.state.clock.set(local(WED, 12))
    teams = w.resource("meeting", f"meeting:tiistai:{TUE.isoformat()}")
    meet = w.resource("meeting", f"meeting:keskiviikko:{WED.isoformat()}")
    assert teams is not None and meet is not None
    w.sb.graph.join_meeting(str(teams.state["join_url"]), email=w.coordinator, minutes=60, start=local(TUE, 10))
    w.sb.graph.join_meeting(str(teams.state["join_url"]), display_name="Vieras", minutes=50, start=local(TUE, 10))
    code = str(meet.state["conference_id"])
    w.sb.google.join_meet(code, email=w.coordinator, minutes=60, start=local(WED, 10))
    w.sb.google.join_meet(code, email=w.social_worker, minutes=20, start=local(WED, 10, 30))
    w.sb.google.join_meet(code, display_name="Vieras", minutes=50, start=local(WED, 10))
    w.sb.state.clock.set(local(THU, 2))
    assert w.nightly_sync().errors == []


def test_the_meet_and_teams_organiser_and_staff_are_not_listed_but_a_guest_still_is(world: DemoWorld) -> None:
    staff_and_a_guest_join_both_meetings(world)
    listed = {(u.source, u.display_name) for u in unmatched_attendees(world.store, 1)}
    assert listed == {("teams", "Vieras"), ("meet", "Vieras")}
    with world.store.session() as s:  # the staff records are kept (the meeting happened), just not as clients
        roles = {(r.source, r.raw.get("role")) for r in s.scalars(select(MeetingAttendance))
                 if r.display_name != "Vieras"}
    assert ("meet", "organizer") in roles and ("meet", "staff") in roles and ("teams", "organizer") in roles


def test_a_staff_key_is_never_mapped_to_a_client(world: DemoWorld) -> None:
    staff_and_a_guest_join_both_meetings(world)
    with world.store.session() as s:
        keys = {(r.source, r.participant_key) for r in s.scalars(select(MeetingAttendance))
                if r.display_name != "Vieras"}
    assert len(keys) == 3  # the coordinator in each meeting, the social worker in Meet
    for source, key in sorted(keys):
        with pytest.raises(StaffIdentityError, match="organiser or a staff member"):
            map_identity(world.store, 1, source, key, world.client_id("K-0004"), "staff:1")
    with world.store.session() as s:
        assert s.scalars(select(IdentityMapping)).all() == []
        assert all(r.client_id is None for r in s.scalars(select(MeetingAttendance)) if r.display_name != "Vieras")
    assert table(world)["K-0004"][WED] == "absent"  # the coordinator's hour paid nobody


def test_a_mapping_of_the_organiser_made_before_does_not_pay_a_client_for_the_organisers_hour(
        world: DemoWorld) -> None:
    coordinator = world.sb.google.user(world.coordinator)
    assert coordinator is not None
    with world.store.session() as s:  # made when nothing stopped it (the mistake of the issue)
        s.add(IdentityMapping(organisation_id=1, source="meet", participant_key=f"user:{coordinator.id}",
                              client_id=world.client_id("K-0004")))
    staff_and_a_guest_join_both_meetings(world)
    assert table(world)["K-0004"][WED] == "absent"
    with world.store.session() as s:
        (hosted,) = [r for r in s.scalars(select(MeetingAttendance))
                     if r.source == "meet" and r.participant_key == f"user:{coordinator.id}"]
        assert (hosted.client_id, hosted.raw["role"]) == (None, "organizer")
