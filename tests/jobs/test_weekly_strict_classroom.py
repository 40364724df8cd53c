"""Weekly setup against Classroom's documented permission rules (the sandbox's default, strict mode):
members are added directly only by the Workspace admin the service acts as, coordinators invite,
and an invitation for someone who is already a student is refused as FAILED_PRECONDITION."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, select

from integrator.domain.types import JobStatus
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import ExternalResource, JobRun

from . import weekly_world as ww
from .weekly_world import NOW, ORG, WEEK, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

COURSE = "Ryhmä 1|p:ktt-raisio-ryhma-1"


def run(world: WeeklyWorld) -> JobRun:
    _, run_id = run_weekly_setup(world.store, world.settings, WEEK, ORG, None, False, "test", now=NOW,
                                 client_factory=world.client_factory(), include_meetings=False)
    with world.store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None
        return job


def test_the_setup_passes_on_strict_classroom_roles(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    assert sbx.google.classroom_roles == "strict"
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, external_every=2)
    job = run(world)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    course = world.snapshot()["courses"][COURSE]
    assert course["students"] == ["k-0001@sandbox.example.fi"]  # the domain client, added by the admin
    assert course["invited"] == ["k-0002@gmail.example.com"]  # the personal account, invited


def test_an_invitation_for_a_client_who_is_a_student_already_is_adopted(sbx: Sandbox, store: Store,
                                                                        tmp_path: Path) -> None:
    """The crash window: Classroom made the invitation, the job stopped before storing it, and the
    client accepted meanwhile. The next invitation is refused (400 FAILED_PRECONDITION, as
    invitations.create documents); the run finds the student and records the enrolment."""
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, external_every=2)
    assert run(world).status == JobStatus.SUCCEEDED
    assert sbx.google.accept_all_invitations() == 1
    with store.session() as s:
        s.execute(delete(ExternalResource).where(ExternalResource.kind == "enrolment",
                                                 ExternalResource.local_key.like("%K-0002%")))
    sbx.state.log.reset()

    job = run(world)

    assert job.status == JobStatus.SUCCEEDED, job.errors
    refused = [e for e in sbx.state.log.items() if e.path.endswith("/invitations") and e.http_method == "POST"]
    assert [e.status for e in refused] == [400]
    assert job.counts.get("adopted:enrolment") == 1
    with store.session() as s:
        row = s.scalars(select(ExternalResource).where(ExternalResource.kind == "enrolment",
                                                       ExternalResource.local_key.like("%K-0002%"))).one()
        assert row.status == "active" and (row.state or {}).get("accepted") is True
    assert world.snapshot()["courses"][COURSE]["students"] == ["k-0001@sandbox.example.fi",
                                                                "k-0002@gmail.example.com"]
