"""The client page (/asiakkaat/<id>): periods, memberships, attendance history and task variant,
and the three changes that touch access and money, each previewed in Finnish and made only
when confirmed: a move to another group from a date, an early end of the period (keskeytys)
and its undo. The changes are `jobs.clients.changes` (audited, reversible, a re-run changes
nothing); who may make them is the API's rule (`web.client_changes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from integrator.config import Settings
from integrator.domain.periods import END_REASONS
from integrator.domain.types import VariantKind
from integrator.jobs.clients.changes import (
    ClientChange,
    LifecycleError,
    end_period,
    move_client,
    undo_end_period,
)
from integrator.jobs.clients.variant import VARIANT_FI, set_variant
from integrator.jobs.locks import JobAlreadyRunning
from integrator.providers.errors import ProviderError
from integrator.store.models import Client, Organisation
from integrator.web import access, client_changes, client_view, context
from integrator.web.auth import current_principal
from integrator.web.client_change_text import change_points
from integrator.web.context import get_settings, get_store
from integrator.web.validation import parse_id

bp = Blueprint("clients", __name__, url_prefix="/asiakkaat")

#: The service's field names as the forms label them.
FIELD_FI = {"to_group": "Uusi ryhmä", "from": "Alkaen", "on": "Viimeinen päivä", "reason": "Syy",
            "code": "Asiakas", "org": "Organisaatio"}
_FI_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class FormError(Exception):
    """Bad input or a refused change: shown next to the form, in Finnish."""

    def __init__(self, form: str, message: str) -> None:
        super().__init__(message)
        self.form = form
        self.message = message


def _date(form: str, name: str, label: str) -> date:
    value = (request.form.get(name) or "").strip()
    try:
        if m := _FI_DATE.match(value):
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    if not value:
        raise FormError(form, f"{label}: anna päivämäärä, esimerkiksi 1.12.2026.")
    raise FormError(form, f"{label}: päivämäärä '{value[:20]}' ei kelpaa; anna se muodossa 1.12.2026.")


def _page(client_id: int, *, status: int = 200, error: FormError | None = None) -> ResponseReturnValue:
    p = current_principal()
    with get_store().session() as s:
        c = access.client_or_404(s, p, client_id)
        data = client_view.client_page(s, p, c, context.today())
    return render_template("client.html", c=data, variants=client_view.VARIANTS, reasons=client_view.REASONS,
                           error=error, form=request.form if error else {}), status


def _client(client_id: int) -> tuple[str, str]:
    """The client's code and organisation key (404 for a client the principal does not see)."""
    with get_store().session() as s:
        c: Client = access.client_or_404(s, current_principal(), client_id)
        return c.code, s.get(Organisation, c.organisation_id).key  # type: ignore[union-attr]


def _run(form: str, fn: Callable[[Settings], ClientChange], *, apply: bool) -> ClientChange:
    try:
        settings = get_settings()
    except (LookupError, OSError, ValueError):
        raise FormError(form, "Palvelun asetuksia ei voitu lukea, joten muutosta ei tehty. Pyydä ylläpitäjää "
                              "tarkistamaan asetukset.") from None
    try:
        return fn(settings)
    except LifecycleError as err:
        raise FormError(form, f"{FIELD_FI.get(err.field, err.field)}: {err.fi}") from None
    except JobAlreadyRunning:
        raise FormError(form, "Viikon valmistelu tai toinen muutos on juuri käynnissä. Yritä hetken kuluttua "
                              "uudelleen.") from None
    except ProviderError:
        raise FormError(form, "Google- tai Microsoft-palvelu ei vastannut odotetusti. "
                        + ("Muutos on tallennettu; tee sama muutos uudelleen, niin pääsyt korjataan."
                           if apply else "Mitään ei muutettu; yritä hetken kuluttua uudelleen.")) from None
    except LookupError:
        raise FormError(form, "Asiakkaan organisaatiota ei löydy palvelun asetuksista, joten muutosta ei tehty.") \
            from None


def _change(client_id: int, form: str, make: Callable[[str, str, bool], Callable[[Settings], ClientChange]],
            fields: dict[str, str], *, apply: bool) -> ResponseReturnValue:
    """Preview (apply False) or make the change; bad input re-renders the page with the error."""
    code, org_key = _client(client_id)
    try:
        change = _run(form, make(code, org_key, apply), apply=apply)
    except FormError as err:
        return _page(client_id, status=400, error=err)
    with get_store().session() as s:
        names = {g.key: g.name for g in access.visible_groups(s, current_principal())}
    return render_template("client_change.html", client_id=client_id, code=code, form=form, change=change,
                           points=change_points(change, names), fields=fields,
                           details=change.preview().splitlines())


@bp.get("/<id:client_id>")
def client_page(client_id: int) -> ResponseReturnValue:
    return _page(client_id)


@bp.post("/<id:client_id>/tehtavataso")
def set_task_variant(client_id: int) -> ResponseReturnValue:
    p = current_principal()
    _client(client_id)
    try:
        kind = VariantKind(request.form.get("variant", ""))
    except ValueError:
        return _page(client_id, status=400, error=FormError(
            "variant", "Tehtävätaso: valitse perustaso, selkokieli, helpompi tai vaativampi."))
    change = set_variant(get_store(), client_id, kind, p.actor)
    flash(f"Tehtävätaso tallennettu: {VARIANT_FI[kind]}. Se on käytössä seuraavasta viikon valmistelusta alkaen."
          if change.changed else f"Tehtävätaso oli jo {VARIANT_FI[kind]}: ei muutosta.", "ok")
    return redirect(url_for("clients.client_page", client_id=client_id) + "#tehtavataso")


def _move_input(client_id: int) -> tuple[str, date, dict[str, str]]:
    group_id = parse_id(request.form.get("group_id", ""))
    p = current_principal()
    with get_store().session() as s:
        c = access.client_or_404(s, p, client_id)
        groups = {g.id: g for g in client_view.own_groups(s, p, c)}
        if group_id is None or group_id not in groups:
            raise FormError("move", "Uusi ryhmä: valitse ryhmä listasta (vain omat ryhmäsi).")
        day = _date("move", "from", "Alkaen")
        client_changes.may_move(s, p, c, groups[group_id].key, day)
        return groups[group_id].key, day, {"group_id": str(group_id), "from": day.isoformat()}


def _move(client_id: int, *, apply: bool) -> ResponseReturnValue:
    try:
        to_group, day, fields = _move_input(client_id)
    except FormError as err:
        return _page(client_id, status=400, error=err)
    actor, now = current_principal().actor, context.now()
    return _change(client_id, "move", lambda code, org, ap: lambda settings: move_client(
        get_store(), settings, code, to_group, day, actor, org_key=org, now=now, apply=ap), fields, apply=apply)


@bp.post("/<id:client_id>/siirto/esikatselu")
def move_preview(client_id: int) -> ResponseReturnValue:
    return _move(client_id, apply=False)


@bp.post("/<id:client_id>/siirto")
def move_apply(client_id: int) -> ResponseReturnValue:
    return _move(client_id, apply=True)


def _end_input(client_id: int) -> tuple[date, str, dict[str, str]]:
    reason = request.form.get("reason", "")
    if reason not in END_REASONS:
        raise FormError("end", "Syy: valitse keskeytyksen syy listasta.")
    day = _date("end", "on", "Viimeinen päivä")
    p = current_principal()
    with get_store().session() as s:
        client_changes.may_end(s, p, access.client_or_404(s, p, client_id), day)
    return day, reason, {"on": day.isoformat(), "reason": reason}


def _end(client_id: int, *, apply: bool) -> ResponseReturnValue:
    try:
        day, reason, fields = _end_input(client_id)
    except FormError as err:
        return _page(client_id, status=400, error=err)
    actor, now = current_principal().actor, context.now()
    return _change(client_id, "end", lambda code, org, ap: lambda settings: end_period(
        get_store(), settings, code, day, reason, actor, org_key=org, now=now, apply=ap), fields, apply=apply)


@bp.post("/<id:client_id>/keskeytys/esikatselu")
def end_preview(client_id: int) -> ResponseReturnValue:
    return _end(client_id, apply=False)


@bp.post("/<id:client_id>/keskeytys")
def end_apply(client_id: int) -> ResponseReturnValue:
    return _end(client_id, apply=True)


def _undo(client_id: int, *, apply: bool) -> ResponseReturnValue:
    p = current_principal()
    with get_store().session() as s:
        client_changes.may_end(s, p, access.client_or_404(s, p, client_id), None)
    actor, now = p.actor, context.now()
    return _change(client_id, "undo", lambda code, org, ap: lambda settings: undo_end_period(
        get_store(), settings, code, actor, org_key=org, now=now, apply=ap), {}, apply=apply)


@bp.post("/<id:client_id>/keskeytyksen-peruminen/esikatselu")
def undo_preview(client_id: int) -> ResponseReturnValue:
    return _undo(client_id, apply=False)


@bp.post("/<id:client_id>/keskeytyksen-peruminen")
def undo_apply(client_id: int) -> ResponseReturnValue:
    return _undo(client_id, apply=True)
