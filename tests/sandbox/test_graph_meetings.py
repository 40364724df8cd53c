"""Teams meetings and attendance reports through the real GraphServiceClient over TLS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.communications_phone_identity import CommunicationsPhoneIdentity
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting import OnlineMeeting
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.users.item.online_meetings.create_or_get.create_or_get_post_request_body import (
    CreateOrGetPostRequestBody,
)
from msgraph.generated.users.item.online_meetings.online_meetings_request_builder import (
    OnlineMeetingsRequestBuilder,
)

from tests.sandbox.graph_fixtures import GraphSandbox

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # 09:00 in Helsinki, the sandbox clock's start


async def teams_event(client: GraphServiceClient, organiser: str) -> tuple[str, str]:
    """(event id, join URL) of a one-hour Teams session at START."""
    event = await client.users.by_user_id(organiser).events.post(
        Event(
            subject="Ryhmätapaaminen",
            start=DateTimeTimeZone(date_time="2026-01-05T07:00:00", time_zone="UTC"),
            end=DateTimeTimeZone(date_time="2026-01-05T08:00:00", time_zone="UTC"),
            is_online_meeting=True,
            online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
        )
    )
    assert event is not None and event.id and event.online_meeting and event.online_meeting.join_url
    return event.id, event.online_meeting.join_url


async def meeting_id_for(client: GraphServiceClient, organiser: str, join_url: str) -> str:
    config = RequestConfiguration(
        query_parameters=OnlineMeetingsRequestBuilder.OnlineMeetingsRequestBuilderGetQueryParameters(
            filter=f"JoinWebUrl eq '{join_url}'"
        )
    )
    found = await client.users.by_user_id(organiser).online_meetings.get(config)
    assert found is not None and found.value and len(found.value) == 1 and found.value[0].id
    return found.value[0].id


async def test_event_join_link_resolves_to_its_online_meeting(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    _, join_url = await teams_event(graph_client, organiser)
    meeting_id = await meeting_id_for(graph_client, organiser, join_url)
    meeting = await graph_client.users.by_user_id(organiser).online_meetings.by_online_meeting_id(meeting_id).get()
    assert meeting is not None and meeting.join_web_url == join_url
    assert meeting.start_date_time == START and meeting.end_date_time == START + timedelta(hours=1)
    assert meeting.subject == "Ryhmätapaaminen"


async def test_without_the_teams_access_policy_meetings_are_forbidden(
    ms: GraphSandbox, graph_client: GraphServiceClient
) -> None:
    coach = ms.graph.add_user("uusi.ohjaaja@sandbox.example.fi", "Uusi Ohjaaja")  # no policy granted
    _, join_url = await teams_event(graph_client, coach)  # calendar access needs no policy
    with pytest.raises(ODataError) as raised:
        await meeting_id_for(graph_client, coach, join_url)
    assert raised.value.response_status_code == 403
    assert raised.value.error is not None and raised.value.error.code == "Forbidden"
    ms.graph.grant_meeting_policy(coach)
    assert await meeting_id_for(graph_client, coach, join_url)


async def test_create_or_get_with_the_same_external_id_returns_the_same_meeting(
    graph_client: GraphServiceClient, organiser: str
) -> None:
    meetings = graph_client.users.by_user_id(organiser).online_meetings

    def body() -> CreateOrGetPostRequestBody:
        return CreateOrGetPostRequestBody(external_id="group-7-daily", subject="Päivittäinen tapaaminen",
                                          start_date_time=START, end_date_time=START + timedelta(hours=1))

    first = await meetings.create_or_get.post(body())
    second = await meetings.create_or_get.post(body())
    other = await meetings.post(OnlineMeeting(subject="Erillinen", start_date_time=START,
                                              end_date_time=START + timedelta(hours=1)))
    assert first is not None and second is not None and other is not None
    assert first.id == second.id and first.join_web_url == second.join_web_url
    assert other.id != first.id


async def test_attendance_report_appears_only_after_the_meeting_has_ended(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    client_id = ms.graph.add_user("asiakas1@sandbox.example.fi", "Asiakas Yksi")
    _, join_url = await teams_event(graph_client, organiser)
    meeting_id = await meeting_id_for(graph_client, organiser, join_url)
    ms.graph.join_meeting(join_url, user_id=organiser, minutes=60)
    ms.graph.join_meeting(join_url, user_id=client_id, minutes=20)
    ms.graph.join_meeting(join_url, user_id=client_id, minutes=25, start=START + timedelta(minutes=30))
    ms.graph.join_meeting(join_url, via_phone=True, minutes=45, start=START + timedelta(minutes=5))
    reports = graph_client.users.by_user_id(organiser).online_meetings.by_online_meeting_id(meeting_id).attendance_reports

    ms.state.clock.set(START + timedelta(minutes=59))
    during = await reports.get()
    assert during is not None and during.value == []

    ms.state.clock.advance(timedelta(minutes=2))
    after = await reports.get()
    assert after is not None and after.value and len(after.value) == 1
    report = after.value[0]
    assert report.id and report.total_participant_count == 3
    records_page = await reports.by_meeting_attendance_report_id(report.id).attendance_records.get()
    assert records_page is not None
    records = {r.identity.display_name: r for r in records_page.value or [] if r.identity}
    coach = records["Olli Ohjaaja"]
    assert coach.role == "Organizer" and coach.total_attendance_in_seconds == 3600
    client = records["Asiakas Yksi"]
    assert client.email_address == "asiakas1@sandbox.example.fi" and client.role == "Attendee"
    assert client.identity is not None and client.identity.id == client_id  # the Entra object id
    assert client.total_attendance_in_seconds == (20 + 25) * 60
    assert [(i.join_date_time, i.duration_in_seconds) for i in client.attendance_intervals or []] == [
        (START, 1200),
        (START + timedelta(minutes=30), 1500),
    ]
    phone = next(r for name, r in records.items() if name.startswith("+358"))
    assert phone.email_address is None and phone.total_attendance_in_seconds == 45 * 60
    assert isinstance(phone.identity, CommunicationsPhoneIdentity)


async def test_attendance_reports_list_at_most_the_fifty_latest(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    meeting = await graph_client.users.by_user_id(organiser).online_meetings.create_or_get.post(
        CreateOrGetPostRequestBody(external_id="standing", start_date_time=START, end_date_time=START + timedelta(hours=1))
    )
    assert meeting is not None and meeting.id and meeting.join_web_url
    for day in range(52):
        ms.graph.join_meeting(meeting.join_web_url, user_id=organiser, minutes=30, start=START + timedelta(days=day))
    ms.state.clock.set(START + timedelta(days=60))
    listed = await graph_client.users.by_user_id(organiser).online_meetings.by_online_meeting_id(
        meeting.id
    ).attendance_reports.get()
    assert listed is not None and listed.value is not None and len(listed.value) == 50
    assert listed.value[0].meeting_start_date_time == START + timedelta(days=51)
    assert listed.value[-1].meeting_start_date_time == START + timedelta(days=2)
