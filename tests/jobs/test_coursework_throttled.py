"""A coursework create answered 429 was not processed (Google and Graph both document it): it is
sent again as it is, with no listing of the course's coursework first. Only a lost answer (the
request left, its answer did not come) may have made the work, and only that is looked for by
its marker. At 10,000 clients the difference is hundreds of list calls per throttled week."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import select

from integrator.domain.types import JobStatus
from integrator.providers.google.classroom import marker_of
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import ExternalResource

from . import weekly_world as ww
from .weekly_world import WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

SHAPE = {"groups": 4, "clients_per_group": 4}
CREATE = "/classroom/v1/courses/*/courseWork"
LIST = "courses.courseWork.list"


def world_on_fresh_store(sb: Sandbox, tmp: Path, name: str) -> WeeklyWorld:
    (tmp / name).mkdir()
    url = f"sqlite:///{tmp / name / 'store.db'}"
    upgrade(url)
    return WeeklyWorld.build(sb, Store(url), tmp / name, **SHAPE)


def ops(sb: Sandbox) -> Counter[str]:
    return Counter(e.operation for e in sb.state.log.items())


def markers(sb: Sandbox) -> Counter[str | None]:
    with sb.state.lock:
        return Counter(marker_of(w.get("description")) for works in sb.google.classroom.course_work.values()
                       for w in works.values())


def rows(store: Store) -> set[str]:
    with store.session() as s:
        return {r.status for r in s.scalars(select(ExternalResource).where(ExternalResource.kind == "coursework"))}


def undisturbed(sb: Sandbox, tmp: Path) -> Counter[str]:
    world = world_on_fresh_store(sb, tmp, "reference")
    assert world.run_setup() == (JobStatus.SUCCEEDED, [])
    counted = ops(sb)
    world.store.dispose()
    sb.reset()
    return counted


def test_creates_answered_429_are_sent_again_without_listing_and_make_no_duplicates(
        sbx: Sandbox, tmp_path: Path) -> None:
    want = undisturbed(sbx, tmp_path)
    world = world_on_fresh_store(sbx, tmp_path, "throttled")
    throttle = sbx.state.faults.inject(vendor="google", path_glob=CREATE, http_method="POST", rate=0.5, status=429,
                                       retry_after=0, count=12)

    status, errors = world.run_setup()

    assert throttle.fired >= 6, "creates really were throttled"
    assert (status, errors) == (JobStatus.SUCCEEDED, [])
    got = ops(sbx)
    assert got[LIST] == want[LIST], "no coursework was looked for after a 429"
    assert got["courses.courseWork.create"] == want["courses.courseWork.create"] + throttle.fired
    counted = markers(sbx)
    assert sum(counted.values()) == want["courses.courseWork.create"] and set(counted.values()) == {1}
    assert rows(world.store) == {"active"}


def test_a_429_that_outlasts_the_run_leaves_the_create_not_created_and_the_next_run_makes_it_without_a_lookup(
        sbx: Sandbox, tmp_path: Path) -> None:
    want = undisturbed(sbx, tmp_path)
    world = world_on_fresh_store(sbx, tmp_path, "throttled")
    sbx.state.faults.inject(vendor="google", path_glob=CREATE, http_method="POST", rate=1.0, status=429,
                            retry_after=0)

    status, errors = world.run_setup()

    assert status == JobStatus.PARTIAL and errors
    assert all("not created" in e for e in errors), errors
    assert markers(sbx) == Counter() and rows(world.store) == set(), "no pending row: nothing to look for"
    sbx.state.faults.clear()
    sbx.state.log.reset()

    assert world.run_setup() == (JobStatus.SUCCEEDED, [])
    got = ops(sbx)
    assert got[LIST] == 0, "the next run did not list coursework to look for the throttled creates"
    assert got["courses.courseWork.create"] == want["courses.courseWork.create"]
    assert set(markers(sbx).values()) == {1} and rows(world.store) == {"active"}


def test_a_lost_answer_on_the_creates_is_still_looked_for_by_its_marker_and_makes_no_duplicate(
        sbx: Sandbox, tmp_path: Path) -> None:
    world = world_on_fresh_store(sbx, tmp_path, "lost")
    refuse = sbx.state.faults.inject(vendor="google", path_glob=CREATE, http_method="POST", rate=1.0, status=400)
    world.run_setup()  # the week set up but its coursework: the next run's only Classroom batch is the creates
    want = refuse.fired
    sbx.state.faults.clear()
    sbx.state.log.reset()
    lost = sbx.state.faults.inject(vendor="google", path_glob="/classroom/batch", http_method="POST", rate=1.0,
                                   mode="lost_answer", count=1)

    status, errors = world.run_setup()

    assert (status, errors) == (JobStatus.SUCCEEDED, [])
    assert lost.fired == 1
    got = ops(sbx)
    assert got[LIST] > 0, "the lost answer's courses were listed to find the work"
    assert got["courses.courseWork.create"] == want, "found by the marker, not created again"
    counted = markers(sbx)
    assert sum(counted.values()) == want and set(counted.values()) == {1}
    assert rows(world.store) == {"active"}
