"""Meet meetings as Calendar events on the sandbox: our own ids make creates idempotent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrator.config import GoogleTenant
from integrator.providers.errors import Fatal
from integrator.providers.google.calendar import (
    cancel_meet_event,
    create_meet_event,
    event_id_for,
    get_event,
    update_meet_event,
)
from integrator.providers.google.client import GoogleClient
from integrator.providers.meetings import MeetingSpec
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox

DOMAIN = "sandbox.example.fi"
COACH = f"ohjaaja@{DOMAIN}"


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(with_graph=False) as sb:
        yield sb


@pytest.fixture
def client(server: Sandbox, tmp_path: Path) -> GoogleClient:
    server.reset()
    server.google.add_user(COACH, "Olli Ohjaaja")
    server.google.add_user(f"admin@{DOMAIN}", "Admin")
    key = tmp_path / "key.json"
    key.write_text(json.dumps(server.google.service_account_info()))
    t = GoogleTenant.model_validate({"domain": DOMAIN, "service_account": {"file": str(key)},
                                     "admin_subject": f"admin@{DOMAIN}", "api_base_url": server.google_url})
    return GoogleClient(t, policy=RetryPolicy(sleep=lambda s: None))


def spec(hour: int = 8) -> MeetingSpec:
    start = datetime(2026, 1, 14, hour, tzinfo=UTC)
    return MeetingSpec(COACH, "Vertaisryhmä", "<p>Ohjeet</p>", start, start + timedelta(hours=1),
                       ("k-0001@asiakas.example.fi", "k-0002@asiakas.example.fi"), 60)


def test_event_ids_are_valid_base32hex_and_stable() -> None:
    eid = event_id_for("raisio:meeting:keskiviikko:2026-01-14:1")
    assert eid == event_id_for("raisio:meeting:keskiviikko:2026-01-14:1")
    assert 5 <= len(eid) <= 1024 and set(eid) <= set("0123456789abcdefghijklmnopqrstuv")


def test_a_meet_event_gets_a_meet_link_and_a_repeat_create_returns_the_same_event(
        server: Sandbox, client: GoogleClient) -> None:
    eid = event_id_for("k1")

    first = create_meet_event(client, spec(), eid)
    again = create_meet_event(client, spec(), eid)

    assert first.join_url and first.join_url.startswith("https://meet.google.com/")
    assert again.event_id == first.event_id == eid and again.join_url == first.join_url
    assert list(server.google.calendar.events[COACH]) == [eid]
    event = server.google.calendar.events[COACH][eid]
    assert [a["email"] for a in event["attendees"]] == ["k-0001@asiakas.example.fi", "k-0002@asiakas.example.fi"]
    assert event["reminders"]["overrides"] == [{"method": "popup", "minutes": 60}]


def test_guests_of_a_meet_event_do_not_see_each_other_nor_invite_others(
        server: Sandbox, client: GoogleClient) -> None:
    eid = event_id_for("k-private")

    create_meet_event(client, spec(), eid)

    event = server.google.calendar.events[COACH][eid]
    assert event["guestsCanSeeOtherGuests"] is False, "a client must not see the other clients' addresses"
    assert event["guestsCanInviteOthers"] is False


def test_an_update_makes_an_event_made_with_visible_guests_private(server: Sandbox, client: GoogleClient) -> None:
    eid = event_id_for("k-old")
    create_meet_event(client, spec(), eid)
    old = server.google.calendar.events[COACH][eid]
    del old["guestsCanSeeOtherGuests"], old["guestsCanInviteOthers"]  # Calendar's default: both allowed

    update_meet_event(client, spec(), eid)

    assert server.google.calendar.events[COACH][eid]["guestsCanSeeOtherGuests"] is False
    assert server.google.calendar.events[COACH][eid]["guestsCanInviteOthers"] is False


def test_a_create_retried_after_a_server_error_makes_one_event(server: Sandbox, client: GoogleClient) -> None:
    server.state.faults.inject(vendor="google", path_glob="*/events", http_method="POST", rate=1.0, status=503,
                               count=1)

    ref = create_meet_event(client, spec(), event_id_for("k2"))

    assert ref.join_url and len(server.google.calendar.events[COACH]) == 1


def test_an_update_moves_the_same_event(server: Sandbox, client: GoogleClient) -> None:
    eid = event_id_for("k3")
    create_meet_event(client, spec(), eid)

    moved = update_meet_event(client, spec(hour=9), eid)

    assert moved.event_id == eid
    start = server.google.calendar.events[COACH][eid]["start"]["dateTime"]  # echoed in Helsinki's offset
    assert datetime.fromisoformat(start) == datetime(2026, 1, 14, 9, tzinfo=UTC)


def test_a_cancelled_event_is_gone_and_its_id_cannot_be_reused(server: Sandbox, client: GoogleClient) -> None:
    eid = event_id_for("k4")
    create_meet_event(client, spec(), eid)

    assert cancel_meet_event(client, COACH, eid) is True
    assert cancel_meet_event(client, COACH, eid) is False
    gone = get_event(client, COACH, eid)
    assert gone is None or gone["status"] == "cancelled"
    with pytest.raises(Fatal) as caught:
        create_meet_event(client, spec(), eid)
    assert caught.value.reason == "cancelled"


def test_a_patch_that_reaches_an_event_deleted_in_calendar_reports_it_gone(server: Sandbox, client: GoogleClient) -> None:
    eid = event_id_for("k5")
    create_meet_event(client, spec(), eid)
    assert cancel_meet_event(client, COACH, eid)

    with pytest.raises(Fatal) as caught:
        update_meet_event(client, spec(hour=9), eid)

    assert caught.value.status == 410, "the same answer as an event that is not there"
    assert server.google.calendar.events[COACH][eid]["status"] == "cancelled"
