"""An organisation on Microsoft 365 alone gets its week: work days, tasks, Teams meetings, letters
and reminders through Graph mail, and the nightly register from the Teams attendance reports.
Nothing in it reaches for Google (the world has no Google tenant, and its nightly sync refuses one).

Week 2026-W03: "tiistai" meets Tue 13.1. and Thu 15.1. (K-0001..K-0003, K-0002 reads plain
language), "keskiviikko" Wed 14.1. (K-0004, K-0005); every meeting 10-11 Helsinki time on Teams.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.reminders import queue_due_reminders
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.weekly.store_week import NO_GOOGLE
from integrator.jobs.weekly.tasks import DEFAULT_INSTRUCTIONS_NO_RETURN
from integrator.reports.register import build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    Assignment,
    ExternalResource,
    MeetingAttendance,
    OutboxMessage,
    PeerGroup,
    Task,
    WorkDay,
)
from tests.jobs import msonly_world as mw
from tests.jobs.msonly_world import ORG, THU, TUE, WED, WEEK, MsOnlyWorld, fresh, local

sandbox_server = mw.sandbox_server  # fixture: one sandbox per module


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> MsOnlyWorld:
    return MsOnlyWorld.build(fresh(sandbox_server), store, tmp_path)


def days(w: MsOnlyWorld) -> list[tuple[str, str, int]]:
    """(group, day, tasks) of the store's work days of the week."""
    with w.store.session() as s:
        rows = s.execute(select(PeerGroup.key, WorkDay.day, func.count(Task.id))
                         .join(WorkDay, WorkDay.group_id == PeerGroup.id).outerjoin(Task, Task.work_day_id == WorkDay.id)
                         .where(WorkDay.iso_week == WEEK).group_by(PeerGroup.key, WorkDay.day)
                         .order_by(WorkDay.day, PeerGroup.key)).all()
    return [(g, d.isoformat(), n) for g, d, n in rows]


def store_rows(w: MsOnlyWorld) -> dict[str, int]:
    with w.store.session() as s:
        return {"work_days": s.scalar(select(func.count(WorkDay.id))) or 0,
                "tasks": s.scalar(select(func.count(Task.id))) or 0,
                "assignments": s.scalar(select(func.count(Assignment.id))) or 0,
                "resources": s.scalar(select(func.count(ExternalResource.id))) or 0}


def test_weekly_setup_makes_the_work_days_tasks_and_teams_meetings_and_a_rerun_writes_nothing(
        world: MsOnlyWorld) -> None:
    plan, _run = world.weekly_setup()

    assert days(world) == [("tiistai", "2026-01-13", 1), ("keskiviikko", "2026-01-14", 1),
                           ("tiistai", "2026-01-15", 1)]
    assert store_rows(world)["assignments"] == 3 * 2 + 2 * 1  # each taking-part client, each day's task
    assert sorted(a.key for a in plan.actions) == [
        "meeting:keskiviikko:2026-01-14", "meeting:tiistai:2026-01-13", "meeting:tiistai:2026-01-15"]
    assert {a.resource for a in plan.actions} == {"meeting"}, "no Classroom or Drive action"
    assert any(n.reason == NO_GOOGLE for n in plan.notes)
    for group, day in (("tiistai", TUE), ("keskiviikko", WED), ("tiistai", THU)):
        row = world.meeting(group, day)
        assert row is not None and row.status == "active" and row.state["provider"] == "teams"
        assert str(row.state["join_url"]).startswith("https://teams.microsoft.com/l/meetup-join/")
    with world.sb.state.lock:  # no task folders here: the body points to none
        assert not any("tehtäväkansiossasi" in str(e.data["body"]["content"]) for e in world.sb.graph.events.values())
    writes, rows = world.writes(), store_rows(world)

    again, _run = world.weekly_setup()

    assert again.actions == []
    assert world.writes() == writes and store_rows(world) == rows


def test_a_dry_run_shows_the_meetings_and_leaves_the_store_and_tenant_as_they_were(world: MsOnlyWorld) -> None:
    plan, _run = world.weekly_setup(dry_run=True)

    assert [a.op for a in plan.actions] == ["create"] * 3
    assert store_rows(world)["work_days"] == 0 and world.writes() == []


def test_letters_and_reminders_go_through_graph_mail_with_the_teams_links(world: MsOnlyWorld) -> None:
    world.weekly_setup()
    join = {day: str(world.meeting(g, day).state["join_url"])  # type: ignore[union-attr]
            for g, day in (("tiistai", TUE), ("keskiviikko", WED), ("tiistai", THU))}
    with world.store.session() as s:  # a Drive file id (from a task file): no Drive to link it in
        for task in s.scalars(select(Task)):
            task.material_file_id = "file123"

    counts = queue_weekly_letters(world.store, world.settings, ORG, WEEK, now=world.sb.state.clock.now())
    sent = send_outbox(world.store, world.settings, now=world.sb.state.clock.now())

    assert counts["queued"] == 5 and counts["without_link"] == 0 and sent["sent"] == 5
    mail = {m.to[0]: m for m in world.sb.sent_mail()}
    assert {m.vendor for m in mail.values()} == {"graph"} and {m.sender for m in mail.values()} == {world.sender}
    first = mail["k-0001@naantali.example.fi"]
    assert join[TUE] in first.html and join[THU] in first.html and "Teams" in first.text
    assert DEFAULT_INSTRUCTIONS_NO_RETURN in first.text, "no word of returning the work into a task"
    assert "Palauta" not in first.text
    assert "Tapaaminen alkaa kello 10.00." in mail["k-0002@naantali.example.fi"].text  # plain language
    assert join[WED] in mail["k-0004@naantali.example.fi"].html
    assert not any("google" in m.html.lower() for m in mail.values())
    with world.store.session() as s:
        letter = s.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "k-0001@naantali.example.fi"))
        assert letter is not None and join[TUE] in letter.body_text  # the text part carries the link too

    moment = local(TUE, 9)  # an hour before Tuesday's meeting
    world.sb.state.clock.set(moment)
    reminders = queue_due_reminders(world.store, world.settings, moment)
    send_outbox(world.store, world.settings, now=moment)

    assert reminders["queued"] == 3 and reminders["no_link"] == 0
    reminded = [m for m in world.sb.sent_mail() if m.subject.startswith("Muistutus")]
    assert sorted(m.to[0] for m in reminded) == [f"k-000{i}@naantali.example.fi" for i in (1, 2, 3)]
    assert all(m.vendor == "graph" and join[TUE] in m.html for m in reminded)
    with world.store.session() as s:
        assert {m.status.value for m in s.scalars(select(OutboxMessage))} == {"sent"}


def test_the_nightly_sync_reads_teams_attendance_into_the_register_without_google(world: MsOnlyWorld) -> None:
    world.weekly_setup()
    world.sb.state.clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    world.attend("K-0002", "tiistai", TUE, 10)  # too short, and no task returned: absent
    world.sb.state.clock.set(local(WED, 2))

    result = world.nightly_sync()

    assert result.errors == [] and result.status.value == "succeeded"
    table = build_week(world.store, ORG, WEEK, rules=world.settings.rules_for(ORG)).table()
    assert {code: row[TUE] for code, row in table.items() if TUE in row} == {
        "K-0001": "present", "K-0002": "absent", "K-0003": "absent"}
    with world.store.session() as s:
        records = s.execute(select(MeetingAttendance.source, MeetingAttendance.email)).all()
    assert sorted(records) == [("teams", "k-0001@naantali.example.fi"), ("teams", "k-0002@naantali.example.fi")]

    world.sb.state.clock.set(local(WED, 2) + timedelta(minutes=5))
    again = world.nightly_sync()

    assert again.errors == [] and again.counts.get("days_changed", 0) == 0
