"""Apply stages for the course's topics, the clients' enrolments and invitations, folder sharing,
and their removals (a repeat answers ALREADY_EXISTS and is looked up; Drive keeps one permission
per user, so a repeat share is harmless)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from integrator.jobs.plan import Action
from integrator.jobs.weekly.folders import FolderStage
from integrator.jobs.weekly.steps import Lane, Step, already_member, exists, gone
from integrator.providers.google.client import ItemResult


class RosterStage(FolderStage):
    # topics and enrolments (Classroom: they need the course)
    def classroom_children(self, actions: list[Action]) -> Lane:
        self.adopt_topics([a for a in actions if a.resource == "topic"])
        topics = [a for a in actions if a.resource == "topic" and a.op == "create" and not self.done(a)]
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
        self.record_updates([a for a in actions if a.op == "update" and a.resource == "topic"])
        yield from self.run_steps(steps)
        yield from self.run_followups(actions)

    # week folders and sharing (Drive: they need the client's folder)
    def drive_children(self, actions: list[Action]) -> Lane:
        yield from self.create_folders([a for a in actions if a.resource == "week_folder" and a.op == "create"])
        steps = [st for a in actions if a.resource == "permission" and a.op == "create"
                 if (st := self.share_step(a)) is not None]
        self.record_updates([a for a in actions if a.op == "update" and a.resource in ("week_folder", "permission")])
        yield from self.run_steps(steps)

    def record_updates(self, actions: list[Action]) -> None:
        """A changed fingerprint that needs no call (a renamed week, a role we do not set): stored."""
        if actions:
            with self.store.session() as s:
                for a in actions:
                    self.put(s, a.resource, a.key, fp=self.desired(a).fp)

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

    def run_followups(self, actions: list[Action]) -> Lane:
        """The lookups this lane's answers asked for (ALREADY_EXISTS and the like)."""
        mine = {id(a) for a in actions}
        pending = [a for a in self.followups if id(a) in mine]
        self.followups = [a for a in self.followups if id(a) not in mine]
        topics = [a for a in pending if a.resource == "topic"]
        self.adopt_topics_of({self.desired(a).parent or "" for a in topics}, topics)
        steps = [self.lookup_enrolment(a) for a in pending if a.resource == "enrolment"]
        yield from self.run_steps([st for st in steps if st is not None])

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
        elif d.fp["mode"] == "invitation" and already_member(r.error):
            self.refused[a.key] = r.error  # a student already (or a disabled account): look it up
            self.followups.append(a)
        else:
            self.fail(a, r.error or "unknown")

    def lookup_enrolment(self, a: Action) -> Step | None:
        """After ALREADY_EXISTS (or an invitation refused as FAILED_PRECONDITION): is the client a
        student already, or is the invitation pending?"""
        d = self.desired(a)
        cid, email = self.ext("course", d.parent or ""), self.client_email(a)
        if not cid or not email:
            return None

        def seen(s: Session, a: Action, r: ItemResult[int]) -> None:
            if r.ok:
                self.put(s, "enrolment", a.key, external_id=str(r.response["userId"]), fp=d.fp, accepted=True,
                         mode=d.fp["mode"])
                self.ok(a, "adopted:enrolment")
            elif gone(r.error) and a.key in self.refused:
                self.fail(a, self.refused[a.key] or "unknown")  # not a student after all: the refusal stands
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
    def stage_removals(self, actions: list[Action]) -> Lane:
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
        yield from self.run_steps(steps)

