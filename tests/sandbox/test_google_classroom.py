"""Classroom v1 in the sandbox, through the real client library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import ADMIN, CLIENT_A, CLIENT_B, COACH, GoogleSandbox


def all_pages(method: Any, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request = method(**kwargs)
    while request is not None:
        response = request.execute()
        items += response.get(key, [])
        request = (
            method.__self__.list_next(request, response) if hasattr(method.__self__, "list_next") else None
        )
    return items


@pytest.fixture
def classroom(google: GoogleSandbox) -> Any:
    return google.service("classroom")


@pytest.fixture
def course(classroom: Any, google: GoogleSandbox) -> dict[str, Any]:
    created = (
        classroom.courses()
        .create(body={"id": "p:ryhma-a-2026", "name": "Ryhmä A", "ownerId": COACH})
        .execute()
    )
    admin = google.service("classroom", subject=ADMIN)  # only a domain admin adds students directly
    for email in (CLIENT_A, CLIENT_B):
        admin.courses().students().create(courseId=created["id"], body={"userId": email}).execute()
    return dict(created)


def test_creating_a_course_with_a_used_alias_answers_already_exists(
    classroom: Any, course: dict[str, Any]
) -> None:
    with pytest.raises(HttpError) as failed:
        classroom.courses().create(
            body={"id": "p:ryhma-a-2026", "name": "Ryhmä A", "ownerId": "me"}
        ).execute()
    assert failed.value.status_code == 409
    assert failed.value.reason == "Requested entity already exists"


def test_a_course_is_found_by_its_alias_and_by_a_later_alias(
    classroom: Any, course: dict[str, Any], google: GoogleSandbox
) -> None:
    admin = google.service("classroom", subject=ADMIN)  # a domain alias is an admin's to make
    admin.courses().aliases().create(courseId=course["id"], body={"alias": "d:ryhma-a"}).execute()
    assert classroom.courses().get(id="p:ryhma-a-2026").execute()["id"] == course["id"]
    assert classroom.courses().get(id="d:ryhma-a").execute()["name"] == "Ryhmä A"
    aliases = classroom.courses().aliases().list(courseId=course["id"]).execute()["aliases"]
    assert {a["alias"] for a in aliases} == {"p:ryhma-a-2026", "d:ryhma-a"}


def test_course_list_is_paged_and_patch_changes_state(classroom: Any, course: dict[str, Any]) -> None:
    for n in range(6):
        classroom.courses().create(body={"name": f"Ryhmä {n}", "ownerId": "me"}).execute()
    first = classroom.courses().list(teacherId="me").execute()
    assert len(first["courses"]) == 5 and "nextPageToken" in first
    everything = all_pages(classroom.courses().list, "courses", teacherId="me")
    assert len(everything) == 7
    patched = (
        classroom.courses()
        .patch(id=course["id"], updateMask="courseState", body={"courseState": "ACTIVE"})
        .execute()
    )
    assert patched["courseState"] == "ACTIVE"
    active = classroom.courses().list(courseStates=["ACTIVE"]).execute()["courses"]
    assert [c["id"] for c in active] == [course["id"]]


def test_students_teachers_and_removal(classroom: Any, course: dict[str, Any], google: GoogleSandbox) -> None:
    students = classroom.courses().students().list(courseId=course["id"]).execute()["students"]
    assert [s["profile"]["emailAddress"] for s in students] == [CLIENT_A, CLIENT_B]
    classroom.courses().students().delete(courseId=course["id"], userId=CLIENT_B).execute()
    left = classroom.courses().students().list(courseId=course["id"]).execute()["students"]
    assert [s["userId"] for s in left] == [google.users[CLIENT_A]]
    teachers = classroom.courses().teachers().list(courseId=course["id"]).execute()["teachers"]
    assert [t["userId"] for t in teachers] == [google.users[COACH]]
    admin = google.service("classroom", subject=ADMIN)
    with pytest.raises(HttpError) as failed:
        admin.courses().students().create(courseId=course["id"], body={"userId": CLIENT_A}).execute()
    assert failed.value.status_code == 409


def test_accepted_invitation_makes_the_invitee_a_student(classroom: Any, google: GoogleSandbox) -> None:
    created = classroom.courses().create(body={"name": "Ryhmä B", "ownerId": "me"}).execute()
    google.sb.google.add_user("cecilia@sandbox.example.fi", "Cecilia Asiakas")
    invitation = (
        classroom.invitations()
        .create(body={"courseId": created["id"], "userId": "cecilia@sandbox.example.fi", "role": "STUDENT"})
        .execute()
    )
    pending = classroom.invitations().list(courseId=created["id"]).execute()["invitations"]
    assert [i["id"] for i in pending] == [invitation["id"]]
    google.sb.google.accept_invitation(invitation["id"])
    assert classroom.invitations().list(courseId=created["id"]).execute() == {}
    students = classroom.courses().students().list(courseId=created["id"]).execute()["students"]
    assert students[0]["profile"]["emailAddress"] == "cecilia@sandbox.example.fi"


def test_topics_are_created_listed_and_renamed(classroom: Any, course: dict[str, Any]) -> None:
    topic = classroom.courses().topics().create(courseId=course["id"], body={"name": "Viikko 2"}).execute()
    classroom.courses().topics().patch(
        courseId=course["id"], id=topic["topicId"], updateMask="name", body={"name": "Viikko 3"}
    ).execute()
    listed = classroom.courses().topics().list(courseId=course["id"]).execute()["topic"]
    assert [t["name"] for t in listed] == ["Viikko 3"]


def test_individually_assigned_work_reaches_only_its_students(
    classroom: Any, course: dict[str, Any], google: GoogleSandbox
) -> None:
    folder = google.sb.google.add_file(COACH, "Materiaalit", "application/vnd.google-apps.folder")
    work = (
        classroom.courses()
        .courseWork()
        .create(
            courseId=course["id"],
            body={
                "title": "Maanantain tehtävä",
                "workType": "ASSIGNMENT",
                "state": "PUBLISHED",
                "assigneeMode": "INDIVIDUAL_STUDENTS",
                "individualStudentsOptions": {"studentIds": [CLIENT_A]},
                "materials": [
                    {"link": {"url": "https://example.fi/ohje"}},
                    {"driveFile": {"driveFile": {"id": folder}}},
                ],
                "dueDate": {"year": 2026, "month": 1, "day": 5},
                "dueTime": {"hours": 14, "minutes": 0},
            },
        )
        .execute()
    )
    assert work["individualStudentsOptions"]["studentIds"] == [google.users[CLIENT_A]]
    assert work["materials"][1]["driveFile"]["driveFile"]["title"] == "Materiaalit"
    subs = (
        classroom.courses()
        .courseWork()
        .studentSubmissions()
        .list(courseId=course["id"], courseWorkId="-")
        .execute()
    )
    assert [s["userId"] for s in subs["studentSubmissions"]] == [google.users[CLIENT_A]]
    classroom.courses().courseWork().modifyAssignees(
        courseId=course["id"],
        id=work["id"],
        body={
            "assigneeMode": "INDIVIDUAL_STUDENTS",
            "modifyIndividualStudentsOptions": {"addStudentIds": [CLIENT_B]},
        },
    ).execute()
    subs = (
        classroom.courses()
        .courseWork()
        .studentSubmissions()
        .list(courseId=course["id"], courseWorkId=work["id"])
        .execute()
    )
    assert {s["state"] for s in subs["studentSubmissions"]} == {"NEW"}
    assert len(subs["studentSubmissions"]) == 2


def test_scheduled_draft_publishes_when_the_clock_reaches_it(
    classroom: Any, course: dict[str, Any], google: GoogleSandbox
) -> None:
    at = google.sb.state.clock.now() + timedelta(days=1)
    work = (
        classroom.courses()
        .courseWork()
        .create(
            courseId=course["id"],
            body={
                "title": "Tiistai",
                "workType": "ASSIGNMENT",
                "state": "DRAFT",
                "scheduledTime": at.isoformat(),
            },
        )
        .execute()
    )
    assert classroom.courses().courseWork().list(courseId=course["id"]).execute() == {}
    google.sb.state.clock.advance(timedelta(days=1, minutes=1))
    published = classroom.courses().courseWork().list(courseId=course["id"]).execute()["courseWork"]
    assert [(w["id"], w["state"]) for w in published] == [(work["id"], "PUBLISHED")]


def test_turned_in_work_shows_state_history_and_lateness(
    classroom: Any, course: dict[str, Any], google: GoogleSandbox
) -> None:
    work = classroom.courses().courseWork().create(
        courseId=course["id"],
        body={"title": "Tehtävä", "workType": "ASSIGNMENT", "state": "PUBLISHED",
              "dueDate": {"year": 2026, "month": 1, "day": 5}, "dueTime": {"hours": 12}},
    ).execute()  # fmt: skip
    on_time = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    google.sb.google.submit_task(course["id"], work["id"], CLIENT_A, at=on_time)
    google.sb.state.clock.set(datetime(2026, 1, 5, 13, 0, tzinfo=UTC))
    subs = (
        classroom.courses()
        .courseWork()
        .studentSubmissions()
        .list(courseId=course["id"], courseWorkId="-")
        .execute()
    )
    by_user = {s["userId"]: s for s in subs["studentSubmissions"]}
    turned_in = by_user[google.users[CLIENT_A]]
    assert turned_in["state"] == "TURNED_IN" and "late" not in turned_in
    assert turned_in["updateTime"] == "2026-01-05T10:00:00.000Z"
    assert turned_in["submissionHistory"][-1]["stateHistory"]["state"] == "TURNED_IN"
    assert by_user[google.users[CLIENT_B]]["late"] is True
    late_only = (
        classroom.courses()
        .courseWork()
        .studentSubmissions()
        .list(courseId=course["id"], courseWorkId="-", late="LATE_ONLY")
        .execute()["studentSubmissions"]
    )
    assert [s["userId"] for s in late_only] == [google.users[CLIENT_B]]


def test_unknown_field_and_bad_enum_are_refused_like_google(classroom: Any, course: dict[str, Any]) -> None:
    with pytest.raises(HttpError) as unknown:
        classroom.courses().create(body={"name": "X", "ownerId": "me", "foo": 1}).execute()
    assert unknown.value.status_code == 400
    assert (
        unknown.value.reason
        == "Invalid JSON payload received. Unknown name \"foo\" at 'course': Cannot find field."
    )
    with pytest.raises(HttpError) as bad_enum:
        classroom.courses().patch(
            id=course["id"], updateMask="courseState", body={"courseState": "OPEN"}
        ).execute()
    assert "Invalid value at 'course.course_state'" in bad_enum.value.reason
    with pytest.raises(HttpError) as nested:
        classroom.courses().courseWork().create(
            courseId=course["id"],
            body={"title": "T", "workType": "ASSIGNMENT", "materials": [{"link": {"href": "x"}}]},
        ).execute()
    assert "Unknown name \"href\" at 'course_work.materials[0].link'" in nested.value.reason


def test_returned_work_and_user_profiles(
    classroom: Any, course: dict[str, Any], google: GoogleSandbox
) -> None:
    work = (
        classroom.courses()
        .courseWork()
        .create(
            courseId=course["id"], body={"title": "Palautus", "workType": "ASSIGNMENT", "state": "PUBLISHED"}
        )
        .execute()
    )
    sub_id = google.sb.google.submit_task(course["id"], work["id"], CLIENT_A)
    submissions = classroom.courses().courseWork().studentSubmissions()
    submissions.return_(courseId=course["id"], courseWorkId=work["id"], id=sub_id, body={}).execute()
    returned = submissions.get(courseId=course["id"], courseWorkId=work["id"], id=sub_id).execute()
    assert returned["state"] == "RETURNED"
    assert [h["stateHistory"]["state"] for h in returned["submissionHistory"]] == [
        "CREATED",
        "TURNED_IN",
        "RETURNED",
    ]
    me = classroom.userProfiles().get(userId=google.users[CLIENT_A]).execute()
    assert me["emailAddress"] == CLIENT_A and me["name"]["fullName"] == "Aino Asiakas"


def test_only_teachers_and_admins_manage_a_course_and_lenient_mode_skips_it(google: GoogleSandbox) -> None:
    admin = google.service("classroom", subject=ADMIN)
    course = admin.courses().create(body={"name": "Ryhmä C", "ownerId": COACH}).execute()
    admin.courses().students().create(courseId=course["id"], body={"userId": CLIENT_A}).execute()
    coach = google.service("classroom")
    coach.courses().topics().create(courseId=course["id"], body={"name": "Viikko 1"}).execute()
    with pytest.raises(HttpError) as direct_add:
        coach.courses().students().create(courseId=course["id"], body={"userId": CLIENT_B}).execute()
    assert direct_add.value.status_code == 403
    student = google.service("classroom", subject=CLIENT_B)
    with pytest.raises(HttpError) as outsider:
        student.courses().get(id=course["id"]).execute()
    assert outsider.value.status_code == 403
    assert student.courses().list().execute() == {}
    google.sb.google.classroom_roles = "lenient"
    coach.courses().students().create(courseId=course["id"], body={"userId": CLIENT_B}).execute()
