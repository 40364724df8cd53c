"""A run's errors as an admin reads them: one line per cause with a count, and what did succeed.

Identical errors (fourteen Drive folders refused the same way) are one line with "14 kertaa" and
the client codes they concern; a meeting that was not created is always a line of its own (a
group without its meeting that day is news in itself, never folded into a count). The cause of
a line is the error's kind and its text, without what differs between items (the item's own key,
ids, Entra's trace ids and timestamps). Explanations come from `web.explain`, the one table of
error kinds; only pseudonymous codes (client codes, group keys) are ever shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from integrator.domain.finnish import fi_count, fi_day
from integrator.store.models import JobRun
from integrator.web.explain import explain_error

_SPLIT = re.compile(r"[:/\s,;()\[\]]+")
_VOLATILE = [
    re.compile(r"(?i)(trace id|correlation id|timestamp|request-id|client-request-id)\s*:?\s*\S+(\s+\S+Z)?"),
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),  # GUIDs
    re.compile(r"\b(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{16,}\b"),  # resource ids (Drive, Classroom)
]
# Past tense and the forms of the things a weekly setup or meetings run creates ("luotiin aihe ja 2 tehtävää").
VERB_FI = {"create": "luotiin", "update": "päivitettiin", "remove": "poistettiin", "created": "luotiin",
           "updated": "päivitettiin", "removed": "poistettiin", "accepted": "hyväksyttiin",
           "repaired": "korjattiin"}
NOUN_FI = {"course": ("kurssi", "kurssia"), "topic": ("aihe", "aihetta"), "coursework": ("tehtävä", "tehtävää"),
           "folder": ("tehtäväkansio", "tehtäväkansiota"), "week_folder": ("viikkokansio", "viikkokansiota"),
           "permission": ("kansion jako", "kansion jakoa"), "enrolment": ("kurssin jäsenyys", "kurssin jäsenyyttä"),
           "invitation": ("kurssikutsu", "kurssikutsua"), "meeting": ("tapaaminen", "tapaamista"),
           "event": ("kalenteritapahtuma", "kalenteritapahtumaa"), "assignees": ("tehtävän saajat", "tehtävän saajia"),
           "work_day": ("toimintapäivä", "toimintapäivää"),
           "document": ("tehtävädokumentti", "tehtävädokumenttia")}
# Other jobs' counters that say what went through (sending, the nightly sync).
DONE_FI = {"sent": ("lähetettiin", "viesti", "viestiä"), "queued": ("jonoon lisättiin", "viesti", "viestiä"),
           "days_changed": ("päivitettiin", "läsnäolopäivä", "läsnäolopäivää"),
           "classroom_returns_written": ("kirjattiin", "Classroom-palautus", "Classroom-palautusta"),
           "drive_returns_written": ("kirjattiin", "Drive-palautus", "Drive-palautusta"),
           "ok": ("onnistui", "tarkistus", "tarkistusta")}


def cause_text(error: dict[str, Any]) -> str:
    """The error's text without what differs from item to item."""
    text = str(error.get("error") or "")
    item = str(error.get("item") or "")
    if item and len(item) > 2:
        text = text.replace(item, "…")
    for pattern in _VOLATILE:
        text = pattern.sub("…", text)
    return re.sub(r"\s+", " ", text).strip()


def is_meeting(error: dict[str, Any]) -> bool:
    return str(error.get("item") or "").startswith("meeting:")


def meeting_line(error: dict[str, Any], kind: str) -> str:
    """"Tapaamista ei luotu: ryhmä ti-ryhma, ti 8.12.2026" (a weekly setup or meetings run), or for
    the nightly sync, whose meeting errors are about reading the attendance."""
    _, _, rest = str(error.get("item")).partition(":")
    group, _, day = rest.partition(":")
    try:
        when = fi_day(date.fromisoformat(day))
    except ValueError:
        when = day
    what = "Tapaamisen osallistujatietoja ei saatu" if kind == "nightly_sync" else "Tapaamista ei luotu"
    return f"{what}: ryhmä {group}, {when}" if when else f"{what}: ryhmä {group}"


@dataclass
class ErrorGroup:
    """One cause: its explanation, how often it happened and whom it concerns (codes only)."""

    kind: str
    explanation: str
    text: str  # the technical text (the first one seen), for "Tekninen tieto"
    title: str = ""  # a meeting's own line; empty for others
    count: int = 0
    clients: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)  # items naming neither (e.g. "credentials", "run")
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    runs: list[int] = field(default_factory=list)  # newest first

    @property
    def affected(self) -> str:
        parts = []
        if self.groups:
            parts.append("ryhmät " + ", ".join(sorted(self.groups)))
        if self.clients:
            parts.append("asiakkaat " + ", ".join(sorted(self.clients)))
        return "; ".join(parts)


def _owners(error: dict[str, Any], codes: set[str], group_keys: set[str]) -> tuple[set[str], set[str]]:
    words = set(_SPLIT.split(str(error.get("item") or "")))
    clients = (words & codes) | ({str(error["client"])} if error.get("client") else set())
    groups = (words & group_keys) | ({str(error["group"])} if error.get("group") else set())
    return clients, groups


def group_errors(runs: Iterable[JobRun], *, codes: Iterable[str] = (), group_keys: Iterable[str] = ()) -> list[ErrorGroup]:
    """The runs' errors by cause, the most frequent first; `codes` and `group_keys`: the
    organisation's (to tell whom an item key concerns). Runs are read newest first."""
    known_codes, known_groups = set(codes), set(group_keys)
    out: dict[tuple[str, ...], ErrorGroup] = {}
    for run in sorted(runs, key=lambda r: r.started_at, reverse=True):
        for error in run.errors or []:
            kind = str(error.get("kind") or "fatal").lower()
            text = cause_text(error)
            meeting = is_meeting(error)
            key = (kind, text, str(error.get("item"))) if meeting else (kind, text)
            grp = out.get(key)
            if grp is None:
                grp = out[key] = ErrorGroup(kind=kind, explanation=explain_error(error), text=str(error.get("error")),
                                            title=meeting_line(error, run.kind) if meeting else "")
            grp.count += 1
            clients, groups = _owners(error, known_codes, known_groups)
            grp.clients |= clients
            grp.groups |= groups
            if not clients and not groups and not meeting:
                grp.items.add(str(error.get("item")))
            grp.first_seen = run.started_at  # runs come newest first: the last one read is the first seen
            grp.last_seen = grp.last_seen or run.started_at
            if run.id not in grp.runs:
                grp.runs.append(run.id)
    # Meetings first (each its own line), then the most frequent causes.
    return sorted(out.values(), key=lambda g: (not g.title, -g.count, g.title))


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " ja " + parts[-1]


def _phrase(n: int, singular: str, partitive: str) -> str:
    return singular if n == 1 else fi_count(n, singular, partitive)


def failed_count(run: JobRun) -> int:
    """How many things failed: the run's "failed:<what>" counters, else its error items."""
    counters = sum(v for k, v in (run.counts or {}).items() if k.startswith("failed:") and isinstance(v, int))
    return counters or len(run.errors or [])


def success_summary(counts: dict[str, Any], failed: int) -> str:
    """What a partial run did get done, and how much failed: "luotiin aihe ja 2 tehtävää; 1 epäonnistui".
    Empty when the counts name nothing that went through."""
    found: list[tuple[int, str, str]] = []  # (order, verb, phrase)
    order = list(NOUN_FI)
    for key, value in counts.items():
        if not isinstance(value, int) or value <= 0:
            continue
        first, _, second = key.partition(":")
        if second and first in VERB_FI and second in NOUN_FI:  # "create:coursework"
            verb, noun, rank = VERB_FI[first], NOUN_FI[second], order.index(second)
        elif second and second in VERB_FI and first in NOUN_FI:  # "meeting:created"
            verb, noun, rank = VERB_FI[second], NOUN_FI[first], order.index(first)
        elif key in DONE_FI:
            verb, singular, partitive = DONE_FI[key]
            noun, rank = (singular, partitive), len(order) + list(DONE_FI).index(key)
        else:
            continue
        found.append((rank, verb, _phrase(value, *noun)))
    by_verb: dict[str, list[str]] = {}
    for _, verb, phrase in sorted(found):
        by_verb.setdefault(verb, []).append(phrase)
    done = "; ".join(f"{verb} {_join(things)}" for verb, things in by_verb.items())
    if not done:
        return ""
    return f"{done}; {failed} epäonnistui" if failed else done
