"""A weekly-setup plan as a coordinator reads it: Finnish lines with group names, client codes and
dates, never our internal keys (those stay in the store, the API and the command's text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from integrator.domain.finnish import fi_day

OP_FI = {"create": "luodaan", "update": "päivitetään", "remove": "poistetaan", "skip": "ohitetaan"}
RESOURCE_FI = {"course": "kurssi", "topic": "aihe", "enrolment": "kurssin jäsenyys", "invitation": "kurssikutsu",
               "folder": "tehtäväkansio", "week_folder": "viikkokansio", "permission": "kansion jako",
               "coursework": "tehtävä", "assignees": "tehtävän saajat", "event": "kalenteritapahtuma",
               "meeting": "tapaaminen", "organisation": "organisaatio", "duplicate": "tehtävän kaksoiskappale",
               "work_day": "toimintapäivä", "client": "asiakas",
               "document": "tehtävädokumentti"}
# Removals that take access away: the page lists them apart and asks for a confirmation.
ACCESS = frozenset({"enrolment", "permission"})


@dataclass(frozen=True)
class PlanLine:
    op: str  # create | update | remove | skip (the CSS class)
    verb: str  # "poistetaan"
    what: str  # "kurssin jäsenyys", "tehtävä ti 1.12. Päiväkirja"
    client: str | None
    group: str  # the group's name
    reason: str
    key: str  # for the confirmation form only, never shown
    access: bool  # a removal of access

    @property
    def text(self) -> str:
        parts = [f"{self.verb} {self.what}"]
        if self.client:
            parts.append(f"asiakas {self.client}")
        return " – ".join(parts) + (f" ({self.reason})" if self.reason else "")


def _what(a: dict[str, Any]) -> str:
    resource, key = a["resource"], a["key"]
    label = str((a.get("detail") or {}).get("label") or "")
    noun = RESOURCE_FI.get(resource, resource)
    if resource == "permission":
        noun = "asiakkaan oikeus omaan kansioon" if key.endswith(":client") else "ohjaajan oikeus asiakkaan kansioon"
    if resource == "meeting" and key.count(":") >= 2:
        try:
            label = fi_day(date.fromisoformat(key.rsplit(":", 1)[1]))
        except ValueError:
            pass
    return f"{noun} {label}".strip() if label and resource not in ("course",) else noun


def plan_summary(counts: dict[str, int]) -> str:
    """A plan's counts (`op:resource` -> n, as `Plan.counts()` gives them) in one Finnish line:
    "luodaan kurssi 4, tehtävä 10; ohitetaan organisaatio 1". For the demo and the command line."""
    by_op: dict[str, list[str]] = {}
    for key, n in counts.items():
        op, _, resource = key.partition(":")
        # The one organisation-wide note: the Google part of an organisation without Google.
        part = "Classroom ja Drive (ei Google Workspacea)" if key == "skip:organisation" else \
            f"{RESOURCE_FI.get(resource, resource)} {n}"
        by_op.setdefault(op, []).append(part)
    return "; ".join(f"{OP_FI.get(op, op)} {', '.join(parts)}" for op, parts in by_op.items()) or "ei muutoksia"


def plan_lines(actions: list[dict[str, Any]], group_names: dict[str, str]) -> dict[str, list[PlanLine]]:
    """Group name -> lines, in the order removals of access, other changes, notes."""
    out: dict[str, list[PlanLine]] = {}
    for a in actions:
        group = group_names.get(a.get("group") or "", a.get("group") or "Koko organisaatio")
        line = PlanLine(a["op"], OP_FI.get(a["op"], a["op"]), _what(a), a.get("client"), group,
                        a.get("reason") or "", a["key"], a["op"] == "remove" and a["resource"] in ACCESS)
        out.setdefault(group, []).append(line)
    order = {"remove": 0, "create": 1, "update": 2, "skip": 3}
    return {g: sorted(lines, key=lambda ln: (order.get(ln.op, 4), ln.client or "", ln.what))
            for g, lines in sorted(out.items())}
