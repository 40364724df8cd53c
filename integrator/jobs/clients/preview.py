"""A client change in plain Finnish words, for the coordinator's preview and the CLI.

Names no person: client codes, group keys, dates and counts only.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from integrator.domain.finnish import fi_day
from integrator.domain.periods import END_REASONS
from integrator.domain.weeks import WEEKDAY_FI
from integrator.jobs.plan import Action

if TYPE_CHECKING:
    from integrator.jobs.clients.changes import ClientChange


def fi(d: date | str | None) -> str:
    """ti 8.12.2026"""
    if d is None:
        return "-"
    return fi_day(date.fromisoformat(d) if isinstance(d, str) else d)


def _days(numbers: list[int]) -> str:
    return ",".join(WEEKDAY_FI[n] for n in numbers)


def _tenant_line(a: Action) -> str | None:
    group = a.group or ""
    if a.resource == "enrolment":
        return {"create": f"lisätään ryhmän {group} Classroom-kurssille",
                "remove": f"poistetaan ryhmän {group} Classroom-kurssilta"}.get(a.op)
    if a.resource == "permission" and a.key.endswith(":client"):
        return {"create": f"kansio {a.client} jaetaan asiakkaalle",
                "remove": f"asiakkaan pääsy kansioon {a.client} poistetaan (kansio säilyy ohjaajalla)"}.get(a.op)
    if a.resource == "assignees":
        when = a.key.split(":")[2] if a.key.count(":") >= 2 else ""
        verb = "lisätään" if a.detail.get("add") else "poistetaan"
        return f"{verb} ryhmän {group} tehtävän ({when}) tekijöistä"
    if a.resource == "coursework":
        return {"create": f"ryhmän {group} tehtävä tehdään ({a.key.split(':')[2]})",
                "remove": f"ryhmän {group} tuleva tehtävä poistetaan ({a.key.split(':')[2]})"}.get(a.op)
    if a.resource in ("folder", "week_folder") and a.op == "create":
        return f"luodaan kansio {a.key.split(':', 1)[1]}"
    return None


def describe(change: ClientChange) -> str:
    d = change.details
    lines: list[str] = []
    if change.action == "move":
        lines.append(f"Asiakas {change.code}: ryhmä {d.get('from') or '-'} -> {d['to']} alkaen {fi(d['from_date'])}.")
        if not change.changed:
            lines.append("Asiakas on jo tässä ryhmässä tästä päivästä: tietoihin ei tule muutoksia.")
        else:
            lines.append(f"Päivät ennen {fi(d['from_date'])} pysyvät ennallaan (tila, näyttö ja kulukorvaus).")
            weekdays = d.get("weekdays") or {}
            if weekdays.get("from") != weekdays.get("to"):
                lines.append(f"Jakson viikonpäivät: {_days(weekdays['from'])} -> {_days(weekdays['to'])} "
                             "(aiemmat päivät säilyvät).")
    elif change.action == "end":
        reason = END_REASONS.get(str(d.get("reason")), str(d.get("reason")))
        lines.append(f"Asiakas {change.code}: jakso päättyy keskeytykseen {fi(d.get('on'))} (syy: {reason}); "
                     f"suunniteltu loppu {fi(d.get('planned_end'))} säilyy ja keskeytyksen voi perua.")
        if not change.changed:
            lines.append("Sama keskeytys on jo kirjattu: tietoihin ei tule muutoksia.")
        else:
            lines.append("Kaikki kirjaukset säilyvät; läsnäolot ennen keskeytystä pysyvät ennallaan.")
    else:
        if not change.changed:
            return f"Asiakkaan {change.code} jaksoa ei ole keskeytetty: ei peruttavaa."
        lines.append(f"Asiakas {change.code}: keskeytys {fi(d.get('on'))} perutaan; jakso jatkuu "
                     f"{fi(d.get('planned_end'))} asti.")
    if change.messages:
        verb = "jonoon takaisin" if change.action == "undo" else "peruutetaan"
        reminders = sum(1 for k in change.messages if k.startswith("reminder:"))
        letters = len(change.messages) - reminders
        lines.append(f"Viestit ({verb}): {letters} viikkokirjettä, {reminders} muistutusta.")
    tenant = [line for a in change.followed.tenant.actions if (line := _tenant_line(a))]
    if tenant:
        lines.append("Classroom ja Drive:")
        lines.extend(f"  - {line}" for line in tenant)
    if change.access_later is not None and change.action == "move":
        lines.append(f"Ryhmän {d.get('from')} kurssilta poistetaan yöajossa {fi(change.access_later)}, "
                     "kun jäsenyys siinä on päättynyt.")
    elif change.access_later is not None:
        lines.append(f"Pääsy kurssille ja kansioon poistetaan yöajossa {fi(change.access_later)} "
                     "(keskeytys on tulevaisuudessa).")
    meetings = [a for a in change.followed.meetings.actions]
    if meetings:
        lines.append("Tulevat tapaamiskutsut:")
        for a in meetings:
            _, group, day = a.key.split(":")
            verb = "perutaan" if a.op == "remove" else "päivitetään"
            lines.append(f"  - {group} {fi(day)}: {verb} ({a.reason})")
    if change.followed.errors:
        lines.append(f"Virheitä {len(change.followed.errors)}: " + "; ".join(
            f"{e['item']}: {e['error']}" for e in change.followed.errors[:5]))
    if not tenant and not meetings and not change.messages and change.changed:
        lines.append("Classroomiin, Driveen ja tapaamisiin ei tarvita muutoksia nyt.")
    lines.append("Tehty." if change.applied else "Esikatselu: mitään ei ole vielä muutettu.")
    return "\n".join(lines)
