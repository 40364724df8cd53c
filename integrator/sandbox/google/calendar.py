"""Calendar v3 events on users' primary calendars, with Meet links from conferenceData."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrator.sandbox.google import meet
from integrator.sandbox.google.errors import GoogleError, invalid
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.util import page, parse_time, rfc3339

Json = dict[str, Any]
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
#: Every sandbox user's calendar is in Helsinki time.
CALENDAR_ZONE = "Europe/Helsinki"
_ID = re.compile(r"^[a-v0-9]{5,1024}$")
SERVER_FIELDS = (
    "kind",
    "etag",
    "id",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "organizer",
    "iCalUID",
    "sequence",
)


@dataclass
class CalendarData:
    events: dict[str, dict[str, Json]] = field(default_factory=dict)  # calendar (email) -> id -> event


def _error(code: int, message: str, reason: str) -> GoogleError:
    return GoogleError(code, message, reason=reason)


def _calendar(call: Call) -> dict[str, Json]:
    key = call.params["calendarId"]
    owner = call.user.email if key == "primary" else key.lower()
    if owner != call.user.email:
        raise _error(404, "Not Found", "notFound")
    return call.tenant.calendar.events.setdefault(owner, {})


def _event(call: Call) -> tuple[dict[str, Json], Json]:
    events = _calendar(call)
    found = events.get(call.params["eventId"])
    if found is None:
        raise _error(404, "Not Found", "notFound")
    return events, found


def _when(value: Json) -> datetime:
    if "dateTime" in value:
        return parse_time(value["dateTime"])
    return parse_time(value["date"] + "T00:00:00Z")


def _stamp(call: Call) -> str:
    return rfc3339(call.tenant.state.clock.now())


def _etag(call: Call, before: Json | None = None) -> str:
    """Calendar's etags are quoted numbers (twice the update time in microseconds): rising with
    every change, even two changes in the same sandbox instant."""
    micros = int(call.tenant.state.clock.now().timestamp() * 1_000_000) * 2
    previous = int(str((before or {}).get("etag", '"0"')).strip('"') or 0)
    return f'"{max(micros, previous + 2000)}"'


def _conference(call: Call, event: Json, requested: Json | None) -> None:
    """Honour conferenceData.createRequest only with conferenceDataVersion=1, as Calendar does."""
    if call.param("conferenceDataVersion", 0) < 1:
        event.pop("conferenceData", None)
        return
    create = (requested or {}).get("createRequest")
    if not create or "conferenceId" in event.get("conferenceData", {}):
        return
    # Without a conferenceSolutionKey Calendar picks the calendar's default solution: Meet on Workspace.
    kind = (create.get("conferenceSolutionKey") or {}).get("type", "hangoutsMeet")
    if kind != "hangoutsMeet":
        raise invalid("Invalid conference type value.", reason="invalid")
    code = meet.new_space(call.tenant)
    call.tenant.meet.events[event["id"]] = code
    uri = f"https://meet.google.com/{code}"
    pin = call.tenant.new_id(13)
    event["conferenceData"] = {
        "createRequest": {**create, "conferenceSolutionKey": {"type": kind}, "status": {"statusCode": "success"}},
        # Meet's entry points as Calendar returns them: the video link, the dial-in number with its
        # PIN and the "more phone numbers" page.
        "entryPoints": [
            {"entryPointType": "video", "uri": uri, "label": f"meet.google.com/{code}"},
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}", "pin": pin},
            {"regionCode": "FI", "entryPointType": "phone", "uri": "tel:+358-9-8171-0300",
             "label": "+358 9 81710300", "pin": pin[:9]},
        ],
        "conferenceSolution": {
            "key": {"type": "hangoutsMeet"},
            "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png",
        },
        "conferenceId": code,
    }
    event["hangoutLink"] = uri


def _echo_time(value: Json) -> None:
    """Calendar answers a dateTime in the offset of the given timeZone (the calendar's own zone
    otherwise), to the second: 2026-12-08T10:00:00+02:00, whatever form was sent."""
    if "dateTime" not in value:
        return
    try:
        zone = ZoneInfo(str(value.get("timeZone") or CALENDAR_ZONE))
    except (ZoneInfoNotFoundError, ValueError):
        raise _error(400, "Invalid time zone definition for start time.", "invalid") from None
    local = parse_time(value["dateTime"]).astimezone(zone).replace(microsecond=0)
    text = local.isoformat()
    value["dateTime"] = text[:-6] + "Z" if text.endswith("+00:00") and zone.key == "UTC" else text


def _normalise(event: Json) -> None:
    if "start" not in event:
        raise _error(400, "Missing start time.", "required")
    if "end" not in event:
        raise _error(400, "Missing end time.", "required")
    if _when(event["end"]) < _when(event["start"]):
        raise _error(400, "The specified time range is empty.", "timeRangeEmpty")
    _echo_time(event["start"])
    _echo_time(event["end"])
    for attendee in event.get("attendees", []):
        attendee.setdefault("responseStatus", "needsAction")
        attendee["email"] = attendee.get("email", "").lower()
    event.setdefault("reminders", {"useDefault": True})
    if event["reminders"].get("overrides") and event["reminders"].get("useDefault"):
        raise _error(
            400,
            "Cannot specify both default reminders and overrides at the same time.",
            "cannotUseDefaultRemindersAndSpecifyOverride",
        )


@handles("calendar.events.insert")
def insert(call: Call) -> Json:
    events = _calendar(call)
    body: Json = copy.deepcopy(call.body or {})
    event_id = body.get("id") or call.tenant.new_id(26, BASE32HEX)
    if not _ID.match(event_id):
        raise _error(400, "Invalid resource id value.", "invalid")
    if event_id in events:
        raise _error(409, "The requested identifier already exists.", "duplicate")
    requested = body.get("conferenceData")
    event = {k: v for k, v in body.items() if k not in SERVER_FIELDS}
    stamp = _stamp(call)
    me = call.user.email
    event.update(
        kind="calendar#event",
        etag=_etag(call),
        id=event_id,
        status=body.get("status", "confirmed"),
        htmlLink=f"https://www.google.com/calendar/event?eid={event_id}",
        created=stamp,
        updated=stamp,
        creator={"email": me, "self": True},
        organizer={"email": me, "self": True},
        iCalUID=f"{event_id}@google.com",
        sequence=0,
        eventType=body.get("eventType", "default"),
    )
    _normalise(event)
    _conference(call, event, requested)
    events[event_id] = event
    return copy.deepcopy(event)


@handles("calendar.events.get")
def get(call: Call) -> Json:
    return copy.deepcopy(_event(call)[1])


def _merge(target: Json, patch: Json) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)
        else:
            target[key] = copy.deepcopy(value)


def _touch(call: Call, event: Json, before: Json) -> Json:
    if any(before.get(k) != event.get(k) for k in ("start", "end", "location", "summary", "attendees")):
        event["sequence"] = int(before.get("sequence", 0)) + 1
    event["updated"] = _stamp(call)
    event["etag"] = _etag(call, before)
    return copy.deepcopy(event)


@handles("calendar.events.patch")
def patch(call: Call) -> Json:
    _, event = _event(call)
    before = copy.deepcopy(event)
    body: Json = {k: v for k, v in (call.body or {}).items() if k not in SERVER_FIELDS}
    requested = body.pop("conferenceData", None)
    _merge(event, body)
    _normalise(event)
    if requested:
        _conference(call, event, requested)
    return _touch(call, event, before)


@handles("calendar.events.update")
def update(call: Call) -> Json:
    events, event = _event(call)
    before = copy.deepcopy(event)
    body: Json = {k: v for k, v in copy.deepcopy(call.body or {}).items() if k not in SERVER_FIELDS}
    kept = {k: event[k] for k in (*SERVER_FIELDS, "conferenceData", "hangoutLink", "status") if k in event}
    requested = body.get("conferenceData")
    fresh = {**body, **{k: v for k, v in kept.items() if k not in body or k in SERVER_FIELDS}}
    _normalise(fresh)
    if requested and "conferenceId" not in kept.get("conferenceData", {}):
        _conference(call, fresh, requested)
    events[event["id"]] = fresh
    return _touch(call, fresh, before)


@handles("calendar.events.delete")
def delete(call: Call) -> None:
    _, event = _event(call)
    if event["status"] == "cancelled":
        raise _error(410, "Resource has been deleted", "deleted")
    event["status"] = "cancelled"
    event["updated"] = _stamp(call)
    event["etag"] = _etag(call, event)


@handles("calendar.events.list")
def list_events(call: Call) -> Json:
    events = _calendar(call)
    if call.param("orderBy") == "startTime" and not call.param("singleEvents"):
        raise _error(400, "The requested ordering is not available for the particular query.", "invalid")
    low = parse_time(call.param("timeMin")) if call.param("timeMin") else None
    high = parse_time(call.param("timeMax")) if call.param("timeMax") else None
    show_deleted = bool(call.param("showDeleted"))
    found = [
        copy.deepcopy(e)
        for e in events.values()
        if (show_deleted or e["status"] != "cancelled")
        and (low is None or _when(e["end"]) > low)
        and (high is None or _when(e["start"]) < high)
        and (not call.param("iCalUID") or e["iCalUID"] == call.param("iCalUID"))
    ]
    if call.param("orderBy") == "updated":
        found.sort(key=lambda e: str(e["updated"]))
    else:
        found.sort(key=lambda e: _when(e["start"]))
    chunk, token = page(found, call.param("pageToken"), call.param("maxResults"), call.tenant.state.page_size)
    body: Json = {
        "kind": "calendar#events",
        "etag": _etag(call),
        "summary": call.user.email,
        "updated": _stamp(call),
        "timeZone": CALENDAR_ZONE,
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
        "items": chunk,
    }
    if token:
        body["nextPageToken"] = token
    else:
        body["nextSyncToken"] = "sync-" + _stamp(call)
    return body
