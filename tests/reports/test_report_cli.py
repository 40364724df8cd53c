"""`integrator report attendance`: the register of the scripted week as CSV and XLSX files."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from integrator.cli import cli
from integrator.config import Rules
from integrator.store.db import Store
from tests.jobs.test_attendance_register import Week


def config(tmp_path: Path, store: Store, rate: float = 9.5) -> Path:
    path = tmp_path / "integrator.yaml"
    path.write_text(yaml.safe_dump({"database_url": store.url, "rules": {"daily_compensation_eur": rate},
                                    "organisations": [{"key": "testorg", "name": "Testikunta"}]}))
    return path


def scripted(store: Store) -> Week:
    w = Week(store)
    for code, group, days in (("K-0001", "g-tue", [2, 4]), ("K-0002", "g-wed", [3])):
        w.client(code, group, days)
    from tests.jobs.test_attendance_register import TUE, WED, utc

    w.report_in("g-tue", TUE)
    w.attended("K-0001", "g-tue", TUE, (8, 0, 8, 45))
    w.report_in("g-wed", WED, source="meet")
    w.returned("K-0002", "g-wed", WED, utc(WED, 12), source="drive", mime="video/mp4")
    w.sync(Rules(daily_compensation_eur=9.5))  # the nightly sync runs with the configured rules too
    return w


def test_the_month_as_csv_goes_to_standard_output_with_the_configured_rate(store: Store, tmp_path: Path) -> None:
    scripted(store)
    out = CliRunner().invoke(cli, ["report", "attendance", "--config", str(config(tmp_path, store)),
                                   "--month", "2026-11", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == [
        "\ufeffasiakas;ryhmä;24.11.2026;25.11.2026;26.11.2026;läsnä;perusteltu;poissa;odottaa;korvauspäivät;"
        "korvaus €;huomautukset",
        "K-0001;g-tue;läsnä;;odottaa;1;0;0;1;1;9,50;",
        "K-0002;g-wed;;läsnä;;1;0;0;0;1;9,50;",
        "yhteensä;;;;;;;;;2;19,00;",
    ]


def test_one_groups_week_as_xlsx_is_written_where_asked(store: Store, tmp_path: Path) -> None:
    scripted(store)
    target = tmp_path / "out" / "viikko.xlsx"
    out = CliRunner().invoke(cli, ["report", "attendance", "--config", str(config(tmp_path, store)),
                                   "--week", "2026-W48", "--group", "g-wed", "--format", "xlsx", "--out", str(target)])
    assert out.exit_code == 0, out.output
    assert "1 asiakas, 1 kulukorvauspäivä, 9,50 €" in out.output
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[0][0] == "Läsnäolorekisteri 2026-W48 – Testikunta – ryhmä g-wed"
    assert rows[4][:3] == ("K-0002", "g-wed", "läsnä")


def test_month_and_week_together_are_refused(store: Store, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["report", "attendance", "--config", str(config(tmp_path, store)),
                                   "--month", "2026-11", "--week", "2026-W48"])
    assert out.exit_code == 2 and "exactly one of --month" in out.output


def test_a_month_evaluated_at_an_earlier_rate_is_reported_at_that_rate(store: Store, tmp_path: Path) -> None:
    w = scripted(store)  # evaluated at 9.50 €
    w.sync(Rules(daily_compensation_eur=12.0))  # the rate went up later: these days keep 9.50 €
    out = CliRunner().invoke(cli, ["report", "attendance", "--config", str(config(tmp_path, store, rate=12.0)),
                                   "--month", "2026-11", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[-1] == "yhteensä;;;;;;;;;2;19,00;"
