"""Meet REST v2: conference records, participants and sessions made by the `join_meet` simulation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from integrator.sandbox.google.errors import invalid, not_found
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant
from integrator.sandbox.google.util import page, parse_time, rfc3339

Json = dict[str, Any]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class Session:
    id: str
    start: datetime
    end: datetime


@dataclass
class Participant:
    id: str
    identity: Json  # {"signedinUser": ...} | {"anonymousUser": ...} | {"phoneUser": ...}
    key: str
    sessions: list[Session] = field(default_factory=list)


@dataclass
class Record:
    id: str
    space_id: str
    meeting_code: str
    start: datetime
    end: datetime
    participants: dict[str, Participant] = field(default_factory=dict)


@dataclass
class MeetData:
    spaces: dict[str, str] = field(default_factory=dict)  # meeting code -> space id
    events: dict[str, str] = field(default_factory=dict)  # calendar event id -> meeting code
    records: dict[str, Record] = field(default_factory=dict)


def new_space(tenant: GoogleTenant) -> str:
    """A fresh meeting code (abc-defg-hij) with its space, as Calendar's createRequest makes."""
    pick = tenant.new_id
    code = f"{pick(3, LETTERS)}-{pick(4, LETTERS)}-{pick(3, LETTERS)}"
    tenant.meet.spaces[code] = pick(12, ALNUM)
    return code


def _ended(tenant: GoogleTenant, end: datetime) -> bool:
    return end <= tenant.state.clock.now()


def _record_json(tenant: GoogleTenant, record: Record) -> Json:
    body: Json = {
        "name": f"conferenceRecords/{record.id}",
        "startTime": rfc3339(record.start),
        "space": f"spaces/{record.space_id}",
    }
    if _ended(tenant, record.end):
        body["endTime"] = rfc3339(record.end)
        body["expireTime"] = rfc3339(record.end + timedelta(days=30))
    return body


def _started(tenant: GoogleTenant) -> list[Record]:
    """Records the clock has reached and the 30-day retention has not yet removed."""
    clock = tenant.state.clock.now()
    return [r for r in tenant.meet.records.values() if r.start <= clock < r.end + timedelta(days=30)]


_FILTER_TERM = re.compile(
    r'^\s*(space\.meeting_code|space\.name|start_time|end_time)\s*(=|>=|<=|>|<)\s*"([^"]*)"\s*$'
)


def _filter(text: str) -> list[tuple[str, str, str]]:
    terms = []
    for part in re.split(r"\s+AND\s+", text.strip()) if text.strip() else []:
        found = _FILTER_TERM.match(part)
        if not found:
            raise invalid(f"Invalid filter: {text}")
        terms.append((found.group(1), found.group(2), found.group(3)))
    return terms


def _compare(left: datetime, op: str, right: datetime) -> bool:
    return {
        "=": left == right,
        ">=": left >= right,
        "<=": left <= right,
        ">": left > right,
        "<": left < right,
    }[op]


def _matches(tenant: GoogleTenant, record: Record, terms: list[tuple[str, str, str]]) -> bool:
    for field_name, op, value in terms:
        if field_name == "space.meeting_code" and not (op == "=" and record.meeting_code == value):
            return False
        if field_name == "space.name" and not (op == "=" and f"spaces/{record.space_id}" == value):
            return False
        if field_name == "start_time" and not _compare(record.start, op, parse_time(value)):
            return False
        if field_name == "end_time" and not (
            _ended(tenant, record.end) and _compare(record.end, op, parse_time(value))
        ):
            return False
    return True


def _listed(call: Call, items: list[Json], key: str) -> Json:
    chunk, token = page(items, call.param("pageToken"), call.param("pageSize"), call.tenant.state.page_size)
    body: Json = {key: chunk} if chunk else {}
    if token:
        body["nextPageToken"] = token
    return body


@handles("meet.conferenceRecords.list")
def list_records(call: Call) -> Json:
    terms = _filter(call.param("filter") or "")
    found = [r for r in _started(call.tenant) if _matches(call.tenant, r, terms)]
    found.sort(key=lambda r: r.start, reverse=True)
    return _listed(call, [_record_json(call.tenant, r) for r in found], "conferenceRecords")


def _record(call: Call, name: str) -> Record:
    record_id = name.split("/")[1] if name.startswith("conferenceRecords/") else ""
    found = call.tenant.meet.records.get(record_id)
    if found is None or found not in _started(call.tenant):
        raise not_found()
    return found


@handles("meet.conferenceRecords.get")
def get_record(call: Call) -> Json:
    return _record_json(call.tenant, _record(call, call.params["name"]))


def _visible_sessions(tenant: GoogleTenant, participant: Participant) -> list[Session]:
    clock = tenant.state.clock.now()
    return [s for s in participant.sessions if s.start <= clock]


def _participant_json(tenant: GoogleTenant, record: Record, participant: Participant) -> Json:
    sessions = _visible_sessions(tenant, participant)
    body: Json = {
        "name": f"conferenceRecords/{record.id}/participants/{participant.id}",
        **participant.identity,
    }
    body["earliestStartTime"] = rfc3339(min(s.start for s in sessions))
    ends = [s.end for s in sessions]
    if all(_ended(tenant, e) for e in ends):
        body["latestEndTime"] = rfc3339(max(ends))
    return body


@handles("meet.conferenceRecords.participants.list")
def list_participants(call: Call) -> Json:
    record = _record(call, call.params["parent"])
    items = [
        _participant_json(call.tenant, record, p)
        for p in record.participants.values()
        if _visible_sessions(call.tenant, p)
    ]
    body = _listed(call, items, "participants")
    body["totalSize"] = len(items)
    return body


def _participant(call: Call, name: str) -> tuple[Record, Participant]:
    parts = name.split("/")
    record = _record(call, "/".join(parts[:2]))
    found = record.participants.get(parts[3]) if len(parts) >= 4 else None
    if found is None or not _visible_sessions(call.tenant, found):
        raise not_found()
    return record, found


@handles("meet.conferenceRecords.participants.get")
def get_participant(call: Call) -> Json:
    record, participant = _participant(call, call.params["name"])
    return _participant_json(call.tenant, record, participant)


@handles("meet.conferenceRecords.participants.participantSessions.list")
def list_sessions(call: Call) -> Json:
    record, participant = _participant(call, call.params["parent"])
    items: list[Json] = []
    for s in _visible_sessions(call.tenant, participant):
        item: Json = {
            "name": f"{call.params['parent']}/participantSessions/{s.id}",
            "startTime": rfc3339(s.start),
        }
        if _ended(call.tenant, s.end):
            item["endTime"] = rfc3339(s.end)
        items.append(item)
    return _listed(call, items, "participantSessions")


@handles("meet.conferenceRecords.participants.participantSessions.get")
def get_session(call: Call) -> Json:
    name = call.params["name"]
    parent, _, session_id = name.rpartition("/participantSessions/")
    _, participant = _participant(call, parent)
    for session in _visible_sessions(call.tenant, participant):
        if session.id == session_id:
            item: Json = {"name": name, "startTime": rfc3339(session.start)}
            if _ended(call.tenant, session.end):
                item["endTime"] = rfc3339(session.end)
            return item
    raise not_found()


@handles("meet.spaces.get")
def get_space(call: Call) -> Json:
    """A space by ``spaces/{id}`` or, as the real API allows, ``spaces/{meetingCode}``."""
    key = call.params["name"].removeprefix("spaces/")
    data = call.tenant.meet
    code = key if key in data.spaces else next((c for c, s in data.spaces.items() if s == key), None)
    if code is None:
        raise not_found()
    body: Json = {
        "name": f"spaces/{data.spaces[code]}",
        "meetingUri": f"https://meet.google.com/{code}",
        "meetingCode": code,
        "config": {"accessType": "TRUSTED", "entryPointAccess": "ALL"},
    }
    clock = call.tenant.state.clock.now()
    active = next(
        (r for r in data.records.values() if r.meeting_code == code and r.start <= clock < r.end), None
    )
    if active is not None:
        body["activeConference"] = {"conferenceRecord": f"conferenceRecords/{active.id}"}
    return body


def join_meet(
    tenant: GoogleTenant,
    event_or_meeting_code: str,
    email: str | None,
    display_name: str | None,
    minutes: int,
    start: datetime | None,
    via_phone: bool,
) -> str:
    """Someone attends a Meet; returns the conference record id the attendance lands in."""
    with tenant.state.lock:
        data = tenant.meet
        code = data.events.get(event_or_meeting_code, event_or_meeting_code)
        if code not in data.spaces:
            raise KeyError(f"no Meet space for {event_or_meeting_code}")
        begin = start or tenant.state.clock.now()
        finish = begin + timedelta(minutes=minutes)
        record = next(
            (
                r
                for r in data.records.values()
                if r.meeting_code == code and r.start <= finish and begin <= r.end
            ),
            None,
        )
        if record is None:
            record = Record(tenant.new_id(20, ALNUM), data.spaces[code], code, begin, finish)
            data.records[record.id] = record
        record.start, record.end = min(record.start, begin), max(record.end, finish)
        user = tenant.user(email) if email else None
        if via_phone:
            identity: Json = {"phoneUser": {"displayName": display_name or "+358 ••• ••• 123"}}
            key = f"phone:{display_name}"
        elif user is not None:
            identity = {
                "signedinUser": {"user": f"users/{user.id}", "displayName": display_name or user.name}
            }
            key = f"user:{user.id}"
        else:
            identity = {"anonymousUser": {"displayName": display_name or email or "Anonymous"}}
            key = f"anon:{display_name or email}"
        participant = next((p for p in record.participants.values() if p.key == key), None)
        if participant is None:
            participant = Participant(tenant.new_id(16, ALNUM), identity, key)
            record.participants[participant.id] = participant
        participant.sessions.append(Session(tenant.new_id(16, ALNUM), begin, finish))
        return record.id
