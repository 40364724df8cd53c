"""Returns of an organisation on Microsoft 365 alone: files clients save in their SharePoint task
folders, read by the nightly sync from the document library's delta query, count in the register
as Drive returns do (issue 18, must-haves 4 and 5).

Week 2026-W03 of tests/jobs/msonly_world.py: "tiistai" meets Tue 13.1. (K-0001..K-0003),
"keskiviikko" Wed 14.1. (K-0004, K-0005); the day's return deadline is 16:00 here. Nobody joins
the Teams meetings: whatever is present comes from a return alone.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from integrator.reports.register import build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import Client, Submission, SyncCursor
from tests.jobs import msonly_world as mw
from tests.jobs.msonly_world import ORG, TUE, WED, WEEK, MsOnlyWorld, fresh, local

sandbox_server = mw.sandbox_server  # fixture: one sandbox per module


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> MsOnlyWorld:
    w = MsOnlyWorld.build(fresh(sandbox_server), store, tmp_path, task_folders=True, rules={"day_return_deadline": "16:00"})
    w.weekly_setup()
    w.client_folders()
    return w


def register(w: MsOnlyWorld, day: Any) -> dict[str, str]:
    table = build_week(w.store, ORG, WEEK, rules=w.settings.rules_for(ORG)).table()
    return {code: row[day] for code, row in table.items() if day in row}


def returns(w: MsOnlyWorld) -> list[tuple[str, str, str, bool, str]]:
    """(client code, source, external id, late, state) of every stored return."""
    with w.store.session() as s:
        rows = s.execute(select(Client.code, Submission.source, Submission.external_id, Submission.late,
                                Submission.state).join(Client, Client.id == Submission.client_id)
                         .order_by(Client.code)).all()
        assert s.scalar(select(Submission.id).where(Submission.client_id.is_(None))) is None
    return [tuple(r) for r in rows]  # type: ignore[misc]


def delta_requests(w: MsOnlyWorld) -> int:
    return sum(1 for e in w.sb.state.log.entries if e.http_method == "GET" and e.path.endswith("/root/delta"))


def cursor(w: MsOnlyWorld) -> str | None:
    with w.store.session() as s:
        return s.scalar(select(SyncCursor.value).where(SyncCursor.source == "sharepoint",
                                                       SyncCursor.partition == f"drive:{w.drive_id}"))


def test_a_clients_own_file_before_the_deadline_makes_the_day_present_and_staff_or_late_files_do_not(
        world: MsOnlyWorld) -> None:
    world.sb.state.clock.set(local(TUE, 12))
    on_time = world.save_return("K-0001", "K-0001")
    world.save_return(world.coordinator, "K-0002", "ohjeet.docx")  # the coordinator's material
    world.save_return("K-0002", "K-0003", "vaara-kansio.docx")  # into another client's folder
    late = world.save_return("K-0003", "K-0003", at=local(TUE, 17))  # after the 16:00 deadline
    world.sb.state.clock.set(local(WED, 2))

    result = world.nightly_sync()

    assert result.errors == [] and result.status.value == "succeeded"
    assert result.counts["sharepoint_returns_written"] == 2 and result.counts["sharepoint_drives_read"] == 1
    assert returns(world) == [("K-0001", "sharepoint", on_time, False, "added"),
                              ("K-0003", "sharepoint", late, True, "added")]
    tuesday = register(world, TUE)
    assert tuesday["K-0001"] == "present"
    assert tuesday["K-0002"] != "present" and tuesday["K-0003"] != "present"
    with world.store.session() as s:
        k3 = s.scalars(select(Client).where(Client.code == "K-0003")).one()
        assert world.drive_id and cursor(world)
        assert s.scalar(select(Submission.work_day_id).where(Submission.client_id == k3.id)) is not None


def test_a_rerun_with_nothing_new_makes_one_delta_request_and_a_deleted_file_keeps_its_return(
        world: MsOnlyWorld) -> None:
    world.sb.state.clock.set(local(TUE, 12))
    item = world.save_return("K-0001", "K-0001")
    world.sb.state.clock.set(local(WED, 2))
    world.nightly_sync()
    before, stored = delta_requests(world), returns(world)

    world.sb.state.clock.set(local(WED, 2) + timedelta(minutes=5))
    again = world.nightly_sync()

    assert delta_requests(world) - before == 1
    assert again.errors == [] and again.counts.get("days_changed", 0) == 0
    assert again.counts.get("sharepoint_returns_written", 0) == 0 and returns(world) == stored

    # The client tidies the file away: the day they returned it on stays present.
    client = world.graph()
    try:
        client.call("drive.delete", lambda sdk: sdk.drives.by_drive_id(world.drive_id).items
                    .by_drive_item_id(item).delete())
    finally:
        client.close()
    after_delete = world.nightly_sync()
    assert after_delete.errors == [] and after_delete.counts.get("days_changed", 0) == 0
    assert returns(world) == stored and register(world, TUE)["K-0001"] == "present"


def test_the_cursor_is_saved_with_the_returns_so_a_crash_between_reads_the_same_changes_again(
        world: MsOnlyWorld) -> None:
    world.sb.state.clock.set(local(TUE, 9))
    world.nightly_sync()  # the first read: the cursor exists from now on
    first = cursor(world)
    world.sb.state.clock.set(local(TUE, 12))
    item = world.save_return("K-0001", "K-0001")
    world.sb.state.clock.set(local(WED, 2))

    def crash_on_the_cursor(session: Session) -> None:
        if any(isinstance(o, SyncCursor) and o.source == "sharepoint" for o in session.dirty):
            raise RuntimeError("the process died before the commit")

    event.listen(Session, "before_commit", crash_on_the_cursor)
    try:
        with pytest.raises(RuntimeError):
            world.nightly_sync()
    finally:
        event.remove(Session, "before_commit", crash_on_the_cursor)
    assert cursor(world) == first and returns(world) == []  # neither the returns nor the cursor

    result = world.nightly_sync()
    again = world.nightly_sync()

    assert result.counts["sharepoint_returns_written"] == 1
    assert again.counts.get("sharepoint_returns_written", 0) == 0
    assert returns(world) == [("K-0001", "sharepoint", item, False, "added")]
    assert cursor(world) != first and register(world, TUE)["K-0001"] == "present"


def test_the_creator_is_the_client_by_entra_object_id_first_then_by_email(world: MsOnlyWorld) -> None:
    with world.store.session() as s:
        k1 = s.scalars(select(Client).where(Client.code == "K-0001")).one()
        k1.email = "toinen.osoite@example.fi"  # another address on file: the object id still says who
        k4 = s.scalars(select(Client).where(Client.code == "K-0004")).one()
        k4.entra_object_id = None  # no object id known: the e-mail address, whatever its case
        k4.email = world.emails["K-0004"].upper()
    world.sb.state.clock.set(local(TUE, 12))
    by_id = world.save_return("K-0001", "K-0001")
    world.sb.state.clock.set(local(WED, 12))
    by_email = world.save_return("K-0004", "K-0004")
    world.sb.state.clock.set(local(WED, 23))

    result = world.nightly_sync()

    assert result.errors == []
    assert returns(world) == [("K-0001", "sharepoint", by_id, False, "added"),
                              ("K-0004", "sharepoint", by_email, False, "added")]
    assert register(world, TUE)["K-0001"] == "present" and register(world, WED)["K-0004"] == "present"
