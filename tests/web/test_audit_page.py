"""The audit log for admins (issue 15, must-have 4): the organisation's events newest first, in
Finnish, filtered by who, what, organisation and dates, paged by 50, client data by code only,
and exported as the Finnish CSV, the export itself audited."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.corrections import Actor, correct
from integrator.store.models import AuditEvent
from integrator.web import accounts
from integrator.web.audit_text import ACTION_FI
from integrator.web.context import get_store
from tests.web.world import PASSWORD, TUESDAY, World

ADMIN_A = "admin.a@example.fi"
REPO = Path(__file__).resolve().parents[2]


def _event(app: Flask, org: int | None, actor: str, action: str, at: datetime, details: dict[str, Any],
           entity: str = "client", entity_id: str | None = "1") -> int:
    with get_store(app).session() as s:
        e = AuditEvent(organisation_id=org, actor=actor, action=action, entity=entity, entity_id=entity_id,
                       at=at, details=details)
        s.add(e)
        s.flush()
        return e.id


@pytest.fixture
def as_admin_a(app: Flask, world: World) -> FlaskClient:
    accounts.add_staff(get_store(app), email=ADMIN_A, name="Ylläpitäjä A", role="admin", org_key="raisio",
                       password=PASSWORD)
    client = app.test_client()
    resp = client.post("/login", data={"email": ADMIN_A, "password": PASSWORD})
    assert resp.status_code == 302
    return client


@pytest.fixture
def events(app: Flask, world: World) -> dict[str, int]:
    """A coordinator's correction (the real function), a night's recompute, and organisation B's event."""
    correct(get_store(app), world.client_a, TUESDAY, AttendanceStatus.EXCUSED, "Sairas", Actor.staff(world.coord_a), allow_unexpected=True,
            today=TUESDAY)
    with get_store(app).session() as s:
        override = s.scalar(select(AuditEvent.id).where(AuditEvent.action == "attendance.override"))
        assert override is not None
        s.get(AuditEvent, override).at = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)  # type: ignore[union-attr]
    nightly = _event(app, world.org_a, "system:nightly_sync", "attendance.recomputed",
                     datetime(2026, 11, 23, 1, 30, tzinfo=UTC),
                     {"client": "K-0002", "day": "2026-11-19", "from": "pending", "to": "absent", "override": None},
                     entity="attendance_day", entity_id="7")
    other = _event(app, world.org_b, "system:nightly_sync", "attendance.recomputed",
                   datetime(2026, 11, 23, 1, 0, tzinfo=UTC), {"client": "N-0001", "from": "pending", "to": "present"})
    return {"override": override, "nightly": nightly, "other_org": other}


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="event-(\d+)"', page)]


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    resp = client.get(url)
    page = resp.get_data(as_text=True)
    assert resp.status_code == status, page[:2000]
    return page


def test_an_organisations_admin_reads_its_events_newest_first_in_finnish(
        as_admin_a: FlaskClient, events: dict[str, int]) -> None:
    page = _page(as_admin_a, "/admin/audit")
    assert _ids(page) == [events["override"], events["nightly"]]  # newest first; never organisation B's
    row = page[page.index(f'id="event-{events["override"]}"'):page.index(f'id="event-{events["nightly"]}"')]
    assert "ti 24.11.2026 klo 14.05" in row  # Helsinki time
    assert "Ohjaaja A (ohjaaja)" in row and "läsnäolon korjaus" in row
    assert "poissa → perusteltu poissaolo" in row and "asiakas: K-0001" in row and "syy: Sairas" in row
    night = page[page.index(f'id="event-{events["nightly"]}"'):]
    assert "yöajo" in night and "ma 23.11.2026 klo 3.30" in night and "läsnäolo laskettu uudelleen" in night
    assert "odottaa → poissa" in night and "päivä: 19.11.2026" in night and "läsnäolopäivä 7" in night
    assert "N-0001" not in page and "Naantali" not in page  # another organisation: not even its name


def test_filters_by_who_what_and_finnish_or_iso_dates(app: Flask, as_admin_a: FlaskClient, world: World,
                                                      events: dict[str, int]) -> None:
    assert _ids(_page(as_admin_a, f"/admin/audit?actor=staff:{world.coord_a}")) == [events["override"]]
    assert _ids(_page(as_admin_a, "/admin/audit?actor=system:nightly_sync")) == [events["nightly"]]
    assert _ids(_page(as_admin_a, "/admin/audit?action=attendance.override")) == [events["override"]]
    # Finnish days, both ends included: 23.11. in Helsinki is 22.11. 22:00 UTC – 23.11. 21:59 UTC.
    assert _ids(_page(as_admin_a, "/admin/audit?from=23.11.2026&to=23.11.2026")) == [events["nightly"]]
    assert _ids(_page(as_admin_a, "/admin/audit?from=2026-11-24")) == [events["override"]]
    late = _event(app, world.org_a, "system:nightly_sync", "attendance.recomputed",
                  datetime(2026, 11, 24, 22, 30, tzinfo=UTC), {})  # 25.11. 0.30 in Helsinki
    assert late not in _ids(_page(as_admin_a, "/admin/audit?to=24.11.2026"))
    page = _page(as_admin_a, "/admin/audit?from=24.11.2026&action=attendance.override")
    assert 'value="24.11.2026"' in page and '<option value="attendance.override" selected>' in page
    # The choices: every action with its Finnish label; the organisation's actors by name and role.
    assert '<option value="outbox.cancel">viesti peruttu</option>' in page
    assert f'<option value="staff:{world.coord_a}">Ohjaaja A (ohjaaja)</option>' in page
    assert '<option value="system:nightly_sync">yöajo</option>' in page
    assert 'name="organisation"' not in page  # one organisation's admin has nothing to choose


def test_an_admin_of_every_organisation_filters_by_organisation(as_admin: FlaskClient, world: World,
                                                                 events: dict[str, int]) -> None:
    page = _page(as_admin, "/admin/audit")
    assert set(_ids(page)) == set(events.values()) and 'name="organisation"' in page
    assert _ids(_page(as_admin, f"/admin/audit?organisation={world.org_b}")) == [events["other_org"]]
    assert _ids(_page(as_admin, "/admin/audit?organisation=none")) == []


def test_an_organisations_admin_cannot_filter_another_organisation(as_admin_a: FlaskClient, world: World,
                                                                  events: dict[str, int]) -> None:
    page = _page(as_admin_a, f"/admin/audit?organisation={world.org_b}", 400)
    assert "Organisaatio: valitse organisaatio listasta." in page and "N-0001" not in page
    assert _ids(page) == []


def test_pages_of_fifty_newest_first_back_and_forth(app: Flask, as_admin_a: FlaskClient, world: World) -> None:
    made = [_event(app, world.org_a, "system:nightly_sync", "attendance.recomputed",
                   datetime(2026, 11, 1, tzinfo=UTC), {"n": n}) for n in range(120)]
    newest = made[::-1]
    first = _page(as_admin_a, "/admin/audit?action=attendance.recomputed")
    assert _ids(first) == newest[:50] and "Tapahtumat (120)" in first
    assert "Uudemmat" not in first
    older = re.search(r'href="([^"]*before=\d+[^"]*)"', first)
    assert older is not None
    second = _page(as_admin_a, older.group(1).replace("&amp;", "&"))
    assert _ids(second) == newest[50:100] and "action=attendance.recomputed" in older.group(1)
    third = _page(as_admin_a, f"/admin/audit?action=attendance.recomputed&before={newest[99]}")
    assert _ids(third) == newest[100:] and "Vanhemmat" not in third
    back = re.search(r'href="([^"]*after=\d+[^"]*)"', second)
    assert back is not None
    assert _ids(_page(as_admin_a, back.group(1).replace("&amp;", "&"))) == newest[:50]


@pytest.mark.parametrize(("query", "message"), [
    ("from=32.1.2026", "Alkaen: päivämäärä ”32.1.2026” ei kelpaa; kirjoita muodossa 8.12.2026 tai 2026-12-08."),
    ("to=eilen", "Päättyen: päivämäärä ”eilen” ei kelpaa"),
    ("from=1.1.1900", "Alkaen: päivämäärän pitää olla vuosien 2000–2099 välillä."),
    ("from=2.12.2026&to=1.12.2026", "Päättyen: päivä ei voi olla ennen alkamispäivää 2.12.2026."),
    ("action=DROP%20TABLE", "Tapahtuma: valitse tapahtuma listasta."),
    ("organisation=abc", "Organisaatio: valitse organisaatio listasta."),
])
def test_bad_filter_input_names_the_field_in_finnish(as_admin_a: FlaskClient, events: dict[str, int],
                                                    query: str, message: str) -> None:
    page = _page(as_admin_a, f"/admin/audit?{query}", 400)
    assert message in page and 'role="alert"' in page
    assert _ids(page) == []
    resp = as_admin_a.get(f"/admin/audit.csv?{query}")
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_a_bad_page_cursor_is_a_400(as_admin_a: FlaskClient, events: dict[str, int]) -> None:
    assert "Sivu:" in _page(as_admin_a, "/admin/audit?before=abc", 400)
    assert "Sivu:" in _page(as_admin_a, "/admin/audit?after=99999999999", 400)


def test_client_names_and_addresses_never_show(app: Flask, as_admin_a: FlaskClient, world: World) -> None:
    # A coordinator names the client in a free-text reason; a writer (none today) adds personal fields.
    correct(get_store(app), world.client_a, TUESDAY, AttendanceStatus.EXCUSED,
            "Aino soitti: AINO ASIAKAS sairas, k-0001@asiakas.example.fi", Actor.staff(world.coord_a), today=TUESDAY,
            allow_unexpected=True)
    _event(app, world.org_a, "staff:999", "client.renamed", datetime(2026, 11, 24, tzinfo=UTC),
           {"client": "K-0001", "display_name": "Aino Asiakas", "email": "aino@example.fi",
            "nested": {"name": "Aino Asiakas", "note": "token=abcdef123456"}})
    page = _page(as_admin_a, "/admin/audit")
    resp = as_admin_a.get("/admin/audit.csv")
    export = resp.data.decode("utf-8")
    table = page[page.index('id="audit-rows"'):]
    for text in (table, export):
        assert "K-0001" in text
        for leak in ("Aino", "AINO", "asiakas.example.fi", "aino@example.fi", "abcdef123456"):
            assert leak not in text, leak
        assert not re.search(r"\bAsiakas\b", text)
        assert "[nimi poistettu] soitti: [nimi poistettu] sairas, [redacted]" in text
        assert "display_name: [poistettu]" in text and "email: [poistettu]" in text
        assert "client.renamed" in text and "henkilö #999" in text  # unknown action and actor as stored


def _parse(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_csv_export_has_the_filtered_rows_in_finnish_and_is_audited(
        app: Flask, as_admin_a: FlaskClient, world: World, events: dict[str, int]) -> None:
    resp = as_admin_a.get("/admin/audit.csv?from=1.11.2026&to=30.11.2026&actor=system:nightly_sync")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert 'filename="tapahtumaloki_2026-11-01_2026-11-30.csv"' in resp.headers["Content-Disposition"]
    rows = _parse(resp.data)
    assert rows[0] == ["Aika", "Organisaatio", "Tekijä", "Tapahtuma", "Tapahtuman tunnus", "Kohde", "Tiedot"]
    assert rows[1:] == [["ma 23.11.2026 klo 3.30", "Raisio", "yöajo", "läsnäolo laskettu uudelleen",
                         "attendance.recomputed", "läsnäolopäivä 7",
                         "odottaa → poissa · asiakas: K-0002 · päivä: 19.11.2026 · ohjaajan päätös: –"]]
    with get_store(app).session() as s:
        exported = s.scalars(select(AuditEvent).where(AuditEvent.action == "audit.exported")).one()
        assert exported.organisation_id == world.org_a and exported.actor.startswith("staff:")
        assert exported.details == {"filter": {"actor": "system:nightly_sync", "action": None, "organisation": None,
                                               "from": "2026-11-01", "to": "2026-11-30"}, "rows": 1}
    # The export shows on the page as any event, and a whole-log export names its days up to today.
    page = _page(as_admin_a, "/admin/audit?action=audit.exported")
    assert "tapahtumaloki viety tiedostoon" in page and "Ylläpitäjä A (ylläpitäjä)" in page
    assert "rajaus: tekijä system:nightly_sync, alkaen 1.11.2026, päättyen 30.11.2026" in page
    whole = as_admin_a.get("/admin/audit.csv")
    assert re.search(r'filename="tapahtumaloki_alusta_\d{4}-\d{2}-\d{2}\.csv"', whole.headers["Content-Disposition"])
    assert [r[4] for r in _parse(whole.data)[1:]] == ["audit.exported", "attendance.override", "attendance.recomputed"]


def test_a_coordinator_gets_403(as_coord_a: FlaskClient, events: dict[str, int]) -> None:
    assert as_coord_a.get("/admin/audit").status_code == 403
    assert as_coord_a.get("/admin/audit.csv").status_code == 403
    with get_store(as_coord_a.application).session() as s:
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "audit.exported")) is None


def test_the_admin_menu_links_the_log(as_admin_a: FlaskClient, as_coord_a: FlaskClient) -> None:
    assert 'href="/admin/audit"' in _page(as_admin_a, "/admin/organisations")
    assert 'href="/admin/audit"' not in _page(as_coord_a, "/jobs")


def _audited_actions() -> set[str]:
    """Every "area.verb" string in a module that writes or reads audit events (the models' foreign
    keys aside): the actions the code audits with, wherever the string is kept."""
    pattern = re.compile(r"[a-z]+(?:_[a-z]+)*\.(?!(?:html|csv|json|yaml|txt)$)[a-z]+(?:_[a-z]+)*")
    found: set[str] = set()
    for path in (REPO / "integrator").rglob("*.py"):
        if "sandbox" in path.parts or path.name == "models.py":
            continue
        source = path.read_text(encoding="utf-8")
        if "AuditEvent" not in source:
            continue
        found |= {n.value for n in ast.walk(ast.parse(source))
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and pattern.fullmatch(n.value)}
    return found


def test_every_audited_action_has_a_finnish_label(app: Flask) -> None:
    actions = _audited_actions() - set(app.view_functions)  # "ui.job_page" is a url_for endpoint
    assert {"attendance.override", "outbox.cancel", "period.ended", "coursework.duplicate_repaired"} <= actions
    assert not actions - set(ACTION_FI), f"add a Finnish label to audit_text.ACTION_FI: {sorted(actions - set(ACTION_FI))}"
