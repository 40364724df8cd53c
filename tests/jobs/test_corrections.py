"""A coordinator's corrections: decided in advance or afterwards, reverted, audited, never
overwritten by the nightly sync.

The first tests play a real week on the sandbox tenant (the product's weekly setup and nightly
sync, real SDKs over real sockets): week 2026-W03, group "tiistai" meets Tue 13.1. and Thu 15.1.
on Teams. K-0003 leaves no trace on either day, which alone alerts the social worker.
The rule tests use the scripted week of test_attendance_register (2026-W48, no vendors).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from integrator.demo.world import DemoWorld, GroupPlan, local
from integrator.domain.types import AttendanceStatus, ServiceModel
from integrator.jobs.attendance.corrections import (
    Actor,
    CorrectionError,
    correct,
    correct_day,
    history,
    revert,
)
from integrator.reports.corrections import month_report
from integrator.reports.register import build_week
from integrator.sandbox import Sandbox
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, AuditEvent, OutboxMessage, StaffUser
from tests.jobs.test_attendance_register import THU, TUE, Week

WEEK = "2026-W03"
S_TUE, S_THU = date(2026, 1, 13), date(2026, 1, 15)
FRIDAY_BEFORE = date(2026, 1, 9)
GROUPS = [GroupPlan("tiistai", "Tiistai- ja torstairyhmä", [2, 4], "teams", ServiceModel.LONG_TERM, 3)]


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def world(sandbox_server: Sandbox, store: Store, tmp_path: Path) -> DemoWorld:
    sb = sandbox_server
    sb.reset()
    sb.state.faults.clear()
    sb.state.clock.set(datetime(2026, 1, 9, 10, 0, tzinfo=UTC))  # the Friday before
    w = DemoWorld.build(sb, store, tmp_path / "demo", groups=GROUPS, db_url=store.url)
    w.weekly_setup(WEEK)
    return w


def _coordinator(w: DemoWorld) -> Actor:
    with w.store.session() as s:
        staff_id = s.scalar(select(StaffUser.id).where(StaffUser.email == w.coordinator))
    assert staff_id is not None
    return Actor.staff(staff_id)


def _play_week(w: DemoWorld) -> None:
    """K-0001 attends both days, K-0002 turns Thursday's task in late, K-0003 leaves no trace."""
    clock = w.sb.state.clock
    clock.set(local(S_TUE, 12))
    w.attend("K-0001", "tiistai", S_TUE, 45)
    w.attend("K-0002", "tiistai", S_TUE, 45)
    clock.set(local(S_THU, 12))
    w.attend("K-0001", "tiistai", S_THU, 45)
    clock.set(local(date(2026, 1, 16), 1))
    assert w.turn_in("K-0002", "tiistai", S_THU, at=local(date(2026, 1, 16), 1))
    clock.set(local(date(2026, 1, 16), 2))


def _table(w: DemoWorld) -> dict[str, dict[date, str]]:
    return build_week(w.store, "raisio", WEEK, rules=w.settings.rules_for("raisio")).table()


def _alerts(w: DemoWorld) -> list[str]:
    with w.store.session() as s:
        return list(s.scalars(select(OutboxMessage.subject).where(OutboxMessage.kind == "absence_alert")))


def test_without_a_decision_two_silent_days_alert_the_social_worker(world: DemoWorld) -> None:
    """The baseline the next test changes: K-0003's Tuesday and Thursday are both absences."""
    _play_week(world)
    world.nightly_sync()
    assert _table(world)["K-0003"] == {S_TUE: "absent", S_THU: "absent"}
    assert _alerts(world) == ["Toistuvia poissaoloja: asiakas K-0003"]


def test_a_sick_day_excused_in_advance_survives_the_sync_without_an_alert_or_pay(world: DemoWorld) -> None:
    coordinator = _coordinator(world)
    advance = correct(world.store, world.client_id("K-0003"), S_TUE, "excused", "lääkäriaika (sovittu)",
                      coordinator, today=FRIDAY_BEFORE)
    assert (advance.before, advance.after, advance.computed, advance.changed) == (
        None, AttendanceStatus.EXCUSED, AttendanceStatus.PENDING, True)
    _play_week(world)
    world.nightly_sync()
    world.nightly_sync()  # a second night changes nothing
    reg = build_week(world.store, "raisio", WEEK, rules=world.settings.rules_for("raisio"))
    assert reg.table()["K-0003"] == {S_TUE: "excused", S_THU: "absent"}
    (row,) = [r for r in reg.rows if r.client_code == "K-0003"]
    assert (row.compensation_days, row.amount) == (0, 0)
    assert _alerts(world) == []  # the excused Tuesday ends the streak before it starts
    with world.store.session() as s:
        day = s.get(AttendanceDay, advance.attendance_day_id)
        assert day is not None
        # The sync evaluated the day under the decision: the computed side is the evidence's.
        assert (day.computed_status, day.override_status) == (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)
        assert day.override_by_id == coordinator.staff_id


def test_an_advance_decision_on_a_day_that_later_gets_evidence_still_stands(world: DemoWorld) -> None:
    correct(world.store, world.client_id("K-0002"), S_THU, "excused", "kurssipäivä", _coordinator(world),
            today=FRIDAY_BEFORE)
    _play_week(world)  # K-0002 turns Thursday's task in, late
    world.nightly_sync()
    with world.store.session() as s:
        day = s.scalar(select(AttendanceDay).where(AttendanceDay.client_id == world.client_id("K-0002"),
                                                   AttendanceDay.override_status.is_not(None)))
        assert day is not None
        assert day.evidence["returns"] and day.evidence["returns"][0]["late"] is True
        assert (day.computed_status, day.status) == (AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED)


def test_a_revert_brings_the_computed_status_back_audited_and_the_history_lists_both(world: DemoWorld) -> None:
    coordinator = _coordinator(world)
    client = world.client_id("K-0003")
    correct(world.store, client, S_TUE, "excused", "lääkäriaika (sovittu)", coordinator, today=FRIDAY_BEFORE)
    _play_week(world)
    world.nightly_sync()
    back = revert(world.store, client, S_TUE, "lääkäriaika peruttiin, ei ilmoitusta", coordinator)
    assert (back.before, back.after, back.changed) == (AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT, True)
    assert _table(world)["K-0003"] == {S_TUE: "absent", S_THU: "absent"}
    world.nightly_sync()
    assert _alerts(world) == ["Toistuvia poissaoloja: asiakas K-0003"]  # the streak is real again
    events = history(world.store, client, S_TUE)
    assert [(e.before, e.after, e.computed, e.reason, e.who) for e in events] == [
        (None, AttendanceStatus.EXCUSED, AttendanceStatus.PENDING, "lääkäriaika (sovittu)",
         f"Olli Ohjaaja (staff:{coordinator.staff_id})"),
        (AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT, AttendanceStatus.ABSENT,
         "lääkäriaika peruttiin, ei ilmoitusta", f"Olli Ohjaaja (staff:{coordinator.staff_id})")]
    assert [e.reverted for e in events] == [False, True]
    assert history(world.store, client, S_THU) == []
    # The corrections report lists the same two events under January (the corrected day's month).
    assert [(e.day, e.client_code, e.group) for e in month_report(world.store, "raisio", "2026-01").events] == [
        (S_TUE, "K-0003", "tiistai")] * 2


# --- the rules, on the scripted week (2026-W48) without vendors --------------------------------


@pytest.fixture
def week(store: Store) -> Week:
    w = Week(store)
    w.client("K-0001", "g-tue", [2, 4])
    w.client("K-0002", "g-tue", [2])  # Tuesdays only
    w.report_in("g-tue", TUE)
    w.attended("K-0001", "g-tue", TUE, (8, 0, 8, 45))
    return w


def _audits(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_an_absence_cannot_be_recorded_in_advance(week: Week) -> None:
    actor = Actor.staff(week.coordinator_id)
    with pytest.raises(CorrectionError, match="poissaoloa ei voi merkitä etukäteen") as err:
        correct(week.store, week.clients["K-0001"], THU, "absent", "ilmoitti", actor, today=TUE)
    assert err.value.field == "status"
    present = correct(week.store, week.clients["K-0001"], THU, "läsnä", "tekee päivän työpajalla", actor, today=TUE)
    assert present.after is AttendanceStatus.PRESENT and present.changed
    # Today is not in advance: the day can be marked absent at its end.
    assert correct(week.store, week.clients["K-0001"], THU, "poissa", "ei tullut", actor, today=THU).changed


def test_the_same_correction_twice_writes_one_audit_event(week: Week) -> None:
    week.sync()
    actor = Actor.staff(week.coordinator_id)
    first = correct(week.store, week.clients["K-0001"], TUE, "excused", "sairas", actor, today=THU)
    audits = _audits(week.store)
    again = correct(week.store, week.clients["K-0001"], TUE, "perusteltu poissaolo", " sairas ", actor, today=THU)
    assert (first.changed, again.changed) == (True, False)
    assert _audits(week.store) == audits
    assert revert(week.store, week.clients["K-0001"], TUE, "virhe", actor).changed
    assert not revert(week.store, week.clients["K-0001"], TUE, "virhe", actor).changed
    assert _audits(week.store) == audits + 1


def test_a_preview_writes_nothing(week: Week) -> None:
    week.sync()
    before = _audits(week.store)
    preview = correct(week.store, week.clients["K-0001"], TUE, "excused", "sairas", Actor("cli:olli"), today=THU,
                      apply=False)
    assert (preview.changed, preview.applied, preview.after) == (True, False, AttendanceStatus.EXCUSED)
    assert _audits(week.store) == before
    assert history(week.store, week.clients["K-0001"], TUE) == []


def test_a_day_the_client_is_not_expected_needs_an_explicit_yes_and_never_in_the_future(week: Week) -> None:
    actor = Actor("cli:olli")
    client = week.clients["K-0002"]  # Tuesdays only; the group also meets on Thursday
    with pytest.raises(CorrectionError, match="ei ole asiakkaan K-0002 odotettu toimintapäivä"):
        correct(week.store, client, THU, "present", "tuli torstaina", actor, today=date(2026, 11, 27))
    with pytest.raises(CorrectionError, match="odotettu") as err:
        correct(week.store, client, THU, "excused", "tuli torstaina", actor, today=TUE, allow_unexpected=True)
    assert "--not-expected" not in str(err.value)  # a future day: no way around it
    done = correct(week.store, client, THU, "present", "tuli torstaina", actor, today=date(2026, 11, 27),
                   allow_unexpected=True)
    assert (done.after, done.group) == (AttendanceStatus.PRESENT, "g-tue")
    with pytest.raises(CorrectionError, match="ei ole toimintapäivää") as err:
        correct(week.store, client, date(2026, 11, 25), "present", "x", actor, today=THU)
    assert err.value.field == "day"


@pytest.mark.parametrize(("reason", "message"), [("   ", "syy puuttuu"), ("x" * 501, "enintään 500")])
def test_a_reason_is_required_and_checked_for_length(week: Week, reason: str, message: str) -> None:
    with pytest.raises(CorrectionError, match=message) as err:
        correct(week.store, week.clients["K-0001"], TUE, "excused", reason, Actor("cli:olli"), today=THU)
    assert err.value.field == "reason"
    assert _audits(week.store) == 0


def test_the_registers_own_row_is_corrected_with_the_same_audit(week: Week) -> None:
    week.sync()
    row = week.day_id("K-0001", "g-tue", TUE)
    out = correct_day(week.store, row, "excused", "sairas", Actor.staff(week.coordinator_id), today=THU)
    assert (out.before, out.after, out.computed) == (AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED,
                                                     AttendanceStatus.PRESENT)
    with week.store.session() as s:
        (event,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "attendance.override"))
    assert event.actor == f"staff:{week.coordinator_id}"
    assert {k: event.details[k] for k in ("client", "day", "group", "from", "to", "computed", "reason")} == {
        "client": "K-0001", "day": "2026-11-24", "group": "g-tue", "from": "present", "to": "excused",
        "computed": "present", "reason": "sairas"}
