"""The work-day calendar: ISO weeks, a group's work days, holidays and meeting times.

Which holidays are skipped: every day `holidays.Finland()` reports in its default
"public" category. Besides the statutory holidays (*pyhäpäivät*) that category contains
two eves that are not statutory holidays but on which workplaces are closed in practice:
*Juhannusaatto* (Midsummer Eve, the Friday before Midsummer Day) and *Jouluaatto*
(Christmas Eve, 24 December). It does NOT contain *Uudenvuodenaatto* (New Year's Eve),
*Pääsiäislauantai* (Easter Saturday) or *Vapunaatto* (May Day Eve); an organisation that
closes on those lists them as closure days. The "unofficial" and "workday" categories
(flag days such as Runebergin päivä) are not days off and are not consulted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from holidays import country_holidays

from integrator.domain.weeks import week_monday

ORGANISATION_CLOSED = "organisation closed"

@dataclass(frozen=True)
class SkippedDay:
    """A group work day that does not take place, with the reason shown to the coordinator."""

    day: date
    reason: str  # the Finnish holiday name (e.g. "Itsenäisyyspäivä") or ORGANISATION_CLOSED


@dataclass(frozen=True)
class WeekCalendar:
    week: str
    days: list[date]  # the work days that take place, sorted
    skipped: list[SkippedDay]  # the group's weekdays that fall on a holiday or closure, sorted


def _validate_weekdays(weekdays: Iterable[int]) -> set[int]:
    result: set[int] = set()
    for wd in weekdays:
        if isinstance(wd, bool) or not isinstance(wd, int) or not 1 <= wd <= 7:
            raise ValueError(f"weekdays are ISO numbers 1 (Monday) to 7 (Sunday), got {wd!r}")
        result.add(wd)
    return result


def finnish_holidays(years: Iterable[int], language: str = "fi") -> dict[date, str]:
    """Finnish public holidays (incl. Juhannusaatto and Jouluaatto) by day, named in `language`."""
    return dict(country_holidays("FI", years=sorted(set(years)), language=language).items())


def work_days_for_week(
    week: str,
    weekdays: Iterable[int],
    *,
    closures: Iterable[date] = (),
    language: str = "fi",
) -> WeekCalendar:
    """The group's work days in `week`: its weekdays minus public holidays and closure days.

    A day that is both a holiday and a closure is reported with the holiday name: it is
    the more informative reason, and it would be skipped without the closure too.
    """
    wanted = _validate_weekdays(weekdays)
    monday = week_monday(week)
    candidates = [monday + timedelta(days=wd - 1) for wd in sorted(wanted)]
    names = finnish_holidays({d.year for d in candidates}, language) if candidates else {}
    closed = set(closures)
    days: list[date] = []
    skipped: list[SkippedDay] = []
    for d in candidates:
        if d in names:
            skipped.append(SkippedDay(d, names[d]))
        elif d in closed:
            skipped.append(SkippedDay(d, ORGANISATION_CLOSED))
        else:
            days.append(d)
    return WeekCalendar(week=week, days=days, skipped=skipped)


def client_work_days(
    week_calendar: WeekCalendar,
    period_start: date,
    period_end: date,
    client_weekdays: Iterable[int],
) -> list[date]:
    """The group's days on which this client takes part: inside the period (end inclusive)
    and on one of the client's own weekdays."""
    own = _validate_weekdays(client_weekdays)
    return [d for d in week_calendar.days if period_start <= d <= period_end and d.isoweekday() in own]


def meeting_window(
    day: date, start: time, end: time, tz: str = "Europe/Helsinki"
) -> tuple[datetime, datetime]:
    """The meeting as aware UTC instants, from local wall-clock times on `day`.

    The UTC offset is taken for each end separately, so a meeting on the day of a DST
    change (at 03:00/04:00 local in Finland) still starts at the wall-clock time people see.
    A wall-clock time that does not exist (the spring gap) is moved forward by the gap
    (03:30 -> 04:30 summer time), an ambiguous one (the autumn overlap) is its first
    occurrence (fold=0); the usual Python reading. Should that leave the meeting empty or
    reversed (e.g. 03:59-04:00 on the spring-change night), it is refused with ValueError
    rather than scheduled at a surprising time.
    """
    if end <= start:
        raise ValueError(f"meeting end {end} must be after its start {start}")
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("meeting times are local wall-clock times; pass them without a timezone")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}; use an IANA name like 'Europe/Helsinki'") from exc
    begins = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    ends = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
    if ends <= begins:
        raise ValueError(
            f"the meeting {start}-{end} on {day.isoformat()} falls into the daylight-saving change "
            f"in {tz} and has no length; move it out of the changing hour"
        )
    return begins, ends
