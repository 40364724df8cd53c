"""The weekly apply goes by quota bucket: while the admin account's Classroom bucket waits for its
next window (429 with Retry-After), the Drive work whose folders exist goes on, instead of
waiting behind it as the old stages did (sharing was sent after every enrolment was answered).
Dependency order still holds: a folder before its sharing, enrolments before their coursework."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from integrator.domain.types import JobStatus
from integrator.sandbox.core import LogEntry
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import ExternalResource

from . import weekly_world as ww
from .weekly_world import WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

ENROL = "/classroom/v1/courses/*/students"
WAIT_S = 2  # the admin bucket's Retry-After: the next window


def served(sb: Sandbox) -> list[LogEntry]:
    return [e for e in sb.state.log.items() if e.status < 300]


def test_drive_work_finishes_while_the_admins_classroom_bucket_waits(sbx: Sandbox, store: Store,
                                                                     tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=2, clients_per_group=3)
    sbx.state.log.reset()
    # Every domain student's first enrolment is refused for quota: the admin's bucket must wait.
    window = sbx.state.faults.inject(vendor="google", path_glob=ENROL, http_method="POST", rate=1.0, status=429,
                                     retry_after=WAIT_S, count=6)
    started = time.monotonic()

    status, errors = world.run_setup()

    assert (status, errors) == (JobStatus.SUCCEEDED, [])
    assert window.fired == 6
    assert time.monotonic() - started >= WAIT_S, "the window was waited out, not skipped"
    log = served(sbx)
    ops = [e.operation for e in log]
    first_enrolled = ops.index("courses.students.create")
    shares = [i for i, op in enumerate(ops) if op == "permissions.create"]
    folders = [i for i, op in enumerate(ops) if op == "files.create"]
    assert len(shares) == 6 and len(folders) == 6 + 6  # each client's folder shared; client and week folders
    assert max(shares) < first_enrolled and max(folders) < first_enrolled, \
        "Drive work finished before the Classroom wait ended"
    # ... and the order within each lane held: folders before sharing, enrolments before coursework.
    assert min(shares) > min(folders)
    works = [i for i, op in enumerate(ops) if op == "courses.courseWork.create"]
    assert works and min(works) > first_enrolled
    with world.store.session() as s:
        kinds = {(r.kind, r.status) for r in s.scalars(select(ExternalResource))}
    assert {k for k, st in kinds if st != "active"} == set(), kinds

    # A re-run writes nothing.
    sbx.state.log.reset()
    assert world.run_setup() == (JobStatus.SUCCEEDED, [])
    assert [e for e in sbx.state.log.writes() if e.api != "oauth"] == []


def test_the_admins_enrolments_go_first_and_the_drive_work_fills_the_wait(sbx: Sandbox, store: Store,
                                                                          tmp_path: Path) -> None:
    """The bottleneck first: the admin account's Classroom bucket (every domain student's enrolment)
    sets how long the run must take, so it sends as soon as it may, before the Drive lane's
    folders (queued first), and the Drive work goes on while it waits for its next window."""
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=3, clients_per_group=3)
    sbx.state.log.reset()
    window = sbx.state.faults.inject(vendor="google", path_glob=ENROL, http_method="POST", rate=1.0, status=429,
                                     retry_after=WAIT_S, count=1)

    assert world.run_setup() == (JobStatus.SUCCEEDED, [])

    assert window.fired == 1
    sent = [e.operation for e in sbx.state.log.items()]  # refused ones too: the order of sending
    first_folder = sent.index("files.create")
    assert sent.index("courses.students.create") < first_folder, "the admin's enrolments waited behind Drive"
    served_ops = [e.operation for e in served(sbx)]
    # The refused enrolment went again after its wait; the folders and sharing were made meanwhile.
    last_enrolled = len(served_ops) - 1 - served_ops[::-1].index("courses.students.create")
    assert served_ops.index("permissions.create") < last_enrolled
    assert served_ops.count("courses.students.create") == sent.count("courses.students.create") - 1
    with world.store.session() as s:
        rows = list(s.scalars(select(ExternalResource)))
    assert {r.status for r in rows} == {"active"}
    assert sum(1 for r in rows if r.kind == "enrolment") == 9
