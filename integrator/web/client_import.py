"""The client import page: upload a CSV, see every row problem, then import (admins only)."""

from __future__ import annotations

import base64
import binascii

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from integrator.clients_import import import_clients
from integrator.web import access
from integrator.web.auth import current_principal
from integrator.web.context import get_settings, get_store

# Below the import's own limit (clients_import.reading.MAX_FILE_BYTES, 5 MiB): the checked file
# travels back base64-encoded (4/3 of its size) in the "Tuo" form, and the whole request must stay
# under MAX_CONTENT_LENGTH (5 MiB, web.security). Larger files: `integrator import clients`.
MAX_BYTES = 3 * 1024 * 1024


def _raw_upload() -> bytes | None:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        raw = bytes(upload.read(MAX_BYTES + 1))
    elif request.form.get("checked_file"):
        # The file the admin already checked, carried in the form so that "Tuo" writes exactly it.
        try:
            raw = base64.b64decode(request.form["checked_file"], validate=True)
        except (binascii.Error, ValueError):
            abort(400, description="Tiedosto on vioittunut. Lataa se uudelleen.")
    else:
        return None
    if len(raw) > MAX_BYTES:
        abort(413, description="Tiedosto on liian suuri (enintään 3 Mt): jaa se useampaan tiedostoon.")
    return raw


def handle_import() -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    with get_store().session() as s:
        orgs = [{"id": o.id, "key": o.key, "name": o.name} for o in s.scalars(access.organisations_query(p))]
    result = None
    checked_file = None
    selected = request.form.get("organisation_id", type=int)
    if request.method == "POST":
        org = next((o for o in orgs if o["id"] == selected), None)
        if org is None:
            abort(404)
        raw = _raw_upload()
        if raw is None:
            abort(400, description="Valitse CSV-tiedosto.")
        apply = request.form.get("action") == "import"
        try:
            settings = get_settings()
        except LookupError:
            settings = None
        try:
            result = import_clients(get_store(), raw, org_key=str(org["key"]), settings=settings, dry_run=not apply)
        except LookupError as err:
            abort(400, description=str(err))
        if not apply and not result.problems:
            checked_file = base64.b64encode(raw).decode("ascii")
    return render_template("import.html", orgs=orgs, selected=selected, result=result, checked_file=checked_file)
