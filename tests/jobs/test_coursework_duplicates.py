"""Duplicate coursework on the sandbox: a return to a copy counts, and the weekly setup heals the copies.

One Meet group meets on Wednesdays (week 2026-W03, Wed 14.1.2026); K-0004 reads plain language,
so the day has two pieces of work (standard and plain language). The duplicates are made out of
band, through the Classroom API as the teacher, exactly as a re-sent create would leave them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from integrator.demo.world import ORG, DemoWorld, GroupPlan, local
from integrator.domain.types import ServiceModel
from integrator.jobs.weekly.duplicates import HAS_RETURNS, Copy, decide, why_kept
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.google.classroom import marker_of
from integrator.providers.google.client import GoogleClient
from integrator.reports.register import build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import AuditEvent, JobRun

WEEK, NEXT_WEEK = "2026-W03", "2026-W04"
WED = date(2026, 1, 14)
GROUP = "keskiviikko"
STANDARD = "coursework:keskiviikko:2026-W03:wd{wd}:t1:standard"
PLAIN = "coursework:keskiviikko:2026-W03:wd{wd}:t1:plain_language"
COPIED = ("title", "description", "workType", "state", "scheduledTime", "dueDate", "dueTime", "assigneeMode",
          "individualStudentsOptions", "topicId")


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox(page_size=3) as sb:  # small pages: every list must read every page
        yield sb


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> DemoWorld:
    sb = sandbox_server
    sb.reset()
    sb.state.faults.clear()
    sb.state.clock.set(datetime(2026, 1, 9, 10, 0, tzinfo=UTC))  # the Friday before
    w = DemoWorld.build(sb, store, tmp_path / "demo", db_url=store.url,
                        groups=[GroupPlan(GROUP, "Keskiviikkoryhmä", [3], "meet", ServiceModel.LONG_TERM, 4)])
    w.weekly_setup(WEEK)
    return w


class Teacher:
    """The coordinator, through the Classroom API with the SDK, outside our jobs."""

    def __init__(self, w: DemoWorld) -> None:
        google = w.settings.organisation(ORG).google
        assert google is not None
        self.gc = GoogleClient(google)
        self.svc = self.gc.service("classroom", subject=w.coordinator).courses().courseWork()
        course = w.resource("course", f"course:{GROUP}")
        assert course is not None and course.external_id
        self.course = course.external_id

    def copy(self, work_id: str, *, marker: bool = True) -> str:
        work = self.gc.execute(self.svc.get(courseId=self.course, id=work_id))
        body = {k: work[k] for k in COPIED if k in work}
        if not marker:  # the same work, retyped by hand: no marker line
            body["description"] = work["description"].rsplit("\n\n", 1)[0]
        return str(self.gc.execute(self.svc.create(courseId=self.course, body=body))["id"])

    def works(self) -> dict[str, str]:
        """Every piece of work in the course: id -> its marker line ("" when it has none)."""
        items = self.gc.list_all(self.svc, "courseWork", courseId=self.course, courseWorkStates=["PUBLISHED", "DRAFT"])
        return {str(w["id"]): marker_of(w.get("description")) or "" for w in items}


def work_day_id(w: DemoWorld) -> int:
    (wd,) = [wd for wd, group in w.work_days() if group == GROUP and wd.day == WED]
    return wd.id


def row_id(w: DemoWorld, key: str) -> str:
    row = w.resource("coursework", key)
    assert row is not None and row.external_id and row.status == "active"
    return row.external_id


def wednesday(w: DemoWorld) -> dict[str, str]:
    table = build_week(w.store, ORG, WEEK, rules=w.settings.rules_for(ORG)).table()
    return {code: days[WED] for code, days in table.items()}


def audits(w: DemoWorld) -> list[AuditEvent]:
    with w.store.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == "coursework.duplicate_repaired")))


def weekly(w: DemoWorld, week: str, *, dry_run: bool = False) -> tuple[Any, JobRun]:
    plan, run_id = run_weekly_setup(w.store, w.settings, week, ORG, now=w.sb.state.clock.now(),
                                    client_factory=w.google_factory(), dry_run=dry_run)
    with w.store.session() as s:
        run = s.get(JobRun, run_id)
        assert run is not None
        return plan, run


def test_a_return_to_a_copy_counts_and_the_next_weekly_setup_keeps_that_copy_only(world: DemoWorld) -> None:
    wd = work_day_id(world)
    standard, plain = STANDARD.format(wd=wd), PLAIN.format(wd=wd)
    original, plain_original = row_id(world, standard), row_id(world, plain)
    teacher = Teacher(world)
    copy = teacher.copy(original)  # as a re-sent create leaves it: same marker line
    plain_copy = teacher.copy(plain_original)  # nobody returns anything to this one
    by_hand = teacher.copy(original, marker=False)  # not ours: never touched

    world.sb.state.clock.set(local(WED, 12))
    world.sb.google.submit_task(teacher.course, copy, world.google_ids["K-0001"], at=local(WED, 11, 30))
    world.sb.state.clock.set(local(date(2026, 1, 15), 2))
    world.sb.state.log.reset()
    night = world.nightly_sync()
    assert night.errors == []
    # Nobody held Wednesday's meeting, so no conference record will say who was absent: the others
    # wait (pending, for the coordinator once the window closes), never absent without final evidence.
    assert wednesday(world) == {"K-0001": "present", "K-0002": "pending", "K-0003": "pending", "K-0004": "pending"}
    # The copy is recognised with one listing of the course's work (ids and descriptions only):
    # its five pieces of work in two pages of three.
    assert world.sb.state.log.counts().get("google classroom courses.courseWork.list") == 2

    world.sb.state.clock.set(datetime(2026, 1, 16, 10, 0, tzinfo=UTC))  # the next Friday
    before = teacher.works()
    preview, dry = weekly(world, NEXT_WEEK, dry_run=True)
    repairs = sorted((a.op, a.key, a.detail.get("work_id") or a.detail.get("keep"))
                     for a in preview.actions if a.resource == "duplicate")
    assert repairs == sorted([("update", standard, copy), ("remove", standard, original),
                              ("remove", plain, plain_copy)])
    assert [a.reason for a in preview.actions if a.op == "remove" and a.resource == "duplicate"] == [
        "remove duplicate: no returns, grades or attached work"] * 2
    assert teacher.works() == before and row_id(world, standard) == original  # a dry run changes nothing

    _, run = weekly(world, NEXT_WEEK)
    assert run.counts["repaired:coursework"] == 2 and run.counts["remove:duplicate"] == 2
    works = teacher.works()
    assert copy in works and original not in works and plain_copy not in works
    assert plain_original in works and works[by_hand] == ""  # the unmarked copy is still there
    assert sorted(m for m in works.values() if m) == sorted(set(m for m in works.values() if m))  # one each
    assert row_id(world, standard) == copy and row_id(world, plain) == plain_original
    repaired = {a.details["key"]: a.details for a in audits(world)}
    assert repaired == {
        standard: {"key": standard, "kept": copy, "moved_from": original, "removed": [original]},
        plain: {"key": plain, "kept": plain_original, "moved_from": None, "removed": [plain_copy]},
    }
    assert "@" not in json.dumps(repaired)  # ids and keys only

    world.sb.state.log.reset()
    _, again = weekly(world, NEXT_WEEK)
    assert [e.key for e in world.sb.state.log.writes() if e.api != "oauth"] == []
    assert "repaired:coursework" not in again.counts and len(audits(world)) == 2
    assert teacher.works() == works

    world.nightly_sync()  # the return is now read through our row: still present
    assert wednesday(world)["K-0001"] == "present"


def test_when_the_copies_cannot_be_listed_the_day_waits_instead_of_turning_absent(world: DemoWorld) -> None:
    wd = work_day_id(world)
    teacher = Teacher(world)
    copy = teacher.copy(row_id(world, STANDARD.format(wd=wd)))
    world.sb.state.clock.set(local(WED, 12))
    world.sb.google.submit_task(teacher.course, copy, world.google_ids["K-0001"], at=local(WED, 11, 30))
    world.sb.state.clock.set(local(date(2026, 1, 15), 2))
    listing = world.sb.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses/*/courseWork",
                                           http_method="GET", rate=1.0, status=503)
    broken = world.nightly_sync()
    assert listing.fired > 0 and broken.status.value == "partial"
    assert wednesday(world)["K-0001"] == "-"  # not read: neither present nor absent
    world.sb.state.faults.clear()
    world.nightly_sync()
    assert wednesday(world)["K-0001"] == "present"


def _sub(state: str, **extra: Any) -> dict[str, Any]:
    return {"state": state, "submissionHistory": [{"stateHistory": {"state": "CREATED"}}], **extra}


def test_only_copies_that_hold_nothing_of_a_client_and_are_ours_are_deleted() -> None:
    assert why_kept([_sub("NEW"), _sub("CREATED")]) is None
    assert why_kept([_sub("NEW"), _sub("TURNED_IN")]) == HAS_RETURNS
    assert why_kept([_sub("RECLAIMED_BY_STUDENT")]) == HAS_RETURNS
    assert why_kept([_sub("CREATED", assignedGrade=0)]) == "it has grades"
    attached = {"attachments": [{"driveFile": {"id": "f1"}}]}
    assert why_kept([_sub("CREATED", assignmentSubmission=attached)]) == "a client has attached work to it"
    old, new, third = (Copy("w1", "2026-01-09T10:00:00Z", True, ()), Copy("w2", "2026-01-09T10:00:01Z", True, ()),
                       Copy("w3", "2026-01-09T10:00:02Z", False, ()))
    both = decide("k", "g", "w2", [old, new, third], {"w1": HAS_RETURNS, "w2": HAS_RETURNS, "w3": None})
    assert (both.keep, both.remove, both.kept) == (old, [], {
        "w2": HAS_RETURNS, "w3": "not made by this integration: only its maker may delete it"})
    none = decide("k", "g", "w2", [old, new], {"w1": None, "w2": None})
    assert (none.keep, none.remove) == (new, ["w1"])  # no returns: the one our row points to stays
    gone = decide("k", "g", "w9", [new, old], {"w1": None, "w2": None})
    assert (gone.keep, gone.remove) == (old, ["w2"])  # ours is gone: the oldest stays
