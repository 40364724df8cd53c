"""A client moves to another group from a date: the days before it stay exactly as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, select

from integrator.clients_import import import_clients
from integrator.domain.weeks import iso_week_of
from integrator.jobs.clients.changes import LifecycleError, move_client
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.jobs.weekly.plan import ALL_CONFIRMED
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.google.client import GoogleClient
from integrator.reports.expected import expected_pairs
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, Membership, PeerGroup, Period, WorkDay

from . import lifecycle_world as lw
from . import weekly_world as ww
from .lifecycle_world import MOVE_DAY, THURSDAY, TODAY, TUESDAYS
from .weekly_world import NOW, ORG, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

K1 = "k-0001@sandbox.example.fi"


def move(world: WeeklyWorld, *, apply: bool = True, group: str = "ryhma-2", day: date = MOVE_DAY):  # type: ignore[no-untyped-def]
    return move_client(world.store, world.settings, "K-0001", group, day, "staff:1", now=NOW, apply=apply,
                       google_factory=world.client_factory())


def expected_on(world: WeeklyWorld, day: date, group: str) -> set[str]:
    with world.store.session() as s:
        g = s.scalars(select(PeerGroup).where(PeerGroup.key == group)).one()
        wd = s.scalars(select(WorkDay).where(WorkDay.group_id == g.id, WorkDay.day == day)).one()
        codes = dict(s.execute(select(Client.id, Client.code)).all())
        return {codes[p.client_id] for p in expected_pairs(s, [wd])}


def test_a_move_from_today_keeps_the_attended_tuesdays_and_moves_the_course_now(sbx: Sandbox, store: Store,
                                                                                tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)
    before = lw.register_rows(world)
    assert before == [(TUESDAYS[0], "present", 0), (TUESDAYS[1], "present", 0)]
    paid = lw.euros(world)
    assert paid == Decimal("18.00")
    assert K1 in lw.course(world, "ryhma-1") and K1 not in lw.course(world, "ryhma-2")

    result = move(world, day=TODAY)

    assert result.changed and result.followed.errors == []
    lw.evaluate(world)  # the nightly sync's re-evaluation must not withdraw the Tuesdays
    assert lw.register_rows(world) == before
    assert lw.euros(world) == paid
    assert "K-0001" in expected_on(world, THURSDAY, "ryhma-2")
    assert "K-0001" not in expected_on(world, date(2026, 12, 1), "ryhma-1")
    # The tenant follows at once, as the weekly setup would: new course in, old course out.
    assert K1 in lw.course(world, "ryhma-2")
    assert K1 not in lw.course(world, "ryhma-1")
    assert ("k-0001@sandbox.example.fi", "writer") in lw.folder_sharing(world, "K-0001")
    with store.session() as s:
        ms = sorted((m.group.key, m.start_date, m.end_date, m.recorded_on) for m in s.scalars(
            select(Membership).join(Client).where(Client.code == "K-0001")))
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "client.moved")).all()
    assert ms == [("ryhma-1", date(2026, 9, 1), date(2026, 11, 26), None),
                  ("ryhma-2", TODAY, None, TODAY)]
    assert len(events) == 1 and events[0].actor == "staff:1"
    assert events[0].details["from"] == "ryhma-1" and events[0].details["to"] == "ryhma-2"
    assert "@" not in str(events[0].details)


def test_a_move_from_a_future_day_keeps_the_old_course_until_its_first_night(sbx: Sandbox, store: Store,
                                                                           tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)

    result = move(world)  # from Monday 30.11.

    assert "Ryhmän ryhma-1 kurssilta poistetaan yöajossa ma 30.11.2026" in result.preview()
    assert K1 in lw.course(world, "ryhma-2")
    assert K1 in lw.course(world, "ryhma-1")  # still a member until Sunday
    results = run_nightly_sync(world.store, world.settings, org_key=ORG, now=datetime(2026, 11, 30, 1, 0, tzinfo=UTC),
                               providers=Providers(google=lambda org_cfg: GoogleClient(
                                   org_cfg.google, policy=ww.fast_policy())))
    assert results[0].counts.get("access_ended") == 1, results[0].errors
    assert K1 not in lw.course(world, "ryhma-1") and K1 in lw.course(world, "ryhma-2")
    lw.evaluate(world, datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    assert [r[:2] for r in lw.register_rows(world)] == [(TUESDAYS[0], "present"), (TUESDAYS[1], "present")]


def test_the_preview_shows_the_move_and_changes_nothing(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)
    snapshot = world.snapshot()
    sbx.state.log.reset()

    result = move(world, apply=False, day=TODAY)

    text = result.preview()
    assert "ryhmä ryhma-1 -> ryhma-2 alkaen pe 27.11.2026" in text
    assert "poistetaan ryhmän ryhma-1 Classroom-kurssilta" in text
    assert "lisätään ryhmän ryhma-2 Classroom-kurssille" in text
    assert "Esikatselu" in text
    assert world.writes() == [] and world.snapshot() == snapshot
    with store.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "client.moved")).first() is None
        assert len(s.scalars(select(Membership).join(Client).where(Client.code == "K-0001")).all()) == 1


def test_a_second_move_to_the_same_group_changes_nothing(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)
    move(world)
    state = world.store_state()
    sbx.state.log.reset()

    again = move(world)

    assert not again.changed and again.followed.tenant.actions == []
    assert world.writes() == [] and world.store_state() == state
    with store.session() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "client.moved")).all()) == 1


def test_a_move_to_an_unknown_group_names_the_field(sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)
    with pytest.raises(LifecycleError) as err:
        move(world, group="ryhma-9")
    assert err.value.field == "to_group"
    assert iso_week_of(MOVE_DAY) == "2026-W49"


CSV_HEAD = "code;group;service_model;period_start;period_end;weekdays"


def csv_import(world: WeeklyWorld, text: str):  # type: ignore[no-untyped-def]
    return import_clients(world.store, text.encode(), org_key=ORG, settings=world.settings, today=TODAY)


def test_the_same_move_by_csv_keeps_the_tuesdays_and_the_weekly_setup_follows(sbx: Sandbox, store: Store,
                                                                             tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)
    before, paid = lw.register_rows(world), lw.euros(world)

    result = csv_import(world, f"{CSV_HEAD};group_from\nK-0001;ryhma-2;pitkä;1.9.2026;28.2.2027;to;27.11.2026\n")

    assert result.problems == [] and result.written
    lw.evaluate(world)
    assert lw.register_rows(world) == before and lw.euros(world) == paid
    assert "K-0001" in expected_on(world, THURSDAY, "ryhma-2")
    # The removal from the old course is a removal of access: the weekly setup applies it once confirmed.
    run_weekly_setup(store, world.settings, "2026-W49", ORG, None, False, "test", now=NOW,
                     client_factory=world.client_factory(), include_meetings=False,
                     confirmed_removals=ALL_CONFIRMED)
    assert K1 in lw.course(world, "ryhma-2") and K1 not in lw.course(world, "ryhma-1")
    assert csv_import(world, f"{CSV_HEAD};group_from\nK-0001;ryhma-2;pitkä;1.9.2026;28.2.2027;to;27.11.2026\n"
                      ).counts["memberships_unchanged"] == 1


def test_a_regroup_without_a_date_no_longer_rewrites_the_paid_tuesdays(sbx: Sandbox, store: Store,
                                                                       tmp_path: Path) -> None:
    """The old import moved the whole membership back to the period's start: the two Tuesdays
    became "no longer expected" and the nightly sync withdrew them."""
    world = lw.build(sbx, store, tmp_path)
    before = lw.register_rows(world)

    result = csv_import(world, f"{CSV_HEAD}\nK-0001;ryhma-2;pitkä;1.9.2026;28.2.2027;ti,to\n")

    assert [(p.line, p.column) for p in result.problems] == [(2, "group")]
    assert "group_from" in (result.problems[0].expected or "")
    assert not result.written
    lw.evaluate(world)
    assert lw.register_rows(world) == before


def test_expected_pairs_of_a_few_clients_read_only_their_columns_and_agree_with_the_whole_groups(
        sbx: Sandbox, store: Store, tmp_path: Path) -> None:
    """The alerts and corrections ask about a few clients: their memberships and periods are
    filtered in the store and read as columns (no ORM rows of the groups' every member), and the
    answer is the whole groups' answer for those clients - here across a move between groups."""
    world = lw.build(sbx, store, tmp_path)
    assert move(world).changed
    with world.store.session() as s:
        days = list(s.scalars(select(WorkDay).order_by(WorkDay.id)))
        k1 = s.scalars(select(Client.id).where(Client.code == "K-0001")).one()
        others = set(s.scalars(select(Client.id).where(Client.code != "K-0001")))
        assert others
        whole = expected_pairs(s, days)
        few = expected_pairs(s, days, [k1])
        assert few == [p for p in whole if p.client_id == k1]
        assert {p.work_day_id for p in few} and {p.client_id for p in whole} - {k1}
        loaded: list[object] = []
        statements: list[str] = []

        def on_load(target: object, _context: object) -> None:
            loaded.append(target)

        def on_execute(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        event.listen(Membership, "load", on_load)
        event.listen(Period, "load", on_load)
        event.listen(world.store.engine, "before_cursor_execute", on_execute)
        try:
            assert expected_pairs(s, days, [k1]) == few
        finally:
            event.remove(Membership, "load", on_load)
            event.remove(Period, "load", on_load)
            event.remove(world.store.engine, "before_cursor_execute", on_execute)
        assert loaded == [], "memberships and periods are read as columns, not built as ORM rows"
        membership_reads = [q for q in statements if "FROM membership" in q]
        assert membership_reads and all("membership.client_id IN" in q for q in membership_reads)
