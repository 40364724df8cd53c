"""Survey results, per group and time span: the digital-support shift before -> after (the
pilot's charts 1 and 2), the group experience and the Likert items, the open answers.

Every figure passes `domain.surveys.shown` (no figure for fewer than five answers). Means are
normalised so that a higher number is always better (the pilot's scales run in different
directions). A client is named (by pseudonymous code) only for answers given under linked
answers, to that client's coordinator.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain import surveys as rules
from integrator.reports.finnish_csv import cell_text, finnish_csv
from integrator.store.models import Client, PeerGroup, SurveyInvitation, SurveyResponse, SurveyVersion

LOCAL = ZoneInfo("Europe/Helsinki")
NORMALISED_FI = ("Keskiarvot on muunnettu niin, että suurempi luku on aina parempi (1–5): asteikot kulkevat "
                 "kyselyssä eri suuntiin.")
SUPPRESSED_FI = "alle 5 vastausta"
ROUND_FI = {rules.START: "alkukysely", rules.END: "loppukysely", rules.GROUP: "ryhmäkysely"}


@dataclass(frozen=True)
class QuestionResult:
    survey: str  # e.g. "Loppukysely (versio 1)"
    question: rules.Question
    summary: rules.Summary

    @property
    def reversed(self) -> bool:
        return self.question.better in ("low", "first")


@dataclass(frozen=True)
class OpenAnswer:
    question: str
    text: str
    client_code: str | None  # linked answers only


@dataclass
class GroupResults:
    group_id: int
    group_name: str
    answers: dict[str, int] = field(default_factory=dict)  # round kind -> answer sets
    shift: rules.Shift | None = None
    questions: list[QuestionResult] = field(default_factory=list)
    open_answers: list[OpenAnswer] = field(default_factory=list)
    # Linked answers: client code -> (before level wording, after level wording).
    changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(0), tzinfo=LOCAL),
            datetime.combine(end + timedelta(days=1), time(0), tzinfo=LOCAL))


def build(s: Session, groups: list[PeerGroup], start: date, end: date) -> list[GroupResults]:
    """The results of `groups` for answers given from `start` to `end` (Finnish days, inclusive)."""
    lo, hi = _bounds(start, end)
    ids = [g.id for g in groups]
    rows = list(s.execute(
        select(SurveyResponse, SurveyVersion, SurveyInvitation.linked, Client.code)
        .join(SurveyVersion, SurveyVersion.id == SurveyResponse.survey_version_id)
        .outerjoin(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
        .outerjoin(Client, Client.id == SurveyInvitation.client_id)
        .where(SurveyResponse.group_id.in_(ids), SurveyResponse.submitted_at >= lo, SurveyResponse.submitted_at < hi)
        .order_by(SurveyResponse.submitted_at, SurveyResponse.id)))
    by_group: dict[int, list[tuple[SurveyResponse, SurveyVersion, bool | None, str | None]]] = defaultdict(list)
    for r in rows:
        by_group[r[0].group_id].append(r)
    return [_group(g, by_group.get(g.id, [])) for g in groups]


def _group(group: PeerGroup, rows: list[tuple[SurveyResponse, SurveyVersion, bool | None, str | None]]) -> GroupResults:
    out = GroupResults(group.id, group.name)
    values: dict[tuple[int, str], list[str]] = defaultdict(list)
    versions: dict[int, rules.SurveyDefinition] = {}
    support: dict[str, tuple[rules.Question | None, list[str]]] = {rules.START: (None, []), rules.END: (None, [])}
    for resp, ver, linked, code in rows:
        d = versions.setdefault(ver.id, rules.definition_from_snapshot(ver.definition))
        kind = resp.round_key.split(":", 1)[0]
        out.answers[kind] = out.answers.get(kind, 0) + 1
        named = code if linked else None
        for q in d.questions:
            vals = [str(v) for v in resp.answers.get(q.id, [])]
            values[(ver.id, q.id)].extend(vals)
            if q.kind == "text":
                out.open_answers.extend(OpenAnswer(q.text, v, named) for v in vals)
            if q.measure == rules.DIGITAL_SUPPORT and kind in support and vals:
                support[kind] = (q, support[kind][1] + vals)
                if named is not None:
                    was, now = out.changes.get(named, (None, None))
                    out.changes[named] = (vals[0], now) if kind == rules.START else (was, vals[0])
    bq, before = support[rules.START]
    aq, after = support[rules.END]
    if bq is not None and aq is not None:
        out.shift = rules.shift(bq, before, aq, after)
    elif bq is not None or aq is not None:
        only = bq or aq
        assert only is not None
        out.shift = rules.shift(only, before, only, after)
    for vid, d in sorted(versions.items()):
        label = f"{d.title} (versio {d.version})"
        for q in d.questions:
            if q.kind != "text" and q.measure != rules.DIGITAL_SUPPORT:
                out.questions.append(QuestionResult(label, q, rules.summarise(q, values[(vid, q.id)])))
    if not rules.shown(sum(out.answers.values())) and not any(a.client_code for a in out.open_answers):
        out.open_answers = []  # anonymous answers of fewer than five people could be recognised
    return out


# ---- files --------------------------------------------------------------------------------

HEADERS = ["Ryhmä", "Kysely", "Kysymys", "Vaihtoehto", "Vastauksia", "n", "Keskiarvo (suurempi = parempi)"]


def table(results: list[GroupResults]) -> list[list[object]]:
    """The report's rows: every figure suppressed under five answers ("alle 5 vastausta")."""
    out: list[list[object]] = []
    for g in results:
        if g.shift is not None:
            for side, counts, n in (("ennen", g.shift.before, g.shift.n_before), ("jälkeen", g.shift.after, g.shift.n_after)):
                for level, wording in enumerate(g.shift.levels, start=1):
                    out.append([g.group_name, f"Digituki {side}", "Digituen tarve (taso 1–4)", f"{level}: {wording}",
                                counts.get(level, 0) if rules.shown(n) else SUPPRESSED_FI,
                                n if rules.shown(n) else SUPPRESSED_FI, ""])
        for qr in g.questions:
            sm, ok = qr.summary, qr.summary.shown
            for option, count in [*sm.counts.items(), *sm.apart.items()]:
                out.append([g.group_name, qr.survey, qr.question.text, option, count if ok else SUPPRESSED_FI,
                            sm.n if ok else SUPPRESSED_FI, ""])
            out.append([g.group_name, qr.survey, qr.question.text, "keskiarvo", "", sm.n if ok else SUPPRESSED_FI,
                        sm.mean if ok else SUPPRESSED_FI])
    return out


def write_csv(rows: list[list[object]]) -> str:
    """For Finnish Excel, through the one writer (reports.finnish_csv): ';', BOM, decimal commas."""
    return finnish_csv([HEADERS, *rows])


def write_xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Kyselyt"
    ws.append(HEADERS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append([cell_text(v) if isinstance(v, str) else v for v in r])
    ws.append([])
    ws.append([NORMALISED_FI])
    ws.append([f"Lukuja ei näytetä, kun vastauksia on alle {rules.MIN_ANSWERS}."])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(rows: list[list[object]], fmt: str, out: Path) -> Path:
    if fmt == "csv":
        out.write_text(write_csv(rows), encoding="utf-8-sig")
    else:
        out.write_bytes(write_xlsx(rows))
    return out
