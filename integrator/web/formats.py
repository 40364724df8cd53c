"""The Finnish formats of integrator.domain.finnish as template filters, for every page.

`{{ d | fi_day }}` -> "ti 8.12.2026", `{{ week | fi_week }}` -> "viikko 50 (7.–13.12.)",
`{{ run.started_at | fi_datetime }}` -> "ti 8.12.2026 klo 14.05" (Helsinki time, from the API's
ISO text or a datetime), `{{ n | fi_count('virhe', 'virhettä') }}` -> "1 virhe" / "2 virhettä".
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from integrator.domain import finnish


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def fi_date(value: date | str | None) -> str:
    return finnish.fi_date(_as_date(value)) if value else ""


def fi_day(value: date | str | None) -> str:
    return finnish.fi_day(_as_date(value)) if value else ""


def fi_day_short(value: date | str | None) -> str:
    return finnish.fi_day_short(_as_date(value)) if value else ""


def fi_datetime(value: datetime | str | None) -> str:
    return finnish.fi_datetime(_as_datetime(value)) if value else ""


def fi_week(value: str) -> str:
    try:
        return finnish.fi_week(value)
    except ValueError:
        return value


def fi_month(value: str) -> str:
    """'2026-11' -> 'marraskuu 2026' (anything else is shown as it is)."""
    year, _, month = (value or "").partition("-")
    if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
        return finnish.fi_month(int(year), int(month))
    return value


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        fi_date=fi_date, fi_day=fi_day, fi_day_short=fi_day_short, fi_datetime=fi_datetime, fi_week=fi_week,
        fi_month=fi_month,
        fi_time=lambda v: finnish.fi_time(_as_datetime(v)) if v else "",
        fi_count=finnish.fi_count, fi_decimal=finnish.fi_decimal)
