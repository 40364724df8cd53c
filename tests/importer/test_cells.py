"""The cell parsers accept the forms Finnish spreadsheets produce."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrator.clients_import.reading import parse_date, parse_hours, parse_instant, parse_weekdays


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_a_date_reads_the_same_in_iso_and_finnish_form(d: date) -> None:
    assert parse_date(d.isoformat()) == d
    assert parse_date(f"{d.day}.{d.month}.{d.year}") == d
    assert parse_date(f"{d.day:02}.{d.month:02}.{d.year}") == d


def test_a_wall_clock_time_is_finnish_time_and_an_offset_wins() -> None:
    assert parse_instant("10.1.2026 14:30") == datetime(2026, 1, 10, 12, 30, tzinfo=UTC)
    assert parse_instant("2026-07-10 14:30") == datetime(2026, 7, 10, 11, 30, tzinfo=UTC)  # summer time
    assert parse_instant("2026-01-10T14:30+00:00") == datetime(2026, 1, 10, 14, 30, tzinfo=UTC)
    assert parse_instant("2026-01-10") == datetime(2026, 1, 9, 22, 0, tzinfo=UTC)  # Finnish midnight


@pytest.mark.parametrize("cell", ["ti,to", "2,4", "tuesday, thursday", "TI TO", "tiistai,torstai", "to,ti"])
def test_weekdays_may_be_written_many_ways(cell: str) -> None:
    assert parse_weekdays(cell) == [2, 4]


def test_hours_take_a_decimal_comma() -> None:
    assert parse_hours("4,5") == 4.5
    assert parse_hours("6") == 6.0
