"""Jinja rendering of letters, reminders and meeting bodies (Finnish).

An organisation may override any template by putting a file of the same name in its
`templates_dir`; everything else falls back to integrator/jobs/templates/.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from integrator.domain.weeks import WEEKDAY_FI_LONG


def fi_date(d: date) -> str:
    """"tiistai 1.12." (Finnish style, no leading zeros)."""
    return f"{WEEKDAY_FI_LONG[d.isoweekday()]} {d.day}.{d.month}."


def fi_time(dt: datetime, tz: str = "Europe/Helsinki") -> str:
    """"10.00" in the given zone (Finnish style uses a dot)."""
    local = dt.astimezone(ZoneInfo(tz))
    return f"{local.hour}.{local.minute:02d}"


@cache
def environment(templates_dir: Path | None) -> Environment:
    loaders: list[Any] = []
    if templates_dir is not None:
        loaders.append(FileSystemLoader(str(templates_dir)))
    loaders.append(PackageLoader("integrator.jobs", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fi_date"] = fi_date
    env.filters["fi_time"] = fi_time
    return env


def render(templates_dir: Path | None, name: str, **context: Any) -> str:
    return environment(templates_dir).get_template(name).render(**context)


def render_pair(templates_dir: Path | None, stem: str, **context: Any) -> tuple[str, str]:
    """(plain text, HTML) of `stem`.txt.j2 and `stem`.html.j2."""
    return render(templates_dir, f"{stem}.txt.j2", **context), render(templates_dir, f"{stem}.html.j2", **context)
