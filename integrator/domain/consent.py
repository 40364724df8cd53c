"""The consent gate: nothing is provisioned for a client before the data-protection briefing.

DOMAIN.md ("Before a client starts"): digital participation, data protection and data
transfer are reviewed with the client, and nothing should be provisioned before this is
recorded. The record is `Period.briefing_recorded_at` (an aware UTC instant).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# Which calendar day a briefing belongs to is a Finnish wall-clock question: a briefing at
# 00:30 on 1 December in Helsinki is 22:30 UTC on 30 November.
_LOCAL = ZoneInfo("Europe/Helsinki")


def has_consent(briefing_recorded_at: datetime | None, on: date | None = None) -> bool:
    """True when the briefing is recorded (and, if `on` is given, recorded on or before that day).

    `on` answers "was the client cleared on that day?", e.g. when replaying a past week. A
    naive datetime is refused rather than guessed: the store hands out aware UTC only.
    """
    if briefing_recorded_at is None:
        return False
    if briefing_recorded_at.tzinfo is None:
        raise ValueError("briefing_recorded_at must be timezone-aware (the store returns aware UTC)")
    if on is None:
        return True
    return briefing_recorded_at.astimezone(_LOCAL).date() <= on

