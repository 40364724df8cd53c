"""ISO weeks, months and Finnish weekday names: the one place for each.

Weeks are written as in the product's URLs, commands and letters: "2026-W49" (ISO 8601, Monday
first; 2027-01-01 is in 2026-W53). Months as "2026-11". Weekdays are ISO numbers 1..7 (Monday = 1).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# ASCII digits only: \d would also accept other scripts' digits, which int() happily reads.
_ISO_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# What parse_iso_week and parse_month accept, as JSON-schema patterns (OpenAPI, form fields), built
# below from the same rules: years 0001-9998 for weeks (the last week of 9999 ends in year 10000) and
# 0001-9999 for months; weeks 01-52, and 53 only in the years that have one; months 01-12.
# Plain groups and alternations only: the fuzzer generates strings from these patterns.
_YEAR_1_9999 = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_YEAR_1_9998 = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
# The first two digits of a year modulo 4, as a regex: with the last two they give the year modulo
# 400, and the Gregorian calendar (so the ISO week count) repeats every 400 years.
_CENTURY_MOD_4 = ("([02468][048]|[13579][26])", "([02468][159]|[13579][37])", "([02468][26]|[13579][048])",
                  "([02468][37]|[13579][159])")


def _years_with_week_53() -> str:
    branches = []
    for r, century in enumerate(_CENTURY_MOD_4):
        # 2000 is 0 modulo 400; years 0000 and 9999 (0 and 399 modulo 400) have no week 53.
        ends = [f"{y:02d}" for y in range(100) if weeks_in_year(2000 + 100 * r + y) == 53]
        branches.append(f"{century}({'|'.join(ends)})")
    return f"({'|'.join(branches)})"


def _week_pattern() -> str:
    return f"^({_YEAR_1_9998}-W(0[1-9]|[1-4][0-9]|5[0-2])|{_years_with_week_53()}-W53)$"


MONTH_PATTERN = f"^{_YEAR_1_9999}-(0[1-9]|1[0-2])$"

# The weeks a weekly setup may be run for, counted from this week: a preview may look back (what
# would a past week's setup have done), an apply never: a past week's setup would plan from
# memberships that have since changed and remove access that active clients still need.
SETUP_WEEKS_BACK = 8
SETUP_WEEKS_AHEAD = 26

# Finnish weekday names by ISO number: the short forms of calendars and timetables ("ti 8.12.")
# and the long ones of letters ("tiistaina" is built from these by the templates).
WEEKDAY_FI = {1: "ma", 2: "ti", 3: "ke", 4: "to", 5: "pe", 6: "la", 7: "su"}
WEEKDAY_FI_LONG = {1: "maanantai", 2: "tiistai", 3: "keskiviikko", 4: "torstai", 5: "perjantai",
                   6: "lauantai", 7: "sunnuntai"}
WEEKDAY_EN = {1: "monday", 2: "tuesday", 3: "wednesday", 4: "thursday", 5: "friday", 6: "saturday",
              7: "sunday"}
# Every name a config file or a client CSV may use for a weekday.
WEEKDAY_NAMES: dict[str, int] = {
    **{name: n for n, name in WEEKDAY_EN.items()},
    **{name: n for n, name in WEEKDAY_FI.items()},
    **{name: n for n, name in WEEKDAY_FI_LONG.items()},
}


def parse_weekday(value: Any) -> int:
    """ISO weekday number from 1..7 or an English/Finnish name ("tuesday", "ti", "tiistai")."""
    if isinstance(value, bool):
        raise ValueError("expected a weekday name (monday..sunday, ma..su) or a number 1-7")
    if isinstance(value, int):
        if 1 <= value <= 7:
            return value
        raise ValueError(f"weekday number must be 1-7, got {value}")
    if isinstance(value, str) and value.strip().lower() in WEEKDAY_NAMES:
        return WEEKDAY_NAMES[value.strip().lower()]
    raise ValueError(f"expected a weekday name (monday..sunday, ma..su) or a number 1-7, got {value!r}")


def weekday_fi(d: date) -> str:
    """"ti" for a Tuesday: the short Finnish name, as in "ti 8.12.2026"."""
    return WEEKDAY_FI[d.isoweekday()]


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always lies in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar().week


WEEK_PATTERN = _week_pattern()


def parse_iso_week(s: str) -> tuple[int, int]:
    """"2026-W49" -> (2026, 49). Only the canonical form; W53 only where the year has one."""
    if not isinstance(s, str):
        raise ValueError(f"expected an ISO week like '2026-W49', got {s!r}")
    m = _ISO_WEEK.fullmatch(s)
    if m is None:
        raise ValueError(f"expected an ISO week like '2026-W49', got {s!r}")
    year, week = int(m.group(1)), int(m.group(2))
    if not 1 <= year <= 9998:
        raise ValueError(f"year must be 1-9998 in ISO week {s!r}")
    last = weeks_in_year(year)
    if not 1 <= week <= last:
        raise ValueError(f"ISO year {year} has weeks 1-{last}, got week {week} in {s!r}")
    return year, week


# How people write a week in a form: "50", "vk 50", "viikko 50", "50/2026", "viikko 50 2026" or the
# canonical "2026-W50" (what <input type="week"> sends).
_TYPED_WEEK = re.compile(r"(?:(?:viikko|vko|vk)\.?\s*)?([0-9]{1,2})(?:\s*[/ ]\s*([0-9]{4}))?", re.IGNORECASE)


def read_typed_week(text: str, today: date) -> str:
    """A week as a coordinator types it -> "2026-W50"; ValueError if it is none.

    A number without a year means the nearest such week from `today`: this year's, or next year's
    once this year's is more than SETUP_WEEKS_BACK weeks gone (in December "2" is January's week 2).
    """
    text = text.strip()
    if _ISO_WEEK.fullmatch(text):
        parse_iso_week(text)
        return text
    m = _TYPED_WEEK.fullmatch(text)
    if m is None:
        raise ValueError(f"expected a week like '50', 'viikko 50', '50/2026' or '2026-W50', got {text!r}")
    number = int(m.group(1))
    if m.group(2):
        week = f"{int(m.group(2)):04d}-W{number:02d}"
        parse_iso_week(week)
        return week
    this_year = today.isocalendar().year
    for year in (this_year, this_year + 1):
        if 1 <= number <= weeks_in_year(year):
            week = f"{year:04d}-W{number:02d}"
            if week_monday(week) >= week_monday(iso_week_of(today)) - timedelta(weeks=SETUP_WEEKS_BACK):
                return week
    raise ValueError(f"week {number} does not exist in {this_year} or {this_year + 1}")


def iso_week_of(d: date) -> str:
    """The ISO week a day belongs to, e.g. 2027-01-01 -> "2026-W53"."""
    iso = d.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def week_monday(week: str) -> date:
    """The Monday that starts an ISO week; ValueError for anything that is not one."""
    year, wk = parse_iso_week(week)
    return date.fromisocalendar(year, wk, 1)


def shift_week(week: str, weeks: int) -> str:
    """The week `weeks` weeks after (or before, if negative) `week`."""
    return iso_week_of(week_monday(week) + timedelta(weeks=weeks))


def days_of(week: str) -> list[date]:
    """Monday..Sunday of an ISO week."""
    monday = week_monday(week)
    return [monday + timedelta(days=i) for i in range(7)]


def week_after(d: date) -> str:
    """The ISO week after the one `d` is in: "next week" for letters sent on `d`."""
    return iso_week_of(d + timedelta(days=7))


def setup_week_window(today: date, *, apply: bool) -> tuple[str, str]:
    """(first, last) ISO week a weekly setup may be previewed (apply=False) or applied for on `today`."""
    first = today if apply else today - timedelta(weeks=SETUP_WEEKS_BACK)
    return iso_week_of(first), iso_week_of(today + timedelta(weeks=SETUP_WEEKS_AHEAD))


class PastWeekRefused(ValueError):
    """An apply for a past week without the typed confirmation that forces it."""


def is_past_week(week: str, today: date) -> bool:
    return week_monday(week) < week_monday(iso_week_of(today))


def check_setup_week(week: str, today: date, *, apply: bool, forced_week: str | None = None) -> str:
    """`week` if a weekly setup may run for it on `today`; ValueError saying the window otherwise.

    A past week is never applied (PastWeekRefused) unless `forced_week`, the week typed again by
    an admin, names it exactly: then it may be applied as far back as it may be previewed.
    The typing is the confirmation: a past week's plan comes from today's memberships.
    """
    monday = week_monday(week)
    forced = apply and forced_week is not None and forced_week.strip() == week
    first, last = setup_week_window(today, apply=apply and not forced)
    if monday < week_monday(first) and apply and not forced:
        raise PastWeekRefused(f"week {week} is in the past: a setup is applied only from this week ({first}) "
                              f"to {SETUP_WEEKS_AHEAD} weeks ahead ({last}); a preview may look back, and "
                              "an admin may force a past week by typing it again as the confirmation")
    if not week_monday(first) <= monday <= week_monday(last):
        raise ValueError(f"week {week} is outside the weekly-setup window {first}..{last} "
                         f"({SETUP_WEEKS_BACK} weeks back for a preview, this week for an apply, "
                         f"up to {SETUP_WEEKS_AHEAD} weeks ahead)")
    return week


def parse_month(month: str) -> tuple[int, int]:
    """"2026-11" -> (2026, 11); ValueError for anything else."""
    m = _MONTH.fullmatch(month) if isinstance(month, str) else None
    if not m:
        raise ValueError("month must look like 2026-11")
    year, num = int(m.group(1)), int(m.group(2))
    if not (1 <= num <= 12 and 1 <= year <= 9999):
        raise ValueError("month out of range")
    return year, num


def today(tz: str = "Europe/Helsinki") -> date:
    """Today's date on the wall clock in `tz` (Finnish time by default)."""
    return datetime.now(ZoneInfo(tz)).date()
