"""The client import page's size limit: as large as the "Tuo" round trip allows, refused above it in Finnish."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.web.world import World

NOTE = "x" * 200  # loan_device_note at its longest, so that few rows make a large file


def _check(client: FlaskClient, org_id: int, raw: bytes) -> tuple[int, str]:
    # Encoded here in memory: the test client spools a large body to a file it never closes.
    boundary, body = encode_multipart(MultiDict({"organisation_id": str(org_id), "action": "check",
                                                 "file": FileStorage(io.BytesIO(raw), "asiakkaat.csv")}))
    resp = client.post("/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    return resp.status_code, resp.get_data(as_text=True)


def test_a_file_of_2_5_mib_is_checked_and_imported(as_admin: FlaskClient, world: World) -> None:
    raw = ("code;display_name;loan_device_note\n"
           + "".join(f"K-{i:05d};Asiakas {i};{NOTE}\n" for i in range(12_000))).encode()
    assert 2.5 * 1024 * 1024 < len(raw) < 3 * 1024 * 1024
    status, html = _check(as_admin, world.org_a, raw)
    assert status == 200 and "Tiedosto on kunnossa" in html
    checked = re.search(r'name="checked_file" value="([^"]+)"', html)
    assert checked
    resp = as_admin.post("/import", data={"organisation_id": str(world.org_a), "action": "import",
                                          "checked_file": checked.group(1)})
    assert "Tuonti valmis" in resp.get_data(as_text=True)


def test_a_file_over_3_mib_is_refused_in_finnish(as_admin: FlaskClient, world: World) -> None:
    status, html = _check(as_admin, world.org_a, b"code\n" + b"K-1\n" * (800 * 1024))
    assert status == 413
    assert "Tiedosto on liian suuri (enintään 3 Mt): jaa se useampaan tiedostoon." in html
