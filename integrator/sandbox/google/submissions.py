"""Classroom v1 student submissions: created for every assignee of published work, turned in and
reclaimed by their own student, returned by a teacher."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from integrator.sandbox.google.classroom import course_for, course_of, is_admin, listed, now, user_of
from integrator.sandbox.google.coursework import ALNUM, publish_due, work_of
from integrator.sandbox.google.errors import GoogleError, not_found, permission_denied
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant
from integrator.sandbox.google.util import parse_time, rfc3339

Json = dict[str, Any]


def _assigned(tenant: GoogleTenant, course_id: str, work: Json) -> list[str]:
    roster = tenant.classroom.students[course_id]
    if work["assigneeMode"] == "INDIVIDUAL_STUDENTS":
        return [s for s in work["individualStudentsOptions"]["studentIds"] if s in roster]
    return list(roster)


def submissions_of(tenant: GoogleTenant, course_id: str, work: Json) -> dict[str, Json]:
    """Submissions exist for every assigned student of published work (created on first need)."""
    found = tenant.classroom.submissions.setdefault((course_id, work["id"]), {})
    if work["state"] != "PUBLISHED":
        return found
    stamp = rfc3339(tenant.state.clock.now())
    for student in _assigned(tenant, course_id, work):
        if student not in found:
            found[student] = {
                "courseId": course_id,
                "courseWorkId": work["id"],
                "id": "Cg" + tenant.new_id(12, alphabet=ALNUM),
                "userId": student,
                "creationTime": stamp,
                "updateTime": stamp,
                "state": "NEW",
                "alternateLink": f"{work['alternateLink']}?sub={student}",
                "courseWorkType": work.get("workType", "ASSIGNMENT"),
                "associatedWithDeveloper": True,
                "submissionHistory": [
                    {"stateHistory": {"state": "CREATED", "stateTimestamp": stamp, "actorUserId": student}}
                ],
                "assignmentSubmission": {},
            }
    return found


def _teaches(call: Call, course_id: str) -> bool:
    return is_admin(call) or call.user.id in call.tenant.classroom.teachers[course_id]


def _due(work: Json) -> datetime | None:
    if "dueDate" not in work:
        return None
    d, t = work["dueDate"], work.get("dueTime", {})
    return datetime(d["year"], d["month"], d["day"], t.get("hours", 0), t.get("minutes", 0), tzinfo=UTC)


def _view(tenant: GoogleTenant, work: Json, submission: Json) -> Json:
    shown = dict(submission)
    due = _due(work)
    if due is not None:
        if submission["state"] in ("TURNED_IN", "RETURNED"):
            turned = [
                h["stateHistory"]["stateTimestamp"]
                for h in submission["submissionHistory"]
                if h.get("stateHistory", {}).get("state") == "TURNED_IN"
            ]
            late = bool(turned) and parse_time(turned[-1]) > due
        else:
            late = tenant.state.clock.now() > due
        if late:
            shown["late"] = True
    return shown


@handles("classroom.courses.courseWork.studentSubmissions.list")
def list_submissions(call: Call) -> Json:
    publish_due(call.tenant)
    tenant = call.tenant
    course = course_for(call, call.params["courseId"], students_too=True)
    works = tenant.classroom.course_work[course["id"]]
    own_only = not _teaches(call, course["id"])
    key = call.params["courseWorkId"]
    if key == "-":
        selected = [w for w in works.values() if w["state"] == "PUBLISHED"]
    elif key in works:
        selected = [works[key]]
    else:
        raise not_found()
    user = user_of(call, call.param("userId"), domain_only=False).id if call.param("userId") else None
    states, late = call.param("states") or [], call.param("late")
    items: list[Json] = []
    for work in selected:
        for sub in submissions_of(tenant, course["id"], work).values():
            shown = _view(tenant, work, sub)
            if own_only and sub["userId"] != call.user.id:
                continue  # a student sees only their own submissions
            if (user is None or sub["userId"] == user) and (not states or sub["state"] in states):
                if late == "LATE_ONLY" and not shown.get("late"):
                    continue
                if late == "NOT_LATE_ONLY" and shown.get("late"):
                    continue
                items.append(shown)
    return listed(call, items, "studentSubmissions")


@handles("classroom.courses.courseWork.studentSubmissions.get")
def get_submission(call: Call) -> Json:
    course, work = work_of(call, "courseWorkId", students_too=True)
    for sub in submissions_of(call.tenant, course["id"], work).values():
        if sub["id"] == call.params["id"]:
            if sub["userId"] != call.user.id and not _teaches(call, course["id"]):
                raise permission_denied()
            return _view(call.tenant, work, sub)
    raise not_found()


def _transition(call: Call, state: str, allowed: tuple[str, ...], actor: str, *, students_too: bool = False) -> Json:
    course, work = work_of(call, "courseWorkId", students_too=students_too)
    for sub in submissions_of(call.tenant, course["id"], work).values():
        if sub["id"] == call.params["id"]:
            if sub["state"] not in allowed:
                raise GoogleError(400, "Precondition check failed.", "FAILED_PRECONDITION")
            stamp = now(call)
            sub["state"], sub["updateTime"] = state, stamp
            sub["submissionHistory"].append(
                {"stateHistory": {"state": state, "stateTimestamp": stamp, "actorUserId": actor}}
            )
            return {}
    raise not_found()


@handles("classroom.courses.courseWork.studentSubmissions.return")
def return_submission(call: Call) -> Json:
    """A teacher hands the work back (the only way a submission becomes RETURNED)."""
    return _transition(call, "RETURNED", ("TURNED_IN", "CREATED", "NEW", "RECLAIMED_BY_STUDENT"), call.user.id)


def _own_submission(call: Call) -> tuple[Json, Json]:
    """The submission, if the caller is the student who owns it: turnIn and reclaim "may only be
    called by the student that owns the specified student submission" (PERMISSION_DENIED)."""
    course, work = work_of(call, "courseWorkId", students_too=True)
    found = next(
        (s for s in submissions_of(call.tenant, course["id"], work).values() if s["id"] == call.params["id"]),
        None,
    )
    if found is None:
        raise not_found()
    if found["userId"] != call.user.id:
        raise permission_denied()
    return course, found


@handles("classroom.courses.courseWork.studentSubmissions.turnIn")
def turn_in_submission(call: Call) -> Json:
    _own_submission(call)
    return _transition(
        call, "TURNED_IN", ("NEW", "CREATED", "RECLAIMED_BY_STUDENT", "RETURNED"), call.user.id,
        students_too=True,
    )


@handles("classroom.courses.courseWork.studentSubmissions.reclaim")
def reclaim_submission(call: Call) -> Json:
    """A student takes turned-in work back (FAILED_PRECONDITION unless it is TURNED_IN)."""
    _own_submission(call)
    return _transition(call, "RECLAIMED_BY_STUDENT", ("TURNED_IN",), call.user.id, students_too=True)


def submit_task(
    tenant: GoogleTenant,
    course_id: str,
    course_work_id: str,
    user_id: str,
    at: datetime | None,
    turn_in: bool,
) -> str:
    """A student opens (``turn_in=False``) or turns in their work at ``at`` (default: now)."""
    with tenant.state.lock:
        publish_due(tenant)
        course = course_of(tenant, course_id)
        work = tenant.classroom.course_work[course["id"]][course_work_id]
        user = tenant.user(user_id)
        if user is None:
            raise KeyError(f"unknown user {user_id}")
        submission = submissions_of(tenant, course["id"], work).get(user.id)
        if submission is None:
            raise KeyError("the work is not assigned to this student, or is not published")
        stamp = rfc3339(at or tenant.state.clock.now())
        state = "TURNED_IN" if turn_in else "CREATED"
        submission["state"] = state
        submission["updateTime"] = stamp
        if turn_in:
            submission["submissionHistory"].append(
                {"stateHistory": {"state": "TURNED_IN", "stateTimestamp": stamp, "actorUserId": user.id}}
            )
        return str(submission["id"])
