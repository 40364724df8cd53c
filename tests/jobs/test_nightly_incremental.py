"""A night re-evaluates only the days whose evidence, rules or calendar changed or whose
deadline or window passed, and the register comes out exactly as a full re-evaluation's.

Each night the register after the incremental sync is compared with a full re-evaluation of
the same store at the same clock (done in a transaction that is rolled back, so that the next
night starts from what the incremental sync left). The week of test_nightly_sync.py: "tiistai"
meets on Teams Tue 13.1. and Thu 15.1. (K-0001..K-0003), "keskiviikko" on Meet Wed 14.1.
(K-0004..K-0006), 10-11 Helsinki time, returns due 23:59.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.demo.world import DemoWorld, local
from integrator.jobs.attendance.evaluate import evaluate, work_days_in_window
from integrator.jobs.nightly.context import local_today
from integrator.store.models import AttendanceDay, Period
from tests.jobs import test_nightly_sync as nightly
from tests.jobs.test_nightly_sync import THU, TUE, WED, table

FRI, SAT = date(2026, 1, 16), date(2026, 1, 17)


# The nightly sync tests' sandbox (small pages: every list must read every page) and world.
sandbox_server, world = nightly.sandbox_server, nightly.world  # fixtures


def register(s: Session) -> dict[tuple[int, int], tuple[Any, ...]]:
    return {(a.client_id, a.work_day_id): (a.computed_status.value, a.minutes, a.evidence,
                                           a.override_status.value if a.override_status else None)
            for a in s.scalars(select(AttendanceDay)).all()}


def night(w: DemoWorld, day: date, hh: int) -> dict[str, int]:
    """The nightly sync at this local time; asserts its register equals a full re-evaluation's."""
    w.sb.state.clock.set(local(day, hh))
    result = w.nightly_sync()
    assert result.errors == []
    now = w.sb.state.clock.now()
    rules = w.settings.rules_for("raisio")
    today = local_today(now, [w.settings.time_zone])
    with Session(w.store.engine) as s:
        incremental = register(s)
        days = work_days_in_window(s, 1, today - timedelta(days=rules.reevaluate_days), today, now)
        evaluate(s, 1, days, rules, now=now)
        s.flush()
        full = register(s)
        s.rollback()
    assert incremental == full
    return dict(result.counts)


def test_each_night_evaluates_only_what_changed_and_the_register_equals_a_full_reevaluation(
        world: DemoWorld) -> None:
    world.sb.graph.report_delay = timedelta(days=1, hours=12)  # Tuesday's Teams report: Wed 23:00
    clock = world.sb.state.clock
    clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    world.attend("K-0002", "tiistai", TUE, 15)
    counts = night(world, WED, 2)
    assert counts["work_days_evaluated"] == 1  # Tuesday: its meeting ended, never evaluated
    assert table(world)["K-0001"][TUE] == "pending"  # the report is not in yet

    counts = night(world, WED, 3)  # nothing new at all
    assert counts["work_days_evaluated"] == 0 and counts["days_evaluated"] == 0
    assert counts["days_pending"] == 3  # the counts still describe the window's register

    # Wednesday: K-0004 on Meet, K-0003 returns Tuesday's task late; Tuesday's report comes in.
    clock.set(local(WED, 12))
    world.attend("K-0004", "keskiviikko", WED, 40)
    assert world.turn_in("K-0003", "tiistai", TUE, at=local(WED, 12))
    counts = night(world, THU, 2)
    assert counts["work_days_evaluated"] == 2  # Tuesday (report and a return), Wednesday (new)
    assert table(world)["K-0001"][TUE] == "present" and table(world)["K-0004"][WED] == "present"

    # Thursday: the report is in by the evening, the deadline (23:59) is not passed yet.
    world.sb.graph.report_delay = timedelta(0)
    clock.set(local(THU, 12))
    world.attend("K-0001", "tiistai", THU, 45)
    night(world, THU, 16)
    assert table(world)["K-0002"][THU] == "pending"
    # Friday: nothing new for Thursday, but its deadline passed: decided tonight, not a week
    # later (Tuesday is evaluated too: the Classroom read stores K-0003's late return now).
    counts = night(world, FRI, 2)
    assert counts["work_days_evaluated"] == 2 and counts["days_evaluated"] == 6
    assert table(world)["K-0002"][THU] == "absent" and table(world)["K-0003"][THU] == "absent"
    assert night(world, FRI, 3)["work_days_evaluated"] == 0

    # A period shortened (no longer expected on Thursday): that day is evaluated again.
    with world.store.session() as s:
        period = s.scalar(select(Period).where(Period.client_id == world.client_id("K-0003")))
        assert period is not None
        period.end_date = WED
    counts = night(world, FRI, 4)
    assert counts["work_days_evaluated"] == 1
    assert THU not in table(world).get("K-0003", {})

    # The rules changed: every day of the window is evaluated again with them.
    stricter = world.settings.rules_for("raisio").model_copy(update={"attendance_min_minutes": 50})
    world.settings = world.settings.model_copy(update={"organisations": [
        o.model_copy(update={"rules": stricter}) if o.key == "raisio" else o for o in world.settings.organisations]})
    counts = night(world, SAT, 2)
    assert counts["work_days_evaluated"] == 3
    assert table(world)["K-0001"][TUE] != "present" or table(world)["K-0001"][THU] != "present"
    assert night(world, SAT, 3)["work_days_evaluated"] == 0


def test_a_forced_window_evaluates_every_day(world: DemoWorld) -> None:
    clock = world.sb.state.clock
    clock.set(local(TUE, 12))
    world.attend("K-0001", "tiistai", TUE, 45)
    night(world, THU, 2)
    world.sb.state.clock.set(local(THU, 3))
    result = world.nightly_sync(since=TUE)
    assert result.counts["work_days_evaluated"] == 2 and result.counts["days_evaluated"] == 6
