"""Teams peer-group meetings as events on the coordinator's calendar.

Idempotency: every create carries a `transactionId` derived from our own key, so a create
repeated after a crash or a lost response returns the event already made instead of a
second one (Graph's documented use of `transactionId`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

from integrator.providers.errors import Fatal, ProviderError
from integrator.providers.meetings import MeetingRef, MeetingSpec
from integrator.providers.microsoft.client import BatchItem, GraphClient

CANCEL_COMMENT = "Tapaaminen on peruttu."
#: `Fatal.reason` (status 410) of an update that reached a cancelled event: the event is gone.
CANCELLED = "cancelled"


def _when(dt: datetime) -> DateTimeTimeZone:
    # UTC on the wire: no Windows/IANA time-zone name mapping to get wrong.
    return DateTimeTimeZone(date_time=dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC")


def _attendees(emails: tuple[str, ...]) -> list[Attendee]:
    return [Attendee(email_address=EmailAddress(address=e), type=AttendeeType.Required) for e in emails]


def event_body(spec: MeetingSpec) -> Event:
    """The fields we own on the event (used for create and for update).

    `hideAttendees`: each client sees only themselves in the invitation and the tracking list;
    the group's clients must not learn each other's email addresses from it.
    """
    return Event(
        subject=spec.subject,
        body=ItemBody(content_type=BodyType.Html, content=spec.body_html),
        start=_when(spec.start),
        end=_when(spec.end),
        attendees=_attendees(spec.attendees),
        is_reminder_on=True,
        reminder_minutes_before_start=spec.reminder_minutes,
        hide_attendees=True,
    )


def _ref(event: Event | None) -> MeetingRef:
    if event is None or not event.id:
        raise Fatal("graph events create: empty response", vendor="graph")
    join = event.online_meeting.join_url if event.online_meeting else None
    return MeetingRef(event_id=event.id, join_url=join)


def create_teams_event(client: GraphClient, spec: MeetingSpec, transaction_id: str) -> MeetingRef:
    body = event_body(spec)
    body.is_online_meeting = True
    body.online_meeting_provider = OnlineMeetingProviderType.TeamsForBusiness
    body.transaction_id = transaction_id
    event = client.call(
        "events.create",
        lambda sdk: sdk.users.by_user_id(spec.organizer).events.post(body),
    )
    return _ref(event)


def get_event(client: GraphClient, organizer: str, event_id: str) -> MeetingRef | None:
    """The event as Graph has it now, or None when it is gone.

    Gone is 404 (deleted or cancelled: the organiser's copy moves to Deleted Items and the id we
    hold no longer finds it) or, where the cancelled copy is still found, `isCancelled: true`.
    """
    try:
        event = client.call(
            "events.get",
            lambda sdk: sdk.users.by_user_id(organizer).events.by_event_id(event_id).get(),
        )
    except Fatal as err:
        if err.status == 404:
            return None
        raise
    if event is not None and event.is_cancelled:
        return None
    return _ref(event)


def update_teams_event(client: GraphClient, spec: MeetingSpec, event_id: str) -> MeetingRef:
    """PATCH time, attendees, subject, body and hidden attendees; Teams keeps the same meeting link.

    A cancelled event that is still found answers with `isCancelled: true`: reported as gone
    (status 410, as a deleted Calendar event), the same as Graph's 404 for one not found.
    """
    body = event_body(spec)
    event = client.call(
        "events.update",
        lambda sdk: sdk.users.by_user_id(spec.organizer).events.by_event_id(event_id).patch(body),
    )
    if event is not None and event.is_cancelled:
        raise Fatal(f"graph event {event_id} is cancelled", vendor="graph", status=410, reason=CANCELLED)
    return _ref(event)


def cancel_teams_event(client: GraphClient, organizer: str, event_id: str, comment: str = CANCEL_COMMENT) -> bool:
    """Cancel and notify attendees. False when the event was already gone (nothing to do)."""
    try:
        client.call(
            "events.cancel",
            lambda sdk: sdk.users.by_user_id(organizer).events.by_event_id(event_id).cancel.post(
                CancelPostRequestBody(comment=comment)),
        )
    except Fatal as err:
        if err.status == 404:
            return False
        raise
    return True


def user_object_id(client: GraphClient, upn: str) -> str:
    """Entra object id of a user (online-meeting paths need the id, not the UPN)."""
    user = client.call("users.get", lambda sdk: sdk.users.by_user_id(upn).get())
    if user is None or not user.id:
        raise Fatal(f"users.get: no user for the organiser {upn!r}", vendor="graph", status=404)
    return user.id


def create_teams_events(client: GraphClient, items: list[tuple[str, MeetingSpec, str]]
                        ) -> dict[str, MeetingRef | ProviderError]:
    """Many creates in `$batch` envelopes; (key, spec, transactionId) -> ref or error per key.

    Safe to retry item by item: each carries its transactionId.
    """
    batch: list[BatchItem] = []
    for key, spec, transaction_id in items:
        body = event_body(spec)
        body.is_online_meeting = True
        body.online_meeting_provider = OnlineMeetingProviderType.TeamsForBusiness
        body.transaction_id = transaction_id
        request = client.sdk.users.by_user_id(spec.organizer).events.to_post_request_information(body)
        batch.append(BatchItem(key, request, Event))
    out: dict[str, MeetingRef | ProviderError] = {}
    for key, result in client.batch("events.create", batch).items():
        if result.error is not None:
            out[key] = result.error
        else:
            try:
                out[key] = _ref(result.value)
            except Fatal as err:
                out[key] = err
    return out
