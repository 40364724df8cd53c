"""Client task folders in SharePoint/OneDrive for an organisation on Microsoft 365 alone (issue 18).

What Google Drive folders are to an organisation with Google: one folder per client taking part,
named by the client code (pseudonymous) under `microsoft.task_folders.parent_folder_id`, shared
with the client alone and the group's coordinator (both "write"), holding a task document per
work day in the variant the client gets (`state.variant_for`, as the Google coursework).

The plan is computed from the store alone (the week's rows and our ExternalResource memory), so
a dry run reads and writes nothing in the tenant. Our memory:
- ``sp_folder`` / ``folder:<code>``: the drive item id, {"drive_id", "web_url", "group",
  "shared": ["client", "staff<id>"]} (who has write, as tokens: no addresses in the store's state);
  the weekly letter links ``web_url``.
- ``sp_document`` / ``document:<code>:<day>:t<position>``: the file's id, its name and the hash of
  its content: a re-run with the same content writes nothing.
Removing access is the client's permission only (the folder and its files stay, for the record),
an Action ("remove", "permission") that `plan.hold_unconfirmed_removals` holds unless confirmed,
and each removal is audited.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from integrator.config import OrganisationConfig, TaskFolders
from integrator.domain.finnish import fi_day
from integrator.jobs.locks import Lease
from integrator.jobs.plan import Action, Plan
from integrator.jobs.runs import RunRecorder
from integrator.jobs.weekly.state import OrgWeek, variant_for
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.microsoft import drive
from integrator.providers.microsoft.client import GraphClient
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, ExternalResource, StaffUser

FOLDER_KIND = "sp_folder"
DOCUMENT_KIND = "sp_document"
AUDIT_REMOVED = "sharepoint.access_removed"
ROLE = "write"
#: Actions per chunk: the lease is checked and results recorded chunk by chunk; 40 shares read
#: about 20 folders' permissions, one `$batch` envelope.
CHUNK = 40


class NotReady(ProviderError):
    """A step whose folder (or address) is not there yet: that client's step waits for the next run."""
_BAD_NAME = re.compile(r'["*:<>?/\\|#%]')


@dataclass(frozen=True)
class FolderWant:
    code: str
    group: str
    client_id: int
    coordinator_id: int | None


@dataclass(frozen=True)
class DocumentWant:
    key: str
    code: str
    name: str
    body: bytes
    hash: str


@dataclass
class SharePointPlan:
    """The organisation's task-folder plan with what its apply needs."""

    org_key: str
    org_id: int
    config: TaskFolders
    plan: Plan = field(default_factory=Plan)
    folders: dict[str, FolderWant] = field(default_factory=dict)  # client code -> folder
    documents: dict[str, DocumentWant] = field(default_factory=dict)  # document key -> document


def document_name(day: date, title: str, position: int, several: bool) -> str:
    """"2026-01-13 Päivän tehtävä.txt": the date first, so that the folder lists the days in order."""
    clean = _BAD_NAME.sub("-", " ".join(title.split())).strip(" .")[:100] or "Tehtävä"
    return f"{day.isoformat()} {f'{position}. ' if several else ''}{clean}.txt"


def document_text(day: date, title: str, instructions: str) -> bytes:
    """Plain UTF-8 text: what any phone opens in the OneDrive or SharePoint viewer (an HTML file
    may be offered as a download only, as many tenants serve it)."""
    lines = [title, fi_day(day), "", instructions.strip()]
    return ("\n".join(lines).rstrip() + "\n").encode("utf-8")


def _rows(store: Store, org_id: int) -> dict[tuple[str, str], ExternalResource]:
    with store.session() as s:
        return {(r.kind, r.local_key): r for r in s.scalars(select(ExternalResource).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind.in_((FOLDER_KIND, DOCUMENT_KIND))))}


def plan_sharepoint(store: Store, org_cfg: OrganisationConfig, ow: OrgWeek, now: datetime,
                    group_keys: Collection[str] | None = None) -> SharePointPlan:
    """Folders, sharing and task documents to make, and client access to remove, from the store alone."""
    assert org_cfg.microsoft is not None and org_cfg.microsoft.task_folders is not None
    out = SharePointPlan(org_cfg.key, ow.org_id, org_cfg.microsoft.task_folders)
    rows = _rows(store, ow.org_id)
    wanted: set[str] = set()  # every client with a folder this week, whatever groups are planned
    for gw in ow.groups:
        in_plan = group_keys is None or gw.key in group_keys
        for c in gw.clients:
            if not (c.consent and c.email):
                if in_plan and c.code not in out.folders:
                    reason = ("tietosuojaperehdytystä ei ole kirjattu: kansiota ei jaeta" if not c.consent
                              else "ei sähköpostiosoitetta: kansiota ei voi jakaa")
                    out.plan.add(Action("skip", "folder", f"folder:{c.code}", group=gw.key, client=c.code,
                                        reason=reason))
                continue
            wanted.add(c.code)
            if not in_plan or c.code in out.folders:
                continue
            out.folders[c.code] = FolderWant(c.code, gw.key, c.client_id, gw.coordinator_id)
            _plan_folder(out, rows, out.folders[c.code])
            for day in gw.days:
                if day.due <= now or day.day not in c.days:
                    continue  # a day that is over gets no new work
                for task in day.tasks:
                    title, instructions = task.variants[variant_for(c, task)]
                    key = f"document:{c.code}:{day.day.isoformat()}:t{task.position}"
                    body = document_text(day.day, title, instructions)
                    want = DocumentWant(key, c.code, document_name(day.day, title, task.position, len(day.tasks) > 1),
                                        body, hashlib.sha256(body).hexdigest()[:32])
                    out.documents[key] = want
                    _plan_document(out, rows, gw.key, want)
    _plan_removals(out, rows, ow, wanted, group_keys)
    return out


def _plan_folder(out: SharePointPlan, rows: dict[tuple[str, str], ExternalResource], f: FolderWant) -> None:
    key = f"folder:{f.code}"
    row = rows.get((FOLDER_KIND, key))
    if row is None or row.status != "active" or not row.external_id:
        out.plan.add(Action("create", "folder", key, group=f.group, client=f.code, detail={"label": f.code}))
    shared = set((row.state or {}).get("shared", [])) if row is not None and row.status == "active" else set()
    for who in ["client", *([f"staff{f.coordinator_id}"] if f.coordinator_id else [])]:
        if who not in shared:
            out.plan.add(Action("create", "permission", f"permission:{f.code}:{who}", group=f.group, client=f.code,
                                reason="" if row is None or "client" in shared or who != "client" else "palautetaan",
                                detail={"role": ROLE, "label": f.code}))


def _plan_document(out: SharePointPlan, rows: dict[tuple[str, str], ExternalResource], group: str,
                   d: DocumentWant) -> None:
    row = rows.get((DOCUMENT_KIND, d.key))
    label = d.name.removesuffix(".txt")
    if row is None or row.status != "active":
        out.plan.add(Action("create", "document", d.key, group=group, client=d.code, detail={"label": label}))
    elif row.state.get("hash") != d.hash or row.state.get("name") != d.name:
        out.plan.add(Action("update", "document", d.key, group=group, client=d.code,
                            reason="muuttunut: " + ("ohje" if row.state.get("name") == d.name else "nimi"),
                            detail={"label": label}))


def _plan_removals(out: SharePointPlan, rows: dict[tuple[str, str], ExternalResource], ow: OrgWeek,
                   wanted: set[str], group_keys: Collection[str] | None) -> None:
    """The client's own permission goes when they no longer take part; the coordinator keeps theirs
    (the folder is the record of the client's work), and the folder and its files stay."""
    for (kind, key), row in sorted(rows.items()):
        code = key.split(":", 1)[1]
        if kind != FOLDER_KIND or row.status != "active" or code in wanted or "client" not in row.state.get("shared", []):
            continue
        group = row.state.get("group")
        if group_keys is not None and group not in group_keys:
            continue
        if code in ow.kept:
            out.plan.add(Action("skip", "permission", f"permission:{code}:client", group=group, client=code,
                                reason=ow.kept[code]))
            continue
        out.plan.add(Action("remove", "permission", f"permission:{code}:client", group=group, client=code,
                            reason=ow.departed.get(code, "ei enää ryhmässä tällä viikolla"),
                            detail={"label": code}))


class SharePointApplier:
    """Apply a task-folder plan: folders, then sharing, then documents, then removals; each result
    recorded as soon as its chunk has answered (a crash resumes, a re-run writes nothing).

    Folders, sharing and documents go in chunks of `CHUNK` actions: the chunk's permission reads
    in `$batch` envelopes, its writes `task_folders.write_concurrency` at a time (the lease is
    checked before each chunk). Removals of access stay one by one, each audited.
    """

    def __init__(self, store: Store, planned: SharePointPlan, graph: GraphClient, recorder: RunRecorder,
                 now: datetime, *, lease: Lease | None = None, actor: str = "system:weekly_setup") -> None:
        self.store, self.planned, self.graph, self.recorder = store, planned, graph, recorder
        self.lease, self.now, self.actor = lease, now, actor
        self.cfg = planned.config
        self.limit = self.cfg.write_concurrency
        self.failed: set[str] = set()  # client codes whose folder could not be made this run

    def apply(self) -> None:
        order = {"folder": 0, "permission": 1, "document": 2}
        actions = sorted(self.planned.plan.actions, key=lambda a: (a.op == "remove", order.get(a.resource, 3)))
        stages: dict[tuple[bool, str], list[Action]] = {}
        for a in actions:
            stages.setdefault((a.op == "remove", a.resource if a.resource in order else ""), []).append(a)
        for (removal, resource), stage in stages.items():
            many = {"folder": self._folders, "permission": self._shares, "document": self._documents}.get(resource)
            if removal or many is None:
                for a in stage:
                    self._chunk([a], self._one_by_one)
                continue
            for start in range(0, len(stage), CHUNK):
                self._chunk(stage[start:start + CHUNK], many)
        self.recorder.progress()

    def _chunk(self, chunk: list[Action], step: Callable[[list[Action]], dict[str, ProviderError | None]]) -> None:
        todo = [a for a in chunk if a.client not in self.failed]
        if not todo:
            return
        if self.lease is not None:
            self.lease.check()
        for a, err in zip(todo, map(step(todo).get, (a.key for a in todo)), strict=True):
            if isinstance(err, NeedsReauth):
                raise err
            if err is None:
                self.recorder.count(f"{a.op}:{a.resource}")  # as the Google stages count: "create:folder"
            else:
                self.recorder.error(a.key, str(err)[:300], kind=type(err).__name__.lower(), group=a.group,
                                    client=a.client)
                if a.resource == "folder" and a.client:
                    self.failed.add(a.client)
            self.recorder.progress(self.recorder.done + 1, flush=False)

    def _one_by_one(self, chunk: list[Action]) -> dict[str, ProviderError | None]:
        out: dict[str, ProviderError | None] = {}
        for a in chunk:
            try:
                self._one(a)
                out[a.key] = None
            except ProviderError as err:
                out[a.key] = err
        return out

    def _one(self, a: Action) -> None:
        if a.resource == "permission" and a.op == "remove":
            self._unshare(a)

    # ---- store ----
    def _row(self, kind: str, key: str) -> ExternalResource | None:
        with self.store.session() as s:
            return s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == self.planned.org_id,
                                                           ExternalResource.kind == kind,
                                                           ExternalResource.local_key == key))

    def _save(self, kind: str, key: str, external_id: str, **state: Any) -> None:
        with self.store.session() as s:
            row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == self.planned.org_id,
                                                          ExternalResource.kind == kind,
                                                          ExternalResource.local_key == key))
            if row is None:
                row = ExternalResource(organisation_id=self.planned.org_id, kind=kind, local_key=key, state={})
                s.add(row)
            row.external_id, row.status = external_id, "active"
            row.state = {**(row.state or {}), **state}

    def _folder_row(self, code: str) -> ExternalResource:
        row = self._row(FOLDER_KIND, f"folder:{code}")
        if row is None or not row.external_id or row.status != "active":
            raise NotReady(f"the task folder of {code} is not made yet")
        return row

    def _email(self, who: str, code: str) -> str:
        with self.store.session() as s:
            if who == "client":
                email = s.scalar(select(Client.email).where(Client.organisation_id == self.planned.org_id,
                                                             Client.code == code))
            else:
                email = s.scalar(select(StaffUser.email).where(StaffUser.id == int(who.removeprefix("staff"))))
        if not email:
            raise NotReady(f"no e-mail address for the {'client' if who == 'client' else 'coordinator'} of {code}")
        return str(email).strip().lower()

    # ---- steps (a chunk of actions -> the error of each, None when done and recorded) ----
    def _folders(self, chunk: list[Action]) -> dict[str, ProviderError | None]:
        made = drive.ensure_folders(self.graph, self.cfg.drive_id, self.cfg.parent_folder_id or "root",
                                    [str(a.client) for a in chunk], limit=self.limit)
        out: dict[str, ProviderError | None] = {}
        for a in chunk:
            folder = made[str(a.client)]
            if isinstance(folder, ProviderError):
                out[a.key] = folder
                continue
            old = self._row(FOLDER_KIND, a.key)
            shared = list((old.state or {}).get("shared", [])) if old is not None and old.external_id == folder.id else []
            self._save(FOLDER_KIND, a.key, folder.id, drive_id=self.cfg.drive_id, web_url=folder.web_url,
                       group=a.group, shared=shared)
            out[a.key] = None
        return out

    def _shares(self, chunk: list[Action]) -> dict[str, ProviderError | None]:
        """The chunk's folders' permissions read in `$batch`, then only who lacks access invited: a
        folder whose read failed is not shared this run (its error is recorded, never a blind invite)."""
        out: dict[str, ProviderError | None] = {}
        invites: dict[str, tuple[str, str]] = {}
        for a in chunk:
            code, who = a.key.split(":")[1:3]
            try:
                invites[a.key] = (str(self._folder_row(code).external_id), self._email(who, code))
            except ProviderError as err:
                out[a.key] = err
        have = drive.grants_many(self.graph, self.cfg.drive_id, [item for item, _ in invites.values()])
        answers = drive.invite_many(self.graph, self.cfg.drive_id, invites, have, ROLE,
                                    send_invitation=self.cfg.send_invitation, limit=self.limit)
        for a in chunk:
            answer = answers.get(a.key)
            if a.key in out or answer is None:
                continue
            if isinstance(answer, ProviderError):
                out[a.key] = answer
                continue
            code, who = a.key.split(":")[1:3]
            row = self._folder_row(code)  # read again: the chunk may share one folder twice
            self._save(FOLDER_KIND, f"folder:{code}", str(row.external_id), group=a.group,
                       shared=sorted({*row.state.get("shared", []), who}))
            out[a.key] = None
        return out

    def _documents(self, chunk: list[Action]) -> dict[str, ProviderError | None]:
        out: dict[str, ProviderError | None] = {}
        files: dict[str, tuple[str, str, bytes]] = {}
        folder_of: dict[str, str] = {}
        for a in chunk:
            want = self.planned.documents[a.key]
            try:
                folder_of[a.key] = str(self._folder_row(want.code).external_id)
            except ProviderError as err:
                out[a.key] = err
                continue
            files[a.key] = (folder_of[a.key], want.name, want.body)
        written = drive.upload_many(self.graph, self.cfg.drive_id, files, limit=self.limit)
        for key, item in written.items():
            if isinstance(item, ProviderError):
                out[key] = item
                continue
            want, old = self.planned.documents[key], self._row(DOCUMENT_KIND, key)
            if old is not None and old.state.get("name") not in (None, want.name):
                # A renamed task leaves its old document as it was: the client may have written in it.
                self.recorder.count("renamed_documents")
            self._save(DOCUMENT_KIND, key, item.id, drive_id=self.cfg.drive_id, web_url=item.web_url,
                       name=want.name, hash=want.hash, folder=folder_of[key])
            out[key] = None
        return out

    def _unshare(self, a: Action) -> None:
        code = str(a.client)
        row = self._folder_row(code)
        had = drive.unshare(self.graph, self.cfg.drive_id, str(row.external_id), self._email("client", code))
        shared = sorted(set(row.state.get("shared", [])) - {"client"})
        self._save(FOLDER_KIND, f"folder:{code}", str(row.external_id), shared=shared)
        with self.store.session() as s:  # pseudonymous: the code and our keys, never the address
            s.add(AuditEvent(organisation_id=self.planned.org_id, actor=self.actor, action=AUDIT_REMOVED,
                             entity="client", entity_id=code,
                             details={"key": a.key, "folder": row.external_id, "from": ROLE, "to": None,
                                      "reason": a.reason, "had_permission": had}))


def only_client(planned: SharePointPlan, code: str, *, removals: bool = True) -> SharePointPlan:
    """The plan narrowed to one client's folder, sharing and documents (a move, an early end)."""
    narrowed = SharePointPlan(planned.org_key, planned.org_id, planned.config,
                              folders={k: v for k, v in planned.folders.items() if k == code},
                              documents={k: v for k, v in planned.documents.items() if v.code == code})
    for a in [*planned.plan.actions, *planned.plan.notes]:
        if a.client == code and (removals or a.op != "remove"):
            narrowed.plan.add(a)
    return narrowed
