"""Classroom v1: courseWork (with scheduled publishing and individual assignees); submissions are in
``submissions``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from integrator.sandbox.google.classroom import course_for, listed, now
from integrator.sandbox.google.errors import GoogleError, invalid, not_found
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant
from integrator.sandbox.google.util import parse_time

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


def work_of(call: Call, key: str = "id", *, students_too: bool = False) -> tuple[Json, Json]:
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
def creatework_of(call: Call) -> Json:
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
def getwork_of(call: Call) -> Json:
    return dict(work_of(call)[1])


@handles("classroom.courses.courseWork.list")
def listwork_of(call: Call) -> Json:
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
def patchwork_of(call: Call) -> Json:
    course, work = work_of(call)
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
def deletework_of(call: Call) -> Json:
    course, work = work_of(call)
    del call.tenant.classroom.course_work[course["id"]][work["id"]]
    call.tenant.classroom.submissions.pop((course["id"], work["id"]), None)
    return {}


@handles("classroom.courses.courseWork.modifyAssignees")
def modify_assignees(call: Call) -> Json:
    course, work = work_of(call)
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
