"""A client's move, early end or its undo as the client page's preview says it: the main points in
plain Finnish with the groups' names, and what is taken away now (or given back). The line by
line detail under it is the service's own (`ClientChange.preview`, the same text as the CLI's).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from integrator.domain.finnish import fi_count, fi_day
from integrator.domain.periods import END_REASONS
from integrator.jobs.clients.changes import ClientChange


def _day(value: Any) -> str:
    return fi_day(date.fromisoformat(value)) if isinstance(value, str) else fi_day(value) if value else "-"


def _access(change: ClientChange, op: str) -> dict[str, int]:
    """Counts of the client's course places, folder shares, coursework and meeting invitations."""
    tenant = [a for a in change.followed.tenant.actions if a.op == op]
    meetings = change.followed.meetings.actions
    letters = sum(1 for k in change.messages if not k.startswith("reminder:"))
    return {"courses": sum(1 for a in tenant if a.resource == "enrolment"),
            "folders": sum(1 for a in tenant if a.resource == "permission" and a.key.endswith(":client")),
            "letters": letters, "reminders": len(change.messages) - letters, "meetings": len(meetings)}


def _access_lines(counts: dict[str, int], *, verb: str) -> list[str]:
    return [
        f"Classroom-kurssi: {fi_count(counts['courses'], 'kurssi', 'kurssia')} {verb}" if counts["courses"]
        else "Classroom-kurssi: ei muutosta nyt",
        f"Pääsy omaan kansioon {verb}" if counts["folders"] else "Pääsy omaan kansioon: ei muutosta nyt",
        f"Tulevat viikkokirjeet ja muistutukset: {fi_count(counts['letters'], 'kirje', 'kirjettä')}, "
        f"{fi_count(counts['reminders'], 'muistutus', 'muistutusta')}",
        f"Tulevat tapaamiskutsut: {fi_count(counts['meetings'], 'tapaaminen', 'tapaamista')} päivitetään"
        if counts["meetings"] else "Tulevat tapaamiskutsut: ei muutosta nyt",
    ]


def change_points(change: ClientChange, names: dict[str, str]) -> dict[str, Any]:
    """{"summary": [...], "access_title": str, "access": [...], "later": str | None} in Finnish."""
    d = change.details

    def name(key: Any) -> str:
        return names.get(str(key), str(key)) if key else "-"

    out: dict[str, Any] = {"summary": [], "access_title": "", "access": [], "later": None}
    if change.action == "move":
        start = date.fromisoformat(d["from_date"])
        out["summary"].append(f"Uusi ryhmä: {name(d['to'])} alkaen {fi_day(start)}.")
        if not change.changed:
            out["summary"].append("Asiakas on jo tässä ryhmässä tästä päivästä alkaen: mikään ei muutu.")
            return out
        if d.get("from"):
            out["summary"].append(f"Vanha ryhmä: {name(d['from'])}, viimeinen päivä siinä "
                                  f"{fi_day(start - timedelta(days=1))}.")
        out["summary"].append(f"Päivät ennen {fi_day(start)} pysyvät ennallaan: ryhmä, läsnäolo, näyttö ja "
                              "kulukorvaus.")
        added, removed = _access(change, "create"), _access(change, "remove")
        out["access_title"] = "Classroom ja kansio"
        out["access"] = [f"Lisätään ryhmän {name(a.group)} Classroom-kurssille" for a in change.followed.tenant.actions
                         if a.op == "create" and a.resource == "enrolment"]
        out["access"] += [f"Poistetaan ryhmän {name(a.group)} Classroom-kurssilta nyt"
                          for a in change.followed.tenant.actions if a.op == "remove" and a.resource == "enrolment"]
        if not added["courses"] and not removed["courses"]:
            out["access"].append("Classroom-kursseihin ei tule muutoksia nyt (uuden viikon kurssi tulee viikon "
                                 "valmistelussa).")
        if change.access_later is not None:
            out["later"] = (f"Vanhan ryhmän {name(d.get('from'))} Classroom-kurssilta asiakas poistetaan yöajossa "
                            f"{fi_day(change.access_later)}, kun jäsenyys siinä on päättynyt.")
    elif change.action == "end":
        reason = END_REASONS.get(str(d.get("reason")), str(d.get("reason")))
        out["summary"].append(f"Jakson viimeinen päivä: {_day(d.get('on'))} (syy: {reason}).")
        if not change.changed:
            out["summary"].append("Sama keskeytys on jo kirjattu: mikään ei muutu.")
            return out
        out["summary"].append(f"Suunniteltu loppu {_day(d.get('planned_end'))} säilyy, ja keskeytyksen voi perua.")
        out["summary"].append("Kaikki kirjaukset säilyvät; läsnäolot ennen keskeytystä pysyvät ennallaan.")
        out["access_title"] = "Poistetaan nyt" if change.access_later is None else "Poistetaan nyt (viestit ja kutsut)"
        out["access"] = _access_lines(_access(change, "remove"), verb="poistetaan")
        if change.access_later is not None:
            out["later"] = (f"Pääsy Classroom-kurssille ja kansioon poistetaan yöajossa "
                            f"{fi_day(change.access_later)}, koska keskeytys on tulevaisuudessa.")
    else:
        if not change.changed:
            out["summary"].append("Jaksoa ei ole keskeytetty: ei peruttavaa.")
            return out
        out["summary"].append(f"Keskeytys {_day(d.get('on'))} perutaan; jakso jatkuu {_day(d.get('planned_end'))} "
                              "asti.")
        out["access_title"] = "Palautetaan"
        out["access"] = _access_lines(_access(change, "create"), verb="palautetaan")
    return out
