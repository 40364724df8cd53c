"""Apply stage for coursework: create (safely), move, reassign and remove the day's work.

Coursework has no idempotency key of its own, so a create is recorded as ``pending`` before it
is sent and is never retried blindly: after an uncertain outcome (a lost answer, or an interrupted
run) the course's coursework is listed and the work is recognised by the marker line in its
description. A create answered 429 or never sent was not processed (`never_reached`): it is sent
again without that lookup, which at 10,000 clients would be hundreds of list calls per throttling.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from integrator.jobs.plan import Action
from integrator.jobs.weekly.duplicates import DuplicateHealer
from integrator.jobs.weekly.state import Desired
from integrator.jobs.weekly.steps import Handler, Lane, Step
from integrator.providers.errors import NeedsReauth, Retriable, never_reached
from integrator.providers.google.classroom import CourseWorkSpec, assignee_change, marker, marker_of
from integrator.providers.google.client import ItemResult

if TYPE_CHECKING:
    from integrator.jobs.weekly.apply import Applier


class CourseworkStage:
    def __init__(self, app: Applier) -> None:
        self.app = app

    def work_spec(self, d: Desired, students: list[str]) -> CourseWorkSpec | None:
        topic = self.app.ext("topic", d.detail["topic"])
        return CourseWorkSpec(d.key, d.fp["title"], d.detail["instructions"],
                              datetime.fromisoformat(d.fp["scheduled"]), datetime.fromisoformat(d.fp["due"]),
                              topic, tuple(students), (d.fp["material"],) if d.fp.get("material") else ())

    def student_ids(self, d: Desired, codes: Iterable[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for code in codes:
            uid = self.app.ext("enrolment", f"enrolment:{d.group}:{code}")
            row = self.app.rows.get(("enrolment", f"enrolment:{d.group}:{code}")) or {}
            if uid and row.get("state", {}).get("accepted"):
                out[code] = uid
        return out

    def run(self, actions: list[Action]) -> Lane:
        # Copies first: a patch or reassignment that follows goes to the copy our row then points to.
        yield from DuplicateHealer(self.app).run([a for a in actions if a.resource == "duplicate"])
        actions = [a for a in actions if a.resource != "duplicate"]
        creates = [a for a in actions if a.resource == "coursework" and a.op == "create"]
        lost = {self.app.desired(a).parent for a in creates
                if self.app.desired(a).parent in self.app.adopted or (self.app.rows.get(("coursework", a.key)) or {}).get(
                    "status") == "pending"}
        creates = self.adopt_coursework({c for c in lost if c}, creates)
        attempt = 1
        while creates:
            unsent: list[Action] = []
            uncertain: list[Action] = []
            errors: list[Retriable] = []
            yield from self.create_coursework(creates, unsent, uncertain, errors)
            worst = max(errors, key=lambda e: e.retry_after or 0.0, default=Retriable("uncertain coursework create"))
            if not (unsent or uncertain) or not self.app.gc.policy.wait_to_retry(attempt, worst):
                for a in unsent:
                    self.app.fail(a, "coursework not created (throttled or not sent); the next run creates it")
                for a in uncertain:
                    self.app.fail(a, "coursework create did not succeed; will be looked for on the next run")
                break
            attempt += 1
            # Only a create whose answer was lost may exist: a refused one is sent again as it is.
            creates = unsent + self.adopt_coursework({self.app.desired(a).parent or "" for a in uncertain}, uncertain)
        yield from self.update_coursework([a for a in actions if a.op == "update"])
        yield from self.remove_coursework([a for a in actions if a.op == "remove"])

    def adopt_coursework(self, courses: set[str], creates: list[Action]) -> list[Action]:
        """Find work created before an interruption by its marker; return the creates still needed.

        When a course's listing fails, its creates are not sent: the work may exist and we could
        not look. They fail for this run (the pending rows stay) and the next run looks again.
        """
        if not courses:
            return creates
        reqs = {c: self.app.classroom.list_coursework(self.app.owner_of(c) or "", self.app.ext("course", c) or "")
                for c in courses if self.app.ext("course", c)}
        listed = self.app.gc.batch_list_all(reqs, "courseWork")
        unlisted = {c: res.error for c, res in listed.items() if res.error is not None}
        for err in unlisted.values():
            if isinstance(err, NeedsReauth):
                raise err
        by_marker: dict[str, dict[str, Any]] = {}
        for res in listed.values():
            for work in res.response or []:
                m = marker_of(work.get("description"))
                # Of several copies the oldest is adopted; the next run's reconciliation heals the rest.
                if m and (m not in by_marker or str(work.get("creationTime", "")) < str(
                        by_marker[m].get("creationTime", ""))):
                    by_marker[m] = work
        rest: list[Action] = []
        with self.app.store.session() as s:
            for a in creates:
                d = self.app.desired(a)
                if (d.parent or "") in unlisted:
                    self.app.fail(a, f"not created: the course's coursework could not be listed to look for an "
                                     f"earlier create ({unlisted[d.parent or '']}); the next run looks again")
                    continue
                work = by_marker.get(marker(a.key))
                if work is None:
                    rest.append(a)
                    continue
                ids = self.student_ids(d, d.detail["assignees"])
                have = (work.get("individualStudentsOptions") or {}).get("studentIds", [])
                same = work.get("title") == d.fp["title"] and sorted(have) == sorted(ids.values())
                self.app.put(s, "coursework", a.key, external_id=str(work["id"]), fp=d.fp if same else {},
                         assignees=sorted(ids) if same else [], students=ids if same else {}, **_link(work))
                self.app.ok(a, "adopted:coursework")
        return rest

    def create_coursework(self, creates: list[Action], unsent: list[Action], uncertain: list[Action],
                          errors: list[Retriable]) -> Lane:
        """Send the creates; gather the ones not created, the ones maybe created, and their errors.

        A create refused with 429 or never sent (`never_reached`) did not happen: the bucket
        queues send it again as it is (buckets.py); one still refused when they give up has its
        pending row dropped. Only a lost answer (a timeout, reset or 5xx after the request left)
        makes the course's coursework be listed first.
        """
        steps: list[Step] = []
        specs: dict[str, dict[str, str]] = {}
        with self.app.store.session() as s:
            for a in creates:
                d = self.app.desired(a)
                ids = self.student_ids(d, d.detail["assignees"])
                cid, owner = self.app.ext("course", d.parent or ""), self.app.owner_of(d.parent or "")
                spec = self.work_spec(d, list(ids.values()))
                if not cid or not owner or spec is None or not ids or spec.topic_id is None:
                    self.app.fail(a, "the course, topic or enrolments are not available")
                    continue
                specs[a.key] = ids
                self.app.put(s, "coursework", a.key, status="pending")
                steps.append(Step(a, self.app.classroom.create_coursework(owner, cid, spec),
                                  self._work_created(specs, unsent, uncertain, errors)))
        yield from self.app.run_steps(steps, retry=False)

    def _work_created(self, specs: dict[str, dict[str, str]], unsent: list[Action], uncertain: list[Action],
                      errors: list[Retriable]) -> Handler:
        def handle(s: Session, a: Action, r: ItemResult[int]) -> None:
            d = self.app.desired(a)
            if r.ok:
                ids = specs[a.key]
                self.app.put(s, "coursework", a.key, external_id=str(r.response["id"]), fp=d.fp,
                         assignees=sorted(ids), students=ids, **_link(r.response))
                self.app.ok(a)
            elif isinstance(r.error, Retriable):
                errors.append(r.error)
                if never_reached(r.error):
                    self.app.forget(s, "coursework", a.key)  # refused unprocessed: nothing to look for
                    unsent.append(a)
                else:
                    uncertain.append(a)  # its answer was lost: it may exist, look before creating again
            else:
                self.app.forget(s, "coursework", a.key)  # refused: nothing was created
                self.app.fail(a, r.error or "unknown")
        return handle

    def update_coursework(self, actions: list[Action]) -> Lane:
        steps: list[Step] = []
        for a in actions:
            d = self.app.desired(a)
            row = self.app.rows.get(("coursework", a.key)) or {}
            wid, cid, owner = row.get("external_id"), self.app.ext("course", d.parent or ""), self.app.owner_of(d.parent or "")
            if not wid or not cid or not owner:
                self.app.fail(a, "the coursework is not available")
                continue
            if a.resource == "coursework":
                spec = self.work_spec(d, [])
                assert spec is not None
                steps.append(Step(a, self.app.classroom.patch_coursework(owner, cid, wid, spec), self._patched))
            else:
                old: dict[str, str] = dict(row["state"].get("students") or {})
                new = {**old, **self.student_ids(d, a.detail["add"])}
                for code in a.detail["remove"]:
                    new.pop(code, None)
                change = assignee_change(sorted(old.values()), sorted(new.values()))
                if change is None:
                    with self.app.store.session() as s:
                        self.app.put(s, "coursework", a.key, assignees=sorted(new), students=new)
                    continue
                steps.append(Step(a, self.app.classroom.modify_assignees(owner, cid, wid, change), self._reassigned(new)))
        yield from self.app.run_steps(steps)

    def _patched(self, s: Session, a: Action, r: ItemResult[int]) -> None:
        if r.ok:
            self.app.put(s, "coursework", a.key, fp=self.app.desired(a).fp)
            self.app.ok(a)
        else:
            self.app.fail(a, r.error or "unknown")

    def _reassigned(self, new: dict[str, str]) -> Handler:
        def handle(s: Session, a: Action, r: ItemResult[int]) -> None:
            if r.ok:
                self.app.put(s, "coursework", a.key, assignees=sorted(new), students=new)
                self.app.ok(a)
            else:
                self.app.fail(a, r.error or "unknown")
        return handle

    def remove_coursework(self, actions: list[Action]) -> Lane:
        steps: list[Step] = []
        for a in actions:
            row = self.app.rows.get(("coursework", a.key)) or {}
            course_key = f"course:{a.group}"
            cid, owner, wid = self.app.ext("course", course_key), self.app.owner_of(course_key), row.get("external_id")
            if not wid:
                with self.app.store.session() as s:
                    self.app.forget(s, "coursework", a.key)
                continue
            if cid and owner:
                steps.append(Step(a, self.app.classroom.delete_coursework(owner, cid, wid), self.app.removed))
        yield from self.app.run_steps(steps)


def _link(work: Any) -> dict[str, str]:
    """The work's Classroom page (`alternateLink`), kept for the weekly letter: the client opens
    the day's task and returns the work there."""
    link = work.get("alternateLink") if isinstance(work, dict) else None
    return {"alternateLink": link} if isinstance(link, str) and link.startswith("https://") else {}
