"""Classroom v1 people: student and teacher rosters, invitations and user profiles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrator.sandbox.google.classroom import course_for, course_of, is_admin, listed, user_of
from integrator.sandbox.google.errors import (
    GoogleError,
    already_exists,
    invalid,
    not_found,
    permission_denied,
)
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser

Json = dict[str, Any]


def profile(user: GoogleUser) -> Json:
    return {
        "id": user.id,
        "name": {"givenName": user.given_name, "familyName": user.family_name, "fullName": user.name},
        "emailAddress": user.email,
    }


# ---- rosters ----


def _member(course_id: str, user: GoogleUser) -> Json:
    return {"courseId": course_id, "userId": user.id, "profile": profile(user)}


def _roster(call: Call, kind: str, *, students_too: bool = False) -> tuple[Json, list[str]]:
    course = course_for(call, call.params["courseId"], students_too=students_too)
    data = call.tenant.classroom
    return course, (data.students if kind == "students" else data.teachers)[course["id"]]


def _self_enrolment(call: Call, kind: str) -> bool:
    """A student adding themselves with the course's enrollment code (students.create allows it)."""
    if kind != "students":
        return False
    body: Json = call.body or {}
    course = course_of(call.tenant, call.params["courseId"])
    return str(body.get("userId", "")) in ("me", call.user.id, call.user.email) and bool(
        call.param("enrollmentCode")) and call.param("enrollmentCode") == course["enrollmentCode"]


def _add_member(call: Call, kind: str) -> Json:
    """Classroom: "Domain administrators are permitted to directly add users within their domain as
    students/teachers"; everyone else invites (403 otherwise). A member already in the course in
    either role is ALREADY_EXISTS."""
    if _self_enrolment(call, kind):
        course = course_of(call.tenant, call.params["courseId"])
    else:
        course = course_for(call, call.params["courseId"])
        if not is_admin(call):
            raise GoogleError(
                403, "@CannotDirectAddUser The caller does not have permission to add members directly; "
                "send an invitation.", "PERMISSION_DENIED")
    data = call.tenant.classroom
    roster = (data.students if kind == "students" else data.teachers)[course["id"]]
    user = user_of(call, str((call.body or {}).get("userId", "")), domain_only=False)
    if user.external:
        raise GoogleError(
            403, "@UserInIllegalDomain The user is not in an allowed domain.", "PERMISSION_DENIED"
        )
    if user.id in data.students[course["id"]] or user.id in data.teachers[course["id"]]:
        raise already_exists()
    roster.append(user.id)
    return _member(course["id"], user)


def _list_members(call: Call, kind: str) -> Json:
    course, roster = _roster(call, kind, students_too=True)
    users = [u for u in (call.tenant.user(uid) for uid in roster) if u is not None]
    return listed(call, [_member(course["id"], u) for u in users], kind)


def _get_member(call: Call, kind: str) -> Json:
    course, roster = _roster(call, kind, students_too=True)
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
    """invitations.create: FAILED_PRECONDITION (400) "if the user already has this role or a role with
    greater permissions"; ALREADY_EXISTS (409) "if an invitation for the specified user and course
    already exists" (developers.google.com/classroom/reference/rest/v1/invitations/create)."""
    body: Json = call.body or {}
    data = call.tenant.classroom
    course = course_for(call, str(body.get("courseId", "")))
    user = user_of(call, str(body.get("userId", "")), domain_only=False)
    role = body.get("role")
    if role not in ("STUDENT", "TEACHER", "OWNER"):
        raise invalid("role: Role is required.")
    teachers, students = data.teachers[course["id"]], data.students[course["id"]]
    has_role = {
        "STUDENT": user.id in students or user.id in teachers,
        "TEACHER": user.id in teachers,
        "OWNER": course["ownerId"] == user.id,
    }[role]
    if has_role:
        raise GoogleError(400, "Precondition check failed.", "FAILED_PRECONDITION")
    if any(i["userId"] == user.id and i["courseId"] == course["id"] for i in data.invitations.values()):
        raise already_exists()
    invitation_id = call.tenant.new_id(12, first="8")
    invitation = {"id": invitation_id, "userId": user.id, "courseId": course["id"], "role": role}
    data.invitations[invitation_id] = invitation
    return dict(invitation)


def _invitation(call: Call) -> Json:
    """An invitation the caller may see: the invitee's own, or one to a course they teach."""
    found = call.tenant.classroom.invitations.get(call.params["id"])
    if found is None:
        raise not_found()
    if found["userId"] != call.user.id:
        course_for(call, found["courseId"])
    return found


@handles("classroom.invitations.get")
def get_invitation(call: Call) -> Json:
    return dict(_invitation(call))


@handles("classroom.invitations.list")
def list_invitations(call: Call) -> Json:
    course_key, user_key = call.param("courseId"), call.param("userId")
    if not course_key and not user_key:
        raise invalid("Either courseId or userId must be specified.")
    course_id = course_for(call, course_key)["id"] if course_key else None
    user_id = user_of(call, user_key, domain_only=False).id if user_key else None
    if course_id is None and user_id != call.user.id and not is_admin(call):
        raise permission_denied()
    items = [
        dict(i)
        for i in call.tenant.classroom.invitations.values()
        if (course_id is None or i["courseId"] == course_id) and (user_id is None or i["userId"] == user_id)
    ]
    return listed(call, items, "invitations")


@handles("classroom.invitations.delete")
def delete_invitation(call: Call) -> Json:
    found = _invitation(call)
    del call.tenant.classroom.invitations[found["id"]]
    return {}


@handles("classroom.invitations.accept")
def accept_own_invitation(call: Call) -> Json:
    """Only the invitee may accept (PERMISSION_DENIED for anyone else)."""
    invitation = call.tenant.classroom.invitations.get(call.params["id"])
    if invitation is None:
        raise not_found()
    if invitation["userId"] != call.user.id:
        raise permission_denied()
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


# ---- user profiles ----


@handles("classroom.userProfiles.get")
def get_user_profile(call: Call) -> Json:
    user = user_of(call, call.params["userId"], domain_only=False)
    shown = profile(user)
    shown["verifiedTeacher"] = False
    return shown
