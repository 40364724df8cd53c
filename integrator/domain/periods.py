"""Law limits of a period (*jakso*): length, weekdays, hours a day.

Dates are INCLUSIVE at both ends everywhere in the product: a period from 2026-01-15 to
2026-04-14 includes both days and is exactly 3 calendar months long, because the day after
its last day (2026-04-15) is 3 months after its first day. Month arithmetic clamps to the
end of a shorter month (2026-01-31 + 1 month = 2026-02-28), as Finnish contract practice does.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from integrator.domain.finnish import fi_date
from integrator.domain.rules import PeriodRules
from integrator.domain.types import ServiceModel


def add_months(d: date, months: int) -> date:
    """`d` moved by whole calendar months, clamped to the last day of the target month."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))


def period_end_for(start: date, months: int) -> date:
    """The inclusive last day of a period of `months` calendar months starting on `start`."""
    return add_months(start, months) - timedelta(days=1)


#: Why a period ended early (keskeytys), as recorded on `Period.end_reason`: a fixed list of codes,
#: never free text (DOMAIN.md: reasons are codes, not words about a person's health). Finnish labels
#: for the coordinator's preview.
END_REASONS: dict[str, str] = {
    "health": "terveys",
    "work": "työ",
    "education": "opiskelu tai kurssi",
    "moved": "muutto",
    "other": "muu syy",
}


def check_early_end(start: date, planned_end: date, on: date) -> str | None:
    """Why `on` cannot be the last day of an interrupted period, or None.

    The 3-24 month frame (`validate_period`) is for *planned* periods. An interruption
    (keskeytys) may come at any time after the start, so no minimum length applies to it: it only
    has to fall inside the period and before its planned end.
    """
    if on < start:
        return f"the period starts {start.isoformat()}: an early end cannot be before it"
    if on >= planned_end:
        return f"the period already ends {planned_end.isoformat()}: an early end must be before that"
    return None


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def validate_period(
    start: date,
    end: date,
    weekdays: list[int],
    hours_per_day: float,
    rules: PeriodRules,
    service_model: ServiceModel | None = None,
    *,
    finnish: bool = False,
) -> list[str]:
    """Problems with a period in plain English, or in Finnish with `finnish` (for a coordinator's
    client file); an empty list means valid.

    Every service model must fit the legal 3-24 month frame (`rules.period_min_months` ..
    `rules.period_max_months`) except the interval model. Why: seeds/000 (the Raisio pilot,
    "Kuva 3") describes the *intervallijakso* as "2 vkoa Mahittulan toimintakeskuksen ollessa
    suljettuna" - a two-week remote stint while the on-site activity centre is closed. It is a
    remote part of the client's ongoing legal period, which itself is 3-24 months, so the
    minimum length applies to that enclosing period, not to the stint. An interval record may
    therefore be short, but never longer than the legal maximum.

    Weekdays and hours apply to every model: they are per-week and per-day rules. For the
    hybrid model the weekdays given are the remote days; checking the on-site days is not ours.
    """
    problems: list[str] = []

    def say(en: str, fi: str) -> None:
        problems.append(fi if finnish else en)

    if end <= start:
        say(f"The period must end after it starts (start {start.isoformat()}, end {end.isoformat()}).",
            f"Jakson on päätyttävä alkamisensa jälkeen (alku {fi_date(start)}, loppu {fi_date(end)}).")
    else:
        # Inclusive end: the period covers [start, end], so compare end + 1 day with start + N months.
        after_end = end + timedelta(days=1)
        if service_model is not ServiceModel.INTERVAL and after_end < add_months(start, rules.period_min_months):
            last = period_end_for(start, rules.period_min_months)
            say(f"The period is shorter than the minimum of {_months(rules.period_min_months)}: "
                f"a period starting {start.isoformat()} must end on {last.isoformat()} or later.",
                f"Jakso on lyhyempi kuin vähimmäiskesto {rules.period_min_months} kk: {fi_date(start)} alkavan "
                f"jakson on päätyttävä {fi_date(last)} tai myöhemmin.")
        if after_end > add_months(start, rules.period_max_months):
            last = period_end_for(start, rules.period_max_months)
            say(f"The period is longer than the maximum of {_months(rules.period_max_months)}: "
                f"a period starting {start.isoformat()} must end on {last.isoformat()} or earlier.",
                f"Jakso on pidempi kuin enimmäiskesto {rules.period_max_months} kk: {fi_date(start)} alkavan "
                f"jakson on päätyttävä {fi_date(last)} tai aiemmin.")

    bad = [wd for wd in weekdays if isinstance(wd, bool) or not isinstance(wd, int) or not 1 <= wd <= 7]
    if bad:
        say(f"Weekdays must be numbers from 1 (Monday) to 7 (Sunday); got {bad}.",
            f"Viikonpäivien on oltava numeroita 1 (maanantai) – 7 (sunnuntai); annettiin {bad}.")
    if len(set(weekdays)) != len(weekdays):
        say("Each weekday may be given only once.", "Kukin viikonpäivä saa esiintyä vain kerran.")
    distinct = len({wd for wd in weekdays if wd not in bad})
    if not bad and not rules.min_days_per_week <= distinct <= rules.max_days_per_week:
        say(f"The client must take part on {rules.min_days_per_week} to {rules.max_days_per_week} "
            f"days a week; {distinct} given.",
            f"Asiakkaan on osallistuttava {rules.min_days_per_week}–{rules.max_days_per_week} päivänä "
            f"viikossa; annettiin {distinct}.")

    if not hours_per_day >= rules.min_hours_per_day:  # also rejects NaN
        say(f"A work day must last at least {rules.min_hours_per_day:g} hours; {hours_per_day:g} given.",
            f"Työtoimintapäivän on kestettävä vähintään {_fi_number(rules.min_hours_per_day)} tuntia; "
            f"annettiin {_fi_number(hours_per_day)}.")
    return problems


def _fi_number(x: float) -> str:
    return f"{x:g}".replace(".", ",")
