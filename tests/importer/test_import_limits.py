"""What the client import refuses beyond single cells: files too large, and responsible workers or
briefers from outside the client's organisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from integrator.cli import cli
from integrator.clients_import import import_clients
from integrator.clients_import.reading import MAX_FILE_BYTES, MAX_ROWS
from integrator.config import load_settings
from integrator.config.apply import apply_settings
from integrator.domain.types import StaffRole
from integrator.store.db import Store
from integrator.store.models import Client, Period, StaffUser

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "integrator.example.yaml"
HEADER = "code;group;service_model;period_start;period_end;weekdays;responsible_worker"
MUNICIPALITY_WORKER = "sosiaaliohjaaja@raisio.example.fi"
PROVIDER_COORDINATOR = "ohjaaja@yhdistys.example.fi"


def run_import(db_url: str, path: Path, org: str = "raisio") -> Any:
    return CliRunner().invoke(cli, ["import", "clients", str(path), "--org", org, "--config", str(EXAMPLE),
                                    "--database-url", db_url])


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(store: Store, db_url: str, tmp_path: Path) -> None:
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.write(b"code;display_name\n")
        f.truncate(50 * 1024 * 1024)  # 50 MB, as in the issue; sparse, so cheap to make
    result = run_import(db_url, big)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"{big}:1: tiedosto on suurempi kuin 5 Mt; odotettiin: enintään 5 Mt ja 20 000 riviä; jaa tiedosto useaan osaan",
        "1 virhe 1 rivillä; mitään ei tallennettu."]
    assert MAX_FILE_BYTES == 5 * 1024 * 1024 and MAX_ROWS == 20_000  # the README says so


def test_a_file_at_the_row_limit_is_imported(store: Store) -> None:
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    raw = ("code\n" + "".join(f"RAI-{i:05d}\n" for i in range(MAX_ROWS))).encode()
    result = import_clients(store, raw, org_key="raisio", dry_run=True)
    assert result.problems == [] and result.counts["clients_created"] == MAX_ROWS


def test_a_provider_client_may_have_the_municipality_social_worker_it_declares(
        store: Store, db_url: str, tmp_path: Path) -> None:
    # raisio-tuottaja lists raisio under responsible_workers_from in the example config.
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    path = tmp_path / "tuottaja.csv"
    path.write_text(f"{HEADER}\nYHD-0001;torstai;long_term;2026-01-15;2026-07-14;to;{MUNICIPALITY_WORKER}\n",
                    encoding="utf-8")
    result = run_import(db_url, path, org="raisio-tuottaja")
    assert result.exit_code == 0, result.output
    with store.session() as s:
        worker = s.scalars(select(StaffUser).join(Period, Period.responsible_worker_id == StaffUser.id)).one()
        assert worker.email == MUNICIPALITY_WORKER


def test_a_municipality_client_may_not_have_the_provider_coordinator(store: Store, db_url: str, tmp_path: Path) -> None:
    # The case: the provider's coordinator would have received the client's absence alerts.
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    path = tmp_path / "raisio.csv"
    path.write_text(f"{HEADER}\nRAI-0001;tiistai;long_term;2026-01-13;2026-07-12;ti;{PROVIDER_COORDINATOR}\n",
                    encoding="utf-8")
    result = run_import(db_url, path)
    assert result.exit_code == 2
    assert (f"{path}:2: sarake 'responsible_worker' (asiakas RAI-0001): tämä käyttäjä ei kuulu "
            "organisaation 'raisio' henkilökuntaan") in result.output
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 0


def test_the_declared_organisation_names_the_other_organisations_in_the_message(store: Store, tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE, check_secrets=False)
    apply_settings(store, settings)
    with store.session() as s:
        s.add(StaffUser(organisation_id=None, email="paakayttaja@example.fi", display_name="Pääkäyttäjä",
                        role=StaffRole.ADMIN))
    raw = (f"{HEADER};briefing_recorded_at;briefing_recorded_by\n"
           f"YHD-0001;torstai;long_term;2026-01-15;2026-07-14;to;paakayttaja@example.fi;2026-01-10;"
           f"{MUNICIPALITY_WORKER}\n").encode()
    result = import_clients(store, raw, org_key="raisio-tuottaja", settings=settings)
    assert [(p.column, p.reason, p.expected) for p in result.problems] == [
        ("briefing_recorded_by", "tämä käyttäjä ei kuulu organisaation 'raisio-tuottaja' henkilökuntaan",
         "organisaation 'raisio-tuottaja' henkilökunnan käyttäjä"),
        ("responsible_worker", "tämä käyttäjä on koko asennuksen ylläpitäjä eikä kuulu mihinkään organisaatioon",
         "organisaation 'raisio-tuottaja' tai sen responsible_workers_from-kohdassa nimetyn organisaation (raisio) "
         "henkilökunnan käyttäjä"),
    ]


@pytest.mark.parametrize("cell", ["1.1.1800", "31.12.9999", "9999-12-31T23:59+14:00", "0001-01-01"])
def test_far_dates_are_refused_with_the_accepted_years(store: Store, cell: str) -> None:
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    raw = ("code;service_model;period_start;period_end;weekdays;briefing_recorded_at;briefing_recorded_by\n"
           f"RAI-0001;long_term;2026-01-13;2026-07-12;ti;{cell};ohjaaja.tiistai@raisio.example.fi\n"
           f"RAI-0002;long_term;2026-01-13;{cell};ti;;\n").encode()
    result = import_clients(store, raw, org_key="raisio")
    assert {(p.line, p.column, p.reason, p.expected) for p in result.problems} >= {
        (2, "briefing_recorded_at", "hyväksyttyjen vuosien ulkopuolella", "päivämäärä väliltä 1.1.1990–31.12.2100"),
        (3, "period_end", "hyväksyttyjen vuosien ulkopuolella" if "T" not in cell else "ei ole kelvollinen päivämäärä",
         "päivämäärä väliltä 1.1.1990–31.12.2100" if "T" not in cell else
         "VVVV-KK-PP tai p.k.vvvv, esim. 2026-01-13 tai 13.1.2026"),
    }
