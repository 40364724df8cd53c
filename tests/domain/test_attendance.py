"""Attendance rules: minutes in the meeting, the day's status with reasons, streaks, money."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrator.config import Rules
from integrator.domain.attendance import (
    DayDecision,
    DayEvidence,
    absence_streaks,
    compensation_amount,
    compensation_days,
    daily_rate,
    effective_status,
    evaluate_day,
    merge_intervals,
    minutes_present,
    return_deadline,
)
from integrator.domain.types import AttendanceStatus

PRESENT, ABSENT, PENDING, EXCUSED = (
    AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.PENDING, AttendanceStatus.EXCUSED,
)
RULES = Rules()
MEETING_ONLY = Rules(task_return_counts_as_present=False)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 10:00 in Helsinki


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- minutes in the meeting -----------------------------------------------------------------


def test_overlapping_sessions_from_two_devices_count_once() -> None:
    laptop = (at(0), at(40))
    phone = (at(10), at(50))
    assert merge_intervals([laptop, phone]) == [(at(0), at(50))]
    assert minutes_present([laptop, phone]) == 50


def test_a_rejoin_after_a_dropped_connection_adds_only_the_time_connected() -> None:
    assert minutes_present([(at(0), at(20)), (at(25), at(45))]) == 40


def test_sessions_that_touch_are_joined() -> None:
    assert merge_intervals([(at(20), at(30)), (at(0), at(20))]) == [(at(0), at(30))]


def test_time_outside_the_meeting_window_does_not_count() -> None:
    lobby_and_after = [(at(-15), at(20)), (at(50), at(90))]
    assert minutes_present(lobby_and_after, window=(at(0), at(60))) == 30


def test_minutes_are_floored_once_on_the_total() -> None:
    two_halves = [(at(0), at(29.5)), (at(30), at(59.5))]
    assert minutes_present(two_halves) == 59
    assert minutes_present([(at(0), at(29) + timedelta(seconds=59))]) == 29


def test_empty_sessions_count_nothing_and_reversed_sessions_are_refused() -> None:
    assert merge_intervals([(at(5), at(5))]) == []
    assert minutes_present([]) == 0
    with pytest.raises(ValueError, match="ends before it starts"):
        merge_intervals([(at(10), at(5))])


def test_sessions_in_different_time_zones_are_compared_as_instants() -> None:
    helsinki = ZoneInfo("Europe/Helsinki")
    local = (datetime(2026, 12, 1, 10, 0, tzinfo=helsinki), datetime(2026, 12, 1, 10, 30, tzinfo=helsinki))
    assert minutes_present([local, (at(15), at(45))]) == 45


offsets = st.integers(min_value=0, max_value=4 * 3600)
intervals = st.lists(
    st.tuples(offsets, st.integers(min_value=0, max_value=3600)).map(
        lambda p: (T0 + timedelta(seconds=p[0]), T0 + timedelta(seconds=p[0] + p[1]))
    ),
    max_size=12,
)


def _covered_seconds(spans: list[tuple[datetime, datetime]]) -> set[int]:
    return {s for a, b in spans for s in range(int((a - T0).total_seconds()), int((b - T0).total_seconds()))}


@given(intervals)
def test_merged_intervals_are_sorted_disjoint_and_cover_the_same_time(spans: list[tuple[datetime, datetime]]) -> None:
    merged = merge_intervals(spans)
    for (_, end), (next_start, _) in zip(merged, merged[1:], strict=False):
        assert end < next_start  # disjoint and not touching
    assert all(a < b for a, b in merged)
    assert _covered_seconds(merged) == _covered_seconds(spans)
    assert merge_intervals(merged) == merged


@given(intervals, offsets, st.integers(min_value=0, max_value=3 * 3600))
def test_minutes_never_exceed_the_window_or_the_sum_of_the_sessions(
    spans: list[tuple[datetime, datetime]], window_start: int, window_length: int
) -> None:
    window = (T0 + timedelta(seconds=window_start), T0 + timedelta(seconds=window_start + window_length))
    minutes = minutes_present(spans, window)
    assert 0 <= minutes <= window_length // 60
    assert minutes <= minutes_present(spans) <= sum((b - a for a, b in spans), timedelta()) // timedelta(minutes=1)


@given(intervals)
def test_duplicating_every_session_changes_nothing(spans: list[tuple[datetime, datetime]]) -> None:
    assert minutes_present(spans + spans) == minutes_present(spans)


# --- one day -------------------------------------------------------------------------------


def ev(minutes: int = 0, report: bool = True, on_time: bool = False, late: bool = False,
       cancelled: bool = False, deadline_passed: bool = True) -> DayEvidence:
    """A past day's evidence (its return deadline has passed) unless told otherwise."""
    return DayEvidence(meeting_minutes=minutes, attendance_final=report, task_returned_on_time=on_time,
                       task_returned_late=late, meeting_cancelled=cancelled, deadline_passed=deadline_passed)


def test_a_client_in_the_meeting_for_at_least_the_limit_is_present() -> None:
    assert evaluate_day(ev(42), RULES) == DayDecision(
        PRESENT, 42, ["Läsnä kokouksessa 42 min (raja 30 min)", "Päivän tehtävää ei palautettu ajoissa"]
    )
    assert evaluate_day(ev(30), RULES).status is PRESENT


def test_a_client_one_minute_short_of_the_limit_without_a_return_is_absent() -> None:
    decision = evaluate_day(ev(29), RULES)
    assert decision.status is ABSENT
    assert decision.reasons == ["Kokouksessa 29 min, alle rajan 30 min", "Päivän tehtävää ei palautettu ajoissa"]


def test_a_task_returned_on_time_makes_the_day_present_without_the_meeting() -> None:
    decision = evaluate_day(ev(0, on_time=True), RULES)
    assert decision.status is PRESENT
    assert "Palautti päivän tehtävän ajoissa" in decision.reasons


def test_a_task_returned_on_time_does_not_count_when_the_rules_require_the_meeting() -> None:
    decision = evaluate_day(ev(10, on_time=True), MEETING_ONLY)
    assert decision.status is ABSENT
    assert any("ei sääntöjen mukaan riitä" in r for r in decision.reasons)


def test_a_late_return_never_makes_the_day_present() -> None:
    decision = evaluate_day(ev(0, late=True), RULES)
    assert decision.status is ABSENT
    assert "Palautti päivän tehtävän myöhässä (ei riitä läsnäoloksi)" in decision.reasons


def test_without_the_meeting_report_the_day_waits_as_pending() -> None:
    decision = evaluate_day(ev(0, report=False), RULES)
    assert decision.status is PENDING
    assert "Kokousraportti ei vielä valmis" in decision.reasons


def test_a_return_on_time_decides_the_day_before_the_report_arrives() -> None:
    assert evaluate_day(ev(0, report=False, on_time=True), RULES).status is PRESENT


def test_a_late_return_before_the_report_still_waits_for_the_report() -> None:
    assert evaluate_day(ev(0, report=False, late=True), RULES).status is PENDING


def test_a_zero_minute_limit_is_refused_by_the_rules() -> None:
    with pytest.raises(ValueError, match="attendance_min_minutes"):
        Rules(attendance_min_minutes=0)


def test_even_a_zero_minute_limit_pays_only_a_client_who_appeared_in_the_meeting() -> None:
    no_limit = Rules.model_construct(attendance_min_minutes=0, task_return_counts_as_present=False)
    assert evaluate_day(ev(0, report=False), no_limit).status is PENDING
    assert evaluate_day(ev(0, report=True), no_limit).status is ABSENT
    assert evaluate_day(ev(1, report=True), no_limit).status is PRESENT


def test_a_cancelled_meeting_does_not_wait_for_a_report_that_never_comes() -> None:
    decision = evaluate_day(ev(0, report=False, cancelled=True), RULES)
    assert decision.status is ABSENT
    assert decision.reasons[0] == "Kokous peruttu"
    assert evaluate_day(ev(0, report=False, on_time=True, cancelled=True), RULES).status is PRESENT


def test_a_cancelled_meeting_excuses_the_day_when_only_the_meeting_counts() -> None:
    decision = evaluate_day(ev(0, report=False, cancelled=True), MEETING_ONLY)
    assert decision.status is EXCUSED
    assert decision.reasons[-1] == "Läsnäoloa ei voinut osoittaa, koska kokous peruttiin"


# --- a day is decided only when its evidence is final --------------------------------------

HELSINKI = ZoneInfo("Europe/Helsinki")
TUESDAY_DEADLINE = datetime(2026, 12, 8, 23, 59, tzinfo=HELSINKI)


def test_before_the_return_deadline_a_client_without_evidence_waits_with_the_deadline_named() -> None:
    decision = evaluate_day(DayEvidence(meeting_minutes=0, attendance_final=True, task_returned_on_time=False,
                                        deadline_passed=False, deadline=TUESDAY_DEADLINE), RULES)
    assert decision.status is PENDING and not decision.needs_decision
    assert "Päivän palautusaika päättyy ti 8.12. klo 23.59" in decision.reasons
    assert "Päivän tehtävää ei palautettu ajoissa" not in decision.reasons


def test_before_the_deadline_positive_evidence_decides_present_at_once() -> None:
    early = {"attendance_final": True, "deadline_passed": False, "deadline": TUESDAY_DEADLINE}
    assert evaluate_day(DayEvidence(meeting_minutes=45, task_returned_on_time=False, **early), RULES).status is PRESENT
    assert evaluate_day(DayEvidence(meeting_minutes=0, task_returned_on_time=True, **early), RULES).status is PRESENT


def test_a_cancelled_meeting_does_not_make_an_absence_before_the_deadline() -> None:
    assert evaluate_day(ev(0, report=False, cancelled=True, deadline_passed=False), RULES).status is PENDING


def test_when_only_the_meeting_counts_the_deadline_is_not_waited_for() -> None:
    assert evaluate_day(ev(10, deadline_passed=False), MEETING_ONLY).status is ABSENT


def test_an_unknown_deadline_is_never_taken_as_passed() -> None:
    decision = evaluate_day(DayEvidence(meeting_minutes=0, attendance_final=True, task_returned_on_time=False), RULES)
    assert decision.status is PENDING
    assert "Päivän palautusaika ei ole vielä päättynyt" in decision.reasons


def test_a_day_still_without_its_report_at_its_last_evaluation_needs_the_coordinators_decision() -> None:
    decision = evaluate_day(DayEvidence(meeting_minutes=0, attendance_final=False, task_returned_on_time=False,
                                        deadline_passed=True, last_evaluation=True), RULES)
    assert decision.status is PENDING and decision.needs_decision
    assert decision.reasons[-1] == "Kokousraportti puuttuu edelleen: päätä päivä itse"
    # Positive evidence still decides it; a final report decides it either way.
    assert not evaluate_day(DayEvidence(0, False, True, deadline_passed=True, last_evaluation=True),
                            RULES).needs_decision
    assert evaluate_day(DayEvidence(0, True, False, deadline_passed=True, last_evaluation=True),
                        RULES).status is ABSENT


def test_the_return_deadline_is_the_rules_local_time_in_the_groups_time_zone() -> None:
    assert return_deadline(date(2026, 12, 8), Rules(), "Europe/Helsinki") == datetime(2026, 12, 8, 21, 59, tzinfo=UTC)
    summer = Rules(day_return_deadline="18:00")
    assert return_deadline(date(2026, 6, 9), summer, "Europe/Helsinki") == datetime(2026, 6, 9, 15, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="time zone"):
        return_deadline(date(2026, 6, 9), summer, "Mars/Olympus")


@pytest.mark.parametrize("bad", ["24:00", "1830", 1830, "18:3", "klo 18", ""])
def test_a_return_deadline_that_is_not_hh_mm_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ValueError, match=r"day_return_deadline[\s\S]*HH:MM"):
        Rules(day_return_deadline=bad)  # type: ignore[arg-type]


def test_the_return_deadline_defaults_to_one_minute_to_midnight() -> None:
    assert Rules().day_return_deadline == time(23, 59)
    assert Rules(day_return_deadline="7:05").day_return_deadline == time(7, 5)


def test_negative_meeting_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        ev(-1)


evidence = st.builds(
    DayEvidence,
    meeting_minutes=st.integers(0, 300),
    attendance_final=st.booleans(),
    task_returned_on_time=st.booleans(),
    task_returned_late=st.booleans(),
    meeting_cancelled=st.booleans(),
    deadline_passed=st.booleans(),
    last_evaluation=st.booleans(),
)
rules = st.builds(Rules, attendance_min_minutes=st.integers(1, 120), task_return_counts_as_present=st.booleans())


@given(evidence, rules)
def test_every_decision_is_explained_and_present_only_with_evidence_the_rules_accept(e: DayEvidence, r: Rules) -> None:
    decision = evaluate_day(e, r)
    assert decision.reasons and decision.minutes == e.meeting_minutes
    meeting_ok = e.meeting_minutes > 0 and e.meeting_minutes >= r.attendance_min_minutes
    task_ok = r.task_return_counts_as_present and e.task_returned_on_time
    assert (decision.status is PRESENT) == (meeting_ok or task_ok)
    if decision.status is ABSENT:  # only on final evidence, after the return deadline when a return counts
        assert e.deadline_passed or not r.task_return_counts_as_present
        assert e.attendance_final or e.meeting_cancelled
    if decision.status is PENDING:
        assert (not e.attendance_final and not e.meeting_cancelled) or (
            r.task_return_counts_as_present and not e.deadline_passed)
    assert decision.needs_decision == (decision.status is PENDING and e.last_evaluation)


@given(evidence, rules, st.integers(1, 60))
def test_more_minutes_never_make_a_present_day_worse(e: DayEvidence, r: Rules, extra: int) -> None:
    more = replace(e, meeting_minutes=e.meeting_minutes + extra)
    if evaluate_day(e, r).status is PRESENT:
        assert evaluate_day(more, r).status is PRESENT


def test_a_coordinators_override_wins_over_the_computed_status() -> None:
    assert effective_status(ABSENT, EXCUSED) is EXCUSED
    assert effective_status(PRESENT, ABSENT) is ABSENT
    assert effective_status(PENDING, None) is PENDING


# --- absence streaks -------------------------------------------------------------------------


TUESDAYS = [date(2026, 9, 1) + timedelta(weeks=i) for i in range(8)]


def test_two_absences_in_a_row_are_reported_as_one_streak() -> None:
    days = list(zip(TUESDAYS[:4], [PRESENT, ABSENT, ABSENT, PRESENT], strict=True))
    assert absence_streaks(days, threshold=2) == [[TUESDAYS[1], TUESDAYS[2]]]


def test_a_single_absence_does_not_reach_a_threshold_of_two() -> None:
    days = list(zip(TUESDAYS[:4], [ABSENT, PRESENT, ABSENT, PRESENT], strict=True))
    assert absence_streaks(days, threshold=2) == []


def test_a_pending_day_between_absences_does_not_break_the_streak_or_count_in_it() -> None:
    days = list(zip(TUESDAYS[:3], [ABSENT, PENDING, ABSENT], strict=True))
    assert absence_streaks(days, threshold=2) == [[TUESDAYS[0], TUESDAYS[2]]]


def test_an_excused_day_ends_the_streak() -> None:
    days = list(zip(TUESDAYS[:3], [ABSENT, EXCUSED, ABSENT], strict=True))
    assert absence_streaks(days, threshold=2) == []


def test_a_long_streak_is_reported_once_and_whole() -> None:
    days = list(zip(TUESDAYS[:5], [ABSENT] * 4 + [PRESENT], strict=True))
    assert absence_streaks(days, threshold=2) == [TUESDAYS[:4]]


def test_days_are_ordered_by_date_before_streaks_are_found() -> None:
    days = [(TUESDAYS[2], ABSENT), (TUESDAYS[0], ABSENT), (TUESDAYS[1], PRESENT), (TUESDAYS[3], ABSENT)]
    assert absence_streaks(days, threshold=2) == [[TUESDAYS[2], TUESDAYS[3]]]


def test_the_same_day_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        absence_streaks([(TUESDAYS[0], ABSENT), (TUESDAYS[0], PRESENT)], threshold=1)


statuses = st.sampled_from(list(AttendanceStatus))


@st.composite
def client_days(draw: st.DrawFn) -> tuple[list[tuple[date, AttendanceStatus]], list[tuple[date, AttendanceStatus]]]:
    sts = draw(st.lists(statuses, max_size=30))
    days = [(date(2026, 1, 6) + timedelta(weeks=i), s) for i, s in enumerate(sts)]
    return days, draw(st.permutations(days))


@given(client_days(), st.integers(1, 5))
def test_streaks_never_include_present_days_and_reach_the_threshold(
    generated: tuple[list[tuple[date, AttendanceStatus]], list[tuple[date, AttendanceStatus]]], threshold: int
) -> None:
    days, shuffled = generated
    streaks = absence_streaks(shuffled, threshold)
    status_of = dict(days)
    reported = [d for s in streaks for d in s]
    assert all(status_of[d] is ABSENT for d in reported)
    assert all(len(s) >= threshold and s == sorted(s) for s in streaks)
    assert len(reported) == len(set(reported))
    # Between two days of a streak there is no present or excused day.
    for s in streaks:
        between = [status_of[d] for d in status_of if s[0] <= d <= s[-1]]
        assert PRESENT not in between and EXCUSED not in between


# --- money -------------------------------------------------------------------------------------


def test_only_present_days_are_compensated() -> None:
    assert compensation_days([PRESENT, ABSENT, PENDING, EXCUSED, PRESENT]) == 2


def test_compensation_is_days_times_the_rate_in_euros_and_cents() -> None:
    assert compensation_amount(12, Decimal("9")) == Decimal("108.00")
    assert str(compensation_amount(12, Decimal("9"))) == "108.00"
    assert compensation_amount(0, Decimal("9")) == Decimal("0.00")


def test_compensation_rounds_half_up_once_on_the_total() -> None:
    assert compensation_amount(1, Decimal("9.125")) == Decimal("9.13")
    assert compensation_amount(3, Decimal("0.005")) == Decimal("0.02")  # 0.015 -> 0.02, not 3 x 0.01


def test_the_configured_rate_becomes_an_exact_decimal() -> None:
    assert daily_rate(Rules(daily_compensation_eur=9.1)) == Decimal("9.1")
    assert compensation_amount(3, daily_rate(Rules(daily_compensation_eur=9.1))) == Decimal("27.30")


def test_a_float_rate_or_negative_days_are_refused() -> None:
    with pytest.raises(TypeError):
        compensation_amount(1, 9.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compensation_amount(-1, Decimal("9"))


@given(st.integers(0, 10_000), st.decimals(min_value=0, max_value=100, places=3))
def test_compensation_is_never_off_by_more_than_half_a_cent(days: int, rate: Decimal) -> None:
    amount = compensation_amount(days, rate)
    assert amount.as_tuple().exponent == -2
    assert abs(amount - rate * days) <= Decimal("0.005")


def test_naive_session_times_are_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        minutes_present([(datetime(2026, 12, 1, 10, 0), datetime(2026, 12, 1, 10, 45))])
