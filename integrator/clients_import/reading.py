"""Reading a client CSV: the file into rows of cells, and each cell into a value (or a reason).

The columns and their forms are described in the package docstring (integrator.clients_import).
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from integrator.domain.types import ServiceModel, SupportLevel
from integrator.domain.weeks import parse_weekday

EXIT_PROBLEMS = 2
# The largest file the import reads: far above any organisation's client list, small enough that
# checking and writing it takes seconds. A larger file is refused before it is parsed.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
SIZE_LIMIT = (f"enintään {MAX_FILE_BYTES // (1024 * 1024)} Mt ja {MAX_ROWS:,} riviä; jaa tiedosto useaan osaan"
              .replace(",", " "))
COLUMNS = (
    "code", "display_name", "email", "phone", "google_user_id", "entra_object_id", "plain_language",
    "digital_support", "loan_device_note", "group", "service_model", "period_start", "period_end",
    "weekdays", "hours_per_day", "briefing_recorded_at", "briefing_recorded_by", "responsible_worker",
    "group_from",
)
PERIOD_COLUMNS = ("group", "service_model", "period_end", "weekdays", "hours_per_day",
                  "briefing_recorded_at", "briefing_recorded_by", "responsible_worker", "group_from")
CLIENT_FIELDS = ("display_name", "email", "phone", "google_user_id", "entra_object_id", "plain_language",
                 "digital_support", "loan_device_note")

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,24}$")
GOOGLE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Control characters (NUL, line breaks, tabs, ESC ...), line and paragraph separators, and the
# bidirectional overrides that make a name read differently from what it is: never in a cell.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T](\d{1,2})[:.](\d{2}))?$")
LOCAL = ZoneInfo("Europe/Helsinki")  # a wall-clock time in the file is Finnish time
FIRST_DATE, LAST_DATE = date(1990, 1, 1), date(2100, 12, 31)  # the years a date cell may name

BOOLEANS = {"kyllä": True, "k": True, "yes": True, "y": True, "true": True, "1": True,
            "ei": False, "e": False, "no": False, "n": False, "false": False, "0": False}
SUPPORT = {"a_lot": SupportLevel.A_LOT, "a_little": SupportLevel.A_LITTLE, "none": SupportLevel.NONE,
           "helps_others": SupportLevel.HELPS_OTHERS, "paljon": SupportLevel.A_LOT,
           "vähän": SupportLevel.A_LITTLE, "ei": SupportLevel.NONE, "auttaa_muita": SupportLevel.HELPS_OTHERS}
MODELS = {"long_term": ServiceModel.LONG_TERM, "short_term": ServiceModel.SHORT_TERM,
          "interval": ServiceModel.INTERVAL, "hybrid": ServiceModel.HYBRID, "pitkä": ServiceModel.LONG_TERM,
          "lyhyt": ServiceModel.SHORT_TERM, "intervalli": ServiceModel.INTERVAL, "hybridi": ServiceModel.HYBRID}


@dataclass(frozen=True)
class RowProblem:
    """One bad cell or row. `code` only when it is a valid pseudonym (never a name)."""

    line: int
    column: str | None
    code: str | None
    reason: str
    expected: str | None = None

    def format(self, file: str) -> str:
        """'tiedosto.csv:3: sarake 'email' (asiakas RAI-0101): ei ole sähköpostiosoite; odotettiin: ...'
        (file:line first, as editors and compilers write it: the place is found by it)."""
        col = f" sarake '{self.column}'" if self.column else ""
        who = f" (asiakas {self.code})" if self.code else ""
        sep = ":" if col or who else ""
        exp = f"; odotettiin: {self.expected}" if self.expected else ""
        return f"{file}:{self.line}:{col}{who}{sep} {self.reason}{exp}"


class BadCell(ValueError):
    def __init__(self, reason: str, expected: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected




def _shown(column: str) -> str:
    """A header cell as it may be printed: one short line (it could be anything, even data)."""
    return CONTROL.sub("?", column[:40]) + ("..." if len(column) > 40 else "")


# A UTF-8 multi-byte sequence: a file holding one is UTF-8 with a few broken bytes (or a mix of
# encodings), never Windows-1252 Finnish text, where a letter like ä (0xE4) stands alone.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
NOT_UTF8_HINT = ("UTF-8-merkistö: tallenna Excelissä Tallenna nimellä > Tiedostomuoto 'CSV UTF-8 "
                 "(luetteloerotin)' (*.csv)")
CP1252_NOTICE = ("Tiedosto ei ollut UTF-8-muodossa, joten se luettiin Windows-1252-merkistönä (Excelin "
                 "tavallinen CSV). Tarkista, että ääkköset näkyvät nimissä oikein; tallenna jatkossa "
                 "Excelissä muodossa 'CSV UTF-8'.")


def decode(raw: bytes) -> tuple[str | None, list[str], RowProblem | None]:
    """(text, notices, problem): UTF-8 (with or without Excel's BOM), else Windows-1252, the
    encoding of Excel's plain "CSV" on a Finnish Windows. Reading that is safe: cp1252 maps every
    byte but five to one character, so the text is what the person saw in Excel; a file with an
    undefined byte, or with UTF-8 sequences in it, is neither and is refused with the fix."""
    try:
        return raw.decode("utf-8-sig"), [], None
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
    if not _UTF8_SEQUENCE.search(raw):
        try:
            return raw.decode("cp1252"), [CP1252_NOTICE], None
        except UnicodeDecodeError:
            pass
    return None, [], RowProblem(line, None, None, "tiedosto ei ole UTF-8-tekstiä (eikä Excelin Windows-1252-CSV:tä)",
                                NOT_UTF8_HINT)


def read_rows(raw: bytes, notices: list[str] | None = None
              ) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """(header, [(line, {column: cell})], problems) from the file's bytes; what the reader should
    know about how the file was read (its encoding) is appended to `notices`."""
    if len(raw) > MAX_FILE_BYTES:
        return [], [], [RowProblem(1, None, None, f"tiedosto on suurempi kuin {MAX_FILE_BYTES // (1024 * 1024)} Mt",
                                   SIZE_LIMIT)]
    text, said, problem = decode(raw)
    if text is None:
        assert problem is not None
        return [], [], [problem]
    if notices is not None:
        notices.extend(said)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header_cells = next(reader, None)
    except csv.Error as e:
        return [], [], [RowProblem(1, None, None, f"otsikkoriviä ei voi lukea ({e})")]
    if header_cells is None or not any(c.strip() for c in header_cells):
        return [], [], [RowProblem(1, None, None, "tiedosto on tyhjä",
                                   f"otsikkorivi, jossa sarakkeet: {', '.join(COLUMNS)}")]
    header = [c.strip().lower() for c in header_cells]
    if "code" not in header:
        # Without a code column the first row is most likely data: never echo its cells.
        return header, [], [RowProblem(1, "code", None, "pakollinen sarake puuttuu (onko otsikkorivi mukana?)",
                                       f"otsikkorivi, jossa sarakkeet: {', '.join(COLUMNS)}")]
    problems: list[RowProblem] = []
    for name in sorted({h for h in header if header.count(h) > 1}):
        problems.append(RowProblem(1, _shown(name), None, "sarake on annettu kahdesti"))
    for name in header:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name[:40], COLUMNS, n=1)
            problems.append(RowProblem(1, _shown(name) or "(tyhjä)", None, "tuntematon sarake",
                                       f"'{close[0]}'" if close else f"jokin näistä: {', '.join(COLUMNS)}"))
    if problems:
        return header, [], problems

    rows: list[tuple[int, dict[str, str]]] = []
    data_rows = 0
    last = reader.line_num
    try:
        for cells in reader:
            line = last + 1
            last = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            data_rows += 1
            if data_rows > MAX_ROWS:
                problems.append(RowProblem(line, None, None, f"tiedostossa on yli {MAX_ROWS:,} riviä".replace(",", " "),
                                           SIZE_LIMIT))
                break
            if len(cells) != len(header):
                problems.append(RowProblem(line, None, None, f"rivillä on {len(cells)} kenttää, otsikkorivillä "
                                                             f"{len(header)}",
                                           f"'{delimiter}' kenttien välissä ja lainausmerkit sen sisältävien "
                                           "solujen ympärillä"))
                continue
            rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    except csv.Error as e:
        problems.append(RowProblem(last + 1, None, None, f"riviä ei voi lukea ({e})"))
    return header, rows, problems


# --- cell parsers (raise BadCell with a reason and what was expected; never quote the cell) ---------

def _in_range(d: date) -> date:
    # Far dates are typing errors (31.12.9999, 1.1.1800) and would overflow the period rules' date
    # arithmetic; nothing this product records lies outside these years.
    if not FIRST_DATE <= d <= LAST_DATE:
        raise BadCell("hyväksyttyjen vuosien ulkopuolella", f"päivämäärä väliltä {FIRST_DATE.day}.{FIRST_DATE.month}."
                                                    f"{FIRST_DATE.year}–{LAST_DATE.day}.{LAST_DATE.month}."
                                                    f"{LAST_DATE.year}")
    return d


def parse_date(value: str) -> date:
    m = FINNISH_DATE.match(value)
    try:
        if m and m.group(4) is None:
            return _in_range(date(int(m.group(3)), int(m.group(2)), int(m.group(1))))
        return _in_range(date.fromisoformat(value))
    except BadCell:
        raise
    except ValueError:
        raise BadCell("ei ole kelvollinen päivämäärä", "VVVV-KK-PP tai p.k.vvvv, esim. 2026-01-13 tai 13.1.2026") from None


def parse_instant(value: str) -> datetime:
    """A date (Finnish midnight), a local date and time, or an ISO instant with an offset; aware."""
    m = FINNISH_DATE.match(value)
    try:
        if m:
            d = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            t = time(int(m.group(4)), int(m.group(5))) if m.group(4) else time(0, 0)
            result = datetime.combine(d, t)
        elif len(value) == 10:
            result = datetime.combine(date.fromisoformat(value), time(0, 0))
        else:
            result = datetime.fromisoformat(value)
    except ValueError:
        raise BadCell("ei ole kelvollinen päivämäärä tai päivämäärä ja kellonaika",
                      "VVVV-KK-PP, VVVV-KK-PP TT:MM tai p.k.vvvv TT:MM (Suomen aikaa)") from None
    _in_range(result.date())
    return result if result.tzinfo is not None else result.replace(tzinfo=LOCAL)


def parse_weekdays(value: str) -> list[int]:
    days: list[int] = []
    for token in re.split(r"[,\s/+]+", value.strip().lower()):
        if not token:
            continue
        try:
            day = parse_weekday(int(token) if token.isdigit() else token)
        except ValueError:
            raise BadCell("ei ole luettelo viikonpäivistä", "esim. 'ti,to', '2,4' tai 'tiistai,torstai'") from None
        if day in days:
            raise BadCell("viikonpäivä on annettu kahdesti", "kukin viikonpäivä kerran")
        days.append(day)
    if not days:
        raise BadCell("viikonpäiviä ei ole annettu", "esim. 'ti,to' tai '2,4'")
    return sorted(days)


def parse_hours(value: str) -> float:
    try:
        hours = float(value.replace(",", "."))
    except ValueError:
        raise BadCell("ei ole luku", "tunteja päivässä, esim. 4 tai 4,5") from None
    if not math.isfinite(hours) or not 0 < hours <= 24:
        raise BadCell("sallitun välin ulkopuolella", "tunteja päivässä, enemmän kuin 0 ja enintään 24")
    return hours


def choice(table: dict[str, Any], value: str, expected: str) -> Any:
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in table:
        raise BadCell("ei ole sallittu arvo", expected)
    return table[key]


def _pattern(rx: re.Pattern[str], value: str, reason: str, expected: str) -> str:
    if not rx.match(value):
        raise BadCell(reason, expected)
    return value


def _text(value: str, limit: int) -> str:
    if len(value) > limit:
        raise BadCell(f"liian pitkä ({len(value)} merkkiä)", f"enintään {limit} merkkiä")
    return value


CLIENT_PARSERS: dict[str, Any] = {
    "display_name": lambda v: _text(v, 200),
    "email": lambda v: _pattern(EMAIL, v, "ei ole sähköpostiosoite", "nimi@example.fi").lower(),
    "phone": lambda v: _pattern(PHONE, v, "ei ole puhelinnumero", "numeroita, välilyöntejä ja '-', esim. +358 40 123 4567"),
    "google_user_id": lambda v: _pattern(GOOGLE_ID, v, "ei ole Google-käyttäjätunnus", "kirjaimia ja numeroita"),
    "entra_object_id": lambda v: _pattern(GUID, v, "ei ole Entra-objektitunnus",
                                          "GUID, esim. 0f8fad5b-d9cb-469f-a165-70867728950e").lower(),
    "plain_language": lambda v: choice(BOOLEANS, v, "kyllä/ei, yes/no, true/false tai 1/0"),
    "digital_support": lambda v: choice(SUPPORT, v, "paljon, vähän, ei tai auttaa_muita "
                                                     "(a_lot, a_little, none, helps_others)"),
    "loan_device_note": lambda v: _text(v, 200),
}


# --- checking ----------------------------------------------------------------------------------
