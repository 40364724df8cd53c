"""A week as people type it in the weekly-setup form (weeks.read_typed_week)."""

from __future__ import annotations

from datetime import date

import pytest

from integrator.domain.weeks import read_typed_week

DEC_2 = date(2026, 12, 2)  # a Wednesday of 2026-W49


@pytest.mark.parametrize("typed, week", [
    ("50", "2026-W50"), ("vk 50", "2026-W50"), ("viikko 50", "2026-W50"), ("Viikko 50/2026", "2026-W50"),
    ("50/2027", "2027-W50"), ("vko. 3", "2027-W03"), ("2", "2027-W02"), ("2026-W53", "2026-W53"),
    (" 49 ", "2026-W49"), ("45", "2026-W45"),
])
def test_a_typed_week_is_read_as_the_nearest_such_week(typed: str, week: str) -> None:
    assert read_typed_week(typed, DEC_2) == week


def test_a_number_long_gone_this_year_means_next_year() -> None:
    # Week 40 of 2026 ended nine weeks before 2.12.2026, beyond the preview's look-back: 2027's.
    assert read_typed_week("40", DEC_2) == "2027-W40"


@pytest.mark.parametrize("typed", ["", "ensi viikko", "0", "54", "53/2027", "2026-W54", "٥٠", "50/26"])
def test_what_is_no_week_is_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        read_typed_week(typed, DEC_2)
