"""ISO weeks and months as they appear in URLs: 2026-W49, 2026-11."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
WEEK_PATTERN = r"^\d{4}-W\d{2}$"
MONTH_PATTERN = r"^\d{4}-\d{2}$"


def today(tz: str = "Europe/Helsinki") -> date:
    return datetime.now(ZoneInfo(tz)).date()


def week_of(d: date) -> str:
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(week: str) -> date:
    """The Monday of an ISO week; ValueError for anything that is not one."""
    m = WEEK_RE.match(week)
    if not m:
        raise ValueError("week must look like 2026-W49")
    year, num = int(m.group(1)), int(m.group(2))
    if not 1 <= year <= 9998:
        raise ValueError("year out of range")
    return date.fromisocalendar(year, num, 1)  # raises ValueError for week 53 of a 52-week year


def shift(week: str, weeks: int) -> str:
    return week_of(monday_of(week) + timedelta(weeks=weeks))


def days_of(week: str) -> list[date]:
    monday = monday_of(week)
    return [monday + timedelta(days=i) for i in range(7)]


def parse_month(month: str) -> tuple[int, int]:
    m = MONTH_RE.match(month)
    if not m:
        raise ValueError("month must look like 2026-11")
    year, num = int(m.group(1)), int(m.group(2))
    if not (1 <= num <= 12 and 1 <= year <= 9999):
        raise ValueError("month out of range")
    return year, num


WEEKDAY_FI = {1: "ma", 2: "ti", 3: "ke", 4: "to", 5: "pe", 6: "la", 7: "su"}
WEEKDAY_FI_LONG = {1: "maanantai", 2: "tiistai", 3: "keskiviikko", 4: "torstai", 5: "perjantai",
                   6: "lauantai", 7: "sunnuntai"}
