"""Google Meet peer-group meetings as Calendar events on the coordinator's calendar.

Idempotency: we choose the event id (base32hex of our own key), so a create repeated after a
crash or a lost answer gets 409 and we read the event that already exists instead of making a
second one. The Meet link comes from `conferenceData.createRequest` (conferenceDataVersion=1).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from integrator.providers.errors import Fatal
from integrator.providers.google.client import GoogleClient
from integrator.providers.meetings import KeySpent, MeetingRef, MeetingSpec

CALENDAR = "primary"
#: `Fatal.reason` of a create whose id belongs to a deleted event (KeySpent): a new id is needed.
ID_CANCELLED = "cancelled"
#: `Fatal.reason` (status 410) of a patch that reached a deleted event: the event is gone.
DELETED = "deleted"


def event_id_for(key: str) -> str:
    """A valid Calendar event id (base32hex, lower case, 5-1024 chars) from our own key."""
    digest = hashlib.sha256(key.encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def _when(dt: datetime, tz: str) -> dict[str, str]:
    return {"dateTime": dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "timeZone": tz}


def event_body(spec: MeetingSpec) -> dict[str, Any]:
    """The fields we own on the event (create and patch).

    The guest list is the group's clients: they must not see each other's addresses (Calendar's
    default shows every guest to every guest) nor invite others to the meeting.
    """
    return {
        "summary": spec.subject,
        "description": spec.body_html,
        "start": _when(spec.start, spec.time_zone),
        "end": _when(spec.end, spec.time_zone),
        "attendees": [{"email": e} for e in spec.attendees],
        "guestsCanSeeOtherGuests": False,
        "guestsCanInviteOthers": False,
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": spec.reminder_minutes}]},
    }


def ref_of(event: dict[str, Any]) -> MeetingRef:
    conf = event.get("conferenceData") or {}
    join = event.get("hangoutLink")
    if not join:
        for entry in conf.get("entryPoints", []) or []:
            if entry.get("entryPointType") == "video":
                join = entry.get("uri")
    return MeetingRef(event_id=str(event["id"]), join_url=join, conference_id=conf.get("conferenceId"))


def _events(client: GoogleClient, organizer: str) -> Any:
    return client.service("calendar", subject=organizer).events()


def get_event(client: GoogleClient, organizer: str, event_id: str) -> dict[str, Any] | None:
    """The event, or None when it never existed (404). A deleted event comes back cancelled."""
    try:
        event: dict[str, Any] = client.execute(_events(client, organizer).get(calendarId=CALENDAR, eventId=event_id))
    except Fatal as err:
        if err.status in (404, 410):
            return None
        raise
    return event


def create_meet_event(client: GoogleClient, spec: MeetingSpec, event_id: str) -> MeetingRef:
    body = event_body(spec)
    body["id"] = event_id
    body["conferenceData"] = {
        "createRequest": {"requestId": event_id, "conferenceSolutionKey": {"type": "hangoutsMeet"}}
    }
    request = _events(client, spec.organizer).insert(
        calendarId=CALENDAR, body=body, conferenceDataVersion=1, sendUpdates="all")
    try:
        event: dict[str, Any] = client.execute(request)
    except Fatal as err:
        if err.status != 409:
            raise
        # Our id is taken: a previous attempt made it. Use it if it is alive.
        existing = get_event(client, spec.organizer, event_id)
        if existing is None or existing.get("status") == "cancelled":
            raise KeySpent(f"calendar event {event_id} exists but is cancelled; a new id is needed",
                           vendor="google", status=409, reason=ID_CANCELLED) from err
        return update_meet_event(client, spec, event_id)
    return ref_of(event)


def update_meet_event(client: GoogleClient, spec: MeetingSpec, event_id: str) -> MeetingRef:
    """Patch the fields we own. Calendar keeps a deleted event (`status: "cancelled"`) and
    lets it be patched without complaint, so the answer is the only sign that it is gone: that
    is reported as Calendar's own 410 for a deleted resource, like an event that is not there."""
    request = _events(client, spec.organizer).patch(
        calendarId=CALENDAR, eventId=event_id, body=event_body(spec), sendUpdates="all")
    event: dict[str, Any] = client.execute(request)
    if event.get("status") == "cancelled":
        raise Fatal(f"calendar event {event_id} has been deleted", vendor="google", status=410, reason=DELETED)
    return ref_of(event)


def cancel_meet_event(client: GoogleClient, organizer: str, event_id: str) -> bool:
    """Delete (attendees are told). False when it was already gone."""
    request = _events(client, organizer).delete(calendarId=CALENDAR, eventId=event_id, sendUpdates="all")
    try:
        client.execute(request)
    except Fatal as err:
        if err.status in (404, 410):
            return False
        raise
    return True
