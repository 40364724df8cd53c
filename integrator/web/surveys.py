"""Survey pages: the client's own survey page (no login: the link's token is the key; answering
again replaces the answers) and the coordinator's results (login; own groups only)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from integrator.domain import surveys as rules
from integrator.jobs.notify.surveys import privacy_note
from integrator.jobs.surveys import answers
from integrator.reports import surveys as results
from integrator.store.models import Client
from integrator.web import access, context
from integrator.web.auth import current_principal
from integrator.web.charts import bars
from integrator.web.context import get_store

bp = Blueprint("surveys", __name__)

GONE_FI = "Kyselyn linkki ei ole voimassa. Jos haluat vastata, kysy ohjaajaltasi uusi linkki."


@bp.route("/kysely/<token>", methods=["GET", "POST"])
def answer(token: str) -> ResponseReturnValue:
    with get_store().session() as s:
        inv = answers.invitation_for_token(s, token, context.now())
        if inv is None:
            return render_template("survey_gone.html", message=GONE_FI), 404
        client = s.get(Client, inv.client_id)
        plain = bool(client and client.plain_language) or request.args.get("selko") == "1"
        definition = answers.definition_of(inv)
        missing: list[str] = []
        given: dict[str, str] = {}
        if request.method == "POST":
            given = {q.id: str(request.form.get(q.id, "")) for q in definition.questions}
            stored, missing = rules.clean_answers(definition, given)
            if not missing:
                replaced = answers.save_page_answers(s, inv, stored, context.now())
                return render_template("survey_thanks.html", plain=plain, replaced=replaced)
        status = 400 if missing else 200
        return render_template("survey_page.html", definition=definition, plain=plain, missing=missing,
                               given=given, privacy=privacy_note(inv.linked, plain), token=token), status


def _dates() -> tuple[date, date]:
    today = context.today()
    try:
        end = date.fromisoformat(request.args.get("to") or today.isoformat())
        start = date.fromisoformat(request.args.get("from") or (end - timedelta(days=365)).isoformat())
    except ValueError:
        abort(400, description="Päivämäärä on annettava muodossa 2026-12-31.")
    if start > end:
        abort(400, description="Alkupäivä on myöhemmin kuin loppupäivä.")
    return start, end


@bp.get("/surveys")
def results_page() -> ResponseReturnValue:
    p = current_principal()
    start, end = _dates()
    with get_store().session() as s:
        groups = access.visible_groups(s, p)
        data = results.build(s, groups, start, end)
    charts = [_charts(g) for g in data]
    return render_template("survey_results.html", results=data, charts=charts, start=start, end=end,
                           shown=rules.shown, MIN=rules.MIN_ANSWERS, NORMALISED=results.NORMALISED_FI)


def _charts(g: results.GroupResults) -> dict[str, Any]:
    out: dict[str, Any] = {"shift": None, "questions": {}}
    sh = g.shift
    if sh is not None and rules.shown(sh.n_before) and rules.shown(sh.n_after):
        labels = [f"{i}. {w}" for i, w in enumerate(sh.levels, start=1)]
        out["shift"] = bars("Digituen tarve ennen ja jälkeen (vastaajia tasoittain)", labels,
                            [("ennen", [sh.before.get(i, 0) for i in range(1, len(labels) + 1)]),
                             ("jälkeen", [sh.after.get(i, 0) for i in range(1, len(labels) + 1)])])
    for i, qr in enumerate(g.questions):
        if qr.summary.shown:
            labels = list(qr.summary.counts)
            if qr.question.kind == "scale":
                labels = [_scale_label(qr.question, k) for k in labels]
            out["questions"][i] = bars(qr.question.text, labels, [("vastauksia", list(qr.summary.counts.values()))])
    return out


def _scale_label(q: rules.Question, key: str) -> str:
    if key == str(q.low):
        return f"{key} ({q.low_label})"
    if key == str(q.high):
        return f"{key} ({q.high_label})"
    return key
