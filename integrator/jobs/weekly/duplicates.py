"""Duplicate coursework: found by our marker line, healed by the weekly setup.

Coursework has no idempotency key of its own. A lost answer, a transport that re-sends a write,
or a crash between a create and its record can leave the same work (the same marker line: the
same work day, task and variant) in a course twice, and a client may return work to either copy.

At plan time (so that a dry run previews the repair) the courses that hold our coursework are
listed, one batched listing per course; for each of our keys that has more than one copy, or
whose recorded copy is gone while another remains:
- the copy with returns is kept (the oldest, if several have), else the one our row points to,
  else the oldest; our ExternalResource row moves to it;
- the other copies are deleted only when that is safe: they carry OUR marker, this project made
  them (Classroom lets only its maker delete work), and no submission of them was turned in,
  returned, graded or given an attachment. The others stay, reported: the nightly harvest counts
  a return to any copy by its marker.
Just before the deletes are sent their submissions are read once more: a client may have turned
in since the plan. Each repair is counted (`repaired:coursework`) and audited with ids and keys only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from integrator.jobs.plan import Action
from integrator.jobs.weekly.plan import PlannedOrg
from integrator.jobs.weekly.steps import Lane, Step, gone
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.providers.google.classroom import COURSEWORK_MARKER_FIELDS, Classroom, marker, marker_of
from integrator.providers.google.client import GoogleClient, ItemResult
from integrator.store.models import AuditEvent, ExternalResource

if TYPE_CHECKING:
    from integrator.jobs.weekly.apply import Applier

RESOURCE = "duplicate"
HAS_RETURNS = "it has returns"
#: Submission states that mean the work was handed in (as the nightly harvest counts a return).
RETURNED = frozenset({"TURNED_IN", "RETURNED", "RECLAIMED_BY_STUDENT"})
AUDIT_ACTION = "coursework.duplicate_repaired"


@dataclass(frozen=True)
class Copy:
    work_id: str
    created: str  # creationTime (RFC 3339 sorts as text); "" when missing
    ours: bool  # associatedWithDeveloper: made by this project, so ours to delete
    students: tuple[str, ...]  # Google user ids of the assignees


@dataclass
class Finding:
    """One of our keys with copies to heal: which copy stays, which go, which stay regardless."""

    key: str
    group: str
    recorded: str  # the copy our row points to now
    keep: Copy
    why: str  # why that copy is kept, when our row moves to it
    remove: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # work id -> why it is not deleted


@dataclass
class Findings:
    found: dict[str, Finding] = field(default_factory=dict)
    notes: list[Action] = field(default_factory=list)  # what could not be looked at, and why


def _returned(sub: dict[str, Any]) -> bool:
    history = sub.get("submissionHistory") or []
    return sub.get("state") in RETURNED or any(
        isinstance(h, dict) and (h.get("stateHistory") or {}).get("state") == "TURNED_IN" for h in history)


def why_kept(subs: Iterable[dict[str, Any]]) -> str | None:
    """Why work with these submissions must not be deleted, or None when nothing would be lost."""
    subs = list(subs)
    if any(_returned(s) for s in subs):
        return HAS_RETURNS
    if any(s.get("assignedGrade") is not None or s.get("draftGrade") is not None for s in subs):
        return "it has grades"
    if any((s.get("assignmentSubmission") or {}).get("attachments") for s in subs):
        return "a client has attached work to it"
    return None


def _copy(work: dict[str, Any]) -> Copy:
    return Copy(str(work["id"]), str(work.get("creationTime") or ""), work.get("associatedWithDeveloper") is True,
                tuple((work.get("individualStudentsOptions") or {}).get("studentIds") or ()))


def _oldest(copies: Iterable[Copy]) -> Copy:
    return min(copies, key=lambda c: (c.created, c.work_id))


def find_duplicates(gc: GoogleClient, rows: dict[tuple[str, str], ExternalResource], staff: dict[int, str],
                    admin_subject: str, group_keys: Collection[str] | None = None) -> Findings:
    """Reads only: list the courses that hold our coursework and decide each key with copies."""
    out = Findings()
    ours: dict[str, dict[str, str]] = {}  # course key -> marker -> coursework key
    for (kind, key), row in rows.items():
        if kind == "coursework" and row.status == "active" and row.external_id:
            group = key.split(":")[1]
            if group_keys is None or group in group_keys:
                ours.setdefault(f"course:{group}", {})[marker(key)] = key
    courses = {ck: rows[("course", ck)] for ck in ours if ("course", ck) in rows
               and rows[("course", ck)].status == "active" and rows[("course", ck)].external_id}
    if not courses:
        return out
    classroom = Classroom(gc)
    owners = {ck: staff.get((r.state or {}).get("fp", {}).get("owner"), admin_subject) for ck, r in courses.items()}
    listed = gc.batch_list_all({ck: classroom.list_coursework(owners[ck], str(r.external_id),
                                                              fields=COURSEWORK_MARKER_FIELDS)
                                for ck, r in courses.items()}, "courseWork")
    copies: dict[str, list[Copy]] = {}
    for ck, res in listed.items():
        if res.error is not None:
            if isinstance(res.error, NeedsReauth):
                raise res.error
            out.notes.append(Action("skip", RESOURCE, ck, group=ck.split(":")[1],
                                    reason=f"coursework could not be listed to look for duplicates ({res.error}); "
                                           "the next run looks again"))
            continue
        for work in res.response or []:
            mine = ours[ck].get(marker_of(work.get("description")) or "")
            if mine is not None and all(c.work_id != str(work["id"]) for c in copies.get(mine, [])):
                copies.setdefault(mine, []).append(_copy(work))  # (a page boundary may repeat an item)
    suspects = {key: found for key, found in copies.items()
                if len(found) > 1 or found[0].work_id != rows[("coursework", key)].external_id}
    subs = _submissions(gc, classroom, suspects, rows, courses, owners)
    for key, found in sorted(suspects.items()):
        group = key.split(":")[1]
        if any(isinstance(subs.get(c.work_id), ProviderError) for c in found):
            out.notes.append(Action("skip", RESOURCE, key, group=group,
                                    reason="the copies' submissions could not be read; the next run looks again"))
            continue
        out.found[key] = decide(key, group, str(rows[("coursework", key)].external_id), found,
                                {c.work_id: why_kept(_listed(subs.get(c.work_id))) for c in found})
    return out


def _listed(value: list[dict[str, Any]] | ProviderError | None) -> list[dict[str, Any]]:
    return value if isinstance(value, list) else []


def _submissions(gc: GoogleClient, classroom: Classroom, suspects: dict[str, list[Copy]],
                 rows: dict[tuple[str, str], ExternalResource], courses: dict[str, ExternalResource],
                 owners: dict[str, str]) -> dict[str, list[dict[str, Any]] | ProviderError]:
    """Every submission of every copy of the suspect keys, in batches (nothing to read: no request)."""
    reqs = {}
    for key, found in suspects.items():
        ck = f"course:{key.split(':')[1]}"
        for c in found:
            reqs[c.work_id] = classroom.list_work_submissions(owners[ck], str(courses[ck].external_id), c.work_id)
    out: dict[str, list[dict[str, Any]] | ProviderError] = {}
    for wid, res in (gc.batch_list_all(reqs, "studentSubmissions").items() if reqs else []):
        if isinstance(res.error, NeedsReauth):
            raise res.error
        out[wid] = res.error if res.error is not None else list(res.response)
    return out


def decide(key: str, group: str, recorded: str, copies: list[Copy], held: dict[str, str | None]) -> Finding:
    """Which copy stays: the oldest with returns, else the recorded one, else the oldest."""
    with_returns = [c for c in copies if held.get(c.work_id) == HAS_RETURNS]
    recorded_copy = next((c for c in copies if c.work_id == recorded), None)
    keep = _oldest(with_returns) if with_returns else recorded_copy or _oldest(copies)
    why = "the copy with returns" if with_returns else "the oldest copy (ours is gone)"
    finding = Finding(key, group, recorded, keep, why)
    for c in sorted(copies, key=lambda c: (c.created, c.work_id)):
        if c.work_id == keep.work_id:
            continue
        hold = held.get(c.work_id) or (None if c.ours else "not made by this integration: only its maker may delete it")
        if hold:
            finding.kept[c.work_id] = hold
        else:
            finding.remove.append(c.work_id)
    return finding


def add_to_plan(planned: PlannedOrg, findings: Findings) -> PlannedOrg:
    """The repairs as actions of their own: a dry run shows each 'remove duplicate' before it is done."""
    for note in findings.notes:
        planned.plan.add(note)
    for key, f in sorted(findings.found.items()):
        if f.keep.work_id != f.recorded:
            planned.plan.add(Action("update", RESOURCE, key, group=f.group, reason=f"our record moves to {f.why}",
                                    detail={"keep": f.keep.work_id, "was": f.recorded}))
        for wid in f.remove:
            planned.plan.add(Action("remove", RESOURCE, key, group=f.group,
                                    reason="remove duplicate: no returns, grades or attached work",
                                    detail={"work_id": wid, "keep": f.keep.work_id}))
        for wid, why in f.kept.items():
            planned.plan.add(Action("skip", RESOURCE, key, group=f.group, reason=f"duplicate kept: {why}",
                                    detail={"work_id": wid}))
    planned.duplicates = findings.found
    return planned


class DuplicateHealer:
    """The apply side: move our rows, delete the safe extras, record what was repaired."""

    def __init__(self, app: Applier) -> None:
        self.app = app
        self.repaired: dict[str, dict[str, Any]] = {}

    def run(self, actions: list[Action]) -> Lane:
        if not actions:
            return
        with self.app.store.session() as s:
            for a in actions:
                if a.op == "update":
                    self._move(s, a)
        removes = []
        for a in actions:
            if a.op != "remove":
                continue
            if a.detail["work_id"] == self.app.ext("coursework", a.key) or a.detail["keep"] != self.app.ext(
                    "coursework", a.key):  # never the copy our row points to, nor before the row has moved
                self.app.fail(a, "our record does not point to the copy that stays; the next run looks again")
                continue
            removes.append(a)
        yield from self._delete(self._still_safe(removes))
        with self.app.store.session() as s:
            for key, what in sorted(self.repaired.items()):  # ids and our keys only: no names, no addresses
                s.add(AuditEvent(organisation_id=self.app.org_id, actor="system:weekly_setup", action=AUDIT_ACTION,
                                 entity="coursework", entity_id=what["kept"], details={"key": key, **what}))
                self.app.recorder.count("repaired:coursework")

    def _what(self, key: str) -> dict[str, Any]:
        return self.repaired.setdefault(key, {"kept": self.app.ext("coursework", key), "moved_from": None,
                                              "removed": []})

    def _move(self, s: Session, a: Action) -> None:
        f: Finding = self.app.planned.duplicates[a.key]
        row = self.app.rows.get(("coursework", a.key)) or {}
        if row.get("external_id") != a.detail["was"]:
            self.app.fail(a, "our record changed since the plan; the next run looks again")
            return
        students: dict[str, str] = dict((row.get("state") or {}).get("students") or {})
        # The kept copy's real assignees: the next plan adds whoever it lacks (modifyAssignees).
        have = {code: uid for code, uid in students.items() if uid in set(f.keep.students)}
        self.app.put(s, "coursework", a.key, external_id=f.keep.work_id, assignees=sorted(have), students=have)
        self._what(a.key).update(kept=f.keep.work_id, moved_from=a.detail["was"])
        self.app.ok(a)

    def _course(self, a: Action) -> tuple[str | None, str | None]:
        """(course id, acting owner): the owner the course row records (the group may be gone since)."""
        course = f"course:{a.group}"
        row = self.app.rows.get(("course", course)) or {}
        owner = self.app.staff.get(((row.get("state") or {}).get("fp") or {}).get("owner", -1))
        return self.app.ext("course", course), owner or self.app.owner_of(course)

    def _still_safe(self, removes: list[Action]) -> list[Action]:
        """Read the extras' submissions once more just before deleting: a return may have come since."""
        reqs = {}
        for a in removes:
            cid, owner = self._course(a)
            if not cid or not owner:
                self.app.fail(a, "the course is not available")
                continue
            reqs[id(a)] = self.app.classroom.list_work_submissions(owner, cid, a.detail["work_id"])
        answers = self.app.gc.batch_list_all(reqs, "studentSubmissions") if reqs else {}
        safe: list[Action] = []
        for a in removes:
            res = answers.get(id(a))
            if res is None:
                continue
            if res.error is not None and not gone(res.error):
                self.app.fail(a, res.error)
            elif res.error is None and why_kept(res.response or []):
                self.app.recorder.count("kept:duplicate")  # it has something of a client's since the plan
            else:
                safe.append(a)
        return safe

    def _delete(self, removes: list[Action]) -> Lane:
        def deleted(s: Session, a: Action, r: ItemResult[int]) -> None:
            if r.ok or gone(r.error):  # gone: someone deleted it already
                self._what(a.key)["removed"].append(a.detail["work_id"])
                self.app.ok(a)
            else:
                self.app.fail(a, r.error or "unknown")

        steps = []
        for a in removes:
            cid, owner = self._course(a)
            assert cid and owner  # checked by _still_safe
            steps.append(Step(a, self.app.classroom.delete_coursework(owner, cid, a.detail["work_id"]), deleted))
        yield from self.app.run_steps(steps)
