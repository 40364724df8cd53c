"""Calendar v3 events with Meet links, and Meet v2 attendance records made by the simulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import CLIENT_A, CLIENT_B, GoogleSandbox

MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def calendar(google: GoogleSandbox) -> Any:
    return google.service("calendar")


def meeting_body(event_id: str, start: datetime, minutes: int = 60) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": "Aamupalaveri",
        "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Helsinki"},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": "Europe/Helsinki"},
        "attendees": [{"email": CLIENT_A}, {"email": CLIENT_B}],
        "reminders": {"useDefault": False, "overrides": [{"method": "email", "minutes": 30}]},
        "conferenceData": {
            "createRequest": {"requestId": event_id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}
        },
    }


def test_event_with_conference_request_gets_a_meet_link(calendar: Any) -> None:
    event = (
        calendar.events()
        .insert(calendarId="primary", body=meeting_body("ohjaus20260105", MONDAY_9), conferenceDataVersion=1)
        .execute()
    )
    code = event["conferenceData"]["conferenceId"]
    assert event["hangoutLink"] == f"https://meet.google.com/{code}"
    assert event["conferenceData"]["entryPoints"][0]["uri"] == event["hangoutLink"]
    assert [a["responseStatus"] for a in event["attendees"]] == ["needsAction", "needsAction"]
    assert event["reminders"]["overrides"] == [{"method": "email", "minutes": 30}]


def test_without_conference_data_version_no_meeting_is_made(calendar: Any) -> None:
    event = (
        calendar.events().insert(calendarId="primary", body=meeting_body("ilmanmeet01", MONDAY_9)).execute()
    )
    assert "hangoutLink" not in event and "conferenceData" not in event


def test_chosen_event_id_is_idempotent_and_validated(calendar: Any) -> None:
    calendar.events().insert(calendarId="primary", body=meeting_body("toistuva01", MONDAY_9)).execute()
    with pytest.raises(HttpError) as repeat:
        calendar.events().insert(calendarId="primary", body=meeting_body("toistuva01", MONDAY_9)).execute()
    assert repeat.value.status_code == 409 and repeat.value.error_details[0]["reason"] == "duplicate"
    with pytest.raises(HttpError) as bad:
        calendar.events().insert(
            calendarId="primary", body=meeting_body("Not-Base32hex!", MONDAY_9)
        ).execute()
    assert bad.value.status_code == 400 and bad.value.reason == "Invalid resource id value."


def test_patch_update_delete_and_time_window_listing(calendar: Any) -> None:
    for day in range(7):
        calendar.events().insert(
            calendarId="primary", body=meeting_body(f"paiva{day:02d}", MONDAY_9 + timedelta(days=day))
        ).execute()
    patched = (
        calendar.events()
        .patch(calendarId="primary", eventId="paiva00", body={"summary": "Siirretty"})
        .execute()
    )
    assert patched["summary"] == "Siirretty" and patched["sequence"] == 1
    calendar.events().delete(calendarId="primary", eventId="paiva01").execute()
    assert calendar.events().get(calendarId="primary", eventId="paiva01").execute()["status"] == "cancelled"
    with pytest.raises(HttpError) as again:
        calendar.events().delete(calendarId="primary", eventId="paiva01").execute()
    assert again.value.status_code == 410
    ids: list[str] = []
    request = calendar.events().list(
        calendarId="primary", timeMin=MONDAY_9.isoformat(), timeMax=(MONDAY_9 + timedelta(days=5)).isoformat(),
        singleEvents=True, orderBy="startTime",
    )  # fmt: skip
    while request is not None:
        response = request.execute()
        ids += [e["id"] for e in response["items"]]
        request = calendar.events().list_next(request, response)
    assert ids == ["paiva00", "paiva02", "paiva03", "paiva04"]
    body = meeting_body("paiva00", MONDAY_9)
    body["summary"] = "Korvattu"
    replaced = calendar.events().update(calendarId="primary", eventId="paiva00", body=body).execute()
    assert replaced["summary"] == "Korvattu" and replaced["id"] == "paiva00"


def test_meet_attendance_appears_as_conference_records(calendar: Any, google: GoogleSandbox) -> None:
    event = (
        calendar.events()
        .insert(calendarId="primary", body=meeting_body("meet20260105", MONDAY_9), conferenceDataVersion=1)
        .execute()
    )
    code = event["conferenceData"]["conferenceId"]
    sim = google.sb.google
    sim.join_meet(event["id"], email=CLIENT_A, start=MONDAY_9, minutes=35)
    sim.join_meet(code, display_name="Vieras", start=MONDAY_9 + timedelta(minutes=5), minutes=40)
    sim.join_meet(code, email=CLIENT_A, start=MONDAY_9 + timedelta(minutes=40), minutes=17)
    record_id = sim.join_meet(code, display_name="Puhelin", via_phone=True, start=MONDAY_9, minutes=10)
    meet = google.service("meet")
    assert meet.conferenceRecords().list(filter=f'space.meeting_code = "{code}"').execute() == {}
    google.sb.state.clock.set(MONDAY_9 + timedelta(minutes=30))
    during = (
        meet.conferenceRecords().list(filter=f'space.meeting_code = "{code}"').execute()["conferenceRecords"]
    )
    assert [r["name"] for r in during] == [f"conferenceRecords/{record_id}"] and "endTime" not in during[0]
    google.sb.state.clock.set(MONDAY_9 + timedelta(hours=2))
    records = (
        meet.conferenceRecords()
        .list(filter=f'space.meeting_code = "{code}" AND start_time >= "2026-01-05T00:00:00Z"')
        .execute()["conferenceRecords"]
    )
    assert records[0]["endTime"] == "2026-01-05T09:57:00.000Z"
    participants = (
        meet.conferenceRecords().participants().list(parent=records[0]["name"]).execute()["participants"]
    )
    assert len(participants) == 3
    kinds = {next(k for k in p if k.endswith("User")): p for p in participants}
    assert kinds["signedinUser"]["signedinUser"]["user"] == f"users/{google.users[CLIENT_A]}"
    assert kinds["anonymousUser"]["anonymousUser"]["displayName"] == "Vieras"
    assert kinds["phoneUser"]["phoneUser"]["displayName"] == "Puhelin"
    sessions = (
        meet.conferenceRecords()
        .participants()
        .participantSessions()
        .list(parent=kinds["signedinUser"]["name"])
        .execute()["participantSessions"]
    )
    assert sorted((s["startTime"], s["endTime"]) for s in sessions) == [
        ("2026-01-05T09:00:00.000Z", "2026-01-05T09:35:00.000Z"),
        ("2026-01-05T09:40:00.000Z", "2026-01-05T09:57:00.000Z"),
    ]
