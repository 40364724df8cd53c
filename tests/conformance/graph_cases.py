"""Microsoft's documented examples of every Graph operation the product uses, as conformance cases.

Each case names its source: repository and path in Microsoft's documentation (and the example).
Requests and responses are the documented ones, transcribed as Python values; where an example
uses the delegated ``/me`` path, the case calls ``/users/{user}`` (the product is app-only) and
says so in ``adapted``. ``{user}``, ``{event}``, ``{meeting}``, ``{report}`` and ``{joinUrl}``
name the sandbox's objects (graph_check.build_world). Response values are compared by type only:
the documented values are examples.

Examples outside the sandbox's subset (what the product never calls) are listed in
OUT_OF_SUBSET with the reason, and are not counted.
"""

from __future__ import annotations

from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.identity import Identity
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.meeting_participant_info import MeetingParticipantInfo
from msgraph.generated.models.meeting_participants import MeetingParticipants
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.online_meetings.create_or_get.create_or_get_post_request_body import (
    CreateOrGetPostRequestBody,
)
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from tests.conformance.graph_check import ALEX, DOCS, ENTRA_DOCS, Case

API = f"{DOCS}:api-reference/v1.0/api"
SNIPPETS = f"{DOCS}:api-reference/v1.0/includes/snippets/python"
BATCHING = f"{DOCS}:concepts/json-batching.md"
ME = "delegated /me -> app-only /users/{user}"
DOCS_DISAGREE = "null in onlinemeeting-createorget.md's example of the same object"
VTC = "videoTeleconferenceId is generated only for Cloud Video Interop licensed users"
#: Graph's error shape, as concepts/json-batching.md documents it (items 2-4 of its response).
ERROR = {"error": {"code": "", "message": "", "innerError": {"date": "", "request-id": "", "client-request-id": ""}}}
DIRECTORY_DENIED = {"error": {"code": "Authorization_RequestDenied",
                              "message": "Insufficient privileges to complete the operation.",
                              "innerError": {"date": "", "request-id": "", "client-request-id": ""}}}
PST = {"Prefer": 'outlook.timezone="Pacific Standard Time"'}

# ---- users -------------------------------------------------------------------------------------
USER = {"businessPhones": ["+1 425 555 0109"], "displayName": "Adele Vance", "givenName": "Adele",
        "jobTitle": "Retail Manager", "mail": "AdeleV@contoso.com", "mobilePhone": "+1 425 555 0109",
        "officeLocation": "18/2111", "preferredLanguage": "en-US", "surname": "Vance",
        "userPrincipalName": "AdeleV@contoso.com", "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd"}

USERS = [
    Case("get_user_1", f"{API}/user-get.md#example-1-standard-users-request", "GET",
         "/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd", 200, response=USER),
    Case("get_user_by_upn", f"{API}/user-get.md#http-request (GET /users/{{id | userPrincipalName}})", "GET",
         "/users/AdeleV@contoso.com", 200, response=USER),
    Case("get_user_not_found", f"{API}/user-get.md#response (404 when no user has the id); shape: {BATCHING}",
         "GET", "/users/00000000-0000-0000-0000-000000000001", 404, response=ERROR),
    Case("get_user_least_privileged", f"{API}/user-get.md#permissions (application: User.Read.All)", "GET",
         "/users/{user}", 200, response=USER, permissions=frozenset({"User.Read.All"})),
    Case("get_user_without_permission", f"{API}/user-get.md#permissions; error: {BATCHING} (response id 3)",
         "GET", "/users/{user}", 403, response=DIRECTORY_DENIED, permissions=frozenset({"Mail.Send"}),
         exact={"error.code": "Authorization_RequestDenied",
                "error.message": "Insufficient privileges to complete the operation."}),
]

# ---- events ------------------------------------------------------------------------------------
ATTENDEE_OUT = {"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": "Samantha Booth", "address": "samanthab@contoso.onmicrosoft.com"}}
EVENT_OUT = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('cd209b0b-3f83-4c35-82d2-d88a61820480')/events/$entity",
    "@odata.etag": "W/\"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==\"", "id": "AAMkAGI1AAAt9AHjAAA=",
    "createdDateTime": "2017-04-15T03:00:50.7579581Z", "lastModifiedDateTime": "2017-04-15T03:00:51.245372Z",
    "changeKey": "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==", "categories": [],
    "originalStartTimeZone": "Pacific Standard Time", "originalEndTimeZone": "Pacific Standard Time",
    "iCalUId": "040000008200E00074C5B7101A82E00800000000DA2B357D94B5D201000000000000000010000000EC4597557F0CB34EA4CC2887EA7B17C3",
    "reminderMinutesBeforeStart": 15, "isReminderOn": True, "hasAttachments": False, "subject": "Let's go brunch",
    "bodyPreview": "Does late morning work for you?", "importance": "normal", "sensitivity": "normal",
    "isAllDay": False, "isCancelled": False, "isOrganizer": True, "responseRequested": True, "seriesMasterId": None,
    "showAs": "busy", "type": "singleInstance",
    "webLink": "https://outlook.office365.com/owa/?itemid=AAMkAGI1AAAt9AHjAAA%3D&exvsurl=1&path=/calendar/item",
    "onlineMeetingUrl": None, "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
    "body": {"contentType": "html", "content": "<html><head></head><body>Does late morning work for you?</body></html>"},
    "start": {"dateTime": "2017-04-15T11:00:00.0000000", "timeZone": "Pacific Standard Time"},
    "end": {"dateTime": "2017-04-15T12:00:00.0000000", "timeZone": "Pacific Standard Time"},
    "location": {"displayName": "Harry's Bar", "locationType": "default", "uniqueId": "Harry's Bar",
                 "uniqueIdType": "private"},
    "locations": [{"displayName": "Harry's Bar", "locationType": "default", "uniqueIdType": "unknown"}],
    "recurrence": None, "attendees": [ATTENDEE_OUT],
    "organizer": {"emailAddress": {"name": "Dana Swope", "address": "danas@contoso.onmicrosoft.com"}},
}
LOCATIONS_IN = [
    {"displayName": "Conf Room 3"},
    {"displayName": "Fourth Coffee", "address": {"street": "4567 Main St", "city": "Redmond", "state": "WA",
                                                 "countryOrRegion": "US", "postalCode": "32008"},
     "coordinates": {"latitude": 47.672, "longitude": -102.103}},
    {"displayName": "Home Office"},
]
LOCATIONS_OUT = [
    {"displayName": "Conf Room 3", "locationType": "default", "uniqueIdType": "unknown"},
    {"displayName": "Fourth Coffee", "locationType": "default", "uniqueId": "Fourth Coffee", "uniqueIdType": "private",
     "address": {"street": "4567 Main St", "city": "Redmond", "state": "WA", "countryOrRegion": "US",
                 "postalCode": "32008"},
     "coordinates": {"latitude": 47.672, "longitude": -102.103}},
    {"displayName": "Home Office", "locationType": "default", "uniqueIdType": "unknown"},
]
ONLINE_EVENT_OUT = {k: v for k, v in EVENT_OUT.items() if k != "@odata.context"} | {
    "hideAttendees": False, "isDraft": False, "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness",
    "locations": [{"displayName": "Harry's Bar", "locationType": "default", "uniqueId": "Harry's Bar",
                   "uniqueIdType": "private"}],
    "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIy%40thread.v2/0",
                      "conferenceId": "177513992", "tollNumber": "+1 425 555 0123"},
}
SELECTED_EVENT = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('48d31887-5fad-4d73-a9f5-3c356e68a038')/events(subject,body,bodyPreview,organizer,attendees,start,end,location,hideAttendees)/$entity",
    "@odata.etag": "W/\"IiLKjG2I7E+Xv0+ys6MD0wAEd5/kNQ==\"", "id": "AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAENAAAiIsqMbYjsT5e-T7KzowPTAAAa_WKzAAA=",
    "subject": "New Product Regulations Touchpoint", "bodyPreview": "New Product Regulations Strategy Online Touchpoint Meeting",
    "hideAttendees": False, "body": {"contentType": "html", "content": "<html>...</html>"},
    "start": {"dateTime": "2014-11-03T17:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2014-11-03T17:30:00.0000000", "timeZone": "UTC"},
    "location": {"displayName": "Conf Room Rainier", "locationType": "default", "uniqueId": "Conf Room Rainier",
                 "uniqueIdType": "private"},
    "attendees": [{"type": "required", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                   "emailAddress": {"name": "Engineering", "address": "engineering@M365x214355.onmicrosoft.com"}}],
    "organizer": {"emailAddress": {"name": "Engineering", "address": "engineering@M365x214355.onmicrosoft.com"}},
    "calendar@odata.associationLink": "https://graph.microsoft.com/v1.0/users('48d3')/calendars('AAMk')/$ref",
    "calendar@odata.navigationLink": "https://graph.microsoft.com/v1.0/users('48d3')/calendars('AAMk')",
}
NAV_LINKS = "calendar navigation-link annotations: the sandbox has one calendar and no calendars resource"
LUNCH = {"subject": "Let's go for lunch", "body": {"contentType": "HTML", "content": "Does late morning work for you?"},
         "start": {"dateTime": "2017-04-15T12:00:00", "timeZone": "Pacific Standard Time"},
         "end": {"dateTime": "2017-04-15T14:00:00", "timeZone": "Pacific Standard Time"},
         "location": {"displayName": "Harry's Bar"},
         "attendees": [{"emailAddress": {"address": "samanthab@contoso.onmicrosoft.com", "name": "Samantha Booth"},
                        "type": "required"}]}

EVENTS = [
    Case("create_event_from_user", f"{API}/user-post-events.md#request-1", "POST", "/users/{user}/events", 201,
         body=LUNCH, headers=PST, response=EVENT_OUT, adapted=ME,
         exact={"body.contentType": "html", "start.timeZone": "Pacific Standard Time",
                "originalStartTimeZone": "Pacific Standard Time", "location.uniqueIdType": "private",
                "locations[0].displayName": "Harry's Bar", "attendees[0].type": "required"}),
    Case("create_event_from_user_multiple_locations", f"{API}/user-post-events.md#request-2", "POST",
         "/users/{user}/events", 201, headers=PST, adapted=ME, body={
             "subject": "Plan summer company picnic",
             "body": {"contentType": "HTML", "content": "Let's kick-start this event planning!"},
             "start": {"dateTime": "2017-08-30T11:00:00", "timeZone": "Pacific Standard Time"},
             "end": {"dateTime": "2017-08-30T12:00:00", "timeZone": "Pacific Standard Time"},
             "attendees": [{"emailAddress": {"address": "DanaS@contoso.onmicrosoft.com", "name": "Dana Swope"},
                            "type": "Required"},
                           {"emailAddress": {"address": "AlexW@contoso.onmicrosoft.com", "name": "Alex Wilber"},
                            "type": "Required"}],
             "location": {"displayName": "Conf Room 3; Fourth Coffee; Home Office", "locationType": "Default"},
             "locations": LOCATIONS_IN},
         response=EVENT_OUT | {"subject": "Plan summer company picnic", "location": {
             "displayName": "Conf Room 3; Fourth Coffee; Home Office", "locationType": "default",
             "uniqueId": "Conf Room 3; Fourth Coffee; Home Office", "uniqueIdType": "private"},
             "locations": LOCATIONS_OUT},
         exact={"start.dateTime": "2017-08-30T11:00:00.0000000", "start.timeZone": "Pacific Standard Time",
                "attendees[0].type": "required", "attendees[1].type": "required", "location.locationType": "default",
                "locations[1].uniqueIdType": "private", "locations[2].displayName": "Home Office",
                "body.contentType": "html"}),
    Case("create_event_from_calendar_with_online_meeting",
         f"{API}/calendar-post-events.md#example-2-create-and-enable-an-event-as-an-online-meeting", "POST",
         "/users/{user}/calendar/events", 201, adapted="delegated /me/calendars/{id} -> app-only default calendar",
         context=False, body={
             "subject": "Let's go for lunch", "body": {"contentType": "HTML", "content": "Does next month work for you?"},
             "start": {"dateTime": "2019-03-10T12:00:00", "timeZone": "Pacific Standard Time"},
             "end": {"dateTime": "2019-03-10T14:00:00", "timeZone": "Pacific Standard Time"},
             "location": {"displayName": "Harry's Bar"},
             "attendees": [{"emailAddress": {"address": "adelev@contoso.onmicrosoft.com", "name": "Adele Vance"},
                            "type": "required"}],
             "isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"},
         response=ONLINE_EVENT_OUT, exact={"start.dateTime": "2019-03-10T19:00:00.0000000", "start.timeZone": "UTC",
                                           "isOnlineMeeting": True, "body.contentType": "html"}),
    Case("get_event", f"{API}/event-get.md#request-1", "GET",
         "/users/{user}/events/{event}?$select=subject,body,bodyPreview,organizer,attendees,start,end,location,hideAttendees",
         200, headers=PST, response=SELECTED_EVENT, adapted=ME,
         response_headers={"Preference-Applied": 'outlook.timezone="Pacific Standard Time"'},
         ignore={"calendar@odata.associationLink": NAV_LINKS, "calendar@odata.navigationLink": NAV_LINKS},
         exact={"start.timeZone": "Pacific Standard Time", "start.dateTime": "2020-01-02T01:00:00.0000000",
                "isOnlineMeeting": None}),
    Case("get_event_multiple_locations", f"{API}/event-get.md#request-2", "GET",
         "/users/{user}/events/{event}?$select=subject,body,bodyPreview,organizer,attendees,start,end,location,locations",
         200, adapted=ME, response={k: v for k, v in SELECTED_EVENT.items() if k != "hideAttendees"} | {
             "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('48d3')/events(subject,body,bodyPreview,organizer,attendees,start,end,location,locations)/$entity",
             "locations": [{"displayName": "Conf Room Rainier", "locationType": "default", "uniqueId": "",
                            "uniqueIdType": "unknown"}]},
         ignore={"calendar@odata.associationLink": NAV_LINKS, "calendar@odata.navigationLink": NAV_LINKS},
         exact={"start.timeZone": "UTC", "locations[1].displayName": "Home Office",
                "location.displayName": "Conf Room 3; Home Office"}),
    Case("get_events", f"{API}/user-list-events.md#example", "GET",
         "/users/{user}/events?$select=subject,body,bodyPreview,organizer,attendees,start,end,location", 200,
         headers=PST, adapted=ME, response_headers={"Preference-Applied": 'outlook.timezone="Pacific Standard Time"'},
         response={"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('cd20')/events(subject,body,bodyPreview,organizer,attendees,start,end,location)",
                   "value": [{k: SELECTED_EVENT[k] for k in ("@odata.etag", "id", "subject", "bodyPreview", "body",
                                                              "start", "end", "location", "attendees", "organizer")}]}),
    Case("get_events_least_privileged", f"{API}/user-list-events.md#permissions (application: Calendars.ReadBasic)",
         "GET", "/users/{user}/events?$top=1&$select=id", 200, permissions=frozenset({"Calendars.ReadBasic"}),
         response={"value": [{"id": ""}]}),
    Case("user_get_calendarview_e1", f"{API}/user-list-calendarview.md#example", "GET",
         "/users/{user}/calendarView?startDateTime=2020-01-01T19:00:00-08:00&endDateTime=2020-01-02T19:00:00-08:00",
         200, adapted=ME, response={"value": [{
             "originalStartTimeZone": "Pacific Standard Time", "originalEndTimeZone": "Pacific Standard Time",
             "responseStatus": {"response": "accepted", "time": "2016-10-19T10:37:00Z"},
             "iCalUId": "040000008200E00074C5B7101A82E00800000000D3D70B8A6A17D701", "reminderMinutesBeforeStart": 15,
             "isReminderOn": True}]}),
    Case("update_event", f"{API}/event-update.md#example", "PATCH", "/users/{user}/events/{event}", 200,
         adapted=ME + "; the example's placeholder values of read-only properties (originalStartTimeZone-value, "
                      "datetime-value) are left out",
         body={"recurrence": None, "reminderMinutesBeforeStart": 99, "isOnlineMeeting": True,
               "onlineMeetingProvider": "teamsForBusiness", "isReminderOn": True, "hideAttendees": False,
               "categories": ["Red category"]},
         response={"originalStartTimeZone": "originalStartTimeZone-value",
                   "originalEndTimeZone": "originalEndTimeZone-value",
                   "responseStatus": {"response": "", "time": "datetime-value"}, "recurrence": None,
                   "reminderMinutesBeforeStart": 99, "isOnlineMeeting": True,
                   "onlineMeetingProvider": "teamsForBusiness", "isReminderOn": True, "hideAttendees": False,
                   "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NzIy",
                                     "conferenceId": "177513992", "tollNumber": "+91 22 6241 6885"}},
         exact={"reminderMinutesBeforeStart": 99, "categories": ["Red category"]}),
    Case("update_event_needs_write", f"{API}/event-update.md#permissions (application: Calendars.ReadWrite); "
         f"error shape: {BATCHING}", "PATCH", "/users/{user}/events/{event}", 403, body={"isReminderOn": True},
         permissions=frozenset({"Calendars.Read"}), response=ERROR),
    Case("event_cancel", f"{API}/event-cancel.md#example", "POST", "/users/{user}/events/{event}/cancel", 202,
         body={"Comment": "Cancelling for this week due to all hands"}, adapted=ME),
    Case("delete_event", f"{API}/event-delete.md#example", "DELETE", "/users/{user}/events/{event}", 204, adapted=ME),
]

# ---- Teams online meetings ---------------------------------------------------------------------
AAD_USER = {"user": {"id": "dc17674c-81d9-4adb-bfb2-8f6a442e4622", "displayName": None,
                     "tenantId": "909c6581-5130-43e9-88f3-fcb3582cde38", "identityProvider": "AAD"}}
MEETING = {
    "id": "MSpkYzE3Njc0Yy04MWQiMi04ZdFpHRTNaR1F6WGhyZWFkLnYy", "creationDateTime": "2020-09-29T22:35:33.1594516Z",
    "startDateTime": "2020-09-29T22:35:31.389759Z", "endDateTime": "2020-09-29T23:35:31.389759Z",
    "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_MGQ4%40thread.v2/0", "subject": None,
    "autoAdmittedUsers": "EveryoneInCompany", "isEntryExitAnnounced": True, "allowedPresenters": "everyone",
    "videoTeleconferenceId": "(redacted)",
    "participants": {"organizer": {"upn": "(redacted)", "role": "presenter", "identity": AAD_USER},
                     "attendees": [], "producers": [], "contributors": []},
    "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
    "joinMeetingIdSettings": {"isPasscodeRequired": False, "joinMeetingId": "1234567890", "passcode": None},
}
CREATE_OR_GET = {"startDateTime": "2020-02-06T01:49:21.3524945+00:00", "endDateTime": "2020-02-06T02:19:21.3524945+00:00",
                 "subject": "Create a meeting with customId provided", "externalId": "7eb8263f-d0e0-4149-bb1c-1f0476083c56",
                 "participants": {"attendees": [{"identity": {"user": {"id": "1f35f2e6-9cab-44ad-8d5a-b74c14720000"}},
                                                 "upn": "test1@contoso.com"}]}}
# The documented response, its two trailing commas (invalid JSON in the docs) dropped.
CREATE_OR_GET_OUT = {
    "id": "(redacted)", "creationDateTime": "2020-09-11T06:30:18.1909168Z", "startDateTime": "2020-09-11T06:30:18.0615989Z",
    "endDateTime": "2020-09-11T07:30:18.0615989Z", "joinWebUrl": "(redacted)",
    "subject": "Create a meeting with customId provided", "isBroadcast": False, "autoAdmittedUsers": "EveryoneInCompany",
    "isEntryExitAnnounced": True, "allowedPresenters": "everyone", "videoTeleconferenceId": "(redacted)",
    "externalId": "7eb8263f-d0e0-4149-bb1c-1f0476083c56",
    "participants": {"organizer": {"upn": "(redacted)", "role": "presenter", "identity": {"user": {"id": "(redacted)"}}},
                     "attendees": [{"upn": "test1@contoso.com", "role": None,
                                    "identity": {"user": {"id": "1f35f2e6-9cab-44ad-8d5a-b74c14720000"}}}],
                     "producers": [], "contributors": []},
    "lobbyBypassSettings": {"scope": "organization", "isDialInBypassEnabled": False},
    "audioConferencing": {"conferenceId": "(redacted)", "tollNumber": "+1 206-485-3005", "tollFreeNumber": None,
                          "dialinUrl": "https://dialin.teams.microsoft.com/0e73?id=(redacted)"},
    "chatInfo": {"threadId": "19:7ebda77322dd4505ac4dedb5b67df076@thread.tacv2", "messageId": "0",
                 "replyChainMessageId": None},
}

ATTENDEE_KEPT = {"participants.attendees[0].upn": "test1@contoso.com",
                 "participants.attendees[0].identity.user.id": "1f35f2e6-9cab-44ad-8d5a-b74c14720000",
                 "participants.attendees[0].identity.user.identityProvider": "AAD",
                 "participants.producers": [], "participants.contributors": [],
                 "externalId": "7eb8263f-d0e0-4149-bb1c-1f0476083c56"}


def create_or_get_snippet() -> CreateOrGetPostRequestBody:
    """create-or-get-onlinemeeting-python-snippets.md, its model imports corrected to the SDK's paths."""
    return CreateOrGetPostRequestBody(
        start_date_time="2020-02-06T01:49:21.3524945+00:00",  # type: ignore[arg-type]  # the snippet's own str
        end_date_time="2020-02-06T02:19:21.3524945+00:00",  # type: ignore[arg-type]
        subject="Create a meeting with customId provided",
        external_id="7eb8263f-d0e0-4149-bb1c-1f0476083c56",
        participants=MeetingParticipants(attendees=[MeetingParticipantInfo(
            identity=IdentitySet(user=Identity(id="1f35f2e6-9cab-44ad-8d5a-b74c14720000")), upn="test1@contoso.com")]),
    )


JOIN_FILTER = "/users/{user}/onlineMeetings?$filter=JoinWebUrl%20eq%20'{joinUrlQuoted}'"
MEETINGS = [
    Case("create-or-get-onlinemeeting", f"{API}/onlinemeeting-createorget.md#examples", "POST",
         "/users/{user}/onlineMeetings/createOrGet", 201, body=CREATE_OR_GET, response=CREATE_OR_GET_OUT, adapted=ME,
         ignore={"videoTeleconferenceId": VTC}, exact=ATTENDEE_KEPT,
         then=Case("create-or-get-onlinemeeting (again: 200)", f"{API}/onlinemeeting-createorget.md#response", "POST",
                   "/users/{user}/onlineMeetings/createOrGet", 200, body=CREATE_OR_GET, response=CREATE_OR_GET_OUT,
                   ignore={"videoTeleconferenceId": VTC}, exact=ATTENDEE_KEPT)),
    Case("create-or-get-onlinemeeting (Python SDK)", f"{SNIPPETS}/create-or-get-onlinemeeting-python-snippets.md",
         "POST", "/users/{user}/onlineMeetings/createOrGet", 201, kind="python-sdk", sdk_body=create_or_get_snippet,
         response=CREATE_OR_GET_OUT, adapted="graph_client.me -> graph_client.users.by_user_id({user})",
         ignore={"videoTeleconferenceId": VTC}, exact=ATTENDEE_KEPT),
    Case("create-or-get needs ReadWrite", f"{API}/onlinemeeting-createorget.md#permissions; error shape: {BATCHING}",
         "POST", "/users/{user}/onlineMeetings/createOrGet", 403, body=CREATE_OR_GET, response=ERROR,
         permissions=frozenset({"OnlineMeetings.Read.All"})),
    Case("create-onlinemeeting-user-token", f"{API}/application-post-onlinemeetings.md#example-1", "POST",
         "/users/{user}/onlineMeetings", 201, adapted=ME,
         body={"startDateTime": "2019-07-12T14:30:34.2444915-07:00", "endDateTime": "2019-07-12T15:00:34.2464912-07:00",
               "subject": "User Token Meeting"},
         response={"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('f4053e7-85f4-f0389ac980d6')/onlineMeetings/$entity",
                   "audioConferencing": {"tollNumber": "+1252578", "tollFreeNumber": "+18588", "ConferenceId": "24999",
                                         "dialinUrl": "https://dialin.teams.microsoft.com/22f12faf?id=24299"},
                   "chatInfo": {"threadId": "19:meeting_M2Iz@thread.skype", "messageId": "0", "replyChainMessageId": "0"},
                   "creationDateTime": "2019-07-11T02:17:17.6491364Z", "startDateTime": "2019-07-11T02:17:17.6491364Z",
                   "endDateTime": "2019-07-11T02:47:17.651138Z", "id": "MSpkYzE3NjctYmZiMi04ZdFpHRTNaR1F6WGhyZWFkLnYy",
                   "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_M2Iz%40thread.skype/0",
                   "participants": {"organizer": {"identity": {"user": {"id": "550fae72-d25-868c-373732c2704f",
                                                                        "displayName": "Heidi Steen"}},
                                                  "upn": "upn-value"}},
                   "subject": "User Token Meeting",
                   "joinMeetingIdSettings": {"isPasscodeRequired": False, "joinMeetingId": "1234567890",
                                             "passcode": None}},
         ignore={"audioConferencing.ConferenceId": "the docs' typo of conferenceId (compared under that name in "
                                                   "create-or-get-onlinemeeting)",
                 "participants.organizer.identity.user.displayName": "Teams answers null for app-only creates "
                                                                      "(onlinemeeting-get.md examples)",
                 "audioConferencing.tollFreeNumber": DOCS_DISAGREE, "chatInfo.replyChainMessageId": DOCS_DISAGREE}),
    Case("get-onlinemeeting by id", f"{API}/onlinemeeting-get.md#example-2-retrieve-an-online-meeting-by-meeting-id",
         "GET", "/users/{user}/onlineMeetings/{meeting}", 200, response=MEETING, ignore={"videoTeleconferenceId": VTC}),
    Case("get-onlinemeeting-joinurl", f"{API}/onlinemeeting-get.md#example-3-retrieve-an-online-meeting-by-joinweburl "
         "(app token request)", "GET", JOIN_FILTER, 200, response={"value": [MEETING]},
         ignore={"value[].videoTeleconferenceId": VTC, "value[].autoAdmittedUsers": "not in this example"}),
    Case("get-an-online-meeting-by-joinmeetingid",
         f"{API}/onlinemeeting-get.md#example-4-retrieve-an-online-meeting-by-joinmeetingid (app token request)",
         "GET", "/users/{user}/onlineMeetings?$filter=joinMeetingIdSettings/joinMeetingId%20eq%20'{joinMeetingId}'",
         200, response={"value": [MEETING | {"allowMeetingChat": "enabled", "allowTeamworkReactions": True}]},
         ignore={"value[].videoTeleconferenceId": VTC}),
    Case("get-onlinemeeting needs the access policy", f"{API}/onlinemeeting-get.md#permissions (application access "
         f"policy); error shape: {BATCHING}", "GET", JOIN_FILTER, 403, policy=False, response=ERROR),
    Case("get-onlinemeeting least privileged", f"{API}/onlinemeeting-get.md#permissions (OnlineMeetings.Read.All)",
         "GET", JOIN_FILTER, 200, permissions=frozenset({"OnlineMeetings.Read.All"}), response={"value": [{"id": ""}]}),
]

# ---- attendance reports ------------------------------------------------------------------------
RECORD = {"emailAddress": "frederick.cormier@contoso.com", "totalAttendanceInSeconds": 322, "role": "Organizer",
          "identity": {"id": "dc17674c-81d9-4adb-bfb2-8f6a442e4623", "displayName": "Frederick Cormier",
                       "tenantId": None},
          "attendanceIntervals": [{"joinDateTime": "2021-10-05T04:38:27.6027225Z",
                                   "leaveDateTime": "2021-10-05T04:43:49.7702391Z", "durationInSeconds": 322}]}
REPORTS_URL = "/users/{user}/onlineMeetings/{meeting}/attendanceReports"
ATTENDANCE = [
    Case("get-attendanceReports", f"{API}/meetingattendancereport-list.md#example", "GET", REPORTS_URL, 200,
         adapted=ME, response={
             "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('16664f75-11dc-4870-bec6-38c1aaa81431')/onlineMeetings('MSpkYzE3Njc0Yy04MWQ5LTRhZGItYmZ')/attendanceReports",
             "value": [{"id": "c9b6db1c-d5eb-427d-a5c0-20088d9b22d7", "totalParticipantCount": 1,
                        "meetingStartDateTime": "2021-10-05T04:38:23.945Z",
                        "meetingEndDateTime": "2021-10-05T04:43:49.77Z", "attendanceRecords": []}]},
         exact={"value[0].attendanceRecords": [], "value[0].totalParticipantCount": 2}),
    Case("get-attendanceReport-by-id", f"{API}/meetingattendancereport-get.md#example-1", "GET",
         REPORTS_URL + "/{report}?$expand=attendanceRecords", 200, adapted=ME, response={
             "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('16664f75-11dc-4870-bec6-38c1aaa81431')/onlineMeetings('MSpkYzE3Njc0Yy04MWQ5LTRhZGItYmZ')/attendanceReports('c9b6db1c-d5eb-427d-a5c0-20088d9b22d7')",
             "id": "c9b6db1c-d5eb-427d-a5c0-20088d9b22d7", "totalParticipantCount": 1,
             "meetingStartDateTime": "2021-10-05T04:38:23.945Z", "meetingEndDateTime": "2021-10-05T04:43:49.77Z",
             "attendanceRecords": [RECORD | {"role": "Presenter", "totalAttendanceInSeconds": 1152}]},
         exact={"attendanceRecords[0].totalAttendanceInSeconds": 3600, "attendanceRecords[1].attendanceIntervals[0]"
                ".durationInSeconds": 2700}),
    Case("list_attendancerecord", f"{API}/attendancerecord-list.md#examples", "GET",
         REPORTS_URL + "/{report}/attendanceRecords", 200, adapted=ME, response={"value": [RECORD]}),
    Case("attendance reports need the artifact permission",
         f"{API}/onlinemeeting-get.md#permissions (IMPORTANT: OnlineMeetingArtifact.Read.All is required for "
         f"artifacts); {API}/meetingattendancereport-list.md#permissions", "GET", REPORTS_URL, 403,
         permissions=frozenset({"OnlineMeetings.ReadWrite.All"}), response=ERROR),
    Case("attendance records least privileged", f"{API}/attendancerecord-list.md#permissions "
         "(OnlineMeetingArtifact.Read.All)", "GET", REPORTS_URL + "/{report}/attendanceRecords", 200,
         permissions=frozenset({"OnlineMeetingArtifact.Read.All"}), response={"value": [RECORD]}),
    Case("attendance reports need the access policy", f"{API}/meetingattendancereport-list.md#permissions "
         "(application access policy)", "GET", REPORTS_URL, 403, policy=False, response=ERROR),
]

# ---- mail --------------------------------------------------------------------------------------


def sendmail_snippet() -> SendMailPostRequestBody:
    """user-sendmail-python-snippets.md (its missing BodyType import added)."""
    return SendMailPostRequestBody(
        message=Message(
            subject="Meet for lunch?",
            body=ItemBody(content_type=BodyType.Text, content="The new cafeteria is open."),
            to_recipients=[Recipient(email_address=EmailAddress(address="frannis@contoso.onmicrosoft.com"))],
            cc_recipients=[Recipient(email_address=EmailAddress(address="danas@contoso.onmicrosoft.com"))],
        ),
        save_to_sent_items=False,
    )


MAIL = [
    Case("user_sendmail", f"{API}/user-sendmail.md#example-1-send-a-new-email-using-json-format", "POST",
         "/users/{user}/sendMail", 202, adapted=ME, body={
             "message": {"subject": "Meet for lunch?", "body": {"contentType": "Text", "content": "The new cafeteria is open."},
                         "toRecipients": [{"emailAddress": {"address": "frannis@contoso.com"}}],
                         "ccRecipients": [{"emailAddress": {"address": "danas@contoso.com"}}]},
             "saveToSentItems": "false"}),
    Case("user_sendmail_with_headers", f"{API}/user-sendmail.md#example-2", "POST", "/users/{user}/sendMail", 202,
         adapted=ME, body={"message": {
             "subject": "9/9/2018: concert", "body": {"contentType": "HTML", "content": "The group represents Nevada."},
             "toRecipients": [{"emailAddress": {"address": "AlexW@contoso.com"}}],
             "internetMessageHeaders": [{"name": "x-custom-header-group-name", "value": "Nevada"},
                                        {"name": "x-custom-header-group-id", "value": "NV001"}]}}),
    Case("user_sendmail_with_attachment", f"{API}/user-sendmail.md#example-3", "POST", "/users/{user}/sendMail", 202,
         adapted=ME, body={"message": {
             "subject": "Meet for lunch?", "body": {"contentType": "Text", "content": "The new cafeteria is open."},
             "toRecipients": [{"emailAddress": {"address": "meganb@contoso.com"}}],
             "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "attachment.txt",
                              "contentType": "text/plain", "contentBytes": "SGVsbG8gV29ybGQh"}]}}),
    Case("user_sendmail (Python SDK)", f"{SNIPPETS}/user-sendmail-python-snippets.md", "POST",
         "/users/{user}/sendMail", 202, kind="python-sdk", sdk_body=sendmail_snippet,
         adapted="graph_client.me -> graph_client.users.by_user_id({user})"),
    Case("sendMail needs Mail.Send", f"{API}/user-sendmail.md#permissions; error shape: {BATCHING}", "POST",
         "/users/{user}/sendMail", 403, permissions=frozenset({"User.Read.All", "Calendars.ReadWrite"}),
         body={"message": {"subject": "x", "toRecipients": [{"emailAddress": {"address": "a@contoso.com"}}]}},
         response=ERROR),
]

# ---- JSON batching -----------------------------------------------------------------------------
BATCH_ITEM_OUT = {"id": "1", "status": 200, "headers": {"Content-Type": "application/json"}, "body": {"value": []}}
BATCH = [
    Case("json-batching-example (supported urls)", f"{BATCHING}#example-json-batch-request", "POST", "/$batch", 200,
         adapted="the example's /me, planner and group urls replaced by the operations the product batches",
         body={"requests": [
             {"id": "1", "method": "GET", "url": "/users/{user}/onlineMeetings/{meeting}/attendanceReports"},
             {"id": "2", "method": "GET", "url": "/users/{user}?$select=id,displayName,userPrincipalName"},
             {"id": "4", "url": "/users/{user}/events", "method": "POST", "headers": {"Content-Type": "application/json"},
              "body": {"subject": "x", "start": {"dateTime": "2020-01-05T09:00:00", "timeZone": "UTC"},
                       "end": {"dateTime": "2020-01-05T10:00:00", "timeZone": "UTC"}}}]},
         response={"responses": [BATCH_ITEM_OUT]},
         exact={"responses[0].status": 200, "responses[1].status": 200, "responses[2].status": 201}),
    Case("batch item denied", f"{BATCHING}#example-json-batch-response (response id 3: 403 "
         "Authorization_RequestDenied)", "POST", "/$batch", 200, permissions=frozenset({"Mail.Send"}),
         body={"requests": [{"id": "3", "method": "GET", "url": "/users/{user}"}]},
         response={"responses": [{"id": "3", "status": 403, "headers": {"Content-Type": "application/json"},
                                  "body": DIRECTORY_DENIED}]},
         exact={"responses[0].status": 403, "responses[0].body.error.code": "Authorization_RequestDenied",
                "responses[0].body.error.message": "Insufficient privileges to complete the operation."}),
    Case("batch ids are not case-sensitive", f"{BATCHING}#creating-a-batch-request (id: Not case-sensitive. Must be "
         "unique in the batch, otherwise, the batch request fails with a 400 error code)", "POST", "/$batch", 400,
         body={"requests": [{"id": "a", "method": "GET", "url": "/users/{user}"},
                            {"id": "A", "method": "GET", "url": "/users/{user}"}]}, response=ERROR),
    Case("batch over 20", f"{BATCHING}#batch-size-limitations", "POST", "/$batch", 400,
         body={"requests": [{"id": str(n), "method": "GET", "url": "/users/{user}"} for n in range(21)]},
         response=ERROR),
    Case("batch failed dependency", f"{BATCHING}#sequencing-requests-with-the-dependson-property (424)", "POST",
         "/$batch", 200, body={"requests": [
             {"id": "1", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000001"},
             {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/users/{user}"}]},
         response={"responses": [{"id": "1", "status": 404, "body": ERROR}]},
         exact={"responses[1].id": "2", "responses[1].status": 424}),
]

# ---- drive items (task folders in a SharePoint library) --------------------------------------------
#: The examples call the signed-in user's OneDrive (/me/drive); each page lists /drives/{drive-id} too.
MY_DRIVE = "delegated /me/drive -> app-only /drives/{drive-id} (the page's HTTP request forms)"
FILES = frozenset({"Files.ReadWrite.All"})  # the pages' least privileged application permission for writes
FILES_READ = frozenset({"Files.Read.All"})
ITEMS = "/drives/{drive}/items"
APP_ONLY_AUTHOR = "an app-only write: createdBy/lastModifiedBy name the application (the example is a user's write)"
NEW_FOLDER_OUT = {
    "createdBy": {"user": {"displayName": "Ryan Gregg", "id": "309EC495-3E92-431D-9124-F0299633171D"}},
    "createdDateTime": "2016-09-20T14:34:00Z", "eTag": "343F1FBD-E9B3-4DDE-BCA7-D61AEAFF44E5,1",
    "id": "ACEA49D1-1444-45A9-A1CB-68B1B28AE491",
    "lastModifiedBy": {"user": {"displayName": "Ryan Gregg", "id": "309EC495-3E92-431D-9124-F0299633171D"}},
    "lastModifiedDateTime": "2016-09-20T14:34:00Z", "name": "New Folder",
    "parentReference": {"driveId": "5FE38E3C-051C-4D55-9B83-8A437658275B", "id": "E67A8F34-B0AA-46E1-8FF7-0750A29553DF",
                        "path": "/drive/root:/"},
    "size": 0, "folder": {"childCount": 0}}
NEW_FOLDER_IN = {"name": "New Folder", "folder": {}, "@microsoft.graph.conflictBehavior": "rename"}
INVITE_IN = {"recipients": [{"email": "ryan@contoso.com"}], "message": "Here's the file that we're collaborating on.",
             "requireSignIn": True, "sendInvitation": True, "roles": ["write"], "password": "password123",
             "expirationDateTime": "2018-07-15T14:00:00.000Z"}
INVITE_OUT = {"value": [{
    "@deprecated.GrantedTo": "GrantedTo has been deprecated. Refer to GrantedToV2",
    "grantedTo": {"user": {"displayName": "Robin Danielsen", "id": "42F177F1-22C0-4BE3-900D-4507125C5C20"}},
    "grantedToV2": {"user": {"id": "42F177F1-22C0-4BE3-900D-4507125C5C20", "displayName": "Robin Danielsen"},
                    "siteUser": {"id": "1", "displayName": "Robin Danielsen", "loginName": "Robin Danielsen"}},
    "hasPassword": True, "id": "CCFC7CA3-7A19-4D57-8CEF-149DB9DDFA62",
    "invitation": {"email": "robin@contoso.com", "signInRequired": True}, "roles": ["write"],
    "expirationDateTime": "2018-07-15T14:00:00.000Z"}]}
PERMISSIONS_OUT = {"value": [
    {"id": "1", "roles": ["write"], "link": {"webUrl": "https://onedrive.live.com/redir?resid=5D33DD65C6932946!70859",
                                             "type": "edit"}},
    {"id": "2", "roles": ["write"], "grantedTo": {"user": {"id": "5D33DD65C6932946", "displayName": "John Doe"}},
     "inheritedFrom": {"driveId": "1234567890ABD", "id": "1234567890ABC!123", "path": "/drive/root:/Documents"}}]}
NOT_FOUND = {"error.code": "itemNotFound"}
ERRORS = f"{DOCS}:concepts/errors.md#code-property"
SETTINGS_OUT = {
    "@odata.type": "#microsoft.graph.sharepointSettings",
    "allowedDomainGuidsForSyncApp": ["bdd1ab9b-3fd0-4def-a761-ec8d7471732c"],
    "availableManagedPathsForSiteCreation": ["/sites/", "/teams/"], "deletedUserPersonalSiteRetentionPeriodInDays": 344,
    "excludedFileExtensionsForSyncApp": [".md", ".git"],
    "idleSessionSignOut": {"isEnabled": True, "warnAfterInSeconds": 120, "signOutAfterInSeconds": 300},
    "imageTaggingOption": "basic", "isCommentingOnSitePagesEnabled": True, "isFileActivityNotificationEnabled": True,
    "isLegacyAuthProtocolsEnabled": False, "isLoopEnabled": True, "isMacSyncAppEnabled": False,
    "isRequireAcceptingUserToMatchInvitedUserEnabled": True, "isResharingByExternalUsersEnabled": True,
    "isSharePointMobileNotificationEnabled": True, "isSharePointNewsfeedEnabled": True, "isSiteCreationEnabled": True,
    "isSiteCreationUIEnabled": True, "isSitePagesCreationEnabled": True, "isSitesStorageLimitAutomatic": True,
    "isSyncButtonHiddenOnPersonalSite": True, "isUnmanagedSyncAppForTenantRestricted": True,
    "personalSiteDefaultStorageLimitInMB": 113664, "sharingAllowedDomainList": ["contoso.com", "fabrikam.com"],
    "sharingBlockedDomainList": ["contoso.com", "fabrikam.com"], "sharingCapability": "externalUserAndGuestSharing",
    "sharingDomainRestrictionMode": "allowList", "siteCreationDefaultManagedPath": "/sites/",
    "siteCreationDefaultStorageLimitInMB": 808034,
    "tenantDefaultTimezone": "(UTC-05:00) Eastern Time (US and Canada)"}
EMPTY_LIST = "an example value; this tenant has none"
SETTINGS_SHAPE = ("the example wraps the object in \"value\"; the service answers the entity itself "
                  "(@odata.context .../admin/sharepoint/settings/$entity), which is what the SDK's "
                  "admin.sharepoint.settings.get() parses: the inner object is compared")

DRIVE = [
    Case("create-folder", f"{API}/driveitem-post-children.md#example", "POST", f"{ITEMS}/root/children", 201,
         body=NEW_FOLDER_IN, response=NEW_FOLDER_OUT, permissions=FILES, adapted=MY_DRIVE,
         ignore={"createdBy.user": APP_ONLY_AUTHOR, "lastModifiedBy.user": APP_ONLY_AUTHOR},
         # "New Folder" is taken in this library: rename chooses a new name, as the example says.
         exact={"name": "New Folder 1", "folder.childCount": 0}),
    Case("create-folder, conflictBehavior fail", f"{API}/driveitem-post-children.md#request (conflictBehavior); "
         f"code: {ERRORS} (nameAlreadyExists)", "POST", f"{ITEMS}/root/children", 409,
         body={**NEW_FOLDER_IN, "@microsoft.graph.conflictBehavior": "fail"}, response=ERROR, permissions=FILES,
         adapted=MY_DRIVE, exact={"error.code": "nameAlreadyExists"}),
    Case("create-folder in a missing parent", f"{API}/driveitem-post-children.md#http-request; code: {ERRORS} "
         "(itemNotFound)", "POST", f"{ITEMS}/01AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/children", 404, body=NEW_FOLDER_IN,
         response=ERROR, permissions=FILES, adapted=MY_DRIVE, exact=NOT_FOUND),
    Case("create-folder needs a write permission", f"{API}/driveitem-post-children.md#permissions (application: "
         f"Files.ReadWrite.All); code: {ERRORS} (accessDenied)", "POST", f"{ITEMS}/root/children", 403,
         body=NEW_FOLDER_IN, response=ERROR, permissions=FILES_READ, adapted=MY_DRIVE,
         exact={"error.code": "accessDenied"}),
    Case("send-sharing-invite", f"{API}/driveitem-invite.md#example", "POST", f"{ITEMS}/{{folder}}/invite", 200,
         body=INVITE_IN, response=INVITE_OUT, permissions=FILES, adapted=MY_DRIVE,
         ignore={"value[].hasPassword": "password: OneDrive Personal only (the page's parameter table)",
                 "value[].expirationDateTime": "on SharePoint only for sharing links (the page's parameter table)"},
         exact={"value[0].roles": ["write"], "value[0].invitation.email": "ryan@contoso.com",
                "value[0].invitation.signInRequired": True}),
    Case("get-item-permissions", f"{API}/driveitem-list-permissions.md#example", "GET",
         f"{ITEMS}/{{folder}}/permissions", 200, response=PERMISSIONS_OUT, permissions=FILES_READ, adapted=MY_DRIVE,
         ignore={"value[].link": "sharing links: the product shares by invitation only, never a link"},
         # The library's owners, inherited from the root, come first; then FolderA's invitation.
         exact={"value[0].inheritedFrom.path": "/drive/root:", "value[1].invitation.email": ALEX[1]}),
    Case("delete-permission", f"{API}/permission-delete.md#example", "DELETE", f"{ITEMS}/{{folder}}/permissions/{{perm}}",
         204, permissions=FILES, adapted=MY_DRIVE,
         then=Case("delete-permission again", f"{API}/permission-delete.md; code: {ERRORS} (itemNotFound)", "DELETE",
                   f"{ITEMS}/{{folder}}/permissions/{{perm}}", 404, response=ERROR, permissions=FILES,
                   exact=NOT_FOUND)),
    Case("upload-via-put", f"{API}/driveitem-put-content.md#example-upload-a-new-file", "PUT",
         f"{ITEMS}/{{folder}}:/FileC.txt:/content", 201, body=b"The contents of the file goes here.",
         headers={"Content-Type": "text/plain"}, response={"id": "0123456789abc", "name": "FileB.txt", "size": 35,
                                                           "file": {}},
         permissions=FILES, adapted=MY_DRIVE + "; FileB.txt exists in this library (replaced: 200), so FileC.txt",
         exact={"name": "FileC.txt", "size": 35}),
    Case("upload-via-put over an existing file", f"{API}/driveitem-put-content.md#response (the updated file)",
         "PUT", f"{ITEMS}/{{folder}}:/FileB.txt:/content", 200, body=b"The contents of the file goes here.",
         headers={"Content-Type": "text/plain"}, response={"id": "0123456789abc", "name": "FileB.txt", "size": 35,
                                                           "file": {}},
         permissions=FILES, adapted=MY_DRIVE, exact={"id": "{file}", "size": 35}),
    Case("upload-fragment-create-session", f"{API}/driveitem-createuploadsession.md#request", "POST",
         f"{ITEMS}/{{folder}}:/largefile.dat:/createUploadSession", 200,
         body={"item": {"@microsoft.graph.conflictBehavior": "rename", "name": "largefile.dat"}},
         response={"uploadUrl": "https://sn3302.up.1drv.com/up/fe6987415ace7X4e1eF866337",
                   "expirationDateTime": "2015-01-29T09:21:55.523Z"}, permissions=FILES, adapted=MY_DRIVE),
    Case("create-session: conflictBehavior fail is the default", f"{API}/driveitem-createuploadsession.md#request-body "
         f"(\"fail (default)\"); code: {ERRORS} (nameAlreadyExists)", "POST",
         f"{ITEMS}/{{folder}}:/FileB.txt:/createUploadSession", 409, body={"item": {}}, response=ERROR,
         permissions=FILES, adapted=MY_DRIVE, exact={"error.code": "nameAlreadyExists"}),
    Case("get_item_delta_first", f"{API}/driveitem-delta.md#example-1-initial-request", "GET",
         "/drives/{drive}/root/delta", 200, permissions=FILES_READ, adapted=MY_DRIVE,
         response={"value": [{"id": "0123456789abc", "name": "folder2", "folder": {}}],
                   "@odata.nextLink": "https://graph.microsoft.com/v1.0/me/drive/delta(token=1230919asd190410jlka)"}),
    Case("get-item-delta-last", f"{API}/driveitem-delta.md#example-2-last-page-in-a-set", "GET",
         "/drives/{drive}/root/delta?token={deltaToken}", 200, permissions=FILES_READ,
         adapted=MY_DRIVE + "; the token as the deltaLink's query parameter (the form the product follows)",
         response={"value": [{"id": "0123456789abc", "name": "folder2", "folder": {}, "deleted": {}},
                             {"id": "123010204abac", "name": "file.txt", "file": {}}],
                   "@odata.deltaLink": "https://graph.microsoft.com/v1.0/me/drive/root/delta?token=MzslMjM0OyUy"},
         exact={"value[0].name": "folder2", "value[1].name": "FileB.txt"}),
    Case("get-delta-latest", f"{API}/driveitem-delta.md#example-3-retrieving-the-current-deltalink", "GET",
         "/drives/{drive}/root/delta?token=latest", 200, permissions=FILES_READ, adapted=MY_DRIVE,
         response={"value": [], "@odata.deltaLink": "https://graph.microsoft.com/v1.0/me/drive/root/delta?token=1230"},
         exact={"value": []}),
    Case("delete-item", f"{API}/driveitem-delete.md#example", "DELETE", f"{ITEMS}/{{file}}", 204, permissions=FILES,
         adapted=MY_DRIVE, then=Case("get the deleted item", f"{API}/driveitem-get.md; code: {ERRORS} (itemNotFound)",
                                     "GET", f"{ITEMS}/{{file}}", 404, response=ERROR, permissions=FILES,
                                     exact=NOT_FOUND)),
    Case("get_settings_at_tenant_level", f"{API}/sharepointsettings-get.md#examples", "GET",
         "/admin/sharepoint/settings", 200, response=SETTINGS_OUT,
         permissions=frozenset({"SharePointTenantSettings.Read.All"}), adapted=SETTINGS_SHAPE,
         ignore={"@odata.type": "the entity's own type: minimal metadata leaves it out",
                 "allowedDomainGuidsForSyncApp": EMPTY_LIST, "excludedFileExtensionsForSyncApp": EMPTY_LIST,
                 "sharingAllowedDomainList": EMPTY_LIST,
                 "sharingBlockedDomainList": EMPTY_LIST},
         exact={"sharingCapability": "externalUserAndGuestSharing"}),
    Case("sharepoint settings need SharePointTenantSettings.Read.All", f"{API}/sharepointsettings-get.md#permissions; "
         f"code: {ERRORS} (accessDenied)", "GET", "/admin/sharepoint/settings", 403, response=ERROR,
         permissions=FILES, exact={"error.code": "accessDenied"}),
]

# ---- Entra token endpoint ----------------------------------------------------------------------
TOKEN_DOC = f"{ENTRA_DOCS}:docs/identity-platform/v2-oauth2-client-creds-grant-flow.md"
TOKEN = [
    Case("token with a shared secret", f"{TOKEN_DOC}#first-case-access-token-request-with-a-shared-secret", "POST",
         "/{tenant}/oauth2/v2.0/token", 200, kind="token",
         body={"client_id": "{client_id}", "scope": "https://graph.microsoft.com/.default", "client_secret": "{secret}",
               "grant_type": "client_credentials"},
         response={"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0eXAiOiJKV1Qi..."},
         exact={"token_type": "Bearer"}),
    Case("token error response", f"{TOKEN_DOC}#error-response", "POST", "/{tenant}/oauth2/v2.0/token", 400,
         kind="token", body={"client_id": "{client_id}", "scope": "https://foo.microsoft.com/.default",
                             "client_secret": "{secret}", "grant_type": "client_credentials"},
         response={"error": "invalid_scope", "error_description": "AADSTS70011: ...", "error_codes": [70011],
                   "timestamp": "YYYY-MM-DD HH:MM:SSZ", "trace_id": "255d1aef-8c98-452f-ac51-23d051240864",
                   "correlation_id": "fb3d2015-bc17-4bb9-bb85-30c5cf1aaaa7"}),
]

CASES: list[Case] = USERS + EVENTS + MEETINGS + ATTENDANCE + MAIL + BATCH + DRIVE + TOKEN

#: Documented examples of these operations that the product never sends: not counted.
OUT_OF_SUBSET: dict[str, str] = {
    f"{API}/user-get.md#example-2-signed-in-user-request": "/me needs a signed-in user; the product is app-only",
    f"{API}/user-get.md#example-3": "selects non-default properties (postalCode, identities) the product never reads",
    f"{API}/user-get.md#example-4": "schema extensions",
    f"{API}/user-post-events.md#request-3": "recurring series; the product creates single instances",
    f"{API}/calendar-post-events.md#example-1": "a named calendar (/calendars/{id}); the product uses the default one",
    f"{API}/user-sendmail.md#example-4": "MIME body (text/plain); the product sends JSON",
    f"{API}/user-sendmail.md#example-5": "a flagged message body without the message parameter (blockType ignored)",
    f"{API}/application-post-onlinemeetings.md#example-2": "Teams live events (broadcast)",
    f"{API}/application-post-onlinemeetings.md#example-3": "passcode settings; the product only reads meetings",
    f"{API}/onlinemeeting-get.md#example-1": "/communications/onlineMeetings by videoTeleconferenceId (CVI)",
    f"{API}/onlinemeeting-get.md#example-5": "live event attendee report download",
    f"{API}/meetingattendancereport-get.md#example-2": "webinar (virtualEvents) sessions",
    f"{BATCHING}#example-json-batch-request (as written)": "memberOf, planner and group resources",
    f"{TOKEN_DOC}#second-case-access-token-request-with-a-certificate": "needs a signed assertion per request: "
    "covered through azure-identity's CertificateCredential in tests/sandbox/test_graph_auth.py",
    f"{API}/driveitem-put-content.md#example-updating-an-existing-file": "PUT /items/{item-id}/content: the product "
    "writes by parent and name (replace), never by item id",
    f"{API}/driveitem-delta.md#example-4-retrieving-delta-results-using-a-timestamp": "a timestamp token; the product "
    "keeps the deltaLink's token",
    f"{API}/driveitem-delta.md#example-5": "deltaExcludeParent / sharing changes (Prefer headers)",
    f"{API}/driveitem-createuploadsession.md#upload-bytes-to-the-upload-session": "fragments go to the upload URL, "
    "not under /v1.0 (no token): covered in tests/sandbox/test_graph_drive.py and tests/providers/test_microsoft_drive.py",
    f"{API}/driveitem-createuploadsession.md#handle-upload-errors": "committing with @microsoft.graph.sourceUrl",
    f"{TOKEN_DOC}#third-case-access-token-request-with-a-federated-credential": "federated credentials",
}
