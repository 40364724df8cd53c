"""The consent gate: nothing is provisioned for a client without a recorded data-protection briefing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrator.domain.consent import has_consent


@dataclass
class PeriodStub:
    code: str
    briefing_recorded_at: datetime | None


def test_a_client_without_a_recorded_briefing_has_no_consent() -> None:
    assert has_consent(None) is False
    assert has_consent(None, on=date(2026, 12, 1)) is False


def test_a_recorded_briefing_is_consent() -> None:
    assert has_consent(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) is True


def test_consent_counts_from_the_finnish_calendar_day_of_the_briefing() -> None:
    # 22:30 UTC on 30 November is 00:30 on 1 December in Helsinki.
    recorded = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    assert has_consent(recorded, on=date(2026, 11, 30)) is False
    assert has_consent(recorded, on=date(2026, 12, 1)) is True
    assert has_consent(recorded, on=date(2027, 1, 1)) is True


def test_a_naive_briefing_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        has_consent(datetime(2026, 11, 2, 9, 0))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 400))
def test_once_a_client_is_cleared_they_stay_cleared_on_every_later_day(
    recorded: datetime, day: date, later: int
) -> None:
    if has_consent(recorded, on=day):
        assert has_consent(recorded, on=day + timedelta(days=later))
    assert has_consent(recorded) is True
