"""`integrator attendance correct|revert|history` and `integrator report corrections` on a real
SQLite file: a preview first, --yes to write, bad input named with exit status 2, and the
corrections report read back as Finnish Excel reads it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import func, select

from integrator.cli import cli
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, AuditEvent
from tests.jobs.test_attendance_register import TUE, Week


@pytest.fixture
def week(store: Store) -> Week:
    w = Week(store)
    w.client("K-0001", "g-tue", [2, 4])
    w.client("K-0002", "g-tue", [2, 4])
    w.report_in("g-tue", TUE)
    w.attended("K-0001", "g-tue", TUE, (8, 0, 8, 45))
    w.sync()
    return w


def run(store: Store, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--database-url", store.url], catch_exceptions=False)


def _audits(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_a_correction_is_previewed_then_written_with_yes_and_reverted(week: Week) -> None:
    args = ["attendance", "correct", "K-0002", "24.11.2026", "--status", "hyväksytty poissaolo",
            "--reason", "sairausloma", "--by", "ohjaaja@example.fi"]
    preview = run(week.store, *args)
    assert preview.exit_code == 0, preview.output
    assert preview.output.startswith("Esikatselu, ei tallennettu: K-0002 ti 24.11.2026 (g-tue): poissa -> "
                                     "perusteltu poissaolo (laskettu: poissa)")
    assert _audits(week.store) == 0
    done = run(week.store, *args, "--yes")
    assert done.exit_code == 0 and done.output.startswith("Tallennettu: K-0002"), done.output
    again = run(week.store, *args, "--yes")
    assert again.output.startswith("Ei muutosta:") and _audits(week.store) == 1
    with week.store.session() as s:
        row = s.get(AttendanceDay, week.day_id("K-0002", "g-tue", TUE))
        assert row is not None and row.override_by_id == week.coordinator_id
        (event,) = s.scalars(select(AuditEvent))
        assert event.actor == f"staff:{week.coordinator_id}" and event.details["via"].startswith("cli:")

    back = run(week.store, "attendance", "revert", "K-0002", "2026-11-24", "--reason", "väärä asiakas", "--yes")
    assert back.exit_code == 0 and back.output.startswith("Tallennettu: K-0002 ti 24.11.2026 (g-tue): "
                                                          "perusteltu poissaolo -> poissa"), back.output
    history = run(week.store, "attendance", "history", "K-0002", "--month", "2026-11")
    lines = history.output.splitlines()
    assert len(lines) == 2, history.output
    assert lines[0].startswith("ti 24.11.2026 (g-tue) päätös: poissa -> perusteltu poissaolo (laskettu: poissa); "
                               "syy: sairausloma; tekijä: Olli Ohjaaja (staff:")
    assert lines[1].startswith("ti 24.11.2026 (g-tue) palautettu laskettuun: perusteltu poissaolo -> poissa")
    assert "tekijä: cli:" in lines[1]  # without --by, the shell user
    assert run(week.store, "attendance", "history", "K-0001", "24.11.2026").output == "Ei korjauksia.\n"


@pytest.mark.parametrize(("args", "named"), [
    (["K-9999", "2026-11-24", "--status", "excused", "--reason", "x"], "CODE"),
    (["K-0002", "31.2.2026", "--status", "excused", "--reason", "x"], "DATE"),
    (["K-0002", "2026/11/24", "--status", "excused", "--reason", "x"], "DATE"),
    (["K-0002", "2026-11-24", "--status", "sairas", "--reason", "x"], "--status"),
    (["K-0002", "2026-11-24", "--status", "excused", "--reason", "   "], "--reason"),
    (["K-0002", "2026-11-25", "--status", "excused", "--reason", "x"], "DATE"),  # no work day that date
    (["K-0002", "2026-11-24", "--status", "excused", "--reason", "x", "--org", "nope"], "--org"),
    (["K-0002", "2026-11-24", "--status", "excused", "--reason", "x", "--by", "nobody@example.fi"], "--by"),
])
def test_bad_input_names_the_argument_and_exits_2_writing_nothing(week: Week, args: list[str], named: str) -> None:
    result = run(week.store, "attendance", "correct", *args, "--yes")
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert "Traceback" not in result.output
    assert _audits(week.store) == 0


def test_the_corrections_report_opens_in_finnish_excel_and_as_xlsx(week: Week, tmp_path: Path) -> None:
    for code, status in (("K-0002", "excused"), ("K-0001", "absent")):
        assert run(week.store, "attendance", "correct", code, "2026-11-24", "--status", status,
                   "--reason", "=1+1 ei kaava", "--by", "ohjaaja@example.fi", "--yes").exit_code == 0
    result = CliRunner().invoke(cli, ["report", "corrections", "--month", "2026-11", "--database-url",
                                      week.store.url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    raw = result.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["päivä", "asiakas", "ryhmä", "ennen", "jälkeen", "laskettu", "syy", "tekijä",
                       "aika (suomen aikaa)"]
    assert [r[:7] for r in rows[1:]] == [
        ["24.11.2026", "K-0001", "g-tue", "läsnä", "poissa", "läsnä", "'=1+1 ei kaava"],
        ["24.11.2026", "K-0002", "g-tue", "poissa", "perusteltu poissaolo", "poissa", "'=1+1 ei kaava"]]
    assert rows[1][7] == f"Olli Ohjaaja (staff:{week.coordinator_id})"
    datetime.strptime(rows[1][8], "%d.%m.%Y %H:%M")

    out = tmp_path / "k.xlsx"
    xlsx = CliRunner().invoke(cli, ["report", "corrections", "--month", "2026-11", "--format", "xlsx",
                                    "--output", str(out), "--database-url", week.store.url])
    assert xlsx.exit_code == 0 and "2 corrections" in xlsx.output, xlsx.output
    ws = load_workbook(out)["Korjaukset 2026-11"]
    values = list(ws.iter_rows(min_row=5, values_only=True))
    assert [v[:7] for v in values] == [
        (datetime(2026, 11, 24), "K-0001", "g-tue", "läsnä", "poissa", "läsnä", "'=1+1 ei kaava"),
        (datetime(2026, 11, 24), "K-0002", "g-tue", "poissa", "perusteltu poissaolo", "poissa", "'=1+1 ei kaava")]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert isinstance(values[0][8], datetime) and values[0][8].date() >= date(2026, 1, 1)
    # The month is the corrected day's: nothing in October.
    october = CliRunner().invoke(cli, ["report", "corrections", "--month", "2026-10", "--database-url",
                                       week.store.url])
    assert october.stdout_bytes.decode("utf-8-sig").count("\n") == 1
    bad = CliRunner().invoke(cli, ["report", "corrections", "--month", "11/2026", "--database-url", week.store.url])
    assert bad.exit_code == 2 and "--month" in bad.output
