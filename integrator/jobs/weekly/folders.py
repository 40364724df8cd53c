"""Apply stage for Drive folders: client folders and week folders share the reserve-then-create path.

A Drive id is reserved with generateIds and stored (status ``pending``) before the create; a
repeat create with the same id answers 409 and the folder is adopted.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from integrator.jobs.plan import Action
from integrator.jobs.weekly.applier import ApplierBase
from integrator.jobs.weekly.steps import Lane, Step, exists
from integrator.providers.errors import Fatal
from integrator.providers.google.client import ItemResult
from integrator.providers.google.drive import FolderSpec, key_of
from integrator.providers.limits import DRIVE_GENERATE_IDS_MAX


class FolderStage(ApplierBase):
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
            count = min(DRIVE_GENERATE_IDS_MAX, len(need) - len(ids))
            ids.extend(self.gc.execute(self.drive.generate_ids(None, count))["ids"])
        with self.store.session() as s:
            for a, fid in zip(need, ids, strict=True):
                self.put(s, a.resource, a.key, external_id=fid, status="pending",
                         owner=self.desired(a).detail.get("owner"))

    def create_folders(self, actions: list[Action]) -> Lane:
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
        yield from self.run_steps(steps)

    # topics, enrolments, week folders, sharing
