"""The client import page speaks Finnish: each row problem with its line, column and what was
expected; an Excel "CSV" file (Windows-1252) is read, and the page says so."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.store.models import Client
from integrator.web.context import get_store
from tests.web.world import World


def _check(client: FlaskClient, org_id: int, raw: bytes) -> str:
    resp = client.post("/import", data={"organisation_id": str(org_id), "action": "check",
                                        "file": (io.BytesIO(raw), "asiakkaat.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def test_row_problems_are_in_finnish_with_line_and_column(as_admin: FlaskClient, world: World) -> None:
    html = _check(as_admin, world.org_a, ("code;email;period_start;period_end;service_model;weekdays\n"
                                          "K-0100;ei-osoite;2026-12-01;2027-05-31;pitkä;ti\n").encode())
    assert "<td>2</td><td>email</td><td>K-0100</td>" in html
    assert "<td>ei ole sähköpostiosoite</td><td>nimi@example.fi</td>" in html


def test_an_excel_windows_1252_file_is_read_and_the_page_says_so(app: Flask, as_admin: FlaskClient,
                                                                   world: World) -> None:
    raw = ("code;display_name\nK-0100;Äimä Öljynen\n").encode("cp1252")
    html = _check(as_admin, world.org_a, raw)
    assert "Tiedosto ei ollut UTF-8-muodossa, joten se luettiin Windows-1252-merkistönä" in html
    assert "Tiedosto on kunnossa" in html
    # "Tuo" writes exactly the checked file: the name arrives as it was in Excel.
    checked = html.split('name="checked_file" value="')[1].split('"')[0]
    resp = as_admin.post("/import", data={"organisation_id": str(world.org_a), "action": "import",
                                          "checked_file": checked})
    assert "Tuonti valmis" in resp.get_data(as_text=True)
    with get_store(app).session() as s:
        assert s.scalars(select(Client.display_name).where(Client.code == "K-0100")).one() == "Äimä Öljynen"
