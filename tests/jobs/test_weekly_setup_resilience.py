"""Weekly setup under faults and crashes ends in the same state as an undisturbed run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from integrator.domain.types import JobStatus
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import JobRun

from . import weekly_world as ww
from .weekly_world import NOW, ORG, WEEK, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

SHAPE: dict[str, Any] = {"groups": 3, "clients_per_group": 4, "external_every": 5, "unbriefed": 1}


def fresh_store(tmp: Path, name: str) -> Store:
    url = f"sqlite:///{tmp / name}"
    upgrade(url)
    return Store(url)


def reference(sb: Sandbox, tmp: Path, shape: dict[str, Any] = SHAPE
              ) -> tuple[dict[str, Any], list[tuple[str, str, str]], list[str]]:
    """The state an undisturbed run leaves behind, on a fresh tenant and store."""
    sb.reset()
    (tmp / "ref").mkdir()
    store = fresh_store(tmp, "ref.db")
    world = WeeklyWorld.build(sb, store, tmp / "ref", **shape)
    run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                     include_meetings=False)
    result = world.snapshot(), world.store_state(), [e.operation for e in sb.state.log.items()]
    store.dispose()
    sb.reset()
    return result


def status_of(store: Store, run_id: int) -> JobStatus:
    with store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None
        return job.status


def no_duplicates(snapshot: dict[str, Any]) -> None:
    for course in snapshot["courses"].values():
        assert len(course["topics"]) == len(set(course["topics"]))
        titles = Counter((w[0], w[4]) for w in course["coursework"])
        assert all(n == 1 for n in titles.values()), titles
    folders = Counter((f[0], f[1]) for f in snapshot["folders"])
    assert all(n == 1 for n in folders.values()), folders


def test_ten_percent_429_and_5xx_converge_to_the_undisturbed_state(sbx: Sandbox, tmp_path: Path) -> None:
    shape = {**SHAPE, "groups": 5, "clients_per_group": 6}  # some 150 calls, so 10 % is a dozen faults
    want_tenant, want_store, _ = reference(sbx, tmp_path, shape)
    store = fresh_store(tmp_path, "faulty.db")
    world = WeeklyWorld.build(sbx, store, tmp_path, **shape)
    sbx.state.faults.inject(vendor="google", rate=0.04, status=429, retry_after=0)
    sbx.state.faults.inject(vendor="google", rate=0.03, status=503)
    sbx.state.faults.inject(vendor="google", rate=0.03, status=403, reason="userRateLimitExceeded")
    for _ in range(3):
        _, run_id = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                                     include_meetings=False)
        if status_of(store, run_id) == JobStatus.SUCCEEDED:
            break
    assert sum(f.fired for f in sbx.state.faults.rules) >= 8  # the faults really happened (11 with seed 0)
    sbx.state.faults.clear()
    got = world.snapshot()
    no_duplicates(got)
    assert got == want_tenant
    assert world.store_state() == want_store
    sbx.state.log.reset()
    run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                     include_meetings=False)
    assert world.writes() == []


def test_after_a_crash_a_failed_coursework_listing_makes_no_second_copy(sbx: Sandbox, tmp_path: Path) -> None:
    store = fresh_store(tmp_path, "crash.db")
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=3)
    run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                     include_meetings=False)
    want = world.snapshot()
    pending = world.lose_coursework_results()
    assert pending  # the crash left creates whose outcome the store does not know
    listing = sbx.state.faults.inject(vendor="google", path_glob="/classroom/v1/courses/*/courseWork",
                                      http_method="GET", rate=1.0, status=503)
    _, run_id = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                                 include_meetings=False)
    assert listing.fired > 0
    assert status_of(store, run_id) == JobStatus.PARTIAL
    with store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None
        assert sorted(e["item"] for e in job.errors) == pending
        assert all("could not be listed" in e["error"] for e in job.errors)
    assert world.snapshot() == want  # nothing was created a second time
    sbx.state.faults.clear()
    _, run_id = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                                 include_meetings=False)
    assert status_of(store, run_id) == JobStatus.SUCCEEDED
    assert world.snapshot() == want  # the next run found the work by its marker
    assert ("coursework", pending[0], "active") in world.store_state()


@pytest.mark.slow
def test_killed_with_sigkill_at_ten_random_points_and_rerun_ends_as_an_uninterrupted_run(
        sbx: Sandbox, tmp_path: Path) -> None:
    want_tenant, want_store, ops = reference(sbx, tmp_path)
    rng = random.Random(49)
    # Nine points anywhere in a run's calls, and one among the coursework creates (the last stage).
    work = [i for i, op in enumerate(ops, start=1) if op == "courses.courseWork.create"]
    points = sorted([*rng.sample(range(1, len(ops)), 9), rng.choice(work[:-1])])
    killed_during: list[str] = []
    for i, point in enumerate(points):
        sbx.reset()
        (tmp_path / f"k{i}").mkdir()
        db = tmp_path / f"k{i}" / "killed.db"
        store = fresh_store(tmp_path / f"k{i}", "killed.db")
        world = WeeklyWorld.build(sbx, store, tmp_path / f"k{i}", **SHAPE)
        env = {**os.environ, "INTEGRATOR_DATABASE_URL": f"sqlite:///{db}"}
        cmd = [str(Path(sys.executable).parent / "integrator"), "weekly-setup", "--config", str(world.config_path),
               "--week", WEEK, "--org", ORG, "--no-meetings", "--now", NOW.isoformat()]
        start = len(sbx.state.log.items())
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while proc.poll() is None and len(sbx.state.log.items()) - start < point:
            time.sleep(0.0005)
        assert proc.poll() is None, "the run ended before its kill point"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        killed_during.append(sbx.state.log.items()[-1].operation)
        # The re-run: the same job in this process, on the same store and tenant.
        _, run_id = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory(),
                                     include_meetings=False)
        assert status_of(store, run_id) == JobStatus.SUCCEEDED
        got = world.snapshot()
        no_duplicates(got)
        assert got == want_tenant, f"kill point {point} ({killed_during[-1]})"
        assert world.store_state() == want_store, f"kill point {point} ({killed_during[-1]})"
        store.dispose()
    assert len(set(killed_during)) >= 3, killed_during  # the kills hit different stages
