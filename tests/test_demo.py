"""`integrator demo` tells the whole story on a fresh sandbox in well under a minute."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook

from integrator.cli import cli
from integrator.demo.run import run_demo

TUE, WED, THU = date(2026, 1, 13), date(2026, 1, 14), date(2026, 1, 15)

THE_WEEK = {
    "K-0001": {TUE: "present"},  # 55 min in the Teams meeting
    "K-0002": {TUE: "present"},  # 20 min, but the task was turned in
    "K-0003": {TUE: "present"},  # dialled in by phone; the coordinator mapped the number
    "K-0004": {TUE: "present"},  # a photo in the Drive folder only
    "K-0005": {TUE: "excused"},  # sick leave, marked by the coordinator
    "K-0006": {TUE: "absent"},  # 25 min is under the 30 min limit
    "K-0007": {WED: "present"},
    "K-0008": {WED: "present"},
    "K-0009": {WED: "present"},  # a video in the folder
    "K-0010": {WED: "absent"},
    "K-0011": {WED: "absent"},  # turned in the next morning: late
    "K-0012": {THU: "present"},
    "K-0013": {THU: "present"},  # 20 + 25 min in two sessions
    "K-0014": {THU: "present"},
    "K-0015": {THU: "absent"},
    "K-0016": {TUE: "absent", THU: "absent"},  # two in a row: the social worker is alerted
    "K-0017": {THU: "present"},  # hybrid: on site on Tuesdays, remote on Thursdays
    "K-0018": {TUE: "present", THU: "present"},
    "K-0019": {THU: "present"},
    "K-0020": {TUE: "present", THU: "absent"},
}


def test_the_demo_plays_the_week_and_writes_the_register(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", say=lines.append)
    assert result["table"] == THE_WEEK
    assert result["alerts"] == 1
    assert result["seconds"] < 60
    text = "\n".join(lines)
    assert "Poissaolohälytys -> sosiaaliohjaaja@sandbox.example.fi: Asiakas K-0016" in text
    assert "yhteensä" in text and "135,00 €" in text
    assert "@" not in text.split("Läsnäolot viikolla")[1]  # the table shows codes, never addresses
    # The start round went out with the letters as one Google Form per group; the answers were
    # harvested by the nightly sync, once; fewer than five answers show no figure.
    assert result["survey_answers"] == {"Tiistairyhmä (pitkä jakso)": 6, "Keskiviikkoryhmä (lyhyt jakso)": 5,
                                        "Torstairyhmä (intervallijakso)": 3, "Hybridiryhmä ti+to": 0}
    assert "Kyselyt: alkukysely 14 vastausta" in text
    assert ("Tiistairyhmä (pitkä jakso): 6 vastausta; digituki ennen jaksoa: tarvitsin paljon tukea 1, "
            "tarvitsin vähän tukea 2, en tarvinnut tukea 2, autoin ja tuin muita digiasioissa 1") in text
    assert "Torstairyhmä (intervallijakso): 3 vastausta; alle 5, lukuja ei näytetä" in text
    # The second organisation, on Microsoft 365 alone: Teams attendance and a return saved in the
    # client's SharePoint task folder (read from the drive's delta) make the register.
    assert result["microsoft_table"] == {"N-0001": {TUE: "present", THU: "present"},
                                         "N-0002": {TUE: "present", THU: "absent"},  # a return in the folder
                                         "N-0003": {TUE: "absent", THU: "absent"}}  # 15 min is too short
    assert "Organisaatio naantali (vain Microsoft 365)" in text and "palautuksia kansiossa 1" in text
    assert "@" not in text.split("Läsnäolot viikolla 2026-W03, naantali:")[1].split("Rekisteri:")[0]
    rows = list(load_workbook(result["xlsx"]).active.iter_rows(values_only=True))
    assert rows[4][:3] == ("K-0001", "pitka", "läsnä")
    assert result["csv"].read_text(encoding="utf-8").splitlines()[-1].endswith(";15;135,00;")  # last: huomautukset


def test_the_demo_command_prints_where_the_files_are(tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "d")])
    assert out.exit_code == 0, out.output
    assert f"Rekisteri: {(tmp_path / 'd' / 'lasnaolot-2026-01.csv').resolve()}" in out.output
