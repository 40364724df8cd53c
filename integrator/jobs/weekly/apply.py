"""Apply a weekly-setup plan to Google Workspace, in dependency order, by quota bucket.

Courses come first (a course adopted means the store lost track: folders are then looked for
by their tag before any is created). Then lanes run side by side; buckets.py sends their steps
in API-sized batches, one queue per quota bucket, so that a bucket waiting for its next minute
holds up only its own work:
- Drive: client folders -> week folders, sharing -> sharing removed.
- Classroom, one lane per GROUPS_PER_LANE groups: topics, enrolments -> coursework -> enrolments
  removed (coursework assignees are removed before the student leaves the course,
  because Classroom refuses to unassign someone who is no longer enrolled).

Crash safety: every confirmed result is written to the store right after its batch. Creates
that have no idempotency key of their own are made safe this way:
- course: created with the alias as id; ALREADY_EXISTS -> GET by alias and adopt.
- folder: a Drive id reserved with generateIds is stored (status ``pending``) before the create;
  a repeat create with the same id answers 409 and the folder is adopted.
- coursework: a ``pending`` row is stored before the create and the create is not retried
  blindly; after a lost answer (not after a 429 or a connection never made: those were not
  processed and are sent again) the course's coursework is listed and the work is found
  by the marker line in its description, then only what is missing is created.
- topics, enrolments, invitations: a repeat answers ALREADY_EXISTS and is looked up.
- sharing: Drive keeps one permission per user, so a repeat create is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from googleapiclient.http import HttpRequest
from sqlalchemy.orm import Session

from integrator.jobs.plan import Action
from integrator.jobs.weekly.buckets import Buckets
from integrator.jobs.weekly.coursework import CourseworkStage
from integrator.jobs.weekly.rosters import RosterStage
from integrator.jobs.weekly.steps import Lane, Step, exists, gone
from integrator.providers.google.classroom import (
    Classroom,
)
from integrator.providers.google.client import GoogleClient, ItemResult
from integrator.store.models import Client, ExternalResource

log = logging.getLogger(__name__)

DRIVE = ("folder", "week_folder", "permission")
#: Groups whose Classroom work forms one lane: a lane's coursework starts once its own groups are
#: enrolled, while the admin account's bucket goes on enrolling the next lane's (buckets.py).
GROUPS_PER_LANE = 25


class Applier(RosterStage):
    """Applies one organisation's planned week; the stages are its base classes' methods."""

    # ---- the lanes ----
    def apply(self) -> None:
        """Apply the plan. Progress continues from the recorder's `done`: the caller sets the run's
        total (Google and meetings together) before anything is applied."""
        acts = self.planned.plan.actions
        self.base = self.recorder.done
        if self.recorder.total < self.base + len(acts):  # used on its own: the plan is the whole run
            self.recorder.progress(total=self.base + len(acts))
        self.check_lease()
        self.record_accepted()
        # Courses first, on their own (a batch per 50 groups): a course adopted means the store lost
        # track, and then the folders are looked for by their tag before any is created.
        courses = [a for a in acts if a.resource == "course"]
        Buckets(self).run([self.stage_courses(courses)])
        self.advance(courses)
        drive = [a for a in acts if a.resource in DRIVE]
        groups: dict[str | None, list[Action]] = {}
        for a in acts:
            if a.resource not in (*DRIVE, "course"):
                groups.setdefault(a.group, []).append(a)
        keys = sorted(groups, key=lambda g: g or "")
        parts = [[a for g in keys[i:i + GROUPS_PER_LANE] for a in groups[g]]
                 for i in range(0, len(keys), GROUPS_PER_LANE)]
        Buckets(self).run([self.drive_lane(drive), *(self.classroom_lane(p) for p in parts)])
        self.advance(acts)

    def drive_lane(self, acts: list[Action]) -> Lane:
        """Client folders -> week folders and sharing -> sharing removed (it needs no course)."""
        stages = [(self.create_folders, [a for a in acts if a.resource == "folder" and a.op == "create"]),
                  (self.drive_children, [a for a in acts if a.resource in ("week_folder", "permission")
                                         and a.op != "remove"]),
                  (self.stage_removals, [a for a in acts if a.resource == "permission" and a.op == "remove"])]
        for stage, actions in stages:
            yield from stage(actions)
            self.advance(actions)

    def classroom_lane(self, acts: list[Action]) -> Lane:
        """Some groups' topics and enrolments -> coursework -> enrolments removed (coursework
        assignees go first: Classroom refuses to unassign someone no longer enrolled)."""
        stages: list[tuple[Callable[[list[Action]], Lane], list[Action]]] = [
            (self.classroom_children, [a for a in acts if a.resource in ("topic", "enrolment") and a.op != "remove"]),
            (CourseworkStage(self).run, [a for a in acts if a.resource in ("coursework", "assignees", "duplicate")]),
            (self.stage_removals, [a for a in acts if a.resource == "enrolment" and a.op == "remove"]),
        ]
        for stage, actions in stages:
            yield from stage(actions)
            self.advance(actions)

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

    def stage_courses(self, actions: list[Action]) -> Lane:
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
        yield from self.hand_over(handover)
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
        yield from self.run_steps(steps)
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

        yield from self.run_steps([Step(a, self.classroom.get_course(self.desired(a).detail["alias"],
                                                          subject=self.course_spec(self.desired(a)).owner), adopted)
                        for a in adopt])
        yield from self.run_steps(fix)

    def hand_over(self, actions: list[Action]) -> Lane:
        """A new coordinator becomes a teacher first: Classroom hands a course only to a teacher."""
        def added(s: Session, a: Action, r: ItemResult[int]) -> None:
            if not (r.ok or exists(r.error)):
                self.fail(a, r.error or "unknown")

        yield from self.run_steps([Step(a, self.classroom.add_teacher(self.ext("course", a.key) or "",
                                                           self.course_spec(self.desired(a)).owner), added)
                        for a in actions if self.ext("course", a.key)])


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
