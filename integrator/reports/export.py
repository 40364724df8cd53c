"""The register as files: CSV (as Finnish Excel reads it: ';', a BOM, Finnish status words, dates
and decimal commas; see reports.finnish_csv) and XLSX (Finnish headers, readable dates, colours,
totals as numbers that read without recalculation, and a sheet of every correction with its reason).

One cell per client and date: the date's status as the register decides it (the best status of
the date's work days). The last column, *huomautukset*, explains the dates that need it, e.g. two
work days on one date that are paid once.

The corrections report (`reports.corrections`) is written here too, for Finnish Excel: a CSV
with `;`, a BOM and d.m.yyyy dates, and an XLSX of plain values.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from integrator.domain.finnish import fi_day_short
from integrator.domain.types import AttendanceStatus
from integrator.reports.corrections import CorrectionEvent, CorrectionsReport
from integrator.reports.finnish_csv import cell_text, finnish_csv
from integrator.reports.register import (
    NOT_EVALUATED,
    NOT_EXPECTED,
    NOT_EXPECTED_LABEL,
    STATUS_LABEL,
    Register,
)

SUMMARY_HEADERS = ["Läsnä", "Perusteltu poissaolo", "Poissa", "Odottaa", "Korvauspäivät", "Korvaus (€)"]
NOTES_HEADER = "Huomautukset"  # e.g. two work days on one date (paid once)
FILL = {
    AttendanceStatus.PRESENT: PatternFill("solid", fgColor="C6EFCE"),
    AttendanceStatus.ABSENT: PatternFill("solid", fgColor="FFC7CE"),
    AttendanceStatus.PENDING: PatternFill("solid", fgColor="FFEB9C"),
    AttendanceStatus.EXCUSED: PatternFill("solid", fgColor="DDEBF7"),
}


def day_heading(d: date) -> str:
    return fi_day_short(d)


def _counts(reg: Register) -> list[list[object]]:
    out: list[list[object]] = []
    for r in reg.rows:
        out.append([r.count(AttendanceStatus.PRESENT), r.count(AttendanceStatus.EXCUSED),
                    r.count(AttendanceStatus.ABSENT), r.count(AttendanceStatus.PENDING),
                    r.compensation_days, r.amount])
    return out


def csv_cell(status: object) -> str:
    """A date's cell in the CSV: the Finnish word the XLSX shows, "-" when not evaluated."""
    if isinstance(status, AttendanceStatus):
        return STATUS_LABEL[status]
    return NOT_EVALUATED if status is None else NOT_EXPECTED_LABEL if status == NOT_EXPECTED else ""


def to_csv(reg: Register) -> str:
    """The register as Finnish CSV text (BOM first): write it as UTF-8."""
    dates = reg.dates
    rows: list[list[object]] = [["asiakas", "ryhmä", *[d for d in dates], "läsnä", "perusteltu", "poissa",
                                 "odottaa", "korvauspäivät", "korvaus €", "huomautukset"]]
    for row, counts in zip(reg.rows, _counts(reg), strict=True):
        rows.append([row.client_code, " ".join(row.groups), *[csv_cell(row.status_on(d)) for d in dates],
                     *counts, "; ".join(row.notes)])
    rows.append(["yhteensä", "", *["" for _ in dates], "", "", "", "", reg.total_compensation_days,
                 reg.total_amount, ""])
    return finnish_csv(rows)


def to_xlsx(reg: Register) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"Läsnäolot {reg.title}"[:31]
    dates = reg.dates
    ws.append([f"Läsnäolorekisteri {reg.title} – {reg.organisation_name}"  # starts with text: safe
               + (f" – ryhmä {reg.group_key}" if reg.group_key else "")])
    ws.append([f"Ajalta {reg.start:%d.%m.%Y}–{reg.end:%d.%m.%Y}, kulukorvaus {reg.rate:.2f} € / toteutunut päivä"])
    ws.append([])
    header = ["Asiakas", "Ryhmä", *[day_heading(d) for d in dates], *SUMMARY_HEADERS, NOTES_HEADER]
    ws.append(header)
    head_row = ws.max_row
    for cell in ws[head_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    ws["A1"].font = Font(bold=True, size=14)
    for row, counts in zip(reg.rows, _counts(reg), strict=True):
        cells: list[object] = [cell_text(row.client_code), cell_text(", ".join(row.groups))]
        cells.extend(csv_cell(row.status_on(d)) for d in dates)
        ws.append([*cells, *counts[:5], float(counts[5]), cell_text("; ".join(row.notes))])  # type: ignore[arg-type]
        r = ws.max_row
        for i, d in enumerate(dates):
            st = row.status_on(d)
            if isinstance(st, AttendanceStatus):
                ws.cell(r, 3 + i).fill = FILL[st]
        ws.cell(r, 3 + len(dates) + 5).number_format = "#,##0.00 €"
    total_row = ws.max_row + 1
    ws.cell(total_row, 1, "Yhteensä").font = Font(bold=True)
    # Numbers, not =SUM formulas: openpyxl cannot store a formula's result, and a file read
    # without recalculation (a viewer, a payer's import, Python) would show an empty total.
    statuses = (AttendanceStatus.PRESENT, AttendanceStatus.EXCUSED, AttendanceStatus.ABSENT, AttendanceStatus.PENDING)
    totals: list[float] = [sum(r.count(st) for r in reg.rows) for st in statuses]
    for k, total in enumerate([*totals, reg.total_compensation_days, float(reg.total_amount)]):
        cell = ws.cell(total_row, 3 + len(dates) + k, total)
        cell.font = Font(bold=True)
        if k == 5:
            cell.number_format = "#,##0.00 €"
    ws.freeze_panes = ws.cell(head_row + 1, 3)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 16
    for i in range(len(dates)):
        ws.column_dimensions[get_column_letter(3 + i)].width = 11
    for k, title in enumerate(SUMMARY_HEADERS):
        ws.column_dimensions[get_column_letter(3 + len(dates) + k)].width = max(10, len(title) + 2)
    ws.column_dimensions[get_column_letter(3 + len(dates) + len(SUMMARY_HEADERS))].width = 50
    _corrections_sheet(wb, reg)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _corrections_sheet(wb: Workbook, reg: Register) -> None:
    """Every coordinator decision in the period, with its reason: the audit a payer asks for."""
    ws = wb.create_sheet("Korjaukset")
    ws.append(["Asiakas", "Päivä", "Laskettu", "Päätös", "Perustelu", "Päättäjä"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in reg.rows:
        for d in row.days:
            if d.overridden and d.status is not None:
                ws.append([cell_text(row.client_code), d.day, STATUS_LABEL[d.computed] if d.computed else "",
                           STATUS_LABEL[d.status], cell_text(d.override_reason or ""),
                           cell_text(d.override_by or "")])
                ws.cell(ws.max_row, 2).number_format = "d.m.yyyy"
    for col, width in zip("ABCDEF", (12, 12, 18, 22, 50, 24), strict=True):
        ws.column_dimensions[col].width = width


# --- the corrections report (korjausloki) ----------------------------------------------------

CORRECTION_HEADERS = ["Päivä", "Asiakas", "Ryhmä", "Ennen", "Jälkeen", "Laskettu", "Syy", "Tekijä",
                      "Aika (Suomen aikaa)"]


def _fi_status(status: AttendanceStatus | None) -> str:
    return STATUS_LABEL[status] if status is not None else NOT_EVALUATED


def _correction_cells(e: CorrectionEvent) -> list[str]:
    return [cell_text(e.client_code), cell_text(e.group), _fi_status(e.before), _fi_status(e.after),
            _fi_status(e.computed), cell_text(e.reason), cell_text(e.who)]


def corrections_to_csv(report: CorrectionsReport) -> bytes:
    """For Finnish Excel (reports.finnish_csv): `;`, UTF-8 with a BOM, Finnish words, dates as 24.11.2026."""
    rows: list[list[object]] = [[h.lower() for h in CORRECTION_HEADERS]]
    for e in report.events:
        rows.append([e.day, *_correction_cells(e),
                     f"{e.local_at.day}.{e.local_at.month}.{e.local_at.year} {e.local_at:%H:%M}"])
    return finnish_csv(rows).encode("utf-8")


def corrections_to_xlsx(report: CorrectionsReport) -> bytes:
    """The same rows as the CSV, as values (dates and times as cells, no formulas)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"Korjaukset {report.month}"[:31]
    ws.append([f"Läsnäolojen korjaukset {report.month} – {report.organisation_name}"])  # starts with text: safe
    ws.append([f"Korjatut päivät {report.first:%d.%m.%Y}–{report.last:%d.%m.%Y}; aika Suomen aikaa"])
    ws.append([])
    ws.append(CORRECTION_HEADERS)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws["A1"].font = Font(bold=True, size=14)
    for e in report.events:
        ws.append([e.day, *_correction_cells(e), e.local_at])
        ws.cell(ws.max_row, 1).number_format = "d.m.yyyy"
        ws.cell(ws.max_row, len(CORRECTION_HEADERS)).number_format = "d.m.yyyy h:mm"
    ws.freeze_panes = "A5"
    for col, width in zip("ABCDEFGHI", (12, 12, 14, 20, 20, 20, 50, 30, 18), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(reg: Register, fmt: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        out.write_text(to_csv(reg), encoding="utf-8")
    elif fmt == "xlsx":
        out.write_bytes(to_xlsx(reg))
    else:
        raise ValueError(f"unknown format {fmt!r} (csv or xlsx)")
    return out
