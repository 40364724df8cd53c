"""Classroom v1: courseWork (with scheduled publishing and individual assignees) and submissions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from integrator.sandbox.google.classroom import course_for, course_of, is_admin, listed, now, user_of
from integrator.sandbox.google.errors import GoogleError, invalid, not_found, permission_denied
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant
from integrator.sandbox.google.util import parse_time, rfc3339

Json = dict[str, Any]
PATCHABLE = (
    "title", "description", "state", "dueDate", "dueTime", "maxPoints", "scheduledTime",
    "submissionModificationMode", "topicId", "materials",
)  # fmt: skip
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def publish_due(tenant: GoogleTenant) -> None:
    """Publish drafts whose scheduledTime has passed on the sandbox clock, as Classroom does."""
    clock = tenant.state.clock.now()
    for works in tenant.classroom.course_work.values():
        for work in works.values():
            if (
                work["state"] == "DRAFT"
                and "scheduledTime" in work
                and parse_time(work["scheduledTime"]) <= clock
            ):
                work["state"] = "PUBLISHED"
                work["updateTime"] = work["scheduledTime"]


def _work(call: Call, key: str = "id", *, students_too: bool = False) -> tuple[Json, Json]:
    publish_due(call.tenant)
    course = course_for(call, call.params["courseId"], students_too=students_too)
    work = call.tenant.classroom.course_work[course["id"]].get(call.params[key])
    if work is None:
        raise not_found()
    return course, work


def _materials(call: Call, materials: list[Json]) -> list[Json]:
    filled: list[Json] = []
    for item in materials:
        item = dict(item)
        if "driveFile" in item:
            shared = dict(item["driveFile"])
            inner = dict(shared.get("driveFile", {}))
            found = call.tenant.drive.files.get(str(inner.get("id", "")))
            if found is None:
                raise invalid("@InvalidMaterial The Drive file does not exist or is not accessible.")
            inner.update(title=found.resource["name"], alternateLink=found.resource["webViewLink"],
                         thumbnailUrl=f"https://drive.google.com/thumbnail?id={found.resource['id']}&sz=s200")
            shared["driveFile"] = inner
            shared.setdefault("shareMode", "VIEW")
            item["driveFile"] = shared
        if "link" in item:
            # Classroom fetches the page for its title and renders a thumbnail; the sandbox has no
            # web, so the title is the address without its scheme (what Classroom shows for a page
            # without a <title>).
            url = str(item["link"].get("url") or "")
            if not url:
                raise invalid("link.url: URL is required.")
            item["link"] = {
                "url": url,
                "title": url.split("://", 1)[-1],  # read-only: a title sent in is ignored
                "thumbnailUrl": f"https://classroom.google.com/webthumbnail?url={quote(url, safe='')}",
            }
        filled.append(item)
    return filled


def _check_due(work: Json) -> None:
    if ("dueDate" in work) != ("dueTime" in work):
        raise invalid("dueTime must be specified if dueDate is specified.")
    if work.get("state") != "DRAFT" and "scheduledTime" in work and work.get("state") == "PUBLISHED":
        work.pop("scheduledTime")


def _assignees(call: Call, course_id: str, student_ids: list[str]) -> list[str]:
    roster = call.tenant.classroom.students[course_id]
    resolved: list[str] = []
    for key in student_ids:
        user = call.tenant.user(key)
        if user is None or user.id not in roster:
            raise invalid("@InvalidStudentIds One or more students are not enrolled in the course.")
        resolved.append(user.id)
    return resolved


@handles("classroom.courses.courseWork.create")
def create_work(call: Call) -> Json:
    publish_due(call.tenant)
    course = course_for(call, call.params["courseId"])
    body: Json = dict(call.body or {})
    if not body.get("title"):
        raise invalid("title: Title is required.")
    if body.get("workType") is None:
        raise invalid("workType: Work type is required.")
    if body.get("state") == "DELETED":
        raise invalid("state: DELETED is not a valid state for creation.")
    mode = body.get("assigneeMode", "ALL_STUDENTS")
    work_id = call.tenant.new_id(12, first="5")
    stamp = now(call)
    keep = ("title", "description", "dueDate", "dueTime", "scheduledTime", "maxPoints", "workType", "topicId")
    work: Json = {k: body[k] for k in keep if k in body}
    work.update(
        courseId=course["id"],
        id=work_id,
        state=body.get("state", "DRAFT"),
        alternateLink=f"https://classroom.google.com/c/{course['id']}/a/{work_id}/details",
        creationTime=stamp,
        updateTime=stamp,
        assigneeMode=mode,
        submissionModificationMode=body.get("submissionModificationMode", "MODIFIABLE_UNTIL_TURNED_IN"),
        creatorUserId=call.user.id,
        associatedWithDeveloper=True,
    )
    if body.get("materials"):
        work["materials"] = _materials(call, body["materials"])
    if mode == "INDIVIDUAL_STUDENTS":
        ids = (body.get("individualStudentsOptions") or {}).get("studentIds") or []
        if not ids:
            raise invalid("individualStudentsOptions.studentIds is required for INDIVIDUAL_STUDENTS.")
        work["individualStudentsOptions"] = {"studentIds": _assignees(call, course["id"], ids)}
    if "topicId" in work and work["topicId"] not in call.tenant.classroom.topics[course["id"]]:
        raise not_found()
    _check_due(work)
    call.tenant.classroom.course_work[course["id"]][work_id] = work
    publish_due(call.tenant)
    return dict(work)


@handles("classroom.courses.courseWork.get")
def get_work(call: Call) -> Json:
    return dict(_work(call)[1])


@handles("classroom.courses.courseWork.list")
def list_work(call: Call) -> Json:
    publish_due(call.tenant)
    course = course_for(call, call.params["courseId"])
    states = call.param("courseWorkStates") or ["PUBLISHED"]
    items = [
        dict(w) for w in call.tenant.classroom.course_work[course["id"]].values() if w["state"] in states
    ]
    order = call.param("orderBy") or "updateTime desc"
    key = "dueDate" if order.startswith("dueDate") else "updateTime"
    items.sort(key=lambda w: str(w.get(key, "")), reverse=not order.endswith(" asc"))
    return listed(call, items, "courseWork")


@handles("classroom.courses.courseWork.patch")
def patch_work(call: Call) -> Json:
    course, work = _work(call)
    mask = [f.strip() for f in (call.param("updateMask") or "").split(",") if f.strip()]
    if not mask:
        raise invalid("updateMask: Update mask is required.")
    body: Json = call.body or {}
    for name in mask:
        if name not in PATCHABLE:
            raise invalid(f"updateMask: {name} is not a valid field.")
        if name == "state" and work["state"] == "PUBLISHED" and body.get("state") == "DRAFT":
            raise GoogleError(400, "@CannotChangeStateToDraft", "FAILED_PRECONDITION")
        if name == "scheduledTime" and work["state"] != "DRAFT":
            raise GoogleError(400, "@ScheduledTimeOnlyForDrafts", "FAILED_PRECONDITION")
        value = body.get(name)
        if value is None:
            work.pop(name, None)
        else:
            work[name] = _materials(call, value) if name == "materials" else value
    _check_due(work)
    work["updateTime"] = now(call)
    publish_due(call.tenant)
    return dict(work)


@handles("classroom.courses.courseWork.delete")
def delete_work(call: Call) -> Json:
    course, work = _work(call)
    del call.tenant.classroom.course_work[course["id"]][work["id"]]
    call.tenant.classroom.submissions.pop((course["id"], work["id"]), None)
    return {}


@handles("classroom.courses.courseWork.modifyAssignees")
def modify_assignees(call: Call) -> Json:
    course, work = _work(call)
    body: Json = call.body or {}
    mode = body.get("assigneeMode")
    if mode is None:
        raise invalid("assigneeMode: Assignee mode is required.")
    if mode == "ALL_STUDENTS":
        work.pop("individualStudentsOptions", None)
    else:
        options = body.get("modifyIndividualStudentsOptions") or {}
        current = list((work.get("individualStudentsOptions") or {}).get("studentIds", []))
        for sid in _assignees(call, course["id"], options.get("addStudentIds", [])):
            if sid not in current:
                current.append(sid)
        removed = set(_assignees(call, course["id"], options.get("removeStudentIds", [])))
        current = [sid for sid in current if sid not in removed]
        if not current:
            raise invalid("@NoAssignees An individually assigned item needs at least one student.")
        work["individualStudentsOptions"] = {"studentIds": current}
    work["assigneeMode"] = mode
    work["updateTime"] = now(call)
    return dict(work)


# ---- student submissions ----


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
    course, work = _work(call, "courseWorkId", students_too=True)
    for sub in submissions_of(call.tenant, course["id"], work).values():
        if sub["id"] == call.params["id"]:
            if sub["userId"] != call.user.id and not _teaches(call, course["id"]):
                raise permission_denied()
            return _view(call.tenant, work, sub)
    raise not_found()


def _transition(call: Call, state: str, allowed: tuple[str, ...], actor: str, *, students_too: bool = False) -> Json:
    course, work = _work(call, "courseWorkId", students_too=students_too)
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
    course, work = _work(call, "courseWorkId", students_too=True)
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
