"""The sandbox behaves as Microsoft Graph documents where callers may send what the product
does not: batch ids that differ in case, enum members in any case, every Windows time zone,
onlineMeeting participants, event locations, attendance report shapes (issue 13)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tzlocal.windows_tz import win_tz

from tests.sandbox.graph_fixtures import GRAPH_SCOPE, GraphSandbox


class Wire:
    """Raw JSON to the sandbox with an app-only token: the JSON the docs show, not what the SDK writes."""

    def __init__(self, ms: GraphSandbox, credential: Any) -> None:
        self.http = httpx.Client(verify=ms.tls_context(), base_url=ms.graph_url, timeout=60,
                                 headers={"Authorization": f"Bearer {credential.get_token(GRAPH_SCOPE).token}"})

    def send(self, method: str, url: str, body: Any = None, **headers: str) -> httpx.Response:
        return self.http.request(method, url, json=body, headers=headers)


@pytest.fixture
def wire(ms: GraphSandbox, credential: Any) -> Iterator[Wire]:
    client = Wire(ms, credential)
    yield client
    client.http.close()


def event(zone: str = "UTC", **extra: Any) -> dict[str, Any]:
    return {"subject": "Ryhmätapaaminen", "start": {"dateTime": "2026-01-12T09:00:00", "timeZone": zone},
            "end": {"dateTime": "2026-01-12T10:00:00", "timeZone": zone}, **extra}


def test_batch_ids_that_differ_only_in_case_are_duplicates(wire: Wire, organiser: str) -> None:
    answer = wire.send("POST", "/$batch", {"requests": [
        {"id": "a", "method": "GET", "url": f"/users/{organiser}"},
        {"id": "A", "method": "GET", "url": f"/users/{organiser}"}]})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert answer.json()["error"]["message"] == "Request Id A has to be unique in a batch."


def test_batch_depends_on_matches_ids_without_case(wire: Wire, organiser: str) -> None:
    answer = wire.send("POST", "/$batch", {"requests": [
        {"id": "First", "method": "GET", "url": f"/users/{organiser}"},
        {"id": "second", "dependsOn": ["FIRST"], "method": "GET", "url": f"/users/{organiser}"}]})
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["responses"]] == [200, 200]


def test_enum_members_are_read_in_any_case_and_answered_in_graphs_casing(
    wire: Wire, ms: GraphSandbox, organiser: str
) -> None:
    created = wire.send("POST", f"/users/{organiser}/events", event(
        body={"contentType": "HTML", "content": "<p>Tervetuloa</p>"}, importance="High", showAs="Busy",
        attendees=[{"emailAddress": {"address": "a@example.fi"}, "type": "Required"}],
        location={"displayName": "Kirjasto", "locationType": "Default"}))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["body"]["contentType"] == "html"
    assert (body["importance"], body["showAs"], body["attendees"][0]["type"]) == ("high", "busy", "required")
    assert body["location"]["locationType"] == "default"
    patched = wire.send("PATCH", f"/users/{organiser}/events/{body['id']}", {"body": {"contentType": "TEXT",
                                                                                      "content": "x"}})
    assert patched.json()["body"]["contentType"] == "text"
    sent = wire.send("POST", f"/users/{organiser}/sendMail", {"message": {
        "subject": "x", "body": {"contentType": "HTML", "content": "<p>Hei</p>"},
        "toRecipients": [{"emailAddress": {"address": "a@example.fi"}}]}, "saveToSentItems": "false"})
    assert sent.status_code == 202, sent.text
    assert ms.sandbox.sent_mail()[-1].html == "<p>Hei</p>"
    unknown = wire.send("POST", f"/users/{organiser}/events", event(body={"contentType": "markdown", "content": "x"}))
    assert unknown.status_code == 400


@pytest.mark.parametrize("zone", ["Pacific Standard Time", "FLE Standard Time", "Tokyo Standard Time",
                                  "E. South America Standard Time", "UTC-11", "fle standard time",
                                  "Europe/Helsinki", "America/Los_Angeles", "UTC"])
def test_every_windows_and_iana_zone_is_accepted_in_bodies_and_the_prefer_header(
    wire: Wire, organiser: str, zone: str
) -> None:
    created = wire.send("POST", f"/users/{organiser}/events", event(zone), Prefer=f'outlook.timezone="{zone}"')
    assert created.status_code == 201, created.text
    assert created.json()["originalStartTimeZone"] == zone
    assert created.json()["start"] == {"dateTime": "2026-01-12T09:00:00.0000000", "timeZone": zone}
    assert created.headers["Preference-Applied"] == f'outlook.timezone="{zone}"'


def test_windows_zones_convert_through_the_cldr_table(wire: Wire, organiser: str) -> None:
    assert len(win_tz) > 130  # the whole CLDR table, not a handful of names
    created = wire.send("POST", f"/users/{organiser}/events", event("Pacific Standard Time"),
                        Prefer='outlook.timezone="FLE Standard Time"')
    # 09:00 in Los Angeles in January is 17:00 UTC, 19:00 in Helsinki.
    assert created.json()["start"] == {"dateTime": "2026-01-12T19:00:00.0000000", "timeZone": "FLE Standard Time"}
    unknown = wire.send("POST", f"/users/{organiser}/events", event("Mars Standard Time"))
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "TimeZoneNotSupportedException"


def test_create_or_get_keeps_the_participants_sent(wire: Wire, ms: GraphSandbox, organiser: str) -> None:
    client = ms.graph.add_user("asiakas@sandbox.example.fi", "Aino Asiakas")
    answer = wire.send("POST", f"/users/{organiser}/onlineMeetings/createOrGet", {
        "externalId": "ryhma-7-2026-01-12", "subject": "Ryhmä",
        "participants": {"attendees": [{"identity": {"user": {"id": client}}, "upn": "asiakas@sandbox.example.fi"},
                                       {"upn": "guest@example.fi", "role": "attendee"}]}})
    assert answer.status_code == 201, answer.text
    participants = answer.json()["participants"]
    first, guest = participants["attendees"]
    assert first == {"upn": "asiakas@sandbox.example.fi", "role": None, "identity": {"user": {
        "id": client, "displayName": None, "tenantId": ms.graph.tenant_id, "identityProvider": "AAD"}}}
    assert guest["upn"] == "guest@example.fi" and guest["role"] == "attendee"
    assert participants["producers"] == [] and participants["contributors"] == []
    assert participants["organizer"]["identity"]["user"]["identityProvider"] == "AAD"
    again = wire.send("POST", f"/users/{organiser}/onlineMeetings/createOrGet", {"externalId": "ryhma-7-2026-01-12"})
    assert again.status_code == 200
    assert again.json()["participants"]["attendees"][0]["upn"] == "asiakas@sandbox.example.fi"


def test_events_honour_the_locations_array(wire: Wire, organiser: str) -> None:
    created = wire.send("POST", f"/users/{organiser}/events", event(locations=[
        {"displayName": "Kirjasto"}, {"displayName": "Etäyhteys", "address": {"city": "Helsinki"}}]))
    body = created.json()
    assert [p["displayName"] for p in body["locations"]] == ["Kirjasto", "Etäyhteys"]
    assert body["locations"][1]["address"] == {"city": "Helsinki"}
    assert body["location"]["displayName"] == "Kirjasto; Etäyhteys"
    moved = wire.send("PATCH", f"/users/{organiser}/events/{body['id']}", {"location": {"displayName": "Nuorisotalo"}})
    assert [p["displayName"] for p in moved.json()["locations"]] == ["Nuorisotalo"]


def test_attendance_reports_have_the_documented_shapes(wire: Wire, ms: GraphSandbox, organiser: str) -> None:
    created = wire.send("POST", f"/users/{organiser}/events", event(isOnlineMeeting=True,
                                                                   onlineMeetingProvider="teamsForBusiness"))
    join_url = created.json()["onlineMeeting"]["joinUrl"]
    meeting = ms.graph.meeting_by_join_url(join_url)
    assert meeting is not None
    ms.graph.join_meeting(join_url, user_id=organiser, minutes=60)
    ms.state.clock.set(meeting.end + timedelta(minutes=5))  # Teams publishes the report once the meeting is over
    base = f"/users/{organiser}/onlineMeetings/{meeting.id}/attendanceReports"
    listed = wire.send("GET", base).json()
    assert listed["value"][0]["attendanceRecords"] == []
    report_id = listed["value"][0]["id"]
    single = wire.send("GET", f"{base}/{report_id}").json()
    assert single["@odata.context"].endswith(
        f"/$metadata#users('{organiser}')/onlineMeetings('{meeting.id}')/attendanceReports('{report_id}')")
