"""A weekly setup cannot take access away by surprise: a removal of access (a course enrolment,
folder sharing) is applied only when a person confirmed it, it says its true reason in Finnish,
and a week planned from today's memberships (a past week) never removes a client who begins later.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from integrator.cli import cli
from integrator.jobs.weekly.plan import ALL_CONFIRMED, Confirmed
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import Client, JobRun, Membership, PeerGroup, Period

from . import weekly_world as ww
from .weekly_world import NOW, ORG, WEEK, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures
COURSE = "Ryhmä 1|p:ktt-raisio-ryhma-1"


def run(world: WeeklyWorld, *, week: str = WEEK, dry_run: bool = False, confirmed: Confirmed = (),
        groups: list[str] | None = None) -> tuple[Any, JobRun]:
    plan, run_id = run_weekly_setup(world.store, world.settings, week, ORG, None, dry_run, "test",
                                    group_keys=groups, confirmed_removals=confirmed, now=NOW,
                                    client_factory=world.client_factory(), include_meetings=False)
    with world.store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None
    return plan, job


def access(world: WeeklyWorld) -> tuple[tuple[str, ...], dict[str, tuple[Any, ...]]]:
    """The course's students and each client folder's sharing, as the tenant has them."""
    snap = world.snapshot()
    return tuple(sorted(snap["courses"][COURSE]["students"])), {f[0]: f[2] for f in snap["folders"] if f[0].startswith("K-")}


def test_an_unconfirmed_removal_is_held_back_and_the_access_stays(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=3)
    run(world)
    before = access(world)
    world.end_period("K-0002", date(2026, 11, 29))
    plan, job = run(world)  # as the scheduler runs it: nobody confirmed anything
    assert not [a for a in plan.actions if a.op == "remove"]
    held = {a.key: a.reason for a in plan.notes if a.detail.get("held")}
    assert held == {"enrolment:ryhma-1:K-0002": "jakso päättyi 29.11.2026; poistoa ei vahvistettu: pääsy säilyy",
                    "permission:K-0002:client": "jakso päättyi 29.11.2026; poistoa ei vahvistettu: pääsy säilyy"}
    assert job.counts["held_removals"] == 2
    assert access(world) == before

    # The preview lists the removals; the apply confirms exactly those it showed, and only those.
    preview, _ = run(world, dry_run=True)
    shown = [a.key for a in preview.actions if a.op == "remove"]
    assert sorted(shown) == sorted(held)
    plan, job = run(world, confirmed=["enrolment:ryhma-1:K-0002"])
    assert [(a.op, a.key) for a in plan.actions] == [("remove", "enrolment:ryhma-1:K-0002")]
    students, folders = access(world)
    assert "k-0002@sandbox.example.fi" not in students and folders["K-0002"] == before[1]["K-0002"]
    run(world, confirmed=ALL_CONFIRMED)
    assert access(world)[1]["K-0002"] == ()


def test_a_past_week_planned_today_removes_nobody_who_begins_later(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    """The defect: a setup of a past week saw every client as gone ("period ended" a future date)
    and removed all their access. A client whose period or membership begins after the week is
    none of that week's business."""
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=3)
    run(world)
    before = access(world)
    with store.session() as s:  # everyone began on 1.11.2026
        for p in s.scalars(select(Period)):
            p.start_date = date(2026, 11, 1)
        for m in s.scalars(select(Membership)):
            m.start_date = date(2026, 11, 1)
    plan, job = run(world, week="2026-W43", confirmed=ALL_CONFIRMED)  # 19.-25.10.2026, even if confirmed
    assert [a for a in plan.actions if a.op == "remove"] == []
    kept = {(a.resource, a.client, a.reason) for a in plan.notes if a.resource in ("enrolment", "permission")}
    assert ("enrolment", "K-0001", "aloittaa vasta 1.11.2026: pääsy säilyy") in kept
    assert access(world) == before


def test_a_client_who_moved_to_another_group_is_told_where_and_when(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=2, clients_per_group=1)
    run(world)
    with store.session() as s:
        k1 = s.scalars(select(Client).where(Client.code == "K-0001")).one()
        g2 = s.scalars(select(PeerGroup).where(PeerGroup.key == "ryhma-2")).one()
        k1.memberships[0].end_date = date(2026, 11, 29)
        s.add(Membership(group_id=g2.id, client_id=k1.id, start_date=date(2026, 11, 30)))
    preview, _ = run(world, dry_run=True)
    removals = [(a.key, a.reason) for a in preview.actions if a.op == "remove" and a.resource == "enrolment"]
    assert removals == [("enrolment:ryhma-1:K-0001", "siirtyi ryhmään Ryhmä 2 30.11.")]


def test_one_plan_covers_the_groups_asked_for_and_no_other(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=3, clients_per_group=1)
    plan, job = run(world, dry_run=True, groups=["ryhma-1", "ryhma-3"])
    assert {a.group for a in plan.actions} == {"ryhma-1", "ryhma-3"}
    assert job.params["groups"] == ["ryhma-1", "ryhma-3"] and job.params["group"] is None


@pytest.mark.parametrize("extra", [[], ["--force-past-week", "2026-W47"]])
def test_the_command_refuses_a_past_week_unless_forced_and_then_still_removes_nothing_unconfirmed(
        sbx: Sandbox, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2)
    run(world)
    world.end_period("K-0002", date(2026, 11, 1))
    before = access(world)
    monkeypatch.setenv("INTEGRATOR_DATABASE_URL", store.url)
    args = ["weekly-setup", "--config", str(world.config_path), "--week", "2026-W46", "--org", ORG,
            "--no-meetings", "--now", NOW.isoformat()]
    result = CliRunner().invoke(cli, args + extra)  # a mistyped confirmation forces nothing
    assert result.exit_code == 2 and "is in the past" in result.stderr
    assert access(world) == before
    if extra:
        result = CliRunner().invoke(cli, [*args, "--force-past-week", "2026-W46"])
        assert result.exit_code == 0, result.output
        assert "poistoa ei vahvistettu" in result.output and "--confirm-removals" in result.stderr
        assert access(world) == before
