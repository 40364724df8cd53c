"""Review of the attendance work (issue 11): orders of real events that cost a client a paid day.

The lifecycle world: K-0001 attended Tuesdays 17.11. and 24.11.2026 (paid, 18 €); today is Friday 27.11.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from integrator.clients_import.writing import ImportResult, import_clients
from integrator.demo.world import local
from integrator.jobs.clients.changes import LifecycleError, end_period, move_client
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Period
from tests.jobs.test_final_evidence import day_row, sync_at
from tests.jobs.test_nightly_sync import TUE, _world

from . import lifecycle_world as lw
from . import weekly_world as ww
from .lifecycle_world import TUESDAYS
from .weekly_world import NOW, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures


def _state(world: WeeklyWorld) -> tuple[list[tuple[date, str, int]], list[tuple[date, date | None]], list[date]]:
    with world.store.session() as s:
        memberships = sorted((m.start_date, m.end_date) for m in s.scalars(select(Membership)))
        periods = sorted(p.end_date for p in s.scalars(select(Period)))
    return lw.register_rows(world), memberships, periods


def test_an_early_end_before_an_attended_day_is_refused_not_a_silent_loss_of_the_paid_day(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    """Ended on Wednesday 18.11. although K-0001 attended on Tuesday 24.11.: the nightly re-evaluation
    would withdraw the attended Tuesday (no longer expected) and the client would lose 9 € without
    anyone deciding it. The end must name the attended day instead, and change nothing."""
    world = lw.build(sbx, store, tmp_path)
    before = _state(world)
    assert lw.euros(world) == Decimal("18.00")

    with pytest.raises(LifecycleError) as err:
        end_period(world.store, world.settings, "K-0001", date(2026, 11, 18), "work", "staff:1", now=NOW,
                   apply=True, google_factory=world.client_factory())

    assert err.value.field == "on" and "24.11.2026" in str(err.value)
    lw.evaluate(world)
    assert _state(world) == before and lw.euros(world) == Decimal("18.00")


def test_a_move_from_before_an_attended_day_in_the_old_group_is_refused(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    """Moved to the Thursday group from Wednesday 18.11.: the attended Tuesday 24.11. of the old group
    would no longer be expected, withdrawn and unpaid (days before and under the old group must stay
    exactly as they were: DOMAIN.md, moves). Refused with the day named; nothing changes."""
    world = lw.build(sbx, store, tmp_path)
    before = _state(world)

    with pytest.raises(LifecycleError) as err:
        move_client(world.store, world.settings, "K-0001", "ryhma-2", date(2026, 11, 18), "staff:1", now=NOW,
                    apply=True, google_factory=world.client_factory())

    assert err.value.field == "from" and "24.11.2026" in str(err.value)
    lw.evaluate(world)
    assert _state(world) == before and lw.euros(world) == Decimal("18.00")
    assert TUESDAYS[1] == date(2026, 11, 24)


# ---- the last look at a day, by the local date (not the UTC one) ------------------------------


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox(page_size=3) as sb:
        yield sb


def test_a_day_without_its_report_is_flagged_at_its_last_look_also_when_the_sync_runs_before_utc_midnight(
        sandbox_server: Sandbox, store: Store, tmp_path: Path) -> None:
    """A sync at 01:00 Helsinki (23:00 UTC the day before; the default 02:00 is that in summer) looks at
    Tuesday for the last time (its window starts from the local date), but the last look was computed
    from the UTC date: Tuesday stayed PENDING, never flagged, and left the window the next night.
    A day unpaid that nobody is asked to decide."""
    world = _world(sandbox_server, store, tmp_path)
    world.sb.graph.report_delay = timedelta(days=365)  # the Teams report never comes
    world.sb.state.clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    sync_at(world, TUE + timedelta(days=1), 2)

    counts = sync_at(world, TUE + timedelta(days=7), 1)  # the window closes for Tuesday

    assert counts["days_need_decision"] == 3
    assert day_row(world, "K-0003", TUE).evidence["needs_decision"] is True


# ---- a client file that shortens a period over paid days ----------------------------------------


def _reimport_with_end(world: WeeklyWorld, end: date) -> ImportResult:
    """K-0001's period re-imported from the client file with a new end (the start moved back to 10.8.
    first, so that the 3-month minimum allows an end in November)."""
    with world.store.session() as s:
        period = s.scalars(select(Period).join(Client).where(Client.code == "K-0001")).one()
        period.start_date = date(2026, 8, 10)
    raw = ("code;group;service_model;period_start;period_end;weekdays\n"
           f"K-0001;ryhma-1;long_term;2026-08-10;{end.isoformat()};ti\n").encode()
    return import_clients(world.store, raw, org_key=ww.ORG, settings=world.settings, today=lw.TODAY)


def test_a_client_file_that_ends_a_period_before_an_attended_day_is_refused(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    """The file says the period ended on 18.11., but K-0001 attended (and was paid) on 24.11.: the
    nightly re-evaluation would withdraw that day, 9 € lost without anyone deciding it. Refused
    like an early end, with the line, the column and the day named; nothing is written."""
    world = lw.build(sbx, store, tmp_path)
    result = _reimport_with_end(world, date(2026, 11, 18))
    before = _state(world)

    assert [(p.line, p.column, p.code) for p in result.problems] == [(2, "period_end", "K-0001")]
    assert "ti 24.11.2026" in result.problems[0].reason and "24.11.2026" in (result.problems[0].expected or "")
    lw.evaluate(world)
    assert _state(world) == before and lw.euros(world) == Decimal("18.00")


def test_a_client_file_that_ends_a_period_after_the_last_attended_day_is_taken(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)
    result = _reimport_with_end(world, date(2026, 11, 25))

    assert result.problems == []
    lw.evaluate(world)
    with world.store.session() as s:
        assert s.scalars(select(Period.end_date).join(Client).where(Client.code == "K-0001")).one() == \
            date(2026, 11, 25)
    assert lw.euros(world) == Decimal("18.00")
