"""Evaluation surveys: the shape of a definition, the pilot's questions, scoring and suppression.

The pilot (DOMAIN.md, "The pilot's survey"; seeds/000, appendix "liite 2 — Sähköinen kysely")
asked about digital support before and after the period, the group experience, whether the
client could influence the day's content, and open questions. `PILOT_SURVEYS` reproduces its
wording exactly, with a plain-language (selkokieli) variant of each question.

Versions: a definition is identified by (key, version); its fingerprint covers every word and
option, so a changed question under an old version number is caught (the store keeps each
version's snapshot, and answers stay with the version they answered).

Scores are normalised so that a higher number is always better: the pilot's scales run in
different directions ("hyvin – huonosti", "turvatonta – turvallista").
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from integrator.domain.weeks import iso_week_of

#: Small-number suppression: no figure is shown for fewer answers than this.
MIN_ANSWERS = 5

START, END, GROUP = "start", "end", "group"
#: The measure the before -> after shift compares (the pilot's charts 1 and 2).
DIGITAL_SUPPORT = "digital_support"
KINDS = ("choice", "scale", "text")


def shown(n: int) -> bool:
    """The one rule for every report and chart: a figure based on `n` answers may be shown."""
    return n >= MIN_ANSWERS


@dataclass(frozen=True)
class Question:
    id: str  # stable, hex, at most 8 characters ("a01"): also the Forms questionId
    kind: str  # choice | scale | text
    text: str  # the wording, exactly
    plain: str = ""  # the plain-language wording (selkokieli); empty: same as text
    options: tuple[str, ...] = ()  # choice: in the order shown
    plain_options: tuple[str, ...] = ()
    low: int = 1
    high: int = 5
    low_label: str = ""  # the label at `low` (the left end)
    high_label: str = ""
    plain_low_label: str = ""
    plain_high_label: str = ""
    # Which end is better: scale "low"/"high"; choice "first"/"last" of the scored options.
    better: str = "high"
    unscored: tuple[str, ...] = ()  # options counted apart, never in a mean ("En osaa sanoa")
    measure: str = ""  # e.g. DIGITAL_SUPPORT: the before/after pair
    intro: str = ""  # a line shown above the question (the pilot's "ennen ... jaksoa")
    plain_intro: str = ""
    required: bool = False

    def wording(self, plain: bool) -> str:
        return (self.plain or self.text) if plain else self.text

    def option_labels(self, plain: bool) -> tuple[str, ...]:
        return self.plain_options if plain and self.plain_options else self.options

    def scored_options(self) -> tuple[str, ...]:
        return tuple(o for o in self.options if o not in self.unscored)

    def score(self, value: str) -> int | None:
        """The answer as a number where higher is better; None for text, "can't say" and junk."""
        if self.kind == "scale":
            try:
                v = int(value)
            except ValueError:
                return None
            if not self.low <= v <= self.high:
                return None
            return v if self.better == "high" else self.low + self.high - v
        if self.kind == "choice":
            scored = self.scored_options()
            if value not in scored:
                return None
            i = scored.index(value)
            return len(scored) - i if self.better == "first" else i + 1
        return None

    def max_score(self) -> int:
        if self.kind == "scale":
            return self.high - self.low + 1
        return len(self.scored_options())


@dataclass(frozen=True)
class SurveyDefinition:
    key: str
    version: int
    round: str  # START | END | GROUP: the round it is asked in
    title: str
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.snapshot(), sort_keys=True, ensure_ascii=False)
                              .encode()).hexdigest()

    def snapshot(self) -> dict[str, Any]:
        return {"key": self.key, "version": self.version, "round": self.round, "title": self.title,
                "questions": [asdict(q) for q in self.questions]}

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)


def definition_from_snapshot(snap: dict[str, Any]) -> SurveyDefinition:
    qs = []
    for q in snap["questions"]:
        q = dict(q)
        for k in ("options", "plain_options", "unscored"):
            q[k] = tuple(q.get(k) or ())
        qs.append(Question(**q))
    return SurveyDefinition(snap["key"], int(snap["version"]), snap["round"], snap["title"], tuple(qs))


# ---- the pilot's survey, word for word --------------------------------------------------------

_IT = "IT: minulla on hyvät digi-valmiudet (laitteet, osaaminen)"
_IT_PLAIN = "Digitaidot: osaan käyttää tietokonetta tai puhelinta ja minulla on laite."
_LIKERT = ("Täysin samaa mieltä", "Jokseenkin samaa mieltä", "En samaa enkä eri mieltä",
           "Jokseenkin eri mieltä", "Täysin eri mieltä", "En osaa sanoa")
_LIKERT_PLAIN = ("Olen täysin samaa mieltä", "Olen vähän samaa mieltä", "En ole samaa enkä eri mieltä",
                 "Olen vähän eri mieltä", "Olen täysin eri mieltä", "En osaa sanoa")

PILOT_START = SurveyDefinition("alku", 1, START, "Alkukysely", (
    Question("a01", "choice", _IT, _IT_PLAIN, intro="ennen etäkuntouttavan työtoiminnan jaksoa",
             plain_intro="Ennen kuin aloitit etätyötoiminnan:",
             options=("tarvitsin paljon tukea", "tarvitsin vähän tukea", "en tarvinnut tukea",
                      "autoin ja tuin muita digiasioissa"),
             plain_options=("Tarvitsin paljon apua.", "Tarvitsin vähän apua.", "En tarvinnut apua.",
                            "Autoin muita digiasioissa."),
             better="last", measure=DIGITAL_SUPPORT, required=True),
))

PILOT_END = SurveyDefinition("loppu", 1, END, "Loppukysely", (
    Question("a01", "choice", _IT, _IT_PLAIN, intro="etäkuntouttavan työtoiminnan jakson jälkeen",
             plain_intro="Nyt, kun etätyötoiminta loppuu:",
             options=("tarvitsen vielä paljon tukea", "tarvitsen vielä vähän tukea", "en tarvitse tukea",
                      "osaan auttaa ja tukea muita digiasioissa"),
             plain_options=("Tarvitsen vielä paljon apua.", "Tarvitsen vielä vähän apua.", "En tarvitse apua.",
                            "Osaan auttaa muita digiasioissa."),
             better="last", measure=DIGITAL_SUPPORT, required=True),
    Question("a02", "scale", "Tulin kuulluksi ja kohdatuksi…", "Ryhmässä minua kuunneltiin.",
             intro="Ryhmässä:", plain_intro="Ryhmässä:",
             low_label="hyvin", high_label="huonosti", plain_low_label="hyvin", plain_high_label="huonosti",
             better="low"),
    Question("a03", "scale", "Asioiden jakaminen oli…", "Oli turvallista kertoa asioista.",
             intro="Ryhmässä:", plain_intro="Ryhmässä:",
             low_label="turvatonta", high_label="turvallista", plain_low_label="ei turvallista",
             plain_high_label="turvallista", better="high"),
    Question("a04", "scale", "Ilmapiiri oli", "Ryhmään pystyi luottamaan.",
             intro="Ryhmässä:", plain_intro="Ryhmässä:",
             low_label="luotettava", high_label="epäluotettava", plain_low_label="luotettava",
             plain_high_label="ei luotettava", better="low"),
    Question("a05", "choice",
             "Minulle tuli kokemus, että sain vaikuttaa työtoimintapäivän sisältöön. Minulta kysyttiin "
             "toiveita ja ideoita työtoimintapäivien tehtäviksi.",
             "Sain vaikuttaa siihen, mitä työtoimintapäivänä tehtiin. Minulta kysyttiin toiveita ja ideoita.",
             intro="Tehtävät:", plain_intro="Tehtävät:",
             options=_LIKERT, plain_options=_LIKERT_PLAIN, better="first", unscored=("En osaa sanoa",)),
    Question("a06", "text", "Millä tavoin tehtävistä keskusteltiin Teams-ryhmässä?",
             "Miten ryhmässä puhuttiin tehtävistä?"),
    Question("a07", "text", "Mitä etäkuntouttava työtoiminta on tuonut elämääsi?",
             "Mitä hyvää etätyötoiminta on tuonut elämääsi?"),
    Question("a08", "text", "Mitä hyvää on etäkuntouttavassa työtoiminnassa?",
             "Mikä etätyötoiminnassa on hyvää?"),
    Question("a09", "text", "Mitä kehitettävää on etäkuntouttavassa työtoiminnassa?",
             "Mitä etätyötoiminnassa pitäisi tehdä paremmin?"),
))

PILOT_SURVEYS = (PILOT_START, PILOT_END)


# ---- rounds -------------------------------------------------------------------------------


def round_week(kind: str, start: date, end: date) -> str:
    """The ISO week a period's round goes out in: the start round in the period's first week,
    the end round in its last (an early end moves it with the end date)."""
    return iso_week_of(start if kind == START else end)


# ---- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One question's answers: counts per option (or scale point), the normalised mean."""

    n: int  # answers that count in the mean
    counts: dict[str, int]  # option / scale point -> answers (as shown, in order)
    apart: dict[str, int]  # unscored options ("En osaa sanoa"), counted apart
    mean: float | None  # normalised (higher = better); None when suppressed or no answers

    @property
    def shown(self) -> bool:
        return shown(self.n)


def summarise(q: Question, values: Iterable[str]) -> Summary:
    """Distribution and normalised mean of one question; the mean only when `shown`."""
    vals = list(values)
    if q.kind == "scale":
        keys = [str(v) for v in range(q.low, q.high + 1)]
    else:
        keys = list(q.scored_options())
    tally = Counter(vals)
    counts = {k: tally.get(k, 0) for k in keys}
    apart = {k: tally.get(k, 0) for k in q.unscored}
    scores = [s for s in (q.score(v) for v in vals) if s is not None]
    n = len(scores)
    mean = round(sum(scores) / n, 2) if n and shown(n) else None
    return Summary(n, counts, apart, mean)


@dataclass(frozen=True)
class Shift:
    """Digital support before -> after: the share of answers on each level (1 = most support
    needed ... 4 = helps others), each side shown only with enough answers."""

    levels: tuple[str, ...]  # the after-question's option wording, level 1..4
    before: dict[int, int]
    after: dict[int, int]
    n_before: int
    n_after: int


def shift(before_q: Question, before: Sequence[str], after_q: Question, after: Sequence[str]) -> Shift:
    def level_counts(q: Question, vals: Sequence[str]) -> tuple[dict[int, int], int]:
        scores = [s for s in (q.score(v) for v in vals) if s is not None]
        return {lv: scores.count(lv) for lv in range(1, q.max_score() + 1)}, len(scores)

    b, nb = level_counts(before_q, before)
    a, na = level_counts(after_q, after)
    return Shift(after_q.scored_options(), b, a, nb, na)


def token_hash(token: str) -> str:
    """Only this is stored of a survey link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


#: Days a link accepts answers after it went out (the next round's link is a new one anyway).
ANSWER_DAYS = 60
MAX_TEXT_ANSWER = 4000


def clean_answers(definition: SurveyDefinition, raw: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """A submitted form (question id -> the field's value) as stored answers, and the ids of
    required questions left empty. A choice is sent as the option's index (its wording may be the
    plain variant); it is stored in the definition's own wording. Junk values are dropped."""
    answers: dict[str, list[str]] = {}
    missing: list[str] = []
    for q in definition.questions:
        value = (raw.get(q.id) or "").strip()
        stored: str | None = None
        if q.kind == "choice" and value.isdigit() and int(value) < len(q.options):
            stored = q.options[int(value)]
        elif q.kind == "scale" and value.isdigit() and q.low <= int(value) <= q.high:
            stored = str(int(value))
        elif q.kind == "text" and value:
            stored = value[:MAX_TEXT_ANSWER]
        if stored is None:
            if q.required:
                missing.append(q.id)
            continue
        answers[q.id] = [stored]
    return answers, missing
