"""CSV files a Finnish spreadsheet opens right: the one writer for every file a coordinator or a
payer downloads (the attendance register, the corrections report).

Finnish Excel splits columns on ';' (the comma is the decimal separator), reads a file as
Windows-1252 unless it starts with a UTF-8 byte-order mark, and reads "9,00" as a number and
"9.00" as a date or text. So: ';', a BOM, decimal commas, dates as 8.12.2026, and stored text that
can never start a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from integrator.domain.finnish import fi_date, fi_datetime, fi_decimal

BOM = "\ufeff"
DELIMITER = ";"

#: A cell text starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: str) -> str:
    """Text from the store (codes, names, reasons, notes) as a cell that is never a formula:
    a coordinator's reason like '=HYPERLINK(...)' must not run when the payer opens the file."""
    # A lone "-" (a day not evaluated yet) is text to every spreadsheet: no quote needed.
    return "'" + value if value.startswith(_FORMULA_START) and value != "-" else value


def fi_cell(value: object) -> str:
    """One value as a Finnish cell: 12,50 / 8.12.2026 / ti 8.12.2026 klo 14.05 / guarded text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "kyllä" if value else "ei"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return fi_decimal(value)
    if isinstance(value, datetime):
        return fi_datetime(value)
    if isinstance(value, date):
        return fi_date(value)
    return cell_text(str(value))


def finnish_csv(rows: Iterable[Sequence[object]]) -> str:
    """The file's text, BOM first; write it as UTF-8 (`.encode("utf-8")`, `encoding="utf-8"`)."""
    buf = io.StringIO()
    buf.write(BOM)
    w = csv.writer(buf, delimiter=DELIMITER, lineterminator="\r\n")
    for row in rows:
        w.writerow([fi_cell(v) for v in row])
    return buf.getvalue()
