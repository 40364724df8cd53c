"""Finnish formats for everything a coordinator or client reads: the one place for each.

Dates "8.12.2026", days "ti 8.12.2026", weeks "viikko 50 (7.–13.12.)", times in Helsinki
"14.05", decimals with a comma "12,50", and counts with the right form of the word ("1 virhe",
"2 virhettä"). The pages (web filters), the register files and the job texts all call these.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from integrator.domain.weeks import WEEKDAY_FI, days_of, parse_iso_week

HELSINKI = ZoneInfo("Europe/Helsinki")


def fi_date(d: date) -> str:
    """8.12.2026 (no leading zeros, as Finns write a date)."""
    return f"{d.day}.{d.month}.{d.year}"


def fi_day(d: date) -> str:
    """ti 8.12.2026"""
    return f"{WEEKDAY_FI[d.isoweekday()]} {fi_date(d)}"


def fi_day_short(d: date) -> str:
    """ti 8.12. (within a week or a month whose year is already said)"""
    return f"{WEEKDAY_FI[d.isoweekday()]} {d.day}.{d.month}."


def fi_day_month(d: date) -> str:
    """8.12. (a date whose year the sentence already says)"""
    return f"{d.day}.{d.month}."


def fi_week(week: str) -> str:
    """'2026-W50' -> 'viikko 50 (7.–13.12.)'; across months '(30.11.–6.12.)', across years with both years."""
    _year, num = parse_iso_week(week)
    days = days_of(week)
    first, last = days[0], days[-1]
    if first.year != last.year:
        span = f"{fi_date(first)}–{fi_date(last)}"
    elif first.month != last.month:
        span = f"{first.day}.{first.month}.–{last.day}.{last.month}."
    else:
        span = f"{first.day}.–{last.day}.{last.month}."
    return f"viikko {num} ({span})"


def fi_time(moment: datetime) -> str:
    """An instant as Helsinki wall-clock time: '14.05' (Finnish writes a dot between hours and minutes)."""
    local = moment.astimezone(HELSINKI)
    return f"{local.hour}.{local.minute:02d}"


def fi_datetime(moment: datetime) -> str:
    """'ti 8.12.2026 klo 14.05' in Helsinki time (summer and winter time alike)."""
    local = moment.astimezone(HELSINKI)
    return f"{fi_day(local.date())} klo {fi_time(local)}"


def fi_decimal(value: float | Decimal | int, places: int = 2) -> str:
    """12.5 -> '12,50'; thousands are left ungrouped so that spreadsheets read the number back."""
    return f"{value:.{places}f}".replace(".", ",")


def fi_count(n: int, singular: str, partitive: str) -> str:
    """'1 virhe', '2 virhettä', '0 virhettä': Finnish takes the partitive after every number but one."""
    return f"{n} {singular if n == 1 else partitive}"


def fi_age(age: timedelta) -> str:
    """How long ago: '5 min sitten', '3 tuntia sitten', '2 päivää sitten' (whole units, rounded down)."""
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min sitten"
    if minutes < 48 * 60:
        return f"{fi_count(minutes // 60, 'tunti', 'tuntia')} sitten"
    return f"{fi_count(minutes // (24 * 60), 'päivä', 'päivää')} sitten"


MONTH_FI = {1: "tammikuu", 2: "helmikuu", 3: "maaliskuu", 4: "huhtikuu", 5: "toukokuu", 6: "kesäkuu",
            7: "heinäkuu", 8: "elokuu", 9: "syyskuu", 10: "lokakuu", 11: "marraskuu", 12: "joulukuu"}


def fi_month(year: int, month: int) -> str:
    """'marraskuu 2026' (a heading: the caller capitalises it if it starts a sentence)."""
    return f"{MONTH_FI[month]} {year}"


_FI_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> date:
    """A date typed as Finns write it ("8.12.2026", "08.12.2026") or as ISO ("2026-12-08").

    ValueError for anything else (the caller names the field): the reading side of `fi_date`.
    """
    value = text.strip()
    m = _FI_DATE.fullmatch(value)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if _ISO_DATE.fullmatch(value):
        return date.fromisoformat(value)
    raise ValueError(f"not a date: {text!r}")
