"""Teams online meetings: create, createOrGet by externalId, get, and lookup by JoinWebUrl.

App-only access to a user's meetings needs both the Graph permission and a Teams application
access policy granted to the organiser (``sb.graph.grant_meeting_policy``); without the policy
Teams answers 403 even though the token carries the role.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, Response, request
from msgraph.generated.models.online_meeting import OnlineMeeting
from msgraph.generated.users.item.online_meetings.create_or_get.create_or_get_post_request_body import (
    CreateOrGetPostRequestBody,
)

from integrator.sandbox.graph.app import GraphApp, Operation, graph_app, json_response, tenant
from integrator.sandbox.graph.errors import GraphError
from integrator.sandbox.graph.odata import base_url, filter_items, page, select
from integrator.sandbox.graph.tenant import GraphTenant, Json, Meeting
from integrator.sandbox.graph.timefmt import iso_z, parse_iso
from integrator.sandbox.graph.users import require_user
from integrator.sandbox.graph.validation import parse_body

READ_ROLES = frozenset({"OnlineMeetings.Read.All", "OnlineMeetings.ReadWrite.All"})
WRITE_ROLES = frozenset({"OnlineMeetings.ReadWrite.All"})
_TOLL_NUMBER = "+358 9 4245 0000"


def new_meeting(
    graph: GraphTenant,
    organizer: Json,
    subject: str | None,
    start: datetime,
    end: datetime,
    external_id: str | None = None,
    participants: Json | None = None,
) -> Meeting:
    """Store a meeting the way Teams creates one (for onlineMeetings and for Teams events).

    ``participants`` (the request's meetingParticipants) are kept: Teams answers with the
    attendees sent, each identity completed as Teams completes it.
    """
    thread, join_url = graph.new_join_url(organizer["id"])
    meeting_id = graph.meeting_id_for(organizer["id"], thread)
    conference_id = graph.state.random_id(9, "0123456789")
    data: Json = {
        "id": meeting_id,
        "creationDateTime": iso_z(graph.state.clock.now()),
        "startDateTime": iso_z(start),
        "endDateTime": iso_z(end),
        "joinWebUrl": join_url,
        "subject": subject,
        "externalId": external_id,
        "isBroadcast": False,
        "autoAdmittedUsers": "EveryoneInCompany",  # deprecated, still answered (lobbyBypassSettings rules)
        "allowedPresenters": "everyone",
        "allowMeetingChat": "enabled",
        "allowTeamworkReactions": True,
        "isEntryExitAnnounced": True,
        "recordAutomatically": False,
        "audioConferencing": {
            "conferenceId": conference_id,
            "tollNumber": _TOLL_NUMBER,
            "tollFreeNumber": None,
            "dialinUrl": f"https://dialin.teams.microsoft.com/{conference_id}?id={conference_id}",
        },
        "chatInfo": {"threadId": thread, "messageId": "0", "replyChainMessageId": None},
        "joinMeetingIdSettings": {
            "isPasscodeRequired": True,
            "joinMeetingId": graph.state.random_id(12, "0123456789"),
            "passcode": graph.state.random_id(6, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"),
        },
        "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
        "participants": {
            "organizer": {
                "upn": organizer["userPrincipalName"],
                "role": "presenter",
                "identity": _identity_set(graph, {"user": {"id": organizer["id"]}}),
            },
            "attendees": [_participant(graph, a) for a in (participants or {}).get("attendees") or []],
            # Live-event roles: gone from v1.0's request schema, still answered (empty) as documented.
            "producers": [],
            "contributors": [],
        },
    }
    meeting = Meeting(
        id=meeting_id,
        organizer_id=organizer["id"],
        join_url=join_url,
        start=start,
        end=end,
        data=data,
        external_id=external_id,
    )
    with graph.state.lock:
        graph.meetings[meeting_id] = meeting
    return meeting


def _identity_set(graph: GraphTenant, identity: object) -> Json:
    """A participant's identitySet: a tenant user carries displayName, tenantId, identityProvider."""
    given = dict(identity) if isinstance(identity, dict) else {}
    user = given.get("user")
    if isinstance(user, dict):
        given["user"] = {"id": user.get("id"), "displayName": user.get("displayName"),
                         "tenantId": user.get("tenantId") or graph.tenant_id,
                         "identityProvider": user.get("identityProvider") or "AAD"}
    return given


def _participant(graph: GraphTenant, raw: object) -> Json:
    """meetingParticipantInfo as Teams answers it: upn, role (null unless sent), identity."""
    given = raw if isinstance(raw, dict) else {}
    upn = given.get("upn")
    identity = given.get("identity")
    if not identity and upn:
        user = graph.find_user(str(upn))
        identity = {"user": {"id": user["id"]}} if user else {}
    return {"upn": upn, "role": given.get("role"), "identity": _identity_set(graph, identity)}


def require_policy(user_id: str) -> Json:
    """The organiser, if this app may act on their meetings (Teams application access policy)."""
    organizer = require_user(user_id)
    if organizer["id"] not in tenant().policy_users:
        raise GraphError(403, "Forbidden", "No application access policy found for this app.")
    return organizer


def _entity(meeting: Meeting, user_id: str) -> Json:
    return {"@odata.context": f"{base_url()}/$metadata#users('{user_id}')/onlineMeetings/$entity", **meeting.data}


def _times(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    if end and not start:
        raise GraphError(400, "BadRequest", "The start time must be provided when the end time is provided.")
    now = graph_app().state.clock.now()
    begin = parse_iso(start) if start else now
    finish = parse_iso(end) if end else begin + timedelta(hours=1)
    if finish <= begin:
        raise GraphError(400, "BadRequest", "The end time must be later than the start time.")
    return begin, finish


def create(user_id: str) -> Response:
    organizer = require_policy(user_id)
    _, raw = parse_body(OnlineMeeting)
    start, end = _times(raw.get("startDateTime"), raw.get("endDateTime"))
    with graph_app().state.lock:
        meeting = new_meeting(tenant(), organizer, raw.get("subject"), start, end, raw.get("externalId"),
                              raw.get("participants"))
    return json_response(_entity(meeting, user_id), 201)


def create_or_get(user_id: str) -> Response:
    organizer = require_policy(user_id)
    _, raw = parse_body(CreateOrGetPostRequestBody, action=True)
    external_id = raw.get("externalId")
    if not external_id:
        raise GraphError(400, "BadRequest", "externalId is required for createOrGet.")
    graph = tenant()
    with graph.state.lock:
        for meeting in graph.meetings.values():
            if meeting.organizer_id == organizer["id"] and meeting.external_id == external_id:
                return json_response(_entity(meeting, user_id), 200)
        start, end = _times(raw.get("startDateTime"), raw.get("endDateTime"))
        meeting = new_meeting(graph, organizer, raw.get("subject"), start, end, external_id, raw.get("participants"))
    return json_response(_entity(meeting, user_id), 201)


def require_meeting(organizer: Json, meeting_id: str) -> Meeting:
    meeting = tenant().meetings.get(meeting_id)
    if meeting is None or meeting.organizer_id != organizer["id"]:
        raise GraphError(404, "NotFound", "The requested online meeting was not found.")
    return meeting


def get(user_id: str, meeting_id: str) -> Response:
    organizer = require_policy(user_id)
    return json_response(_entity(require_meeting(organizer, meeting_id), user_id))


def list_meetings(user_id: str) -> Response:
    """Graph only lists onlineMeetings with a filter (JoinWebUrl, joinMeetingIdSettings/joinMeetingId)."""
    organizer = require_policy(user_id)
    expression = request.args.get("$filter")
    if not expression:
        raise GraphError(400, "BadRequest", "Filter expression expected - /onlineMeetings?$filter=JoinWebUrl%20eq%20'{joinWebUrl}'.")
    with graph_app().state.lock:
        mine = [m.data for m in tenant().meetings.values() if m.organizer_id == organizer["id"]]
    found = filter_items(
        mine,
        expression,
        {
            "JoinWebUrl": lambda m: m["joinWebUrl"],
            "joinMeetingIdSettings/joinMeetingId": lambda m: m["joinMeetingIdSettings"]["joinMeetingId"],
        },
    )
    return json_response(
        page([select(m) for m in found], graph_app().state.page_size, f"{base_url()}/$metadata#users('{user_id}')/onlineMeetings")
    )


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    read = Operation("onlineMeetings", "get", READ_ROLES)
    app.graph_route("/users/<user_id>/onlineMeetings", ["POST"], Operation("onlineMeetings", "create", WRITE_ROLES), create)
    app.graph_route(
        "/users/<user_id>/onlineMeetings/createOrGet",
        ["POST"],
        Operation("onlineMeetings", "createOrGet", WRITE_ROLES),
        create_or_get,
    )
    app.graph_route("/users/<user_id>/onlineMeetings", ["GET"], Operation("onlineMeetings", "list", READ_ROLES), list_meetings)
    app.graph_route("/users/<user_id>/onlineMeetings/<meeting_id>", ["GET"], read, get)
