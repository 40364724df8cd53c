"""Users and calendar events through the real GraphServiceClient over TLS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

from tests.sandbox.graph_fixtures import GraphSandbox

pytestmark = pytest.mark.anyio


def morning_session(transaction_id: str | None = "weekly-setup:group-7:2026-01-05") -> Event:
    return Event(
        subject="Aamupalaveri",
        body=ItemBody(content_type=BodyType.Html, content="<p>Tervetuloa <b>aamupalaveriin</b></p>"),
        start=DateTimeTimeZone(date_time="2026-01-05T09:00:00", time_zone="FLE Standard Time"),
        end=DateTimeTimeZone(date_time="2026-01-05T10:00:00", time_zone="FLE Standard Time"),
        attendees=[Attendee(email_address=EmailAddress(address="asiakas1@sandbox.example.fi", name="A1"))],
        is_online_meeting=True,
        online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
        reminder_minutes_before_start=30,
        transaction_id=transaction_id,
    )


async def test_users_are_found_by_id_and_by_upn(ms: GraphSandbox, graph_client: GraphServiceClient) -> None:
    user_id = ms.graph.add_user("Ohjaaja@Sandbox.example.fi", "Olli Ohjaaja")
    by_id = await graph_client.users.by_user_id(user_id).get()
    by_upn = await graph_client.users.by_user_id("ohjaaja@sandbox.example.fi").get()
    assert by_id is not None and by_upn is not None
    assert by_id.id == by_upn.id == user_id
    assert by_upn.mail == "Ohjaaja@Sandbox.example.fi"


async def test_unknown_user_is_the_directorys_404(graph_client: GraphServiceClient) -> None:
    with pytest.raises(ODataError) as raised:
        await graph_client.users.by_user_id("nobody@sandbox.example.fi").get()
    assert raised.value.response_status_code == 404
    assert raised.value.error is not None and raised.value.error.code == "Request_ResourceNotFound"


async def test_user_list_pages_with_next_links_until_everyone_is_read(
    ms: GraphSandbox, graph_client: GraphServiceClient
) -> None:
    created = {ms.graph.add_user(f"asiakas{i}@sandbox.example.fi", f"Asiakas {i}") for i in range(12)}
    seen: list[str] = []
    pages = 0
    page: UserCollectionResponse | None = await graph_client.users.get()
    while page is not None:
        pages += 1
        seen.extend(u.id for u in page.value or [] if u.id)
        page = await graph_client.users.with_url(page.odata_next_link).get() if page.odata_next_link else None
    assert pages == 3  # page size 5: 5 + 5 + 2
    assert sorted(seen) == sorted(created)


async def test_teams_event_gets_a_join_link_and_round_trips_its_details(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    created = await graph_client.users.by_user_id(organiser).events.post(morning_session())
    assert created is not None and created.id
    assert created.online_meeting is not None and created.online_meeting.join_url
    assert created.online_meeting.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    fetched = await graph_client.users.by_user_id(organiser).events.by_event_id(created.id).get()
    assert fetched is not None
    assert fetched.reminder_minutes_before_start == 30
    assert fetched.body is not None and fetched.body.content_type == BodyType.Html
    assert fetched.body.content == "<p>Tervetuloa <b>aamupalaveriin</b></p>"
    assert fetched.start is not None and fetched.start.date_time == "2026-01-05T07:00:00.0000000"
    assert fetched.start.time_zone == "UTC"  # Outlook answers in UTC unless asked otherwise
    assert fetched.original_start_time_zone == "FLE Standard Time"
    assert [a.email_address.address for a in fetched.attendees or [] if a.email_address] == ["asiakas1@sandbox.example.fi"]
    assert fetched.organizer is not None and fetched.organizer.email_address is not None
    assert fetched.organizer.email_address.address == "ohjaaja@sandbox.example.fi"
    assert fetched.additional_data.keys() <= {"@odata.context", "@odata.etag"}  # nothing the SDK cannot model


async def test_repeating_a_create_with_the_same_transaction_id_returns_the_first_event(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    first = await graph_client.users.by_user_id(organiser).events.post(morning_session())
    again = await graph_client.users.by_user_id(organiser).events.post(morning_session())
    other = await graph_client.users.by_user_id(organiser).events.post(morning_session("another-key"))
    assert first is not None and again is not None and other is not None
    assert again.id == first.id
    assert other.id != first.id
    assert len(ms.graph.events) == 2


async def test_event_is_updated_cancelled_and_deleted(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    events = graph_client.users.by_user_id(organiser).events
    one = await events.post(morning_session("one"))
    two = await events.post(morning_session("two"))
    assert one is not None and one.id and two is not None and two.id
    moved = await events.by_event_id(one.id).patch(
        Event(start=DateTimeTimeZone(date_time="2026-01-05T12:00:00", time_zone="UTC"),
              end=DateTimeTimeZone(date_time="2026-01-05T13:00:00", time_zone="UTC"),
              reminder_minutes_before_start=10)
    )
    assert moved is not None and moved.start is not None and moved.start.date_time == "2026-01-05T12:00:00.0000000"
    assert moved.reminder_minutes_before_start == 10 and moved.subject == "Aamupalaveri"
    await events.by_event_id(one.id).cancel.post(CancelPostRequestBody(comment="Peruttu sairastumisen vuoksi"))
    await events.by_event_id(two.id).delete()
    for event_id in (one.id, two.id):
        with pytest.raises(ODataError) as gone:
            await events.by_event_id(event_id).get()
        assert gone.value.response_status_code == 404
        assert gone.value.error is not None and gone.value.error.code == "ErrorItemNotFound"


async def test_calendar_view_lists_the_days_events_in_the_preferred_zone(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    events = graph_client.users.by_user_id(organiser).events
    for day in range(5, 10):
        await events.post(Event(subject=f"Päivä {day}",
                                start=DateTimeTimeZone(date_time=f"2026-01-{day:02d}T09:00:00", time_zone="Europe/Helsinki"),
                                end=DateTimeTimeZone(date_time=f"2026-01-{day:02d}T10:00:00", time_zone="Europe/Helsinki")))
    config = RequestConfiguration(
        query_parameters=CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time="2026-01-06T00:00:00Z", end_date_time="2026-01-08T00:00:00Z"
        )
    )
    config.headers.add("Prefer", 'outlook.timezone="FLE Standard Time"')
    view = await graph_client.users.by_user_id(organiser).calendar_view.get(config)
    assert view is not None
    assert [(e.subject, e.start.date_time if e.start else None) for e in view.value or []] == [
        ("Päivä 6", "2026-01-06T09:00:00.0000000"),
        ("Päivä 7", "2026-01-07T09:00:00.0000000"),
    ]


async def test_unknown_property_is_rejected_like_graph_does(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    event = morning_session()
    event.additional_data = {"foo": "bar"}
    with pytest.raises(ODataError) as raised:
        await graph_client.users.by_user_id(organiser).events.post(event)
    assert raised.value.response_status_code == 400
    assert raised.value.error is not None and raised.value.error.code == "RequestBodyRead"
    assert raised.value.error.message is not None
    assert raised.value.error.message.startswith("The property 'foo' does not exist on type 'microsoft.graph.event'.")
    assert ms.graph.events == {}


async def test_unknown_nested_property_names_the_nested_type(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    event = morning_session()
    assert event.start is not None
    event.start.additional_data = {"zone": "Helsinki"}
    with pytest.raises(ODataError) as raised:
        await graph_client.users.by_user_id(organiser).events.post(event)
    assert raised.value.error is not None and raised.value.error.message is not None
    assert "'zone' does not exist on type 'microsoft.graph.dateTimeTimeZone'" in raised.value.error.message


async def test_a_value_of_the_wrong_type_is_rejected(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    event = Event(subject="Aamupalaveri",
                  start=DateTimeTimeZone(date_time="2026-01-05T09:00:00", time_zone="UTC"),
                  end=DateTimeTimeZone(date_time="2026-01-05T10:00:00", time_zone="UTC"))
    event.additional_data = {"reminderMinutesBeforeStart": "half an hour"}  # a string, not an Int32
    with pytest.raises(ODataError) as raised:
        await graph_client.users.by_user_id(organiser).events.post(event)
    assert raised.value.response_status_code == 400
    assert raised.value.error is not None and raised.value.error.message is not None
    assert "'reminderMinutesBeforeStart'" in raised.value.error.message
    assert ms.graph.events == {}


async def test_outlook_throttles_a_mailbox_over_its_request_quota(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    ms.state.quotas.graph_per_mailbox_per_10min = 3
    for _ in range(3):
        await graph_client.users.by_user_id(organiser).events.get()
    with pytest.raises(ODataError) as raised:  # Retry-After of minutes: kiota gives up at once
        await graph_client.users.by_user_id(organiser).events.get()
    assert raised.value.response_status_code == 429
    assert raised.value.error is not None and raised.value.error.code == "ApplicationThrottled"
    ms.state.clock.advance(timedelta(minutes=10))
    assert await graph_client.users.by_user_id(organiser).events.get() is not None
