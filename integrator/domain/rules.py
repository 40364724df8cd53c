"""What the pure rules need to know of the configured legal frame.

The configuration's `Rules` (integrator.config.models) satisfies these protocols; the domain
names only the numbers it reads, so that it imports nothing of ours and can be tested with any
object that has them.
"""

from __future__ import annotations

from datetime import time
from typing import Protocol


class AttendanceRules(Protocol):
    """How a day's evidence becomes a status, and what an attended day is worth."""

    @property
    def attendance_min_minutes(self) -> int: ...

    @property
    def task_return_counts_as_present(self) -> bool: ...

    @property
    def daily_compensation_eur(self) -> float: ...

    @property
    def day_return_deadline(self) -> time: ...  # local wall-clock time of the group's time zone

    @property
    def reevaluate_days(self) -> int: ...


class PeriodRules(Protocol):
    """The law's frame of a client's period (seeds/000 and the social welfare act)."""

    @property
    def period_min_months(self) -> int: ...

    @property
    def period_max_months(self) -> int: ...

    @property
    def min_days_per_week(self) -> int: ...

    @property
    def max_days_per_week(self) -> int: ...

    @property
    def min_hours_per_day(self) -> float: ...
