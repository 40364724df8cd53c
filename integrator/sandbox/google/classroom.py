"""Classroom v1: the course data, helpers shared by the Classroom modules, courses, aliases and topics.

Rosters, invitations and user profiles are in ``classroom_rosters``; courseWork and submissions
in ``coursework``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrator.sandbox.google import drive
from integrator.sandbox.google.errors import (
    GoogleError,
    already_exists,
    invalid,
    not_found,
    permission_denied,
)
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser
from integrator.sandbox.google.util import page, rfc3339

Json = dict[str, Any]
EDITABLE_COURSE_FIELDS = (
    "name",
    "section",
    "descriptionHeading",
    "description",
    "room",
    "courseState",
    "ownerId",
)
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class ClassroomData:
    courses: dict[str, Json] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> course id
    students: dict[str, list[str]] = field(default_factory=dict)  # course id -> user ids
    teachers: dict[str, list[str]] = field(default_factory=dict)
    invitations: dict[str, Json] = field(default_factory=dict)
    topics: dict[str, dict[str, Json]] = field(default_factory=dict)
    course_work: dict[str, dict[str, Json]] = field(default_factory=dict)
    submissions: dict[tuple[str, str], dict[str, Json]] = field(
        default_factory=dict
    )  # -> user id -> submission


def now(call_or_tenant: Call | GoogleTenant) -> str:
    tenant = call_or_tenant.tenant if isinstance(call_or_tenant, Call) else call_or_tenant
    return rfc3339(tenant.state.clock.now())


def course_of(tenant: GoogleTenant, key: str) -> Json:
    data = tenant.classroom
    found = data.courses.get(data.aliases.get(key, key))
    if found is None:
        raise not_found()
    return found


def is_admin(call: Call) -> bool:
    return not call.tenant.enforce_classroom_roles or call.tenant.is_admin(call.user.email)


def course_for(call: Call, key: str, *, students_too: bool = False) -> Json:
    """The course, if the acting user may manage it: a teacher of it or an admin (strict roles).

    ``students_too``: the call is one a student of the course makes on their own work (turnIn).
    Anyone else gets PERMISSION_DENIED, as Classroom's "access errors" document.
    """
    course = course_of(call.tenant, key)
    if is_admin(call):
        return course
    data, me = call.tenant.classroom, call.user.id
    if me in data.teachers.get(course["id"], []):
        return course
    if students_too and me in data.students.get(course["id"], []):
        return course
    raise permission_denied()


def owned_course(call: Call, key: str) -> Json:
    """The course, if the acting user owns it (or is an admin): deleting a course is the owner's."""
    course = course_for(call, key)
    if not is_admin(call) and course["ownerId"] != call.user.id:
        raise permission_denied()
    return course


def _may_view(call: Call, course_id: str) -> bool:
    tenant, me = call.tenant, call.user
    if is_admin(call):
        return True
    return me.id in tenant.classroom.teachers[course_id] or me.id in tenant.classroom.students[course_id]


def user_of(call: Call, key: str, domain_only: bool = True) -> GoogleUser:
    user = call.user if key == "me" else call.tenant.user(key)
    if user is None or (domain_only and user.external):
        raise not_found()
    return user


def listed(call: Call, items: list[Json], key: str) -> Json:
    chunk, token = page(items, call.param("pageToken"), call.param("pageSize"), call.tenant.state.page_size)
    body: Json = {key: chunk} if chunk else {}
    if token:
        body["nextPageToken"] = token
    return body


def _alias_ok(call: Call, alias: str) -> bool:
    """``p:`` aliases are the project's own; ``d:`` (domain) ones need an admin when roles are enforced."""
    if alias.startswith("d:") and not is_admin(call):
        raise permission_denied()
    return (alias.startswith("p:") or alias.startswith("d:")) and len(alias) > 2


# ---- courses ----


@handles("classroom.courses.create")
def create_course(call: Call) -> Json:
    body: Json = call.body or {}
    tenant, data = call.tenant, call.tenant.classroom
    alias = body.get("id")
    if alias is not None and not _alias_ok(call, str(alias)):
        raise invalid("Request contains an invalid argument.")
    if alias is not None and alias in data.aliases:
        raise already_exists()
    if not body.get("name"):
        raise invalid("name: Name is required.")
    if not body.get("ownerId"):
        raise invalid("ownerId: Owner ID is required.")
    owner = user_of(call, str(body["ownerId"]))
    if owner.id != call.user.id and not is_admin(call):
        raise permission_denied()
    course_id = tenant.new_id(12, first="7")
    stamp = now(call)
    course: Json = {
        k: body[k] for k in ("name", "section", "descriptionHeading", "description", "room") if k in body
    }
    course.update(
        id=course_id,
        ownerId=owner.id,
        creationTime=stamp,
        updateTime=stamp,
        enrollmentCode=tenant.new_id(7, alphabet=ALNUM),
        courseState=body.get("courseState", "PROVISIONED"),
        alternateLink=f"https://classroom.google.com/c/{course_id}",
        teacherGroupEmail=f"course_{course_id}_teachers@{tenant.domain}",
        courseGroupEmail=f"course_{course_id}@{tenant.domain}",
        guardiansEnabled=False,
    )
    data.courses[course_id] = course
    data.students[course_id] = []
    data.teachers[course_id] = [owner.id]
    data.topics[course_id] = {}
    data.course_work[course_id] = {}
    if alias is not None:
        data.aliases[str(alias)] = course_id
    _on_state(tenant, course)
    return dict(course)


def _on_state(tenant: GoogleTenant, course: Json) -> None:
    """What Classroom adds when a course becomes ACTIVE: its calendar and the teachers' Drive folder
    (``Classroom/<course name>`` in the owner's My Drive). A PROVISIONED course has neither."""
    if course["courseState"] != "ACTIVE" or "calendarId" in course:
        return
    course["calendarId"] = f"c_classroom{tenant.new_id(8, alphabet='0123456789abcdef')}@group.calendar.google.com"
    owner = tenant.user(course["ownerId"])
    if owner is None:
        return
    home = drive.root_of(tenant, owner)
    parent = next((f for f in tenant.drive.files.values() if f.owner == owner.email and f.resource["name"] == "Classroom"
                   and f.resource.get("parents") == [home] and f.resource["mimeType"] == drive.FOLDER), None)
    if parent is None:
        parent = drive.new_file(tenant, owner, {"name": "Classroom", "mimeType": drive.FOLDER}, [home], b"", None)
    folder = drive.new_file(tenant, owner, {"name": course["name"], "mimeType": drive.FOLDER},
                            [parent.resource["id"]], b"", None)
    course["teacherFolder"] = {"id": folder.resource["id"], "title": course["name"],
                               "alternateLink": folder.resource["webViewLink"]}


@handles("classroom.courses.get")
def get_course(call: Call) -> Json:
    return dict(course_for(call, call.params["id"]))


@handles("classroom.courses.list")
def list_courses(call: Call) -> Json:
    data = call.tenant.classroom
    states = call.param("courseStates") or []
    student = user_of(call, call.param("studentId")).id if call.param("studentId") else None
    teacher = user_of(call, call.param("teacherId")).id if call.param("teacherId") else None
    found = [
        dict(c)
        for c in data.courses.values()
        if (not states or c["courseState"] in states)
        and (student is None or student in data.students[c["id"]])
        and (teacher is None or teacher in data.teachers[c["id"]])
        and _may_view(call, c["id"])
    ]
    return listed(call, found, "courses")


def _apply_course(call: Call, course: Json, body: Json, fields: list[str]) -> Json:
    for name in fields:
        if name not in EDITABLE_COURSE_FIELDS:
            raise invalid(f"updateMask: {name} is not a valid field.")
        if name == "ownerId":
            # "Admins can also specify this field in a patch course request to transfer ownership";
            # the new owner must already teach the course (IneligibleOwner otherwise).
            if not is_admin(call):
                raise permission_denied()
            owner = user_of(call, str(body.get("ownerId", "")))
            teachers = call.tenant.classroom.teachers[course["id"]]
            if owner.id not in teachers:
                if call.tenant.enforce_classroom_roles:
                    raise GoogleError(400, "@IneligibleOwner The new owner must be a teacher of the course.",
                                      "FAILED_PRECONDITION")
                teachers.append(owner.id)
            course["ownerId"] = owner.id
        elif body.get(name) is None:
            course.pop(name, None)
        else:
            course[name] = body[name]
    course["updateTime"] = now(call)
    _on_state(call.tenant, course)
    return dict(course)


@handles("classroom.courses.patch")
def patch_course(call: Call) -> Json:
    mask = call.param("updateMask")
    if not mask:
        raise invalid("updateMask: Update mask is required.")
    course = course_for(call, call.params["id"])
    return _apply_course(call, course, call.body or {}, [f.strip() for f in mask.split(",")])


@handles("classroom.courses.update")
def update_course(call: Call) -> Json:
    course = course_for(call, call.params["id"])
    body: Json = call.body or {}
    fields = [f for f in EDITABLE_COURSE_FIELDS if f in body or f not in ("ownerId", "courseState")]
    return _apply_course(call, course, body, fields)


@handles("classroom.courses.delete")
def delete_course(call: Call) -> Json:
    data = call.tenant.classroom
    course = owned_course(call, call.params["id"])
    course_id = course["id"]
    del data.courses[course_id]
    for alias in [a for a, c in data.aliases.items() if c == course_id]:
        del data.aliases[alias]
    return {}


# ---- aliases ----


@handles("classroom.courses.aliases.create")
def create_alias(call: Call) -> Json:
    course = course_for(call, call.params["courseId"])
    alias = str((call.body or {}).get("alias", ""))
    if not _alias_ok(call, alias):
        raise invalid("Request contains an invalid argument.")
    if alias in call.tenant.classroom.aliases:
        raise already_exists()
    call.tenant.classroom.aliases[alias] = course["id"]
    return {"alias": alias}


@handles("classroom.courses.aliases.list")
def list_aliases(call: Call) -> Json:
    course = course_for(call, call.params["courseId"])
    items = [{"alias": a} for a, c in call.tenant.classroom.aliases.items() if c == course["id"]]
    return listed(call, items, "aliases")


@handles("classroom.courses.aliases.delete")
def delete_alias(call: Call) -> Json:
    course = course_for(call, call.params["courseId"])
    if call.tenant.classroom.aliases.get(call.params["alias"]) != course["id"]:
        raise not_found()
    del call.tenant.classroom.aliases[call.params["alias"]]
    return {}


# ---- topics ----


def _topic(call: Call) -> tuple[dict[str, Json], Json]:
    course = course_for(call, call.params["courseId"])
    topics = call.tenant.classroom.topics[course["id"]]
    found = topics.get(call.params["id"])
    if found is None:
        raise not_found()
    return topics, found


@handles("classroom.courses.topics.create")
def create_topic(call: Call) -> Json:
    course = course_for(call, call.params["courseId"])
    name = str((call.body or {}).get("name", "")).strip()
    if not name:
        raise invalid("name: Name is required.")
    topics = call.tenant.classroom.topics[course["id"]]
    if any(t["name"] == name for t in topics.values()):
        raise already_exists()
    topic_id = call.tenant.new_id(12, first="6")
    topics[topic_id] = {"courseId": course["id"], "topicId": topic_id, "name": name, "updateTime": now(call)}
    return dict(topics[topic_id])


@handles("classroom.courses.topics.get")
def get_topic(call: Call) -> Json:
    return dict(_topic(call)[1])


@handles("classroom.courses.topics.list")
def list_topics(call: Call) -> Json:
    course = course_for(call, call.params["courseId"])
    items = sorted(
        call.tenant.classroom.topics[course["id"]].values(), key=lambda t: t["updateTime"], reverse=True
    )
    return listed(call, [dict(t) for t in items], "topic")


@handles("classroom.courses.topics.patch")
def patch_topic(call: Call) -> Json:
    _, topic = _topic(call)
    if call.param("updateMask") != "name":
        raise invalid("updateMask: only name can be updated.")
    topic["name"] = (call.body or {}).get("name", topic["name"])
    topic["updateTime"] = now(call)
    return dict(topic)


@handles("classroom.courses.topics.delete")
def delete_topic(call: Call) -> Json:
    topics, topic = _topic(call)
    del topics[topic["topicId"]]
    return {}
