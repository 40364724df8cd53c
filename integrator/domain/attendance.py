"""Attendance rules: minutes in the meeting, the day's status, absence streaks, compensation.

Attendance is money (each attended day entitles the client to a daily expense compensation,
*kulukorvaus*), so every decision carries its reasons in Finnish for the coordinator, and a
coordinator's override always wins over what the evidence computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrator.domain.rules import AttendanceRules
from integrator.domain.types import AttendanceStatus
from integrator.domain.weeks import weekday_fi

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
    # The meeting's attendance is final: Teams published its report (only after the meeting
    # ends, which may be hours after its scheduled end), or Meet's conference record(s) of
    # the day have ended. "No report yet" is never final.
    attendance_final: bool
    task_returned_on_time: bool  # the day's task was returned by its deadline
    task_returned_late: bool = False  # returned, but after the deadline
    meeting_cancelled: bool = False  # the work day took place but its meeting did not
    # The day's return deadline (`rules.day_return_deadline`) has passed: until then a return
    # still counts, so the day cannot be an absence. Unknown means not passed (never decide early).
    deadline_passed: bool = False
    deadline: datetime | None = None  # that deadline in the group's local time, for the reason
    # The nightly sync looks at the day for the last time (its re-evaluation window closes):
    # a day still undecided then needs the coordinator's decision.
    last_evaluation: bool = False

    def __post_init__(self) -> None:
        if self.meeting_minutes < 0:
            raise ValueError(f"meeting_minutes must not be negative, got {self.meeting_minutes}")


@dataclass(frozen=True)
class DayDecision:
    status: AttendanceStatus
    minutes: int
    reasons: list[str] = field(default_factory=list)  # Finnish, for the coordinator UI
    needs_decision: bool = False  # PENDING that no later evaluation will resolve: the coordinator decides


#: The reason of a day whose evidence never became final within the re-evaluation window.
NEEDS_DECISION_REASON = "Kokousraportti puuttuu edelleen: päätä päivä itse"


def return_deadline(day: date, rules: AttendanceRules, tz: str) -> datetime:
    """When the day's task is due at the latest, as an aware UTC instant: the rule's local time
    (`rules.day_return_deadline`, by default 23:59) on `day` in the group's time zone `tz`.

    The one place for it: the coursework's due time is made from it, and the day's attendance
    waits for it. A wall-clock time in the spring DST gap moves forward by the gap (Python's
    reading), as meeting times do (`domain.calendar.meeting_window`).
    """
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}; use an IANA name like 'Europe/Helsinki'") from exc
    return datetime.combine(day, rules.day_return_deadline, tzinfo=zone).astimezone(UTC)


def deadline_text(local: datetime) -> str:
    """'ti 8.12. klo 23.59': a deadline as a Finnish coordinator reads it (local time given)."""
    return f"{weekday_fi(local.date())} {local.day}.{local.month}. klo {local.hour}.{local.minute:02d}"


def evaluate_day(ev: DayEvidence, rules: AttendanceRules) -> DayDecision:
    """The computed status of one client's work day, with the evidence that decided it.

    Positive evidence decides a day at once; an absence only when all the evidence is final.
    Branches, first match wins:
    1. PRESENT - meeting minutes reach `rules.attendance_min_minutes` (and are more than 0:
       the client appeared). Minutes are evidence even
       if the meeting was marked cancelled (people were demonstrably there).
    2. PRESENT - `rules.task_return_counts_as_present` and the day's task was returned by the
       deadline. A late return never counts: the deadline is part of the day's work.
    3. PENDING - a return counts as presence and the day's return deadline has not passed
       (`ev.deadline_passed`): the client may still return the work. (When only the meeting
       counts, a return cannot change the day and the deadline is not waited for.)
    4. Meeting cancelled (no report will ever come, so its attendance is final as it is):
       - if a task return counts as presence, the client had a way to attend and did not:
         ABSENT;
       - if only the meeting counts, the organisation removed the only way to attend:
         EXCUSED, so that no alert goes to the social worker and no money is paid without
         evidence; the coordinator can still override.
    5. PENDING - the meeting's attendance is not final yet (Teams publishes the report only
       after the meeting ends, Meet ends the conference record when the last one leaves);
       re-evaluated by every nightly sync within `rules.reevaluate_days`. At the last of them
       (`ev.last_evaluation`) the day is flagged `needs_decision` for the coordinator: never
       silently an absence.
    6. ABSENT - the deadline has passed, the attendance is final, and neither the meeting nor
       the task shows attendance.
    PENDING is never paid and never alerted.
    """
    limit = rules.attendance_min_minutes
    minutes = ev.meeting_minutes
    reasons: list[str] = []

    # The meeting proves presence only if the client actually appeared (some minutes), even
    # when a limit of 0 minutes slipped past the config: otherwise every expected client
    # would be paid for a day the report shows them absent from.
    meeting_proves = minutes > 0 and minutes >= limit
    task_proves = rules.task_return_counts_as_present and ev.task_returned_on_time
    waits_for_deadline = rules.task_return_counts_as_present and not ev.deadline_passed

    if ev.meeting_cancelled:
        reasons.append("Kokous peruttu")
    if meeting_proves:
        reasons.append(f"Läsnä kokouksessa {minutes} min (raja {limit} min)")
    elif ev.attendance_final or minutes > 0:
        reasons.append(f"Kokouksessa {minutes} min, alle rajan {limit} min")
    if not ev.attendance_final and not ev.meeting_cancelled:
        reasons.append("Kokousraportti ei vielä valmis")

    if ev.task_returned_on_time:
        if rules.task_return_counts_as_present:
            reasons.append("Palautti päivän tehtävän ajoissa")
        else:
            reasons.append("Palautti päivän tehtävän ajoissa (palautus ei sääntöjen mukaan riitä läsnäoloksi)")
    elif ev.task_returned_late:
        reasons.append("Palautti päivän tehtävän myöhässä (ei riitä läsnäoloksi)")
    elif waits_for_deadline:
        reasons.append(f"Päivän palautusaika päättyy {deadline_text(ev.deadline)}" if ev.deadline is not None
                       else "Päivän palautusaika ei ole vielä päättynyt")
    else:
        reasons.append("Päivän tehtävää ei palautettu ajoissa")

    needs_decision = False
    if meeting_proves or task_proves:
        status = AttendanceStatus.PRESENT
    elif waits_for_deadline:
        status = AttendanceStatus.PENDING
    elif ev.meeting_cancelled:
        if rules.task_return_counts_as_present:
            status = AttendanceStatus.ABSENT
        else:
            status = AttendanceStatus.EXCUSED
            reasons.append("Läsnäoloa ei voinut osoittaa, koska kokous peruttiin")
    elif not ev.attendance_final:
        status = AttendanceStatus.PENDING
    else:
        status = AttendanceStatus.ABSENT
    if status is AttendanceStatus.PENDING and ev.last_evaluation:
        needs_decision = True
        reasons.append(NEEDS_DECISION_REASON if not ev.attendance_final else "Päivää ei voitu ratkaista: päätä päivä itse")
    return DayDecision(status=status, minutes=minutes, reasons=reasons, needs_decision=needs_decision)


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
