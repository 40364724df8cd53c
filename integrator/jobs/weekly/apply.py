"""Apply a weekly-setup plan to Google Workspace, in dependency stages and API-sized batches.

Stages: courses -> client folders -> topics, enrolments, week folders, sharing -> coursework ->
removals (coursework assignees are removed before the student leaves the course, because
Classroom refuses to unassign someone who is no longer enrolled).

Crash safety: every confirmed result is written to the store right after its batch. Creates
that have no idempotency key of their own are made safe this way:
- course: created with the alias as id; ALREADY_EXISTS -> GET by alias and adopt.
- folder: a Drive id reserved with generateIds is stored (status ``pending``) before the create;
  a repeat create with the same id answers 409 and the folder is adopted.
- coursework: a ``pending`` row is stored before the create and the create is not retried
  blindly; after an uncertain outcome the course's coursework is listed and the work is found
  by the marker line in its description, then only what is missing is created.
- topics, enrolments, invitations: a repeat answers ALREADY_EXISTS and is looked up.
- sharing: Drive keeps one permission per user, so a repeat create is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from googleapiclient.http import HttpRequest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from integrator.config import OrganisationConfig
from integrator.jobs.plan import Action
from integrator.jobs.runs import RunRecorder
from integrator.jobs.weekly.coursework import CourseworkStage
from integrator.jobs.weekly.plan import PlannedOrg
from integrator.jobs.weekly.state import Desired
from integrator.jobs.weekly.steps import Step, exists, gone
from integrator.providers.errors import Fatal, NeedsReauth, ProviderError
from integrator.providers.google.classroom import (
    Classroom,
    CourseSpec,
)
from integrator.providers.google.client import GoogleClient, ItemResult
from integrator.providers.google.drive import Drive, FolderSpec, key_of
from integrator.store.db import Store
from integrator.store.models import Client, ExternalResource, StaffUser

log = logging.getLogger(__name__)

class Applier:
    def __init__(self, store: Store, org_cfg: OrganisationConfig, gc: GoogleClient, planned: PlannedOrg,
                 recorder: RunRecorder, now: datetime) -> None:
        assert org_cfg.google is not None
        self.store, self.org_cfg, self.google, self.gc = store, org_cfg, org_cfg.google, gc
        self.planned, self.recorder, self.now = planned, recorder, now
        self.classroom, self.drive = Classroom(gc), Drive(gc)
        self.org_id = planned.org_id
        self.rows: dict[tuple[str, str], dict[str, Any]] = {
            k: {"id": r.id, "external_id": r.external_id, "status": r.status, "state": dict(r.state or {})}
            for k, r in planned.rows.items()}
        self.adopted: set[str] = set()
        self.base = recorder.done
        self.finished: set[int] = set()  # id() of the plan's actions seen through
        self.followups: list[Action] = []
        self.user_ids: dict[int, str] = {}
        self.loaded: dict[int, ExternalResource] = {}
        with store.session() as s:
            self.staff = {u.id: u.email for u in s.scalars(select(StaffUser))}
            self.clients = {c.id: (c.email or "").lower() for c in
                            s.scalars(select(Client).where(Client.organisation_id == self.org_id))}
        self.codes = {c.code: c.client_id for g in planned.week_state.groups for c in g.clients}

    # ---- store ----
    def ext(self, kind: str, key: str) -> str | None:
        row = self.rows.get((kind, key))
        return row["external_id"] if row and row["status"] != "removed" else None

    def _row(self, s: Session, kind: str, key: str) -> ExternalResource | None:
        known = self.rows.get((kind, key))
        if not known:
            return None
        obj = known.get("obj")
        if obj is not None and obj in s:
            return obj  # type: ignore[no-any-return]
        row_id = known["id"] if known["id"] is not None else (obj.id if obj is not None else None)
        if row_id is None:
            return None
        held = self.loaded.get(row_id)
        return held if held is not None and held in s else s.get(ExternalResource, row_id)

    def put(self, s: Session, kind: str, key: str, *, external_id: str | None = None, status: str = "active",
            **state: Any) -> None:
        """Record a resource's external id, status and state; written when the session commits."""
        row = self._row(s, kind, key)
        if row is None:
            row = ExternalResource(organisation_id=self.org_id, kind=kind, local_key=key, state={})
            s.add(row)
        merged = {**(row.state or {}), **state}
        row.state = merged
        if external_id is not None:
            row.external_id = external_id
        row.status = status
        # No flush per row (a round trip each): ids are read from the object after the commit.
        self.rows[(kind, key)] = {"id": row.id, "obj": row, "external_id": row.external_id, "status": status,
                                  "state": merged}

    def forget(self, s: Session, kind: str, key: str) -> None:
        row = self._row(s, kind, key)
        self.rows.pop((kind, key), None)
        if row is not None:
            s.delete(row)

    def preload(self, s: Session, keys: list[tuple[str, str]]) -> None:
        """Load the rows a batch's results will touch in one query (the session's identity map)."""
        ids = [i for k in (self.rows.get(key) for key in keys) if k
               and (i := k.get("id") or getattr(k.get("obj"), "id", None)) is not None]
        # Held here: the session's identity map keeps only weak references.
        self.loaded = {r.id: r for r in s.scalars(select(ExternalResource).where(ExternalResource.id.in_(ids)))} \
            if ids else {}

    # ---- running steps in batches, recording after each batch ----
    def run_steps(self, steps: list[Step], *, retry: bool = True) -> None:
        by_api: dict[str, list[Step]] = {}
        for st in steps:
            by_api.setdefault(self.gc.api_of(st.request), []).append(st)
        for api, group in by_api.items():
            size = self.gc.batch_limits.get(api, 50) if self.gc.batching else 1
            for start in range(0, len(group), size):
                chunk = group[start:start + size]
                results = self.gc.batch([(i, st.request) for i, st in enumerate(chunk)], retry=retry)
                with self.store.session() as s:
                    self.preload(s, [(st.action.resource, st.action.key) for st in chunk]
                                 + [("coursework", st.action.key) for st in chunk])
                    for i, st in enumerate(chunk):
                        st.handle(s, st.action, results[i])
                    self.save_user_ids(s)
                self.advance([st.action for st in chunk])

    def advance(self, actions: list[Action]) -> None:
        """Progress: the plan's actions seen through, written once per batch or stage (not per item).

        An action may take several requests (create, adopt, patch) or none (a store-only update):
        each counts once, so the bar ends exactly at the plan's size.
        """
        self.finished.update(id(a) for a in actions)
        self.recorder.progress(self.base + min(len(self.finished), len(self.planned.plan.actions)))

    def save_user_ids(self, s: Session) -> None:
        """Clients' Google user ids learnt from enrolments, in one statement per batch."""
        if self.user_ids:
            s.execute(update(Client), [{"id": cid, "google_user_id": uid} for cid, uid in self.user_ids.items()])
            self.user_ids.clear()

    def fail(self, action: Action, err: ProviderError | str) -> None:
        if isinstance(err, NeedsReauth):
            raise err
        kind = type(err).__name__.lower() if isinstance(err, ProviderError) else "skipped"
        self.recorder.error(action.key, str(err), kind=kind)
        self.recorder.count(f"failed:{action.resource}")

    def ok(self, action: Action, what: str | None = None) -> None:
        self.recorder.count(what or f"{action.op}:{action.resource}")

    def desired(self, action: Action) -> Desired:
        return self.planned.desired[action.key]

    # ---- the stages ----
    def apply(self) -> None:
        """Apply the plan. Progress continues from the recorder's `done`: the caller sets the run's
        total (Google and meetings together) before anything is applied."""
        acts = self.planned.plan.actions
        self.base = self.recorder.done
        if self.recorder.total < self.base + len(acts):  # used on its own: the plan is the whole run
            self.recorder.progress(total=self.base + len(acts))
        self.record_accepted()
        stages: list[tuple[Callable[[list[Action]], None], list[Action]]] = [
            (self.stage_courses, [a for a in acts if a.resource == "course"]),
            (self.stage_folders, [a for a in acts if a.resource == "folder" and a.op == "create"]),
            (self.stage_children, [a for a in acts if a.resource in ("topic", "enrolment", "week_folder", "permission")
                                   and a.op != "remove"]),
            (CourseworkStage(self).run, [a for a in acts if a.resource in ("coursework", "assignees")]),
            (self.stage_removals, [a for a in acts if a.resource in ("enrolment", "permission") and a.op == "remove"]),
        ]
        for stage, actions in stages:
            stage(actions)
            self.advance(actions)
        self.advance(acts)

    def record_accepted(self) -> None:
        if not self.planned.accepted:
            return
        with self.store.session() as s:
            for key, user_id in self.planned.accepted.items():
                self.put(s, "enrolment", key, external_id=user_id, accepted=True)
                code = key.split(":")[2]
                client = s.get(Client, self.codes.get(code, -1))
                if client is not None and client.google_user_id != user_id:
                    client.google_user_id = user_id
                self.recorder.count("accepted:invitation")

    def owner_of(self, course_key: str) -> str | None:
        d = self.planned.desired.get(course_key)
        return self.staff.get(d.fp["owner"]) if d else None

    def course_spec(self, d: Desired) -> CourseSpec:
        return CourseSpec(d.detail["alias"], d.fp["name"], d.fp["section"], self.staff[d.fp["owner"]])

    # courses
    def stage_courses(self, actions: list[Action]) -> None:
        adopt: list[Action] = []

        def created(s: Session, a: Action, r: ItemResult[int]) -> None:
            d = self.desired(a)
            if r.ok:
                self.put(s, "course", a.key, external_id=str(r.response["id"]), fp=d.fp)
                self.ok(a)
            elif exists(r.error) and a.op == "create":
                adopt.append(a)
            else:
                self.fail(a, r.error or "unknown")

        handover = [a for a in actions if a.op == "update" and "owner" in a.detail.get("fields", [])]
        self.hand_over(handover)
        steps: list[Step] = []
        for a in actions:
            d = self.desired(a)
            spec = self.course_spec(d)
            cid = self.ext("course", a.key)
            if a.op == "update" and cid:
                req = self.classroom.patch_course(cid, spec, new_owner=a in handover)
            else:
                req = self.classroom.create_course(spec)
            steps.append(Step(a, req, created))
        self.run_steps(steps)
        if not adopt:
            return
        fix: list[Step] = []

        def adopted(s: Session, a: Action, r: ItemResult[int]) -> None:
            d = self.desired(a)
            if not r.ok:
                self.fail(a, r.error or "unknown")
                return
            course = r.response
            self.adopted.add(a.key)
            same = course.get("name") == d.fp["name"] and course.get("courseState") == "ACTIVE" \
                and course.get("section") == d.fp["section"]
            self.put(s, "course", a.key, external_id=str(course["id"]), fp=d.fp if same else {})
            self.ok(a, "adopted:course")
            if not same:
                fix.append(Step(a, self.classroom.patch_course(str(course["id"]), self.course_spec(d)), created))

        self.run_steps([Step(a, self.classroom.get_course(self.desired(a).detail["alias"],
                                                          subject=self.course_spec(self.desired(a)).owner), adopted)
                        for a in adopt])
        self.run_steps(fix)

    def hand_over(self, actions: list[Action]) -> None:
        """A new coordinator becomes a teacher first: Classroom hands a course only to a teacher."""
        def added(s: Session, a: Action, r: ItemResult[int]) -> None:
            if not (r.ok or exists(r.error)):
                self.fail(a, r.error or "unknown")

        self.run_steps([Step(a, self.classroom.add_teacher(self.ext("course", a.key) or "",
                                                           self.course_spec(self.desired(a)).owner), added)
                        for a in actions if self.ext("course", a.key)])

    # folders (client folders and week folders share the reserve-then-create path)
    def folder_subject(self, folder_key: str) -> str | None:
        d = self.planned.desired.get(folder_key)
        owner = d.detail.get("owner") if d else (self.rows.get(("folder", folder_key)) or {}).get("state", {}).get("owner")
        return self.staff.get(owner) if owner else None

    def folder_spec(self, a: Action) -> FolderSpec | None:
        d = self.desired(a)
        if d.kind == "folder":
            parent: str | None = d.detail["parent"]
        else:
            parent = self.ext("folder", d.parent or "")
        if parent is None:
            return None
        return FolderSpec(a.key, self.planned.org_key, d.fp["name"], parent)

    def adopt_listed_folders(self, actions: list[Action]) -> list[Action]:
        """When the store lost track (a course had to be adopted), find our folders by their tag."""
        if not self.adopted or not actions:
            return actions
        subjects = {self.folder_subject(a.key if a.resource == "folder" else self.desired(a).parent or "")
                    for a in actions}
        found: dict[str, str] = {}
        for subject in subjects:
            files = self.gc.collect(self.drive.list_org_folders(subject, self.planned.org_key,
                                                                self.google.shared_drive_id), "files")
            found.update({k: f["id"] for f in files if (k := key_of(f))})
        rest: list[Action] = []
        with self.store.session() as s:
            for a in actions:
                if a.key in found:
                    self.put(s, a.resource, a.key, external_id=found[a.key], fp=self.desired(a).fp,
                             owner=self.desired(a).detail.get("owner"))
                    self.ok(a, f"adopted:{a.resource}")
                else:
                    rest.append(a)
        return rest

    def reserve_ids(self, actions: list[Action]) -> None:
        need = [a for a in actions if not self.ext(a.resource, a.key)]
        ids: list[str] = []
        while len(ids) < len(need):
            count = min(1000, len(need) - len(ids))
            ids.extend(self.gc.execute(self.drive.generate_ids(None, count))["ids"])
        with self.store.session() as s:
            for a, fid in zip(need, ids, strict=True):
                self.put(s, a.resource, a.key, external_id=fid, status="pending",
                         owner=self.desired(a).detail.get("owner"))

    def create_folders(self, actions: list[Action]) -> None:
        actions = self.adopt_listed_folders(actions)
        ready: list[tuple[Action, FolderSpec]] = []
        for a in actions:
            spec = self.folder_spec(a)
            if spec is None:
                self.fail(a, "the client's folder is not available")
            else:
                ready.append((a, spec))
        if not ready:
            return
        self.reserve_ids([a for a, _ in ready])

        def created(s: Session, a: Action, r: ItemResult[int]) -> None:
            if r.ok or exists(r.error):
                self.put(s, a.resource, a.key, status="active", fp=self.desired(a).fp)
                self.ok(a)
            elif isinstance(r.error, Fatal) and r.error.reason == "fileIdNotUsable":
                self.put(s, a.resource, a.key, status="pending", external_id="")
                self.fail(a, r.error)
            else:
                self.fail(a, r.error or "unknown")

        steps = []
        for a, spec in ready:
            subject = self.folder_subject(a.key if a.resource == "folder" else spec.local_key.replace(
                "week_folder:", "folder:").rsplit(":", 1)[0])
            steps.append(Step(a, self.drive.create_folder(subject, spec, self.ext(a.resource, a.key)), created))
        self.run_steps(steps)

    def stage_folders(self, actions: list[Action]) -> None:
        self.create_folders(actions)

    # topics, enrolments, week folders, sharing
    def stage_children(self, actions: list[Action]) -> None:
        self.adopt_topics([a for a in actions if a.resource == "topic"])
        topics = [a for a in actions if a.resource == "topic" and a.op == "create" and not self.done(a)]
        self.create_folders([a for a in actions if a.resource == "week_folder" and a.op == "create"])
        steps: list[Step] = []
        for a in topics:
            d = self.desired(a)
            cid, owner = self.ext("course", d.parent or ""), self.owner_of(d.parent or "")
            if cid and owner:
                steps.append(Step(a, self.classroom.create_topic(owner, cid, d.fp["name"]), self.topic_done))
            else:
                self.fail(a, "the group's course is not available")
        for a in actions:
            if a.resource == "enrolment":
                step = self.enrol_step(a)
                if step:
                    steps.append(step)
            elif a.resource == "permission" and a.op == "create":
                step = self.share_step(a)
                if step:
                    steps.append(step)
            elif a.op == "update" and a.resource in ("topic", "week_folder", "permission", "enrolment"):
                with self.store.session() as s:
                    self.put(s, a.resource, a.key, fp=self.desired(a).fp)
        self.run_steps(steps)
        self.run_followups()

    def done(self, a: Action) -> bool:
        row = self.rows.get((a.resource, a.key))
        return bool(row and row["status"] == "active" and row["state"].get("fp") == self.desired(a).fp)

    def adopt_topics(self, actions: list[Action]) -> None:
        courses = {self.desired(a).parent for a in actions if self.desired(a).parent in self.adopted}
        self.adopt_topics_of({c for c in courses if c}, actions)

    def adopt_topics_of(self, courses: set[str], actions: list[Action]) -> None:
        if not courses:
            return
        reqs = {c: self.classroom.list_topics(self.owner_of(c) or "", self.ext("course", c) or "") for c in courses}
        listed = self.gc.batch_list_all(reqs, "topic")
        with self.store.session() as s:
            for a in actions:
                d = self.desired(a)
                res = listed.get(d.parent or "")
                if res is None or not res.ok:
                    continue
                hit = next((t for t in res.response if t.get("name") == d.fp["name"]), None)
                if hit:
                    self.put(s, "topic", a.key, external_id=str(hit["topicId"]), fp=d.fp)
                    self.ok(a, "adopted:topic")

    def topic_done(self, s: Session, a: Action, r: ItemResult[int]) -> None:
        if r.ok:
            self.put(s, "topic", a.key, external_id=str(r.response["topicId"]), fp=self.desired(a).fp)
            self.ok(a)
        elif exists(r.error):
            self.followups.append(a)
        else:
            self.fail(a, r.error or "unknown")

    def run_followups(self) -> None:
        pending, self.followups = self.followups, []
        topics = [a for a in pending if a.resource == "topic"]
        self.adopt_topics_of({self.desired(a).parent or "" for a in topics}, topics)
        steps = [self.lookup_enrolment(a) for a in pending if a.resource == "enrolment"]
        self.run_steps([st for st in steps if st is not None])

    def client_email(self, a: Action) -> str | None:
        cid = self.desired(a).detail.get("client_id") if a.key in self.planned.desired else self.codes.get(a.client or "")
        return self.clients.get(cid) if cid else None

    def enrol_step(self, a: Action) -> Step | None:
        d = self.desired(a)
        cid, email = self.ext("course", d.parent or ""), self.client_email(a)
        if not cid or not email:
            self.fail(a, "the group's course is not available")
            return None
        if d.fp["mode"] == "student":
            return Step(a, self.classroom.add_student(cid, email), self.enrolled)
        return Step(a, self.classroom.invite_student(self.owner_of(d.parent or "") or "", cid, email), self.enrolled)

    def enrolled(self, s: Session, a: Action, r: ItemResult[int]) -> None:
        d = self.desired(a)
        if r.ok and d.fp["mode"] == "student":
            user_id = str(r.response["userId"])
            self.put(s, "enrolment", a.key, external_id=user_id, fp=d.fp, accepted=True, mode="student")
            self.user_ids[d.detail["client_id"]] = user_id
            self.ok(a)
        elif r.ok:
            self.put(s, "enrolment", a.key, external_id=str(r.response["id"]), fp=d.fp, accepted=False,
                     mode="invitation")
            self.ok(a, "create:invitation")
        elif exists(r.error):
            self.followups.append(a)
        else:
            self.fail(a, r.error or "unknown")

    def lookup_enrolment(self, a: Action) -> Step | None:
        """After ALREADY_EXISTS: is the client a student already, or is the invitation pending?"""
        d = self.desired(a)
        cid, email = self.ext("course", d.parent or ""), self.client_email(a)
        if not cid or not email:
            return None

        def seen(s: Session, a: Action, r: ItemResult[int]) -> None:
            if r.ok:
                self.put(s, "enrolment", a.key, external_id=str(r.response["userId"]), fp=d.fp, accepted=True,
                         mode=d.fp["mode"])
                self.ok(a, "adopted:enrolment")
            elif gone(r.error) and d.fp["mode"] == "invitation":
                invites = self.gc.collect(self.classroom.list_invitations(cid, email), "invitations")
                if invites:
                    self.put(s, "enrolment", a.key, external_id=str(invites[0]["id"]), fp=d.fp, accepted=False,
                             mode="invitation")
                    self.ok(a, "adopted:invitation")
                else:
                    self.fail(a, "invitation exists but cannot be found")
            else:
                self.fail(a, r.error or "unknown")

        return Step(a, self.classroom.get_student(cid, email), seen)

    def share_step(self, a: Action) -> Step | None:
        d = self.desired(a)
        folder = self.ext("folder", d.parent or "")
        email = self.clients.get(d.detail["client_id"]) if "client_id" in d.detail else self.staff.get(d.detail["staff_id"])
        if not folder or not email:
            self.fail(a, "the client's folder is not available")
            return None

        def shared(s: Session, a: Action, r: ItemResult[int]) -> None:
            if r.ok:
                self.put(s, "permission", a.key, external_id=str(r.response["id"]), fp=d.fp, group=d.group)
                self.ok(a)
            else:
                self.fail(a, r.error or "unknown")

        return Step(a, self.drive.add_permission(self.folder_subject(d.parent or ""), folder, email), shared)

    def removed(self, s: Session, a: Action, r: ItemResult[int]) -> None:
        if r.ok or gone(r.error):
            self.put(s, a.resource, a.key, status="removed")
            self.ok(a)
        else:
            self.fail(a, r.error or "unknown")

    # removals of enrolments and sharing
    def stage_removals(self, actions: list[Action]) -> None:
        steps: list[Step] = []
        for a in actions:
            row = self.rows.get((a.resource, a.key)) or {}
            ext = row.get("external_id")
            if a.resource == "enrolment":
                course_key = f"course:{a.group}"
                cid = self.ext("course", course_key)
                if not cid or not ext:
                    continue
                if row["state"].get("accepted"):
                    steps.append(Step(a, self.classroom.remove_student(cid, ext), self.removed))
                else:
                    steps.append(Step(a, self.classroom.delete_invitation(ext), self.removed))
            else:
                folder_key = f"folder:{a.client}"
                folder = self.ext("folder", folder_key)
                if not folder or not ext:
                    continue
                steps.append(Step(a, self.drive.remove_permission(self.folder_subject(folder_key), folder, ext),
                                  self.removed))
        self.run_steps(steps)


def observe_invitations(gc: GoogleClient, planned_rows: dict[tuple[str, str], ExternalResource],
                        course_ids: dict[str, str], client_emails: dict[str, str]) -> dict[str, str]:
    """Invitations we sent that have since been accepted: enrolment key -> Google user id (reads only)."""
    classroom = Classroom(gc)
    open_rows = {key: row for (kind, key), row in planned_rows.items()
                 if kind == "enrolment" and row.status == "active" and not (row.state or {}).get("accepted")
                 and row.external_id}
    if not open_rows:
        return {}
    answers = gc.batch({key: classroom.get_invitation(str(row.external_id)) for key, row in open_rows.items()})
    accepted_or_gone = [key for key, res in answers.items() if gone(res.error)]
    checks: dict[str, HttpRequest] = {}
    for key in accepted_or_gone:
        _, group, code = key.split(":")
        cid, email = course_ids.get(f"course:{group}"), client_emails.get(code)
        if cid and email:
            checks[key] = classroom.get_student(cid, email)
    found = gc.batch(checks)
    return {key: str(res.response["userId"]) for key, res in found.items() if res.ok}
