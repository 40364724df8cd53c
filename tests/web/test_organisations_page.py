"""The organisations overview for admins (issue 15, must-have 3): each organisation the admin may
see with its configured tenants and, from the database, its groups, active clients, staff and
the last nightly sync; read-only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from integrator.domain.types import JobStatus, ServiceModel
from integrator.store.models import Client, JobRun, Period
from integrator.web.context import get_store
from tests.web.conftest import login
from tests.web.world import World

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
CONFIG = """\
organisations:
  - key: raisio
    name: Raisio
    google:
      domain: raisio.example.fi
      service_account: {env: RAISIO_SA}
      admin_subject: admin@raisio.example.fi
  - key: naantali
    name: Naantali
    microsoft:
      tenant_id: 11111111-2222-3333-4444-555555555555
      client_id: app-1
      client_secret: {env: NAANTALI_SECRET}
      mail_sender: kirjeet@naantali.example.fi
    mail: {via: graph}
"""


@pytest.fixture
def overview_world(app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("RAISIO_SA", "{}")
    monkeypatch.setenv("NAANTALI_SECRET", "s")
    path = tmp_path / "integrator.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    app.config["CONFIG_FILE"] = str(path)
    app.config["CLOCK"] = lambda: NOW
    with get_store(app).session() as s:
        gone = Client(organisation_id=world.org_a, code="K-0003", display_name="Entinen Asiakas")
        s.add(gone)
        s.flush()
        s.add(Period(client_id=gone.id, service_model=ServiceModel.SHORT_TERM, start_date=date(2026, 3, 3),
                     end_date=date(2026, 6, 30), weekdays=[2]))
        s.add_all([
            JobRun(organisation_id=world.org_a, kind="nightly_sync", status=JobStatus.SUCCEEDED,
                   started_at=datetime(2026, 11, 24, 1, 0, tzinfo=UTC), finished_at=datetime(2026, 11, 24, 1, 4, tzinfo=UTC)),
            # A preview run afterwards changed nothing: the last sync is still the one above.
            JobRun(organisation_id=world.org_a, kind="nightly_sync", status=JobStatus.SUCCEEDED, dry_run=True,
                   started_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))])
    return world


def _section(page: str, key: str) -> str:
    start = page.index(f'id="org-{key}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_an_admin_of_every_organisation_sees_each_with_tenants_and_counts(
        app: Flask, as_admin: FlaskClient, overview_world: World) -> None:
    resp = as_admin.get("/admin/organisations")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200, page[:2000]
    raisio, naantali = _section(page, "raisio"), _section(page, "naantali")
    assert "käytössä: raisio.example.fi" in raisio and "Gmail" in raisio
    assert re.search(r"Microsoft 365</dt><dd>ei asetettu", raisio)
    assert "tenantti 11111111-2222-3333-4444-555555555555" in naantali and "Exchange" in naantali
    assert re.search(r'data-count="groups">2<', raisio) and re.search(r'data-count="groups">1<', naantali)
    # K-0001 and K-0002 are in a period today; K-0003's ended in June.
    assert re.search(r'data-count="clients">2<', raisio) and re.search(r'data-count="clients">0<', naantali)
    assert "2 ohjaajaa" in raisio and "1 ylläpitäjä" in naantali
    assert "ti 24.11.2026 klo 3.00</a>, onnistui" in raisio  # the last real sync, Helsinki time
    assert "ei vielä ajettu" in naantali
    assert "K-000" not in page and "Asiakas" not in page.replace("Asiakastuonti", "")  # counts, never clients


def test_an_organisations_admin_sees_only_their_own(app: Flask, overview_world: World) -> None:
    page = login(app.test_client(), "admin_b").get("/admin/organisations").get_data(as_text=True)
    assert 'id="org-naantali"' in page and 'id="org-raisio"' not in page and "Raisio" not in page


def test_without_a_config_file_the_store_side_still_shows(app: Flask, as_admin: FlaskClient, world: World) -> None:
    page = as_admin.get("/admin/organisations").get_data(as_text=True)
    assert "Asetustiedostoa ei ole annettu" in page
    assert re.search(r'data-count="groups">2<', _section(page, "raisio"))


def test_a_broken_config_file_is_named_not_a_500(app: Flask, as_admin: FlaskClient, overview_world: World,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAISIO_SA")
    resp = as_admin.get("/admin/organisations")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Asetustiedostossa on virheitä (1)" in page
    assert re.search(r'data-count="clients">2<', _section(page, "raisio"))


def test_a_coordinator_gets_403(as_coord_a: FlaskClient) -> None:
    assert as_coord_a.get("/admin/organisations").status_code == 403
