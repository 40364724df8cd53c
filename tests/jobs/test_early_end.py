"""An early end (keskeytys): allowed at any time, access removed at once, future messages and
invitations withdrawn, every record kept; idempotent and reversible."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from integrator.domain.types import MessageKind
from integrator.jobs.clients import access
from integrator.jobs.clients.access import access_due_to_end
from integrator.jobs.clients.changes import LifecycleError, end_period, move_client, undo_end_period
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.providers.google.client import GoogleClient
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    AuditEvent,
    Client,
    ExternalResource,
    Membership,
    Organisation,
    OutboxMessage,
    PeerGroup,
    Period,
    WorkDay,
)

from . import lifecycle_world as lw
from . import weekly_world as ww
from .lifecycle_world import TODAY, TUESDAYS
from .weekly_world import NOW, ORG, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

K1 = "k-0001@sandbox.example.fi"
START, PLANNED_END = date(2026, 10, 27), date(2027, 4, 26)  # a 6-month period
ON = date(2026, 11, 26)  # after one month: the last day


def six_months(world: WeeklyWorld) -> None:
    """K-0001's period: 27.10.2026-26.4.2027; one letter and one reminder queued for next week."""
    with world.store.session() as s:
        client = s.scalars(select(Client).where(Client.code == "K-0001")).one()
        client.periods[0].start_date, client.periods[0].end_date = START, PLANNED_END
        client.memberships[0].start_date = START
        org_id = s.scalars(select(Organisation.id).where(Organisation.key == ORG)).one()
        tue = s.scalars(select(WorkDay).join(PeerGroup).where(PeerGroup.key == "ryhma-1",
                                                              WorkDay.day == date(2026, 12, 1))).one()
        for key, kind, wd in ((f"letter:{ORG}:K-0001:2026-W49", MessageKind.WEEKLY_LETTER, None),
                              (f"reminder:{ORG}:K-0001:{tue.id}:60", MessageKind.REMINDER, tue.id),
                              (f"letter:{ORG}:K-0001:2026-W48", MessageKind.WEEKLY_LETTER, None)):
            s.add(OutboxMessage(organisation_id=org_id, key=key, kind=kind, client_id=client.id, work_day_id=wd,
                                to_address=K1, subject="Viikko", body_text="..."))


def end(world: WeeklyWorld, *, apply: bool = True, on: date = ON, reason: str = "work",
        now: datetime = NOW) -> Any:
    return end_period(world.store, world.settings, "K-0001", on, reason, "staff:1", now=now, apply=apply,
                      google_factory=world.client_factory())


def invited(world: WeeklyWorld, day: str = "2026-12-01") -> list[str]:
    with world.store.session() as s:
        row = s.scalars(select(ExternalResource).where(ExternalResource.local_key == f"meeting:ryhma-1:{day}")).one()
        ext = row.external_id
    owner = "ohjaaja1@sandbox.example.fi"
    with world.sb.state.lock:
        event = world.sb.google.calendar.events[owner][str(ext)]
        return sorted(a["email"] for a in event.get("attendees", []))


def messages(world: WeeklyWorld) -> dict[str, str]:
    with world.store.session() as s:
        return {m.key: m.status.value for m in s.scalars(select(OutboxMessage))}


@pytest.fixture
def world(sbx: Sandbox, store: Store, tmp_path: Path) -> WeeklyWorld:
    w = lw.build(sbx, store, tmp_path, meetings=True)
    six_months(w)
    return w


def test_an_early_end_after_one_month_removes_access_messages_and_invitations_at_once(world: WeeklyWorld) -> None:
    before = lw.register_rows(world)
    assert K1 in lw.course(world, "ryhma-1") and K1 in invited(world)
    assert (K1, "writer") in lw.folder_sharing(world, "K-0001")

    result = end(world)

    assert result.changed and result.followed.errors == []
    assert K1 not in lw.course(world, "ryhma-1")
    assert K1 not in [email for email, _ in lw.folder_sharing(world, "K-0001")]
    assert "k-0002@sandbox.example.fi" in invited(world) and K1 not in invited(world)
    assert messages(world) == {f"letter:{ORG}:K-0001:2026-W49": "cancelled",
                               f"reminder:{ORG}:K-0001:{reminder_day(world)}:60": "cancelled",
                               f"letter:{ORG}:K-0001:2026-W48": "queued"}  # the week of the last day stays
    lw.evaluate(world)
    assert lw.register_rows(world) == before == [(TUESDAYS[0], "present", 0), (TUESDAYS[1], "present", 0)]
    assert lw.euros(world) == Decimal("18.00")
    with world.store.session() as s:
        period = s.scalars(select(Period).join(Client).where(Client.code == "K-0001")).one()
        assert (period.end_date, period.planned_end_date, period.end_reason, period.ended_by) == (
            ON, PLANNED_END, "work", "staff:1")
        assert period.ended_at is not None
        assert [m.end_date for m in s.scalars(select(Membership).join(Client).where(Client.code == "K-0001"))] == [ON]
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "period.ended")).one()
        assert event.actor == "staff:1" and event.details["on"] == ON.isoformat()
        assert event.details["planned_end"] == PLANNED_END.isoformat() and "@" not in str(event.details)
        # The folder stays (every record is kept), open to the coordinator.
        assert s.scalars(select(ExternalResource).where(ExternalResource.local_key == "folder:K-0001")).one().status \
            == "active"


def reminder_day(world: WeeklyWorld) -> int:
    with world.store.session() as s:
        return s.scalars(select(WorkDay.id).join(PeerGroup).where(PeerGroup.key == "ryhma-1",
                                                                  WorkDay.day == date(2026, 12, 1))).one()


def test_a_second_run_changes_nothing_and_audits_nothing(world: WeeklyWorld) -> None:
    end(world)
    state, msgs = world.store_state(), messages(world)
    world.sb.state.log.reset()

    again = end(world)

    assert not again.changed and again.followed.tenant.actions == [] and again.followed.meetings.actions == []
    assert world.writes() == [] and world.store_state() == state and messages(world) == msgs
    with world.store.session() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "period.ended")).all()) == 1


def test_undo_gives_back_the_planned_end_the_access_and_the_messages(world: WeeklyWorld) -> None:
    end(world)

    result = undo_end_period(world.store, world.settings, "K-0001", "staff:1", now=NOW, apply=True,
                             google_factory=world.client_factory())

    assert result.changed and result.followed.errors == []
    assert K1 in lw.course(world, "ryhma-1") and K1 in invited(world)
    assert (K1, "writer") in lw.folder_sharing(world, "K-0001")
    assert set(messages(world).values()) == {"queued"}
    with world.store.session() as s:
        period = s.scalars(select(Period).join(Client).where(Client.code == "K-0001")).one()
        assert (period.end_date, period.planned_end_date, period.end_reason) == (PLANNED_END, None, None)
        assert [m.end_date for m in s.scalars(select(Membership).join(Client).where(Client.code == "K-0001"))] \
            == [None]
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "period.end_undone")).one().actor == "staff:1"


def test_the_preview_says_what_goes_in_plain_words_and_changes_nothing(world: WeeklyWorld) -> None:
    state, msgs = world.store_state(), messages(world)
    world.sb.state.log.reset()

    text = end(world, apply=False).preview()

    assert "jakso päättyy keskeytykseen to 26.11.2026 (syy: työ)" in text
    assert "poistetaan ryhmän ryhma-1 Classroom-kurssilta" in text
    assert "asiakkaan pääsy kansioon K-0001 poistetaan" in text
    assert "1 viikkokirjettä, 1 muistutusta" in text
    assert "ryhma-1 ti 1.12.2026: päivitetään" in text
    assert world.writes() == [] and world.store_state() == state and messages(world) == msgs


def test_a_future_end_is_followed_by_the_first_nightly_sync_after_it(world: WeeklyWorld) -> None:
    later = date(2026, 12, 1)  # next Tuesday, the last day

    result = end(world, on=later)

    assert "yöajossa ke 2.12.2026" in result.preview()
    assert K1 in lw.course(world, "ryhma-1")  # until the last day
    night = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 1:30 on Wednesday in Helsinki
    results = run_nightly_sync(world.store, world.settings, org_key=ORG, now=night,
                               providers=Providers(google=lambda cfg: GoogleClient(cfg.google,
                                                                                   policy=ww.fast_policy())))
    assert results[0].counts.get("access_ended") == 1, results[0].errors
    assert K1 not in lw.course(world, "ryhma-1")
    assert K1 not in [email for email, _ in lw.folder_sharing(world, "K-0001")]


def test_an_end_outside_the_period_or_with_an_unknown_reason_is_refused(world: WeeklyWorld) -> None:
    with pytest.raises(LifecycleError) as err:
        end(world, reason="sairas")
    assert err.value.field == "reason"
    with pytest.raises(LifecycleError) as err:
        end(world, on=date(2026, 10, 1))
    assert err.value.field == "on"
    assert TODAY == NOW.date()


def test_an_end_after_a_move_from_a_later_date_takes_the_new_groups_course_too(world: WeeklyWorld) -> None:
    """Moved to the Thursday group from Monday 30.11., then ended on Thursday 26.11.: the new group's
    membership starts after the end and stays as recorded, but its course goes with the period."""
    move_client(world.store, world.settings, "K-0001", "ryhma-2", lw.MOVE_DAY, "staff:1", now=NOW, apply=True,
                google_factory=world.client_factory())
    assert K1 in lw.course(world, "ryhma-2") and K1 in lw.course(world, "ryhma-1")

    done = end(world)

    assert done.changed and not done.followed.errors
    assert K1 not in lw.course(world, "ryhma-1") and K1 not in lw.course(world, "ryhma-2")


def test_the_nightly_access_check_reads_only_the_access_of_clients_whose_end_came(world: WeeklyWorld) -> None:
    """The check runs every night for the whole organisation: it starts from the periods ended
    early and the memberships ended, and reads only those clients' access rows, by key."""
    end(world, on=date(2026, 12, 1))
    read: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "external_resource" in statement:
            read.append(repr(parameters))

    event.listen(world.store.engine, "before_cursor_execute", seen)
    try:
        assert access_due_to_end(world.store, ORG, date(2026, 12, 1)) == {}  # the last day: not yet
        assert access_due_to_end(world.store, ORG, date(2026, 12, 2)) == {"K-0001": {"ryhma-1"}}
    finally:
        event.remove(world.store.engine, "before_cursor_execute", seen)
    assert read and all("K-0001" in p for p in read)  # by the ended client's keys, not every client's rows
    assert not any("K-0002" in p for p in read)


def test_the_nightly_access_step_loads_msgraph_only_for_an_organisation_with_task_folders() -> None:
    """`jobs.nightly.run._end_access` imports the access step for every organisation: a Google
    organisation's night must not load msgraph with it (~1.3 s, tens of MB); the SharePoint side
    and the Graph client come with the first task-folder organisation (`_follow_task_folder`)."""
    script = ("import sys, integrator.jobs.clients.changes, integrator.jobs.weekly.setup\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('msgraph', 'msgraph_core')"
              " or m.startswith(('integrator.providers.microsoft', 'integrator.jobs.weekly.sharepoint'))))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    from integrator.jobs.weekly.sharepoint import FOLDER_KIND

    assert access.SP_FOLDER == FOLDER_KIND, "the access step finds the SharePoint folders by the weekly side's kind"
