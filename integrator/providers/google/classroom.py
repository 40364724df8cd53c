"""Classroom v1: typed request builders and pure body mappings.

Builders return ``HttpRequest`` objects so that callers choose between
``GoogleClient.execute`` (one call) and ``GoogleClient.batch`` (many); the mappings are pure
and tested offline. Teachers' work (courses, topics, coursework) acts as the course owner;
direct enrolment acts as the tenant's admin subject, because Classroom lets only domain
administrators add domain users as students without an invitation.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from googleapiclient.http import HttpRequest

from integrator.providers.google.client import GoogleClient

Json = dict[str, Any]

#: Coursework descriptions end with this line so that work can be found again by listing.
MARKER_PREFIX = "Tunniste: ktt-"
_MARKER = re.compile(r"Tunniste: ktt-([0-9a-f]{12})\s*$")
#: What finding our work again needs of a listing: which work carries which marker, when it was
#: made, whether this project made it (only then may it delete it) and whom it is assigned to.
COURSEWORK_MARKER_FIELDS = ("nextPageToken,courseWork(id,description,creationTime,associatedWithDeveloper,"
                            "individualStudentsOptions)")
#: What deciding whether work may be deleted needs of its submissions: states (and their history),
#: grades, and attachments (work in progress that was not turned in yet).
SUBMISSION_CHECK_FIELDS = ("nextPageToken,studentSubmissions(id,courseWorkId,state,assignedGrade,draftGrade,"
                           "submissionHistory,assignmentSubmission)")


@dataclass(frozen=True)
class CourseSpec:
    alias: str  # "p:..." project alias: the create idempotency key
    name: str
    section: str
    owner: str  # coordinator email


@dataclass(frozen=True)
class CourseWorkSpec:
    local_key: str
    title: str
    description: str
    scheduled: datetime  # aware; published at this instant
    due: datetime  # aware; due at this instant
    topic_id: str | None
    student_ids: tuple[str, ...]  # Google user ids (or emails) of the assignees
    material_file_ids: tuple[str, ...] = ()


def course_alias(org_key: str, group_key: str) -> str:
    """The project-scoped alias of a group's course: stable for the group's whole life."""
    return f"p:ktt-{org_key}-{group_key}"


def course_body(spec: CourseSpec) -> Json:
    # `id` set to an alias at create makes Classroom create the alias atomically, and a
    # repeat answer ALREADY_EXISTS instead of a second course.
    return {"id": spec.alias, "name": spec.name, "section": spec.section, "ownerId": spec.owner,
            "courseState": "ACTIVE"}


def course_patch(spec: CourseSpec, *, owner: bool = False) -> tuple[Json, str]:
    body: Json = {"name": spec.name, "section": spec.section, "courseState": "ACTIVE"}
    if owner:  # the new owner must already be a teacher of the course
        body["ownerId"] = spec.owner
    return body, ",".join(body)


def marker(local_key: str) -> str:
    """A short, meaningless tag derived from our key (no names, no codes)."""
    return MARKER_PREFIX + hashlib.sha256(local_key.encode()).hexdigest()[:12]


def marker_of(description: str | None) -> str | None:
    found = _MARKER.search(description or "")
    return MARKER_PREFIX + found.group(1) if found else None


def rfc3339(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("aware datetime required")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date_json(d: date) -> Json:
    return {"year": d.year, "month": d.month, "day": d.day}


def coursework_body(spec: CourseWorkSpec) -> Json:
    """A scheduled draft assigned to individual students; Classroom publishes it at `scheduled`."""
    due = spec.due.astimezone(UTC)
    body: Json = {
        "title": spec.title,
        "description": f"{spec.description.rstrip()}\n\n{marker(spec.local_key)}",
        "workType": "ASSIGNMENT",
        "state": "DRAFT",
        "scheduledTime": rfc3339(spec.scheduled),
        "dueDate": _date_json(due.date()),
        "dueTime": {"hours": due.hour, "minutes": due.minute},
        "assigneeMode": "INDIVIDUAL_STUDENTS",
        "individualStudentsOptions": {"studentIds": list(spec.student_ids)},
    }
    if spec.topic_id:
        body["topicId"] = spec.topic_id
    if spec.material_file_ids:
        body["materials"] = [{"driveFile": {"driveFile": {"id": fid}, "shareMode": "VIEW"}}
                             for fid in spec.material_file_ids]
    return body


def coursework_patch(spec: CourseWorkSpec) -> tuple[Json, str]:
    """Fields a re-plan may change on existing work (the move of a work day, new texts)."""
    body = coursework_body(spec)
    fields = ["title", "description", "scheduledTime", "dueDate", "dueTime"]
    if spec.topic_id:
        fields.append("topicId")
    return {k: body[k] for k in fields}, ",".join(fields)


def assignee_change(current: list[str] | tuple[str, ...], desired: list[str] | tuple[str, ...]) -> Json | None:
    """The modifyAssignees body turning `current` into `desired`, or None when equal."""
    add = sorted(set(desired) - set(current))
    remove = sorted(set(current) - set(desired))
    if not add and not remove:
        return None
    options: Json = {}
    if add:
        options["addStudentIds"] = add
    if remove:
        options["removeStudentIds"] = remove
    return {"assigneeMode": "INDIVIDUAL_STUDENTS", "modifyIndividualStudentsOptions": options}


class Classroom:
    """Request builders over one tenant's Classroom service."""

    def __init__(self, client: GoogleClient) -> None:
        self.client = client

    def _c(self, subject: str | None, path: str) -> Any:
        return self.client.collection("classroom", path, subject=subject)

    # courses
    def create_course(self, spec: CourseSpec) -> HttpRequest:
        return self._c(spec.owner, "courses").create(body=course_body(spec))

    def get_course(self, id_or_alias: str, *, subject: str | None = None) -> HttpRequest:
        return self._c(subject, "courses").get(id=id_or_alias)

    def patch_course(self, course_id: str, spec: CourseSpec, *, new_owner: bool = False) -> HttpRequest:
        """Acting as the owner; a change of owner is made by the admin subject."""
        body, mask = course_patch(spec, owner=new_owner)
        return self._c(None if new_owner else spec.owner, "courses").patch(id=course_id, updateMask=mask, body=body)

    def add_teacher(self, course_id: str, email: str) -> HttpRequest:
        return self._c(None, "courses.teachers").create(courseId=course_id, body={"userId": email})

    # topics
    def create_topic(self, owner: str, course_id: str, name: str) -> HttpRequest:
        return self._c(owner, "courses.topics").create(courseId=course_id, body={"name": name})

    def list_topics(self, owner: str, course_id: str) -> HttpRequest:
        return self._c(owner, "courses.topics").list(courseId=course_id)

    # rosters
    def add_student(self, course_id: str, email: str) -> HttpRequest:
        return self._c(None, "courses.students").create(courseId=course_id, body={"userId": email})

    def get_student(self, course_id: str, user: str) -> HttpRequest:
        return self._c(None, "courses.students").get(courseId=course_id, userId=user)

    def remove_student(self, course_id: str, user: str) -> HttpRequest:
        return self._c(None, "courses.students").delete(courseId=course_id, userId=user)

    def invite_student(self, owner: str, course_id: str, email: str) -> HttpRequest:
        return self._c(owner, "invitations").create(body={"courseId": course_id, "userId": email, "role": "STUDENT"})

    def get_invitation(self, invitation_id: str) -> HttpRequest:
        return self._c(None, "invitations").get(id=invitation_id)

    def list_invitations(self, course_id: str, user: str | None = None) -> HttpRequest:
        params = {"courseId": course_id}
        if user:
            params["userId"] = user
        return self._c(None, "invitations").list(**params)

    def delete_invitation(self, invitation_id: str) -> HttpRequest:
        return self._c(None, "invitations").delete(id=invitation_id)

    # coursework
    def create_coursework(self, owner: str, course_id: str, spec: CourseWorkSpec) -> HttpRequest:
        return self._c(owner, "courses.courseWork").create(courseId=course_id, body=coursework_body(spec))

    def patch_coursework(self, owner: str, course_id: str, work_id: str, spec: CourseWorkSpec) -> HttpRequest:
        body, mask = coursework_patch(spec)
        return self._c(owner, "courses.courseWork").patch(courseId=course_id, id=work_id, updateMask=mask,
                                                             body=body)

    def modify_assignees(self, owner: str, course_id: str, work_id: str, change: Json) -> HttpRequest:
        return self._c(owner, "courses.courseWork").modifyAssignees(courseId=course_id, id=work_id, body=change)

    def delete_coursework(self, owner: str, course_id: str, work_id: str) -> HttpRequest:
        return self._c(owner, "courses.courseWork").delete(courseId=course_id, id=work_id)

    def list_coursework(self, owner: str, course_id: str, *, fields: str | None = None) -> HttpRequest:
        """Published and draft work; `fields` (e.g. COURSEWORK_MARKER_FIELDS) keeps the pages small."""
        params: Json = {"courseId": course_id, "courseWorkStates": ["PUBLISHED", "DRAFT"]}
        if fields:
            params["fields"] = fields
        return self._c(owner, "courses.courseWork").list(**params)

    def list_work_submissions(self, owner: str, course_id: str, work_id: str) -> HttpRequest:
        """Every student's submission of one piece of work (fields: SUBMISSION_CHECK_FIELDS)."""
        return self._c(owner, "courses.courseWork.studentSubmissions").list(
            courseId=course_id, courseWorkId=work_id, fields=SUBMISSION_CHECK_FIELDS)
