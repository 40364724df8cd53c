"""The work-day calendar: ISO weeks, Finnish holidays, closures, client days, meeting times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrator.domain.calendar import (
    ORGANISATION_CLOSED,
    SkippedDay,
    WeekCalendar,
    client_work_days,
    meeting_window,
    work_days_for_week,
)
from integrator.domain.weeks import iso_week_of, parse_iso_week, week_monday, weeks_in_year

days = st.dates(min_value=date(2000, 1, 3), max_value=date(2099, 12, 27))
weekday_sets = st.sets(st.integers(1, 7), min_size=1, max_size=7)


# --- ISO weeks -------------------------------------------------------------------------


def test_an_iso_week_is_read_as_year_and_week() -> None:
    assert parse_iso_week("2026-W49") == (2026, 49)
    assert parse_iso_week("2027-W01") == (2027, 1)


@pytest.mark.parametrize(
    "text",
    ["2026-49", "2026W49", "2026-W4", "2026-w49", " 2026-W49", "2026-W49 ", "2026-W00", "2026-W54", "26-W49", ""],
)
def test_anything_but_the_canonical_iso_week_form_is_a_clear_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="ISO"):
        parse_iso_week(text)


def test_week_53_is_accepted_only_in_years_that_have_it() -> None:
    assert weeks_in_year(2026) == 53  # 2026 starts on a Thursday
    assert parse_iso_week("2026-W53") == (2026, 53)
    assert weeks_in_year(2027) == 52
    with pytest.raises(ValueError, match="ISO year 2027 has weeks 1-52"):
        parse_iso_week("2027-W53")


def test_new_years_day_2027_belongs_to_week_53_of_2026() -> None:
    assert iso_week_of(date(2027, 1, 1)) == "2026-W53"
    assert iso_week_of(date(2026, 12, 1)) == "2026-W49"


@given(days)
def test_every_day_lies_in_the_week_that_iso_week_of_names(d: date) -> None:
    week = iso_week_of(d)
    assert parse_iso_week(week)[1] <= 53
    monday = week_monday(week)
    assert monday.isoweekday() == 1
    assert monday <= d < monday + timedelta(days=7)


# --- holidays and closures ---------------------------------------------------------------


def test_independence_day_is_skipped_and_reported() -> None:
    # 6 December 2027 is a Monday.
    cal = work_days_for_week("2027-W49", [1, 3])
    assert cal == WeekCalendar(
        week="2027-W49",
        days=[date(2027, 12, 8)],
        skipped=[SkippedDay(date(2027, 12, 6), "Itsenäisyyspäivä")],
    )


def test_midsummer_eve_and_christmas_eve_are_skipped_as_the_holidays_package_reports_them() -> None:
    midsummer = work_days_for_week("2026-W25", [5])  # Friday 19 June 2026
    assert midsummer.days == []
    assert midsummer.skipped == [SkippedDay(date(2026, 6, 19), "Juhannusaatto")]
    christmas = work_days_for_week("2026-W52", [4])  # Thursday 24 December 2026
    assert christmas.skipped == [SkippedDay(date(2026, 12, 24), "Jouluaatto")]


def test_new_years_eve_and_easter_saturday_are_ordinary_days_unless_the_organisation_closes() -> None:
    assert work_days_for_week("2026-W53", [4]).days == [date(2026, 12, 31)]
    assert work_days_for_week("2026-W14", [6]).days == [date(2026, 4, 4)]


def test_easter_week_skips_good_friday_and_the_next_week_skips_easter_monday() -> None:
    assert work_days_for_week("2026-W14", [2, 5]).skipped == [SkippedDay(date(2026, 4, 3), "Pitkäperjantai")]
    assert work_days_for_week("2026-W15", [1, 2]).days == [date(2026, 4, 7)]


def test_week_53_spans_the_new_year_and_skips_new_years_day() -> None:
    cal = work_days_for_week("2026-W53", [1, 2, 3, 4, 5])
    assert cal.days == [date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    assert cal.skipped == [SkippedDay(date(2027, 1, 1), "Uudenvuodenpäivä")]


def test_an_organisation_closure_day_is_skipped_with_its_reason() -> None:
    cal = work_days_for_week("2026-W10", [2, 4], closures=[date(2026, 3, 5), date(2026, 3, 6)])
    assert cal.days == [date(2026, 3, 3)]
    assert cal.skipped == [SkippedDay(date(2026, 3, 5), ORGANISATION_CLOSED)]


def test_a_closure_on_a_holiday_is_reported_once_with_the_holiday_name() -> None:
    cal = work_days_for_week("2027-W49", [1], closures=[date(2027, 12, 6)])
    assert cal.skipped == [SkippedDay(date(2027, 12, 6), "Itsenäisyyspäivä")]


def test_holiday_names_follow_the_requested_language() -> None:
    cal = work_days_for_week("2027-W49", [1], language="en_US")
    assert cal.skipped == [SkippedDay(date(2027, 12, 6), "Independence Day")]


@pytest.mark.parametrize("weekdays", [[0], [8], [1, 8], [True]])
def test_weekdays_outside_monday_to_sunday_are_rejected(weekdays: list[int]) -> None:
    with pytest.raises(ValueError, match="ISO numbers 1"):
        work_days_for_week("2026-W10", weekdays)


@given(days, weekday_sets, st.lists(days, max_size=5))
def test_work_days_always_lie_in_the_week_and_on_the_given_weekdays(
    d: date, weekdays: set[int], closures: list[date]
) -> None:
    week = iso_week_of(d)
    cal = work_days_for_week(week, weekdays, closures=closures)
    monday = week_monday(week)
    for day in cal.days:
        assert monday <= day < monday + timedelta(days=7)
        assert day.isoweekday() in weekdays
        assert day not in closures
    # Every wanted weekday is accounted for exactly once: held or skipped with a reason.
    held_or_skipped = cal.days + [s.day for s in cal.skipped]
    assert sorted(held_or_skipped) == [monday + timedelta(days=wd - 1) for wd in sorted(weekdays)]
    assert all(s.reason for s in cal.skipped)


# --- a client's days ------------------------------------------------------------------------


def test_a_client_takes_part_only_inside_the_period_with_both_ends_included() -> None:
    cal = work_days_for_week("2026-W10", [1, 2, 3, 4, 5])  # 2-6 March 2026
    assert client_work_days(cal, date(2026, 3, 3), date(2026, 3, 5), [1, 2, 3, 4, 5]) == [
        date(2026, 3, 3), date(2026, 3, 4), date(2026, 3, 5),
    ]


def test_a_client_takes_part_only_on_their_own_weekdays() -> None:
    cal = work_days_for_week("2026-W10", [2, 4])
    assert client_work_days(cal, date(2026, 1, 1), date(2026, 12, 31), [4]) == [date(2026, 3, 5)]


def test_a_client_has_no_days_on_a_group_day_skipped_for_a_holiday() -> None:
    cal = work_days_for_week("2027-W49", [1])
    assert client_work_days(cal, date(2027, 1, 1), date(2027, 12, 31), [1]) == []


@given(days, weekday_sets, weekday_sets, days, st.integers(0, 30))
def test_client_days_are_group_days_inside_the_period(
    d: date, group_days: set[int], own_days: set[int], start: date, length: int
) -> None:
    cal = work_days_for_week(iso_week_of(d), group_days)
    end = start + timedelta(days=length)
    result = client_work_days(cal, start, end, own_days)
    assert set(result) <= set(cal.days)
    assert all(start <= x <= end and x.isoweekday() in own_days for x in result)


# --- meeting times ----------------------------------------------------------------------------


def test_a_winter_meeting_is_two_hours_ahead_of_utc() -> None:
    start, end = meeting_window(date(2026, 12, 1), time(10, 0), time(11, 30))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T08:00:00+00:00", "2026-12-01T09:30:00+00:00")
    assert start.tzinfo is UTC


def test_meetings_in_the_spring_dst_week_keep_their_wall_clock_time() -> None:
    # Finland moves to summer time on Sunday 29 March 2026 at 03:00.
    friday = meeting_window(date(2026, 3, 27), time(10, 0), time(11, 0))
    sunday = meeting_window(date(2026, 3, 29), time(10, 0), time(11, 0))
    monday = meeting_window(date(2026, 3, 30), time(10, 0), time(11, 0))
    assert friday[0].isoformat() == "2026-03-27T08:00:00+00:00"
    assert sunday[0].isoformat() == "2026-03-29T07:00:00+00:00"
    assert monday[0].isoformat() == "2026-03-30T07:00:00+00:00"


def test_meetings_in_the_autumn_dst_week_keep_their_wall_clock_time() -> None:
    # Back to winter time on Sunday 25 October 2026 at 04:00.
    assert meeting_window(date(2026, 10, 23), time(10, 0), time(11, 0))[0].isoformat() == "2026-10-23T07:00:00+00:00"
    assert meeting_window(date(2026, 10, 26), time(10, 0), time(11, 0))[0].isoformat() == "2026-10-26T08:00:00+00:00"


def test_a_meeting_across_the_spring_change_is_an_hour_shorter_in_real_time() -> None:
    start, end = meeting_window(date(2026, 3, 29), time(2, 0), time(5, 0))
    assert end - start == timedelta(hours=2)


def test_a_meeting_that_ends_before_it_starts_is_rejected() -> None:
    with pytest.raises(ValueError, match="after its start"):
        meeting_window(date(2026, 3, 2), time(11, 0), time(10, 0))


@given(days, st.times(), st.times())
def test_every_meeting_window_is_aware_utc_and_ends_after_it_starts(d: date, a: time, b: time) -> None:
    if a == b:
        return
    start_t, end_t = min(a, b), max(a, b)
    try:
        start, end = meeting_window(d, start_t, end_t)
    except ValueError:
        # Only a start inside the spring gap (03:00-04:00 on the change night) may be refused.
        assert (d.month, d.isoweekday(), d.day > 24) == (3, 7, True)
        assert time(3, 0) <= start_t < time(4, 0)
        return
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert end > start
    # Off by at most the one-hour DST shift from the wall-clock length.
    wall = datetime.combine(d, end_t) - datetime.combine(d, start_t)
    assert abs((end - start) - wall) <= timedelta(hours=1)


def test_a_meeting_from_inside_the_spring_gap_to_just_after_it_is_refused_not_reversed() -> None:
    # 03:30 does not exist on 28 March 2027; read as 04:30 summer time it is after the 04:15 end.
    with pytest.raises(ValueError, match="daylight-saving"):
        meeting_window(date(2027, 3, 28), time(3, 30), time(4, 15))


def test_an_unknown_time_zone_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        meeting_window(date(2026, 3, 2), time(10, 0), time(11, 0), tz="Mars/Olympus")


def test_iso_weeks_with_non_ascii_digits_are_refused() -> None:
    with pytest.raises(ValueError, match="ISO week"):
        parse_iso_week("２０２６-W01")


def test_a_group_in_the_spring_dst_week_keeps_all_its_days() -> None:
    # The clock change on Sunday 29 March 2026 moves meeting times in UTC, never work days.
    assert work_days_for_week("2026-W13", [1, 5, 7]).days == [date(2026, 3, 23), date(2026, 3, 27), date(2026, 3, 29)]
