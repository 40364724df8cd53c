"""Outlook calendar events of a user: create (Teams link, transactionId), get, update, delete,
cancel, list and calendarView.

Start and end are stored in UTC and rendered in UTC unless the caller sends
``Prefer: outlook.timezone="..."``, as Outlook does.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from flask import Flask, Response, request
from msgraph.generated.models.event import Event
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

from integrator.sandbox.graph.app import (
    _OUTLOOK_DENIED,
    GraphApp,
    Operation,
    graph_app,
    json_response,
    tenant,
)
from integrator.sandbox.graph.errors import GraphError
from integrator.sandbox.graph.meetings import new_meeting
from integrator.sandbox.graph.odata import base_url, filter_items, page, select, selected
from integrator.sandbox.graph.tenant import Json, StoredEvent
from integrator.sandbox.graph.timefmt import (
    date_time_time_zone,
    iso_z,
    parse_date_time_time_zone,
    parse_iso,
    zone,
)
from integrator.sandbox.graph.users import require_user
from integrator.sandbox.graph.validation import parse_body

READ_ROLES = frozenset({"Calendars.Read", "Calendars.ReadBasic", "Calendars.ReadWrite"})
WRITE_ROLES = frozenset({"Calendars.ReadWrite"})
_PREFER_TZ = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"')
_NOT_FOUND = ("ErrorItemNotFound", "The specified object was not found in the store.")
_COPIED = (
    "subject", "importance", "sensitivity", "showAs", "categories", "isAllDay", "isReminderOn",
    "reminderMinutesBeforeStart", "responseRequested", "allowNewTimeProposals", "hideAttendees",
)


def _preferred_zone() -> str | None:
    match = _PREFER_TZ.search(request.headers.get("Prefer", ""))
    if match:
        zone(match.group(1))  # unknown zone -> Graph's 400
        return match.group(1)
    return None


def render(event: StoredEvent, user_id: str, tz_name: str | None) -> Json:
    body = dict(event.data)
    body["start"] = date_time_time_zone(event.start, tz_name or "UTC")
    body["end"] = date_time_time_zone(event.end, tz_name or "UTC")
    return {"@odata.etag": f'W/"{body["changeKey"]}"', **body}


def _respond(event: StoredEvent, user_id: str, status: int = 200) -> Response:
    tz_name = _preferred_zone()
    context = f"{base_url()}/$metadata#users('{user_id}')/{selected('events')}/$entity"
    body = {"@odata.context": context, **select(render(event, user_id, tz_name))}
    headers = {"Preference-Applied": f'outlook.timezone="{tz_name}"'} if tz_name else {}
    return json_response(body, status, headers)


def _preview(body: Json) -> str:
    content = str(body.get("content") or "")
    if body.get("contentType", "text").lower() == "html":
        content = html.unescape(re.sub(r"<[^>]+>", " ", content))
    return " ".join(content.split())[:255]


def _attendees(raw: list[Any] | None) -> list[Json]:
    result = []
    for attendee in raw or []:
        email = dict(attendee.get("emailAddress") or {})
        email.setdefault("name", email.get("address"))
        result.append(
            {
                "type": attendee.get("type") or "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": email,
            }
        )
    return result


def _location(raw: object, main: bool) -> Json:
    """A location as Outlook stores it: a named place gets a private uniqueId, as in the docs'
    examples; the event's ``location`` (and the one place made from it) always does, an entry
    of a ``locations`` list only when it has an address or coordinates."""
    given = dict(raw) if isinstance(raw, dict) else {}
    name = str(given.get("displayName") or "")
    out: Json = {"displayName": name, "locationType": "default", "uniqueId": "", "uniqueIdType": "unknown", **given}
    if name and (main or "address" in given or "coordinates" in given) and "uniqueId" not in given:
        out["uniqueId"], out["uniqueIdType"] = name, "private"
    return out


def _apply_locations(data: Json, raw: Json) -> None:
    """``location`` and ``locations`` always correspond (event resource): a new ``location`` alone
    replaces the list, a ``locations`` list alone names the event's location after its places."""
    if "locations" in raw:
        places = [_location(place, main=False) for place in raw["locations"] or []]
        data["locations"] = places
        if "location" in raw:
            data["location"] = _location(raw["location"], main=True)
        else:
            joined = "; ".join(p["displayName"] for p in places if p["displayName"])
            data["location"] = _location({"displayName": joined}, main=True)
    elif "location" in raw:
        data["location"] = _location(raw["location"], main=True)
        name = data["location"]["displayName"]
        data["locations"] = [_location(raw["location"], main=True)] if name else []
    if not data["location"]["displayName"]:
        data["location"] = {"displayName": "", "locationType": "default", "uniqueId": "", "uniqueIdType": "unknown"}


def _apply(event: StoredEvent, raw: Json, organizer: Json) -> None:
    """Copy writable properties from a create/update body onto the stored event."""
    data = event.data
    for key in _COPIED:
        if key in raw:
            data[key] = raw[key]
    if "body" in raw:
        data["body"] = {"contentType": (raw["body"] or {}).get("contentType", "text"), "content": (raw["body"] or {}).get("content", "")}
        data["bodyPreview"] = _preview(data["body"])
    if "start" in raw:
        event.start = parse_date_time_time_zone(raw["start"])
        data["originalStartTimeZone"] = raw["start"].get("timeZone") or "UTC"
    if "end" in raw:
        event.end = parse_date_time_time_zone(raw["end"])
        data["originalEndTimeZone"] = raw["end"].get("timeZone") or "UTC"
    if event.end < event.start:
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The end time must be after the start time.")
    if "attendees" in raw:
        data["attendees"] = _attendees(raw["attendees"])
    _apply_locations(data, raw)
    if raw.get("isOnlineMeeting") and not data.get("onlineMeeting"):
        provider = raw.get("onlineMeetingProvider") or "teamsForBusiness"
        data["isOnlineMeeting"] = True
        data["onlineMeetingProvider"] = provider
        if provider == "teamsForBusiness":
            meeting = new_meeting(tenant(), organizer, data.get("subject"), event.start, event.end)
            conference = meeting.data["audioConferencing"]
            data["onlineMeeting"] = {
                "joinUrl": meeting.join_url,
                "conferenceId": conference["conferenceId"],
                "tollNumber": conference["tollNumber"],
            }
    meeting_obj = tenant().meeting_by_join_url((data.get("onlineMeeting") or {}).get("joinUrl", ""))
    if meeting_obj is not None:
        meeting_obj.start, meeting_obj.end = event.start, event.end
        meeting_obj.data["startDateTime"], meeting_obj.data["endDateTime"] = iso_z(event.start), iso_z(event.end)
    now = graph_app().state.clock.now()
    data["lastModifiedDateTime"] = iso_z(now)
    data["changeKey"] = graph_app().state.random_id(28, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _new_event(organizer: Json, raw: Json) -> StoredEvent:
    graph = tenant()
    now = graph.state.clock.now()
    event_id = graph.new_outlook_id()
    data: Json = {
        "id": event_id,
        "createdDateTime": iso_z(now),
        "lastModifiedDateTime": iso_z(now),
        "changeKey": "",
        "categories": [],
        "transactionId": raw.get("transactionId"),
        "originalStartTimeZone": "UTC",
        "originalEndTimeZone": "UTC",
        "iCalUId": "040000008200E00074C5B7101A82E008" + graph.state.random_id(40, "0123456789ABCDEF"),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": {"contentType": "text", "content": ""},
        "location": {"displayName": "", "locationType": "default", "uniqueIdType": "unknown"},
        "locations": [],
        "recurrence": None,
        "attendees": [],
        "organizer": {"emailAddress": {"name": organizer["displayName"], "address": organizer["mail"]}},
        "onlineMeeting": None,
    }
    if "start" not in raw or "end" not in raw:
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. A start and end time are required.")
    event = StoredEvent(id=event_id, owner_id=organizer["id"], start=now, end=now, data=data,
                        transaction_id=raw.get("transactionId"))
    _apply(event, raw, organizer)
    return event


def create(user_id: str) -> Response:
    organizer = require_user(user_id)
    _, raw = parse_body(Event)
    graph = tenant()
    with graph.state.lock:
        transaction = raw.get("transactionId")
        if transaction:
            for existing in graph.events.values():
                if existing.owner_id == organizer["id"] and existing.transaction_id == transaction:
                    # Outlook's idempotency: a retried create returns the event made the first time.
                    return _respond(existing, user_id, 201)
        event = _new_event(organizer, raw)
        graph.events[event.id] = event
    return _respond(event, user_id, 201)


def _require_event(organizer: Json, event_id: str) -> StoredEvent:
    event = tenant().events.get(event_id)
    if event is None or event.owner_id != organizer["id"]:
        raise GraphError(404, *_NOT_FOUND)
    return event


def get(user_id: str, event_id: str) -> Response:
    organizer = require_user(user_id)
    with graph_app().state.lock:
        return _respond(_require_event(organizer, event_id), user_id)


def update(user_id: str, event_id: str) -> Response:
    organizer = require_user(user_id)
    _, raw = parse_body(Event)
    with graph_app().state.lock:
        event = _require_event(organizer, event_id)
        _apply(event, raw, organizer)
        return _respond(event, user_id)


def delete(user_id: str, event_id: str) -> Response:
    organizer = require_user(user_id)
    with graph_app().state.lock:
        event = _require_event(organizer, event_id)
        tenant().drop_event(event.id)
    return Response(status=204)


def cancel(user_id: str, event_id: str) -> Response:
    """The organiser cancels: attendees are notified and the event leaves the organiser's calendar."""
    organizer = require_user(user_id)
    parse_body(CancelPostRequestBody, action=True)
    with graph_app().state.lock:
        event = _require_event(organizer, event_id)
        del tenant().events[event.id]
    return Response(status=202)


def _mine(organizer: Json) -> list[StoredEvent]:
    with graph_app().state.lock:
        return [e for e in tenant().events.values() if e.owner_id == organizer["id"]]


def _page(events: list[StoredEvent], user_id: str, what: str) -> Response:
    tz_name = _preferred_zone()
    rendered = [render(e, user_id, tz_name) for e in events]
    rendered = filter_items(rendered, request.args.get("$filter"), {"subject": lambda e: e["subject"],
                                                                    "iCalUId": lambda e: e["iCalUId"]})
    body = page([select(e) for e in rendered], graph_app().state.page_size,
                f"{base_url()}/$metadata#users('{user_id}')/{selected(what)}", max_top=1000, skip_param="$skip")
    return json_response(body, headers={"Preference-Applied": f'outlook.timezone="{tz_name}"'} if tz_name else None)


def list_events(user_id: str) -> Response:
    organizer = require_user(user_id)
    events = _mine(organizer)
    if request.args.get("$orderby", "").startswith("start/dateTime"):
        events.sort(key=lambda e: e.start, reverse=request.args["$orderby"].endswith(" desc"))
    return _page(events, user_id, "events")


def _window_bound(name: str) -> datetime:
    value = next((v for k, v in request.args.items() if k.lower() == name.lower()), None)
    if not value:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    moment = parse_iso(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone("UTC"))


def calendar_view(user_id: str) -> Response:
    organizer = require_user(user_id)
    start, end = _window_bound("startDateTime"), _window_bound("endDateTime")
    events = sorted((e for e in _mine(organizer) if e.start < end and e.end > start), key=lambda e: e.start)
    return _page(events, user_id, "calendarView")


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)

    def op(name: str, roles: frozenset[str]) -> Operation:
        return Operation("events", name, roles, denied=_OUTLOOK_DENIED, mailbox=True)

    for prefix in ("/users/<user_id>/events", "/users/<user_id>/calendar/events"):
        app.graph_route(prefix, ["POST"], op("create", WRITE_ROLES), create)
        app.graph_route(prefix, ["GET"], op("list", READ_ROLES), list_events)
        app.graph_route(prefix + "/<event_id>", ["GET"], op("get", READ_ROLES), get)
        app.graph_route(prefix + "/<event_id>", ["PATCH"], op("update", WRITE_ROLES), update)
        app.graph_route(prefix + "/<event_id>", ["DELETE"], op("delete", WRITE_ROLES), delete)
        app.graph_route(prefix + "/<event_id>/cancel", ["POST"], op("cancel", WRITE_ROLES), cancel)
    for path in ("/users/<user_id>/calendarView", "/users/<user_id>/calendar/calendarView"):
        app.graph_route(path, ["GET"], op("calendarView", READ_ROLES), calendar_view)
