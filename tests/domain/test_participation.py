"""The one participation rule: member that day, in a period's own weekday, briefed by then."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from integrator.domain.participation import member_on, takes_part


@dataclass
class Span:
    start_date: date
    end_date: date | None


@dataclass
class P:
    start_date: date
    end_date: date
    weekdays: list[int]
    briefing_recorded_at: datetime | None


TUESDAY = date(2026, 12, 8)
BRIEFED = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PERIOD = P(date(2026, 11, 1), date(2027, 2, 28), [2, 4], BRIEFED)


def test_a_member_in_a_briefed_period_on_its_weekday_takes_part() -> None:
    assert takes_part(Span(date(2026, 11, 1), None), [PERIOD], TUESDAY)


def test_membership_ends_are_inclusive() -> None:
    assert member_on(Span(TUESDAY, TUESDAY), TUESDAY)
    assert not takes_part(Span(date(2026, 11, 1), date(2026, 12, 7)), [PERIOD], TUESDAY)
    assert not takes_part(Span(date(2026, 12, 9), None), [PERIOD], TUESDAY)


def test_a_day_off_the_periods_weekdays_is_not_a_remote_day() -> None:
    assert not takes_part(Span(date(2026, 11, 1), None), [PERIOD], date(2026, 12, 9))  # a Wednesday


def test_no_briefing_or_a_later_one_means_no_day() -> None:
    member = Span(date(2026, 11, 1), None)
    assert not takes_part(member, [P(PERIOD.start_date, PERIOD.end_date, [2, 4], None)], TUESDAY)
    later = datetime(2026, 12, 8, 22, 30, tzinfo=UTC)  # 00:30 on Wednesday in Helsinki
    assert not takes_part(member, [P(PERIOD.start_date, PERIOD.end_date, [2, 4], later)], TUESDAY)
    same_day = datetime(2026, 12, 7, 22, 30, tzinfo=UTC)  # 00:30 on Tuesday in Helsinki
    assert takes_part(member, [P(PERIOD.start_date, PERIOD.end_date, [2, 4], same_day)], TUESDAY)


def test_any_covering_period_counts() -> None:
    old = P(date(2026, 1, 1), date(2026, 6, 30), [2], BRIEFED)
    assert takes_part(Span(date(2026, 1, 1), None), [old, PERIOD], TUESDAY)
    assert not takes_part(Span(date(2026, 1, 1), None), [old], TUESDAY)
