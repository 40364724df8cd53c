"""Attendance rules: minutes in the meeting, the day's status, absence streaks, compensation.

Attendance is money (each attended day entitles the client to a daily expense compensation,
*kulukorvaus*), so every decision carries its reasons in Finnish for the coordinator, and a
coordinator's override always wins over what the evidence computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from integrator.domain.rules import AttendanceRules
from integrator.domain.types import AttendanceStatus

Interval = tuple[datetime, datetime]

_MINUTE = timedelta(minutes=1)
_CENT = Decimal("0.01")


# --- minutes in the meeting -------------------------------------------------------------


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of the sessions, sorted and disjoint.

    A client on a phone and a laptop at once shows up as overlapping sessions; the union
    counts that time once. Sessions that touch (one leaves the second the other joins) are
    joined into one. Empty sessions (end == start) carry no time and are dropped. A session
    that ends before it starts, or a naive time, is corrupt evidence and raises ValueError
    rather than being silently guessed at; callers filter such records before calling.
    """
    ordered: list[Interval] = []
    for start, end in intervals:
        if start.tzinfo is None or end.tzinfo is None:
            # A naive time is ambiguous by two or three hours in Finland: refuse, don't guess.
            raise ValueError(f"session times must be timezone-aware: {start.isoformat()} - {end.isoformat()}")
        if end < start:
            raise ValueError(f"a session ends before it starts: {start.isoformat()} > {end.isoformat()}")
        if end > start:
            ordered.append((start, end))
    ordered.sort()
    merged: list[Interval] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def minutes_present(intervals: Iterable[Interval], window: Interval | None = None) -> int:
    """Whole minutes inside the union of the sessions, clipped to `window` when given.

    Floored once, on the total: two sessions of 29 min 30 s make 59 minutes, not 58. Time
    outside the window (waiting in the lobby before the meeting, staying after it) does not count.
    """
    total = timedelta(0)
    for start, end in merge_intervals(intervals):
        if window is not None:
            start, end = max(start, window[0]), min(end, window[1])
        if end > start:
            total += end - start
    return total // _MINUTE


# --- one day ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayEvidence:
    """What the nightly sync knows about one client on one work day."""

    meeting_minutes: int
    report_available: bool  # the meeting's attendance report exists (Teams: only after it ends)
    task_returned_on_time: bool  # the day's task was returned by its deadline
    task_returned_late: bool = False  # returned, but after the deadline
    meeting_cancelled: bool = False  # the work day took place but its meeting did not

    def __post_init__(self) -> None:
        if self.meeting_minutes < 0:
            raise ValueError(f"meeting_minutes must not be negative, got {self.meeting_minutes}")


@dataclass(frozen=True)
class DayDecision:
    status: AttendanceStatus
    minutes: int
    reasons: list[str] = field(default_factory=list)  # Finnish, for the coordinator UI


def evaluate_day(ev: DayEvidence, rules: AttendanceRules) -> DayDecision:
    """The computed status of one client's work day, with the evidence that decided it.

    Branches, first match wins:
    1. PRESENT - meeting minutes reach `rules.attendance_min_minutes` (and are more than 0:
       the client appeared). Minutes are evidence even
       if the meeting was marked cancelled (people were demonstrably there).
    2. PRESENT - `rules.task_return_counts_as_present` and the day's task was returned by the
       deadline. A late return never counts: the deadline is part of the day's work.
    3. Meeting cancelled (no report will ever come, so waiting is pointless):
       - if a task return counts as presence, the client had a way to attend and did not:
         ABSENT;
       - if only the meeting counts, the organisation removed the only way to attend:
         EXCUSED, so that no alert goes to the social worker and no money is paid without
         evidence; the coordinator can still override.
    4. PENDING - the attendance report is not available yet (Teams publishes it only after
       the meeting ends); re-evaluated later (see `rules.reevaluate_days`).
    5. ABSENT - the report is in and neither the meeting nor the task shows attendance.
    """
    limit = rules.attendance_min_minutes
    minutes = ev.meeting_minutes
    reasons: list[str] = []

    # The meeting proves presence only if the client actually appeared (some minutes), even
    # when a limit of 0 minutes slipped past the config: otherwise every expected client
    # would be paid for a day the report shows them absent from.
    meeting_proves = minutes > 0 and minutes >= limit
    task_proves = rules.task_return_counts_as_present and ev.task_returned_on_time

    if ev.meeting_cancelled:
        reasons.append("Kokous peruttu")
    if meeting_proves:
        reasons.append(f"Läsnä kokouksessa {minutes} min (raja {limit} min)")
    elif ev.report_available or minutes > 0:
        reasons.append(f"Kokouksessa {minutes} min, alle rajan {limit} min")
    if not ev.report_available and not ev.meeting_cancelled:
        reasons.append("Kokousraportti ei vielä saatavilla")

    if ev.task_returned_on_time:
        if rules.task_return_counts_as_present:
            reasons.append("Palautti päivän tehtävän ajoissa")
        else:
            reasons.append("Palautti päivän tehtävän ajoissa (palautus ei sääntöjen mukaan riitä läsnäoloksi)")
    elif ev.task_returned_late:
        reasons.append("Palautti päivän tehtävän myöhässä (ei riitä läsnäoloksi)")
    else:
        reasons.append("Päivän tehtävää ei palautettu ajoissa")

    if meeting_proves or task_proves:
        status = AttendanceStatus.PRESENT
    elif ev.meeting_cancelled:
        if rules.task_return_counts_as_present:
            status = AttendanceStatus.ABSENT
        else:
            status = AttendanceStatus.EXCUSED
            reasons.append("Läsnäoloa ei voinut osoittaa, koska kokous peruttiin")
    elif not ev.report_available:
        status = AttendanceStatus.PENDING
    else:
        status = AttendanceStatus.ABSENT
    return DayDecision(status=status, minutes=minutes, reasons=reasons)


def effective_status(
    computed: AttendanceStatus, override: AttendanceStatus | None
) -> AttendanceStatus:
    """A coordinator's override wins over the computed status; the sync never overwrites it."""
    return override if override is not None else computed


# --- across days -----------------------------------------------------------------------


def absence_streaks(
    days: Sequence[tuple[date, AttendanceStatus]], threshold: int
) -> list[list[date]]:
    """Runs of consecutive ABSENT work days that reached `threshold` days, oldest first.

    `days` are the client's own work days (holidays and days outside the period are simply
    not in the list, so they neither break nor extend a run) with their *effective* status.
    PRESENT and EXCUSED end a run. PENDING neither breaks nor extends it: the evidence is not
    in yet, and an unknown day should not hide two real absences around it. Each run is
    returned whole (it may be longer than the threshold) and only once per call; a run's
    first day identifies it, so a caller that alerts nightly can key the alert on that day
    and not alert again as the same run grows.
    """
    if threshold < 1:
        raise ValueError(f"threshold must be at least 1, got {threshold}")
    ordered = sorted(days, key=lambda item: item[0])
    for (a, _), (b, _) in zip(ordered, ordered[1:], strict=False):
        if a == b:
            raise ValueError(f"the same day is given twice: {a.isoformat()}")
    streaks: list[list[date]] = []
    run: list[date] = []
    for day, status in ordered:
        if status is AttendanceStatus.ABSENT:
            run.append(day)
        elif status is AttendanceStatus.PENDING:
            continue
        else:
            if len(run) >= threshold:
                streaks.append(run)
            run = []
    if len(run) >= threshold:
        streaks.append(run)
    return streaks


def compensation_days(statuses: Iterable[AttendanceStatus]) -> int:
    """Days that entitle the client to the daily compensation: PRESENT only (effective status).

    EXCUSED is not an attended day (*toteutunut toimintapäivä*) and PENDING is not decided yet.
    """
    return sum(1 for s in statuses if s is AttendanceStatus.PRESENT)


def compensation_amount(days: int, rate: Decimal) -> Decimal:
    """days x rate in euros, rounded once on the total to cents, half up."""
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    if not isinstance(rate, Decimal):
        raise TypeError("rate must be a Decimal; use daily_rate(rules) to convert the configured float")
    if rate < 0 or not rate.is_finite():
        raise ValueError(f"rate must be a finite, non-negative amount, got {rate}")
    return (rate * days).quantize(_CENT, rounding=ROUND_HALF_UP)


def daily_rate(rules: AttendanceRules) -> Decimal:
    """The configured daily compensation as a Decimal, via its shortest decimal text (9.0 -> 9.0, not 8.99...)."""
    return Decimal(repr(rules.daily_compensation_eur))
