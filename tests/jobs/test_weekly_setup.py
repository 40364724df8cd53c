"""Weekly setup on the sandbox: plan, apply, re-run, changes and the consent gate."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select

from integrator.cli import cli
from integrator.domain.types import AttendanceStatus, JobStatus, VariantKind, WorkDayStatus
from integrator.jobs.attendance.corrections import Actor, correct
from integrator.jobs.locks import JobAlreadyRunning, job_lock
from integrator.jobs.weekly.plan import ALL_CONFIRMED, Confirmed
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.jobs.weekly.tasks import DECIDED
from integrator.providers.errors import NeedsReauth
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    Assignment,
    AttendanceDay,
    Client,
    ClientVariantChoice,
    ExternalResource,
    JobRun,
    PeerGroup,
    Task,
    WorkDay,
)

from . import weekly_world as ww
from .weekly_world import NOW, ORG, WEEK, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

FOLDER_MIME = "application/vnd.google-apps.folder"


def run(world: WeeklyWorld, *, dry_run: bool = False, week: str = WEEK, now: datetime = NOW,
        tasks: Path | None = None, group: str | None = None, confirmed: Confirmed = ()) -> tuple[object, JobRun]:
    plan, run_id = run_weekly_setup(world.store, world.settings, week, ORG, group, dry_run, "test",
                                    confirmed_removals=confirmed, tasks_file=tasks, now=now, client_factory=world.client_factory(),
                                    include_meetings=False)
    with world.store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None
    return plan, job


def test_dry_run_lists_every_change_by_group_and_client_and_writes_nothing(sbx: Sandbox, store: Store,
                                                                          tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=2, clients_per_group=2)
    plan, job = run(world, dry_run=True)
    text = plan.render()  # type: ignore[attr-defined]
    assert "Group ryhma-1:" in text and "Group ryhma-2:" in text
    assert "create course       course:ryhma-1" in text
    assert "folder:K-0001 [K-0001]" in text
    assert world.writes() == []
    assert job.dry_run and job.counts["create:course"] == 2 and job.counts["create:folder"] == 4
    with store.session() as s:
        assert s.scalars(select(ExternalResource)).first() is None


def test_apply_builds_courses_folders_and_scheduled_coursework(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=2, clients_per_group=3, external_every=3)
    _, job = run(world)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    snap = world.snapshot()
    course = snap["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]
    assert course["state"] == "ACTIVE" and course["owner"] == "ohjaaja1@sandbox.example.fi"
    assert course["students"] == ["k-0001@sandbox.example.fi", "k-0002@sandbox.example.fi"]
    assert course["invited"] == ["k-0003@gmail.example.com"]  # outside the domain: by invitation
    assert course["topics"] == ["Viikko 49 (30.11.–6.12.2026)"]
    # Tuesday 1.12.: published 08:00 Helsinki (06:00 UTC), due 23:59 Helsinki (21:59 UTC).
    titles = {(w[0], w[1]) for w in course["coursework"]}
    assert ("ti 1.12. Päivän tehtävä", "2026-12-01T06:00:00Z") in titles
    with sbx.state.lock:
        work = next(iter(sbx.google.classroom.course_work[next(iter(sbx.google.classroom.courses))].values()))
    assert work["dueTime"] == {"hours": 21, "minutes": 59} and work["state"] == "DRAFT"
    names = {f[0] for f in snap["folders"]}
    assert {"K-0001", "K-0002", "K-0003", WEEK} <= names
    k1 = next(f for f in snap["folders"] if f[0] == "K-0001")
    assert k1[2] == (("k-0001@sandbox.example.fi", "writer"),)  # shared with the client only (coordinator owns it)


def test_variants_go_to_the_right_students(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=4, plain_every=2)
    with store.session() as s:
        k1 = s.scalars(select(Client).where(Client.code == "K-0001")).one()
        s.add(ClientVariantChoice(client_id=k1.id, kind=VariantKind.EASIER))
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(
        "week: 2026-W49\n"
        "tasks:\n"
        "  - title: Päiväkirja\n"
        "    instructions: Kirjoita päivästäsi.\n"
        "    variants:\n"
        "      plain_language: {title: Päiväkirja selkokielellä, instructions: Kirjoita 3 lausetta.}\n"
        "      easier: {title: Päiväkirja (kevyt), instructions: Kirjoita 1 lause.}\n", encoding="utf-8")
    _, job = run(world, tasks=tasks)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    work = world.snapshot()["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]["coursework"]
    by_title = {w[0]: w[4] for w in work}
    assert by_title["ti 1.12. Päiväkirja selkokielellä"] == ("k-0002@sandbox.example.fi", "k-0004@sandbox.example.fi")
    assert by_title["ti 1.12. Päiväkirja (kevyt)"] == ("k-0001@sandbox.example.fi",)
    assert by_title["ti 1.12. Päiväkirja"] == ("k-0003@sandbox.example.fi",)


def test_a_rerun_with_nothing_changed_makes_zero_write_calls(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=2, clients_per_group=3, external_every=3)
    run(world)
    sbx.state.log.reset()
    plan, job = run(world)
    assert world.writes() == []
    assert plan.actions == []  # type: ignore[attr-defined]
    assert job.status == JobStatus.SUCCEEDED


def test_client_whose_period_ended_leaves_course_and_folder_sharing_in_one_run(sbx: Sandbox, store: Store,
                                                                                tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=3)
    run(world)
    world.end_period("K-0002", date(2026, 11, 29))
    plan, job = run(world, confirmed=ALL_CONFIRMED)
    removed = {(a.resource, a.key) for a in plan.actions if a.op == "remove"}  # type: ignore[attr-defined]
    assert removed == {("enrolment", "enrolment:ryhma-1:K-0002"), ("permission", "permission:K-0002:client")}
    assert {a.reason for a in plan.actions if a.op == "remove"} == {"jakso päättyi 29.11.2026"}  # type: ignore[attr-defined]
    assert job.status == JobStatus.SUCCEEDED, job.errors
    snap = world.snapshot()
    course = snap["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]
    assert "k-0002@sandbox.example.fi" not in course["students"]
    assert all("k-0002@sandbox.example.fi" not in w[4] for w in course["coursework"])
    k2 = next(f for f in snap["folders"] if f[0] == "K-0002")
    assert k2[2] == ()  # the folder is kept, nobody but its owner can open it


def test_changed_weekday_moves_future_coursework_instead_of_duplicating(sbx: Sandbox, store: Store,
                                                                        tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, weekdays=[[2]], plain_every=0)
    run(world)
    raw = world.settings.model_dump(mode="json")
    raw["organisations"][0]["groups"][0]["weekdays"] = [3]
    world.settings = type(world.settings).model_validate(raw)
    with store.session() as s:
        for c in s.scalars(select(Client)):
            c.periods[0].weekdays = [3]
    plan, job = run(world)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [a.op for a in plan.actions if a.resource == "coursework"] == ["update"]  # type: ignore[attr-defined]
    work = world.snapshot()["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]["coursework"]
    assert [(w[0], w[1]) for w in work] == [("ke 2.12. Päivän tehtävä", "2026-12-02T06:00:00Z")]
    with store.session() as s:
        days = [(wd.day, wd.status) for wd in s.scalars(select(WorkDay))]
    assert days == [(date(2026, 12, 2), WorkDayStatus.PLANNED)]


def work_days(store: Store) -> list[tuple[int, date, WorkDayStatus, datetime, datetime]]:
    with store.session() as s:
        return sorted((wd.id, wd.day, wd.status, wd.meeting_start, wd.meeting_end) for wd in s.scalars(select(WorkDay)))


TUESDAY_MEETING = datetime.fromisoformat("2026-12-01T08:00:00+00:00")  # 10:00-11:00 Helsinki


@pytest.mark.parametrize("now", [TUESDAY_MEETING + timedelta(minutes=30), TUESDAY_MEETING + timedelta(hours=3)],
                         ids=["during-the-meeting", "after-the-meeting"])
def test_a_weekday_change_on_the_day_leaves_a_work_day_whose_meeting_has_begun_as_it_was(
        sbx: Sandbox, store: Store, tmp_path: Path, now: datetime) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, weekdays=[[2]], plain_every=0)
    run(world)
    tuesday = work_days(store)
    world.change_group(weekdays=[3])
    plan, job = run(world, now=now)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    days = work_days(store)
    assert days[0] == tuesday[0]  # not moved, cancelled or re-timed: its attendance stays on 1.12.
    assert [(d[1], d[2]) for d in days[1:]] == [(date(2026, 12, 2), WorkDayStatus.PLANNED)]  # the new weekday
    notes = [a.reason for a in plan.notes if a.resource == "work_day"]  # type: ignore[attr-defined]
    assert notes == ["ti 1.12.2026: päivä on jo alkanut: päivää ei siirretä eikä peruta"]
    assert not [a for a in plan.actions if a.op == "remove"]  # type: ignore[attr-defined]


def test_a_weekday_change_before_the_days_meeting_still_moves_the_day(sbx: Sandbox, store: Store,
                                                                       tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1, weekdays=[[2]], plain_every=0)
    run(world)
    (wd_id, *_), = work_days(store)
    world.change_group(weekdays=[3])
    plan, job = run(world, now=TUESDAY_MEETING - timedelta(minutes=1))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [(d[0], d[1]) for d in work_days(store)] == [(wd_id, date(2026, 12, 2))]
    assert not [a for a in plan.notes if a.resource == "work_day"]  # type: ignore[attr-defined]


def test_a_weekday_change_leaves_a_day_with_a_decision_in_advance_on_its_date(sbx: Sandbox, store: Store,
                                                                              tmp_path: Path) -> None:
    """K-0001 is excused in advance for Tuesday 1.12. (a doctor's appointment). The group then moves to
    Wednesdays: moved with the day, the excuse would cover Wednesday, when the client is free; cancelled,
    a decision that counts would vanish without anyone deciding it. The day stays, the plan says why."""
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, weekdays=[[2]], plain_every=0)
    run(world)
    with store.session() as s:
        client_id = s.scalars(select(Client.id).where(Client.code == "K-0001")).one()
    correct(store, client_id, date(2026, 12, 1), "excused", "lääkäri", Actor("staff:1"), today=date(2026, 11, 27))
    world.change_group(weekdays=[3])

    plan, job = run(world)

    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert [(d[1], d[2]) for d in work_days(store)] == [(date(2026, 12, 1), WorkDayStatus.PLANNED),
                                                        (date(2026, 12, 2), WorkDayStatus.PLANNED)]
    with store.session() as s:
        decided = s.execute(select(WorkDay.day, AttendanceDay.override_status).join(WorkDay)
                            .where(AttendanceDay.override_status.is_not(None))).all()
    assert decided == [(date(2026, 12, 1), AttendanceStatus.EXCUSED)]
    notes = [a.reason for a in plan.notes if a.resource == "work_day"]  # type: ignore[attr-defined]
    assert notes == [f"ti 1.12.2026: {DECIDED}"]


def test_a_new_meeting_time_leaves_a_work_day_whose_meeting_is_over_alone(sbx: Sandbox, store: Store,
                                                                          tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1, weekdays=[[2, 4]], plain_every=0)
    run(world)
    world.change_group(meeting={"start": "14:00", "end": "15:00", "provider": "meet"})
    plan, _ = run(world, now=TUESDAY_MEETING + timedelta(hours=2))
    tuesday, thursday = work_days(store)
    assert (tuesday[3], tuesday[4]) == (TUESDAY_MEETING, TUESDAY_MEETING + timedelta(hours=1))
    assert thursday[3] == datetime.fromisoformat("2026-12-03T12:00:00+00:00")  # 14:00 Helsinki
    notes = [a.reason for a in plan.notes if a.resource == "work_day"]  # type: ignore[attr-defined]
    assert notes == ["ti 1.12.2026: päivä on jo alkanut: tapaamisen aikaa ei muuteta"]


def week_in_store(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """What the job materialises for a week, and the group's config as synced into the store."""
    with store.session() as s:
        return {
            "work_days": sorted((wd.id, wd.day, wd.status, wd.cancelled_reason, wd.meeting_start, wd.meeting_end)
                                for wd in s.scalars(select(WorkDay))),
            "tasks": sorted((t.id, t.work_day_id, t.position, t.title) for t in s.scalars(select(Task))),
            "assignments": sorted((a.task_id, a.client_id, a.variant_id) for a in s.scalars(select(Assignment))),
            "groups": sorted((g.key, tuple(g.weekdays)) for g in s.scalars(select(PeerGroup))),
            "resources": sorted((r.kind, r.local_key, r.status) for r in s.scalars(select(ExternalResource))),
        }


def test_a_dry_run_after_a_weekday_change_shows_the_move_and_leaves_the_store_as_it_was(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, weekdays=[[2]], plain_every=0)
    run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory())
    world.change_group(weekdays=[3])
    before = week_in_store(store)
    sbx.state.log.reset()
    plan, _ = run_weekly_setup(store, world.settings, WEEK, ORG, dry_run=True, now=NOW,
                               client_factory=world.client_factory())
    assert [a.op for a in plan.actions if a.resource == "coursework"] == ["update"]  # the preview shows the move
    assert any(a.resource == "meeting" for a in plan.actions)  # and the meetings planner saw the moved day
    assert week_in_store(store) == before  # no work day moved or cancelled by a preview
    assert world.writes() == []
    run(world)  # the real run moves it
    assert [wd[1] for wd in week_in_store(store)["work_days"]] == [date(2026, 12, 2)]


def test_a_dry_run_while_an_apply_runs_is_refused(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1)
    with job_lock(store, f"weekly_setup:{ORG}"), pytest.raises(JobAlreadyRunning,
                                                               match=f"another weekly setup is running for {ORG}"):
        run(world, dry_run=True)
    assert week_in_store(store)["work_days"] == []


def test_holidays_are_skipped_and_reported(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1, weekdays=[[4, 5]])
    plan, job = run(world, week="2026-W52", now=datetime.fromisoformat("2026-12-18T10:00:00+00:00"))
    notes = [a for a in plan.notes if a.resource == "work_day"]  # type: ignore[attr-defined]
    assert {a.reason for a in notes} == {"to 24.12.2026: Jouluaatto", "pe 25.12.2026: Joulupäivä"}
    assert not [a for a in plan.actions if a.resource == "coursework"]  # type: ignore[attr-defined]
    assert job.status == JobStatus.SUCCEEDED


def test_clients_without_a_data_protection_briefing_are_listed_not_provisioned(sbx: Sandbox, store: Store,
                                                                                tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=3, unbriefed=1)
    plan, _ = run(world)
    skipped = [a for a in plan.notes if a.resource == "client"]  # type: ignore[attr-defined]
    assert [(a.client, a.reason) for a in skipped] == [
        ("K-0001", "tietosuojaperehdytystä ei ole kirjattu: tunnuksia ei luoda")]
    assert not any(a.client == "K-0001" for a in plan.actions)  # type: ignore[attr-defined]
    snap = world.snapshot()
    assert "k-0001@sandbox.example.fi" not in snap["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]["students"]
    assert "K-0001" not in {f[0] for f in snap["folders"]}


def test_an_accepted_invitation_is_noticed_and_the_client_gets_coursework(sbx: Sandbox, store: Store,
                                                                          tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, external_every=2, plain_every=0)
    plan, _ = run(world)
    assert any(a.reason == "odottaa, että asiakas hyväksyy kurssikutsun" for a in plan.notes)  # type: ignore[attr-defined]
    assert sbx.google.accept_all_invitations() == 1
    plan, job = run(world)
    assert [(a.op, a.resource) for a in plan.actions] == [("update", "assignees")]  # type: ignore[attr-defined]
    assert job.counts.get("accepted:invitation") == 1
    course = world.snapshot()["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]
    assert course["coursework"][0][4] == ("k-0001@sandbox.example.fi", "k-0002@gmail.example.com")
    with store.session() as s:
        assert s.scalars(select(Client).where(Client.code == "K-0002")).one().google_user_id


def test_a_shared_drive_holds_the_folders_shared_with_client_and_coordinator(sbx: Sandbox, store: Store,
                                                                             tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1, shared_drive=True)
    _, job = run(world)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    folder = next(f for f in world.snapshot()["folders"] if f[0] == "K-0001")
    assert folder[1] == "Etätyötoiminta"
    assert folder[2] == (("k-0001@sandbox.example.fi", "writer"), ("ohjaaja1@sandbox.example.fi", "writer"))


def test_a_new_coordinator_takes_over_the_course_and_gets_the_folders_shared(sbx: Sandbox, store: Store,
                                                                             tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, coordinators=2)
    run(world)
    raw = world.settings.model_dump(mode="json")
    raw["organisations"][0]["groups"][0]["coordinator"] = "ohjaaja2@sandbox.example.fi"
    world.settings = type(world.settings).model_validate(raw)
    plan, job = run(world)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assert {(a.op, a.resource) for a in plan.actions} == {("update", "course"), ("create", "permission")}  # type: ignore[attr-defined]
    snap = world.snapshot()
    assert snap["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]["owner"] == "ohjaaja2@sandbox.example.fi"
    k1 = next(f for f in snap["folders"] if f[0] == "K-0001")
    assert k1[2] == (("k-0001@sandbox.example.fi", "writer"), ("ohjaaja2@sandbox.example.fi", "writer"))
    sbx.state.log.reset()
    run(world)
    assert world.writes() == []


def test_one_weekly_setup_run_plans_and_makes_the_meetings_too(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2)
    plan, _ = run_weekly_setup(store, world.settings, WEEK, ORG, dry_run=True, now=NOW,
                               client_factory=world.client_factory())
    assert {a.resource for a in plan.actions} >= {"course", "coursework", "meeting"}
    assert world.writes() == []
    _, run_id = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory())
    with store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None and job.status == JobStatus.SUCCEEDED, job.errors if job else None
    sbx.state.log.reset()
    plan, _ = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory())
    assert plan.actions == [] and world.writes() == []


def test_the_runs_progress_counts_every_planned_action_google_and_meetings_batch_by_batch(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=2, clients_per_group=3, external_every=3)
    written: list[tuple[int, int]] = []  # (progress_done, progress_total) each time the JobRun row is written

    def seen(_mapper: object, _conn: object, job: JobRun) -> None:
        written.append((job.progress_done, job.progress_total))

    event.listen(JobRun, "before_update", seen)
    try:
        plan, run_id = run_weekly_setup(store, world.settings, WEEK, ORG, now=NOW, client_factory=world.client_factory())
    finally:
        event.remove(JobRun, "before_update", seen)
    total = len(plan.actions)
    assert {a.resource for a in plan.actions} >= {"course", "coursework", "meeting"}
    assert total > 20
    assert written[0] == (0, total) and {t for _, t in written} == {total}  # the whole bar from the start
    done = [d for d, _ in written]
    assert done == sorted(done) and done[-1] == total
    assert len({d for d in done if 0 < d < total}) >= 4  # it moves in steps, not 0 -> done
    assert len(written) < total  # written per batch or stage, not per item
    with store.session() as s:
        job = s.get(JobRun, run_id)
        assert job is not None and (job.progress_done, job.progress_total) == (total, total)


def test_the_command_prints_the_dry_run_plan(sbx: Sandbox, store: Store, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1, unbriefed=1)
    monkeypatch.setenv("INTEGRATOR_DATABASE_URL", store.url)
    result = CliRunner().invoke(cli, ["weekly-setup", "--config", str(world.config_path), "--week", WEEK, "--org", ORG,
                                      "--dry-run", "--no-meetings", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Group ryhma-1:" in result.output
    assert "tietosuojaperehdytystä ei ole kirjattu" in result.output
    assert "Dry run #" in result.output
    assert world.writes() == []


def test_one_clients_failure_is_reported_while_the_rest_is_set_up(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=3)
    with store.session() as s:  # an address that has no Google account at all
        s.scalars(select(Client).where(Client.code == "K-0002")).one().email = f"poistettu@{ww.DOMAIN}"
    _, job = run(world)
    assert job.status == JobStatus.PARTIAL
    assert [e["item"] for e in job.errors] == ["enrolment:ryhma-1:K-0002"]
    course = world.snapshot()["courses"]["Ryhmä 1|p:ktt-raisio-ryhma-1"]
    assert course["students"] == ["k-0001@sandbox.example.fi", "k-0003@sandbox.example.fi"]
    assigned = sorted(email for work in course["coursework"] for email in work[4])
    assert assigned == ["k-0001@sandbox.example.fi", "k-0003@sandbox.example.fi"]


def test_broken_delegation_stops_the_run_and_says_so(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1)
    key = tmp_path / "google-key.json"
    key.write_text(json.dumps(sbx.google.service_account_info(["https://www.googleapis.com/auth/drive"])))
    with pytest.raises(NeedsReauth):
        run(world)
    with store.session() as s:
        job = s.scalars(select(JobRun).order_by(JobRun.id.desc())).first()
        assert job is not None and job.status == JobStatus.FAILED
        assert job.errors[-1]["kind"] == "needs_reauth"


def test_materials_from_the_material_bank_are_linked_to_the_coursework(sbx: Sandbox, store: Store,
                                                                       tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1,
                              material_bank={"Päiväkirjapohja": "application/vnd.google-apps.document"})
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("tasks:\n  - title: Päiväkirja\n    instructions: Täytä pohja.\n    material: Päiväkirjapohja\n",
                     encoding="utf-8")
    _, job = run(world, tasks=tasks)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    with sbx.state.lock:
        course_id = next(iter(sbx.google.classroom.courses))
        work = next(iter(sbx.google.classroom.course_work[course_id].values()))
    material = work["materials"][0]["driveFile"]
    assert material["driveFile"]["title"] == "Päiväkirjapohja" and material["shareMode"] == "VIEW"


def test_in_a_shared_drive_a_departed_clients_folder_stays_open_to_the_coordinator(sbx: Sandbox, store: Store,
                                                                                   tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=2, shared_drive=True)
    run(world)
    world.end_period("K-0001", date(2026, 11, 29))
    _, job = run(world, confirmed=ALL_CONFIRMED)
    assert job.status == JobStatus.SUCCEEDED, job.errors
    k1 = next(f for f in world.snapshot()["folders"] if f[0] == "K-0001")
    assert k1[2] == (("ohjaaja1@sandbox.example.fi", "writer"),)


def test_two_applies_for_one_organisation_never_overlap(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1)
    with job_lock(store, f"weekly_setup:{ORG}"), pytest.raises(JobAlreadyRunning,
                                                               match=f"another weekly setup is running for {ORG}"):
        run(world)
    assert world.writes() == []
    with store.session() as s:  # a refused run is not in the job history as one that ran
        assert s.scalars(select(JobRun)).first() is None
    _, job = run(world)  # the lock is free again
    assert job.status == JobStatus.SUCCEEDED


def test_the_command_refuses_with_a_clear_message_while_another_run_holds_the_organisation(
        sbx: Sandbox, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = WeeklyWorld.build(sbx, store, tmp_path, groups=1, clients_per_group=1)
    monkeypatch.setenv("INTEGRATOR_DATABASE_URL", store.url)
    with job_lock(store, f"weekly_setup:{ORG}"):
        result = CliRunner().invoke(cli, ["weekly-setup", "--config", str(world.config_path), "--week", WEEK,
                                          "--org", ORG, "--no-meetings", "--now", NOW.isoformat()])
    assert result.exit_code != 0
    assert f"another weekly setup is running for {ORG}" in result.stderr
    with store.session() as s:
        assert s.scalars(select(JobRun)).first() is None
