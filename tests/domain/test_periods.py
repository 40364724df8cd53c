"""Law limits of a period: 3-24 calendar months (end inclusive), 1-4 weekdays, 4 hours a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrator.config import Rules
from integrator.domain.participation import period_day
from integrator.domain.periods import add_months, period_end_for, validate_period
from integrator.domain.types import ServiceModel

RULES = Rules()


@dataclass
class _Every:
    """A period on every weekday, so that only its dates decide (participation.period_day)."""

    start_date: date
    end_date: date
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    briefing_recorded_at: None = None
TUE_THU = [2, 4]
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def problems(start: date, end: date, weekdays: list[int] | None = None, hours: float = 4.0,
             model: ServiceModel | None = None, rules: Rules = RULES) -> list[str]:
    return validate_period(start, end, TUE_THU if weekdays is None else weekdays, hours, rules, model)


# --- length, with the end day included ----------------------------------------------------


def test_three_calendar_months_with_an_inclusive_end_is_a_valid_period() -> None:
    assert problems(date(2026, 1, 15), date(2026, 4, 14)) == []


def test_one_day_short_of_three_months_is_too_short_and_says_the_earliest_end() -> None:
    assert problems(date(2026, 1, 15), date(2026, 4, 13)) == [
        "The period is shorter than the minimum of 3 months: a period starting 2026-01-15 "
        "must end on 2026-04-14 or later."
    ]


def test_twenty_four_months_is_the_longest_period_and_one_more_day_is_too_long() -> None:
    assert problems(date(2026, 1, 15), date(2028, 1, 14)) == []
    assert problems(date(2026, 1, 15), date(2028, 1, 15)) == [
        "The period is longer than the maximum of 24 months: a period starting 2026-01-15 "
        "must end on 2028-01-14 or earlier."
    ]


def test_a_period_starting_on_a_month_end_may_end_on_the_last_day_of_the_third_month() -> None:
    # 31 January + 3 months clamps to 30 April, so the earliest inclusive end is 29 April.
    assert period_end_for(date(2026, 1, 31), 3) == date(2026, 4, 29)
    assert problems(date(2026, 1, 31), date(2026, 4, 30)) == []
    assert problems(date(2026, 1, 31), date(2026, 4, 28)) != []


def test_a_period_that_ends_on_or_before_its_start_is_reported_once() -> None:
    for end in (date(2026, 3, 1), date(2026, 2, 1)):
        result = problems(date(2026, 3, 1), end)
        assert result == [f"The period must end after it starts (start 2026-03-01, end {end.isoformat()})."]


def test_the_month_limits_come_from_the_rules() -> None:
    six_to_twelve = Rules(period_min_months=6, period_max_months=12)
    assert problems(date(2026, 1, 15), date(2026, 4, 14), rules=six_to_twelve) != []
    assert problems(date(2026, 1, 15), date(2026, 7, 14), rules=six_to_twelve) == []


# --- service models ------------------------------------------------------------------------


def test_a_two_week_interval_stint_is_allowed_to_be_short() -> None:
    assert problems(date(2026, 7, 6), date(2026, 7, 19), model=ServiceModel.INTERVAL) == []


@pytest.mark.parametrize("model", [None, ServiceModel.SHORT_TERM, ServiceModel.LONG_TERM, ServiceModel.HYBRID])
def test_every_other_service_model_must_meet_the_three_month_minimum(model: ServiceModel | None) -> None:
    assert len(problems(date(2026, 7, 6), date(2026, 7, 19), model=model)) == 1


def test_an_interval_stint_may_still_not_exceed_the_legal_maximum() -> None:
    assert problems(date(2026, 1, 1), date(2028, 6, 30), model=ServiceModel.INTERVAL) != []


# --- weekdays and hours ---------------------------------------------------------------------


def test_one_to_four_distinct_weekdays_are_allowed() -> None:
    for weekdays in ([1], [1, 2], [1, 2, 3], [1, 2, 3, 7]):
        assert problems(date(2026, 1, 15), date(2026, 6, 30), weekdays) == []


def test_five_weekdays_are_too_many() -> None:
    assert problems(date(2026, 1, 15), date(2026, 6, 30), [1, 2, 3, 4, 5]) == [
        "The client must take part on 1 to 4 days a week; 5 given."
    ]


def test_no_weekdays_is_too_few() -> None:
    assert problems(date(2026, 1, 15), date(2026, 6, 30), []) == [
        "The client must take part on 1 to 4 days a week; 0 given."
    ]


def test_a_repeated_weekday_is_reported() -> None:
    assert problems(date(2026, 1, 15), date(2026, 6, 30), [2, 2]) == ["Each weekday may be given only once."]


def test_weekday_numbers_outside_1_to_7_are_reported() -> None:
    assert problems(date(2026, 1, 15), date(2026, 6, 30), [0, 8]) == [
        "Weekdays must be numbers from 1 (Monday) to 7 (Sunday); got [0, 8]."
    ]


def test_fewer_than_four_hours_a_day_is_reported_and_four_is_enough() -> None:
    assert problems(date(2026, 1, 15), date(2026, 6, 30), hours=4.0) == []
    assert problems(date(2026, 1, 15), date(2026, 6, 30), hours=3.5) == [
        "A work day must last at least 4 hours; 3.5 given."
    ]
    assert problems(date(2026, 1, 15), date(2026, 6, 30), hours=float("nan")) != []


def test_several_problems_are_all_reported() -> None:
    assert len(problems(date(2026, 1, 15), date(2026, 2, 1), [1, 2, 3, 4, 5], hours=2)) == 3


# --- properties -------------------------------------------------------------------------------


@given(starts, st.integers(3, 24))
def test_a_period_of_any_legal_whole_number_of_months_is_valid(start: date, months: int) -> None:
    assert problems(start, period_end_for(start, months)) == []


@given(starts)
def test_a_period_a_day_shorter_than_the_minimum_or_longer_than_the_maximum_is_invalid(start: date) -> None:
    assert problems(start, period_end_for(start, 3) - timedelta(days=1)) != []
    assert problems(start, period_end_for(start, 24) + timedelta(days=1)) != []


@given(starts, st.integers(-30, 30))
def test_adding_months_keeps_the_day_unless_the_month_is_shorter(start: date, months: int) -> None:
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    assert moved.day == start.day or (moved.day < start.day and (moved + timedelta(days=1)).day == 1)


@given(starts, st.integers(0, 400), st.integers(-5, 405))
def test_a_period_is_active_exactly_from_its_first_to_its_last_day(start: date, length: int, offset: int) -> None:
    end = start + timedelta(days=length)
    day = start + timedelta(days=offset)
    assert period_day(_Every(start, end), day) == (0 <= offset <= length)


def test_a_period_is_active_on_its_first_and_last_day() -> None:
    period = _Every(date(2026, 1, 15), date(2026, 4, 14))
    assert period_day(period, date(2026, 1, 15))
    assert period_day(period, date(2026, 4, 14))
    assert not period_day(period, date(2026, 4, 15))
