"""Classroom v1: courses and aliases, rosters, invitations and topics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


def course_for(call: Call, key: str) -> Json:
    """The course, if the acting user may manage it (a teacher of it or an admin, when enforced)."""
    course = course_of(call.tenant, key)
    tenant = call.tenant
    if tenant.enforce_classroom_roles and call.user.email not in tenant.admins:
        if call.user.id not in tenant.classroom.teachers.get(course["id"], []):
            raise permission_denied()
    return course


def _may_view(call: Call, course_id: str) -> bool:
    tenant, me = call.tenant, call.user
    if not tenant.enforce_classroom_roles or me.email in tenant.admins:
        return True
    return me.id in tenant.classroom.teachers[course_id] or me.id in tenant.classroom.students[course_id]


def user_of(call: Call, key: str, domain_only: bool = True) -> GoogleUser:
    user = call.user if key == "me" else call.tenant.user(key)
    if user is None or (domain_only and user.external):
        raise not_found()
    return user


def profile(user: GoogleUser) -> Json:
    return {
        "id": user.id,
        "name": {"givenName": user.given_name, "familyName": user.family_name, "fullName": user.name},
        "emailAddress": user.email,
    }


def listed(call: Call, items: list[Json], key: str) -> Json:
    chunk, token = page(items, call.param("pageToken"), call.param("pageSize"), call.tenant.state.page_size)
    body: Json = {key: chunk} if chunk else {}
    if token:
        body["nextPageToken"] = token
    return body


def _alias_ok(call: Call, alias: str) -> bool:
    """``p:`` aliases are the project's own; ``d:`` (domain) ones need an admin when roles are enforced."""
    if (
        alias.startswith("d:")
        and call.tenant.enforce_classroom_roles
        and call.user.email not in call.tenant.admins
    ):
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
    if tenant.enforce_classroom_roles and owner.id != call.user.id and call.user.email not in tenant.admins:
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
        calendarId=f"classroom{course_id}@group.calendar.google.com",
    )
    data.courses[course_id] = course
    data.students[course_id] = []
    data.teachers[course_id] = [owner.id]
    data.topics[course_id] = {}
    data.course_work[course_id] = {}
    if alias is not None:
        data.aliases[str(alias)] = course_id
    return dict(course)


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
            owner = user_of(call, str(body.get("ownerId", "")))
            course["ownerId"] = owner.id
            teachers = call.tenant.classroom.teachers[course["id"]]
            if owner.id not in teachers:
                teachers.append(owner.id)
        elif body.get(name) is None:
            course.pop(name, None)
        else:
            course[name] = body[name]
    course["updateTime"] = now(call)
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
    course = course_for(call, call.params["id"])
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


# ---- rosters ----


def _member(course_id: str, user: GoogleUser) -> Json:
    return {"courseId": course_id, "userId": user.id, "profile": profile(user)}


def _roster(call: Call, kind: str) -> tuple[Json, list[str]]:
    course = course_for(call, call.params["courseId"])
    data = call.tenant.classroom
    return course, (data.students if kind == "students" else data.teachers)[course["id"]]


def _add_member(call: Call, kind: str) -> Json:
    course, roster = _roster(call, kind)
    user = call.tenant.user(str((call.body or {}).get("userId", "")))
    if user is None:
        raise not_found()
    if user.external:
        raise GoogleError(
            403, "@UserInIllegalDomain The user is not in an allowed domain.", "PERMISSION_DENIED"
        )
    tenant = call.tenant
    if kind == "students" and tenant.enforce_classroom_roles and call.user.email not in tenant.admins:
        raise GoogleError(
            403, "@CannotDirectAddUser The user cannot be added directly; invite them.", "PERMISSION_DENIED"
        )
    if user.id in roster:
        raise already_exists()
    roster.append(user.id)
    return _member(course["id"], user)


def _list_members(call: Call, kind: str) -> Json:
    course, roster = _roster(call, kind)
    users = [u for u in (call.tenant.user(uid) for uid in roster) if u is not None]
    return listed(call, [_member(course["id"], u) for u in users], kind)


def _get_member(call: Call, kind: str) -> Json:
    course, roster = _roster(call, kind)
    user = user_of(call, call.params["userId"], domain_only=False)
    if user.id not in roster:
        raise not_found()
    return _member(course["id"], user)


def _remove_member(call: Call, kind: str) -> Json:
    course, roster = _roster(call, kind)
    user = user_of(call, call.params["userId"], domain_only=False)
    if user.id not in roster:
        raise not_found()
    if kind == "teachers" and course["ownerId"] == user.id:
        raise GoogleError(400, "@CannotRemoveCourseOwner", "FAILED_PRECONDITION")
    roster.remove(user.id)
    return {}


def _register_roster(kind: str) -> None:
    for verb, action in (("create", _add_member), ("list", _list_members), ("get", _get_member),
                         ("delete", _remove_member)):  # fmt: skip

        def handler(call: Call, action: Callable[[Call, str], Json] = action) -> Json:
            return action(call, kind)

        handles(f"classroom.courses.{kind}.{verb}")(handler)


_register_roster("students")
_register_roster("teachers")


# ---- invitations ----


@handles("classroom.invitations.create")
def create_invitation(call: Call) -> Json:
    body: Json = call.body or {}
    data = call.tenant.classroom
    course = course_for(call, str(body.get("courseId", "")))
    user = user_of(call, str(body.get("userId", "")), domain_only=False)
    role = body.get("role")
    if role not in ("STUDENT", "TEACHER", "OWNER"):
        raise invalid("role: Role is required.")
    if user.id in data.students[course["id"]] or user.id in data.teachers[course["id"]]:
        raise already_exists()
    if any(i["userId"] == user.id and i["courseId"] == course["id"] for i in data.invitations.values()):
        raise already_exists()
    invitation_id = call.tenant.new_id(12, first="8")
    invitation = {"id": invitation_id, "userId": user.id, "courseId": course["id"], "role": role}
    data.invitations[invitation_id] = invitation
    return dict(invitation)


@handles("classroom.invitations.get")
def get_invitation(call: Call) -> Json:
    found = call.tenant.classroom.invitations.get(call.params["id"])
    if found is None:
        raise not_found()
    return dict(found)


@handles("classroom.invitations.list")
def list_invitations(call: Call) -> Json:
    course_key, user_key = call.param("courseId"), call.param("userId")
    if not course_key and not user_key:
        raise invalid("Either courseId or userId must be specified.")
    course_id = course_for(call, course_key)["id"] if course_key else None
    user_id = user_of(call, user_key, domain_only=False).id if user_key else None
    items = [
        dict(i)
        for i in call.tenant.classroom.invitations.values()
        if (course_id is None or i["courseId"] == course_id) and (user_id is None or i["userId"] == user_id)
    ]
    return listed(call, items, "invitations")


@handles("classroom.invitations.delete")
def delete_invitation(call: Call) -> Json:
    if call.tenant.classroom.invitations.pop(call.params["id"], None) is None:
        raise not_found()
    return {}


@handles("classroom.invitations.accept")
def accept_own_invitation(call: Call) -> Json:
    invitation = call.tenant.classroom.invitations.get(call.params["id"])
    if invitation is None or invitation["userId"] != call.user.id:
        raise not_found()
    accept_invitation(call.tenant, call.params["id"])
    return {}


def accept_invitation(tenant: GoogleTenant, invitation_id: str) -> None:
    with tenant.state.lock:
        data = tenant.classroom
        invitation = data.invitations.pop(invitation_id, None)
        if invitation is None:
            raise KeyError(f"no invitation {invitation_id}")
        course_id = invitation["courseId"]
        roster = data.students[course_id] if invitation["role"] == "STUDENT" else data.teachers[course_id]
        if invitation["userId"] not in roster:
            roster.append(invitation["userId"])
        if invitation["role"] == "OWNER":
            data.courses[course_id]["ownerId"] = invitation["userId"]


def accept_all_invitations(tenant: GoogleTenant) -> int:
    with tenant.state.lock:
        pending = list(tenant.classroom.invitations)
        for invitation_id in pending:
            accept_invitation(tenant, invitation_id)
        return len(pending)


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


# ---- user profiles ----


@handles("classroom.userProfiles.get")
def get_user_profile(call: Call) -> Json:
    user = user_of(call, call.params["userId"], domain_only=False)
    shown = profile(user)
    shown["verifiedTeacher"] = False
    return shown
