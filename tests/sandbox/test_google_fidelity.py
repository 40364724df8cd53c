"""The sandbox answers as Google documents where it used to be lenient (issue 13, Google half):
Classroom's permission rules by default, the documented status for an invitation to a member,
Gmail's From rewrite, Calendar's Meet and time echo, body-less requests, course extras."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrator.sandbox.google import DEFAULT_SCOPES
from tests.sandbox.conftest import ADMIN, CLIENT_A, CLIENT_B, COACH, GoogleSandbox

FOLDER = "application/vnd.google-apps.folder"
COURSEWORK_ME = "https://www.googleapis.com/auth/classroom.coursework.me"
STUDENTS = "https://www.googleapis.com/auth/classroom.coursework.students"


def status(err: pytest.ExceptionInfo[HttpError]) -> tuple[int, str]:
    body = json.loads(err.value.content)["error"]
    return int(body["code"]), str(body["status"])


@pytest.fixture
def course(google: GoogleSandbox) -> dict[str, Any]:
    """An ACTIVE course of the coach with client A enrolled by the admin."""
    coach = google.service("classroom")
    made = coach.courses().create(body={"name": "Ryhmä S", "ownerId": "me", "courseState": "ACTIVE"}).execute()
    google.service("classroom", subject=ADMIN).courses().students().create(
        courseId=made["id"], body={"userId": CLIENT_A}).execute()
    return dict(made)


# ---- 1. strict Classroom roles by default ----


def test_only_a_domain_admin_adds_members_directly_and_a_teacher_invites(
        google: GoogleSandbox, course: dict[str, Any]) -> None:
    assert google.sb.google.classroom_roles == "strict"
    coach = google.service("classroom")
    for roster in (coach.courses().students(), coach.courses().teachers()):
        with pytest.raises(HttpError) as denied:
            roster.create(courseId=course["id"], body={"userId": CLIENT_B}).execute()
        assert status(denied) == (403, "PERMISSION_DENIED")
    invitation = coach.invitations().create(
        body={"courseId": course["id"], "userId": CLIENT_B, "role": "STUDENT"}).execute()
    assert invitation["role"] == "STUDENT"
    with pytest.raises(HttpError) as domain_alias:
        coach.courses().aliases().create(courseId=course["id"], body={"alias": "d:ryhma-s"}).execute()
    assert status(domain_alias) == (403, "PERMISSION_DENIED")
    coach.courses().aliases().create(courseId=course["id"], body={"alias": "p:ryhma-s"}).execute()
    admin = google.service("classroom", subject=ADMIN)
    admin.courses().aliases().create(courseId=course["id"], body={"alias": "d:ryhma-s"}).execute()
    teacher = admin.courses().teachers().create(courseId=course["id"], body={"userId": CLIENT_B}).execute()
    assert teacher["profile"]["emailAddress"] == CLIENT_B


def test_owner_only_operations_and_strangers(google: GoogleSandbox, course: dict[str, Any]) -> None:
    admin = google.service("classroom", subject=ADMIN)
    admin.courses().teachers().create(courseId=course["id"], body={"userId": CLIENT_B}).execute()
    co_teacher, coach = google.service("classroom", subject=CLIENT_B), google.service("classroom")
    with pytest.raises(HttpError) as delete:
        co_teacher.courses().delete(id=course["id"]).execute()
    assert status(delete) == (403, "PERMISSION_DENIED")
    with pytest.raises(HttpError) as hand_over:  # "Admins can also specify this field in a patch"
        coach.courses().patch(id=course["id"], updateMask="ownerId", body={"ownerId": CLIENT_B}).execute()
    assert status(hand_over) == (403, "PERMISSION_DENIED")
    with pytest.raises(HttpError) as ineligible:  # the new owner must teach the course
        admin.courses().patch(id=course["id"], updateMask="ownerId", body={"ownerId": CLIENT_A}).execute()
    assert status(ineligible) == (400, "FAILED_PRECONDITION")
    moved = admin.courses().patch(id=course["id"], updateMask="ownerId", body={"ownerId": CLIENT_B}).execute()
    assert moved["ownerId"] == google.users[CLIENT_B]
    with pytest.raises(HttpError) as stranger:
        google.service("classroom", subject=CLIENT_A).courses().topics().create(
            courseId=course["id"], body={"name": "X"}).execute()
    assert status(stranger) == (403, "PERMISSION_DENIED")  # a student does not manage the course


def test_turn_in_and_reclaim_without_a_body_by_the_owning_student_only(
        google: GoogleSandbox, course: dict[str, Any]) -> None:
    google.info = google.sb.google.service_account_info([*DEFAULT_SCOPES, COURSEWORK_ME])  # a student's scope
    google.service("classroom", subject=ADMIN).courses().students().create(
        courseId=course["id"], body={"userId": CLIENT_B}).execute()
    work = google.service("classroom").courses().courseWork().create(
        courseId=course["id"], body={"title": "T", "workType": "ASSIGNMENT", "state": "PUBLISHED"}).execute()
    mine = google.service("classroom", subject=CLIENT_A, scopes=[COURSEWORK_ME]).courses().courseWork()\
        .studentSubmissions()
    [own] = mine.list(courseId=course["id"], courseWorkId=work["id"]).execute()["studentSubmissions"]
    assert own["userId"] == google.users[CLIENT_A]  # a student lists only their own
    other = google.service("classroom", subject=CLIENT_B, scopes=[COURSEWORK_ME]).courses().courseWork()\
        .studentSubmissions()
    teacher = google.service("classroom", scopes=[COURSEWORK_ME, STUDENTS]).courses().courseWork()\
        .studentSubmissions()
    for stranger in (other, teacher):
        with pytest.raises(HttpError) as denied:
            stranger.turnIn(courseId=course["id"], courseWorkId=work["id"], id=own["id"]).execute()
        assert status(denied) == (403, "PERMISSION_DENIED")
    mine.turnIn(courseId=course["id"], courseWorkId=work["id"], id=own["id"]).execute()  # no body at all
    with pytest.raises(HttpError) as not_owner:
        other.reclaim(courseId=course["id"], courseWorkId=work["id"], id=own["id"]).execute()
    assert status(not_owner) == (403, "PERMISSION_DENIED")
    mine.reclaim(courseId=course["id"], courseWorkId=work["id"], id=own["id"]).execute()
    got = teacher.get(courseId=course["id"], courseWorkId=work["id"], id=own["id"]).execute()
    assert [h["stateHistory"]["state"] for h in got["submissionHistory"]][-2:] == ["TURNED_IN",
                                                                                  "RECLAIMED_BY_STUDENT"]
    with pytest.raises(HttpError) as twice:
        mine.reclaim(courseId=course["id"], courseWorkId=work["id"], id=own["id"]).execute()
    assert status(twice) == (400, "FAILED_PRECONDITION")


# ---- 2. inviting a member ----


def test_an_invitation_for_a_member_is_failed_precondition_and_a_second_one_already_exists(
        google: GoogleSandbox, course: dict[str, Any]) -> None:
    invitations = google.service("classroom").invitations()
    with pytest.raises(HttpError) as member:
        invitations.create(body={"courseId": course["id"], "userId": CLIENT_A, "role": "STUDENT"}).execute()
    assert status(member) == (400, "FAILED_PRECONDITION")
    invitations.create(body={"courseId": course["id"], "userId": CLIENT_B, "role": "STUDENT"}).execute()
    with pytest.raises(HttpError) as pending:
        invitations.create(body={"courseId": course["id"], "userId": CLIENT_B, "role": "STUDENT"}).execute()
    assert status(pending) == (409, "ALREADY_EXISTS")
    with pytest.raises(HttpError) as student_again:
        google.service("classroom", subject=ADMIN).courses().students().create(
            courseId=course["id"], body={"userId": CLIENT_A}).execute()
    assert status(student_again) == (409, "ALREADY_EXISTS")


# ---- 3. Gmail From ----


def letter(sender: str) -> dict[str, str]:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, CLIENT_A, "Hei"
    msg.set_content("Hei")
    return {"raw": base64.urlsafe_b64encode(msg.as_bytes()).decode()}


def test_a_from_that_is_not_the_user_is_rewritten_to_the_user(google: GoogleSandbox) -> None:
    gmail = google.service("gmail").users().messages()
    gmail.send(userId="me", body=letter("Johtaja <johtaja@sandbox.example.fi>")).execute()
    google.sb.google.add_send_as(COACH, "ryhma@sandbox.example.fi")
    gmail.send(userId="me", body=letter("Ryhmä <ryhma@sandbox.example.fi>")).execute()
    assert [m.sender for m in google.sb.sent_mail()] == [COACH, "ryhma@sandbox.example.fi"]
    stored = message_from_bytes(google.sb.google.gmail.messages[0].raw)
    assert stored["From"] == f"Johtaja <{COACH}>"


# ---- 4. Calendar ----


def test_meet_without_a_solution_key_entry_points_times_and_etags(google: GoogleSandbox) -> None:
    events = google.service("calendar").events()
    start = datetime(2026, 1, 5, 7, 0, 0, 250000, tzinfo=UTC)
    body = {"id": "palaveri20260105", "summary": "Palaveri",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Helsinki"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "Europe/Helsinki"},
            "conferenceData": {"createRequest": {"requestId": "r1"}}}
    event = events.insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
    assert event["conferenceData"]["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    kinds = [e["entryPointType"] for e in event["conferenceData"]["entryPoints"]]
    assert kinds[0] == "video" and {"phone", "more"} <= set(kinds)
    assert event["start"]["dateTime"] == "2026-01-05T09:00:00+02:00"
    assert event["end"] == {"dateTime": "2026-01-05T10:00:00+02:00", "timeZone": "Europe/Helsinki"}
    assert re.fullmatch(r'"\d{16}"', event["etag"])
    patched = events.patch(calendarId="primary", eventId=event["id"], body={"summary": "Uusi"}).execute()
    assert int(patched["etag"].strip('"')) > int(event["etag"].strip('"'))


# ---- 5. body-less Drive update ----


def test_a_drive_move_needs_no_body(google: GoogleSandbox) -> None:
    a = google.sb.google.add_file(COACH, "A", FOLDER)
    b = google.sb.google.add_file(COACH, "B", FOLDER)
    doc = google.sb.google.add_file(COACH, "Muistio", "text/plain", [a], b"x")
    moved = google.service("drive").files().update(fileId=doc, addParents=b, removeParents=a,
                                                  fields="id,parents").execute()
    assert moved["parents"] == [b]


# ---- 6. course calendar, teacher folder, link materials ----


def test_an_active_course_has_a_calendar_and_a_teacher_folder_and_links_are_enriched(
        google: GoogleSandbox, course: dict[str, Any]) -> None:
    coach = google.service("classroom")
    provisioned = coach.courses().create(body={"name": "Ryhmä P", "ownerId": "me"}).execute()
    assert "calendarId" not in provisioned and "teacherFolder" not in provisioned
    assert course["calendarId"].endswith("@group.calendar.google.com")
    folder = course["teacherFolder"]
    assert folder["title"] == "Ryhmä S" and folder["alternateLink"].endswith(folder["id"])
    seen = google.service("drive").files().get(fileId=folder["id"], fields="name,mimeType").execute()
    assert seen == {"name": "Ryhmä S", "mimeType": FOLDER}
    work = coach.courses().courseWork().create(courseId=course["id"], body={
        "title": "T", "workType": "ASSIGNMENT", "materials": [{"link": {"url": "https://example.fi/ohje"}}]}).execute()
    link = work["materials"][0]["link"]
    assert link["title"] and link["thumbnailUrl"].startswith("https://")
