"""The coordinator's pages (Finnish, server-rendered; one small script for the progress bar)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from integrator.domain import weeks
from integrator.domain.finnish import fi_week
from integrator.domain.types import AttendanceStatus
from integrator.web import access, background, context, identities, readmodels, register_ui, services
from integrator.web import dashboard as dashboard_page
from integrator.web.auth import current_principal
from integrator.web.client_import import handle_import
from integrator.web.context import get_store
from integrator.web.explain import explain_error
from integrator.web.plan_text import OP_FI, RESOURCE_FI, plan_lines
from integrator.web.validation import parse_id

bp = Blueprint("ui", __name__)

STATUS_FI = {"present": "Läsnä", "absent": "Poissa", "excused": "Poissa, hyväksytty syy",
             "pending": "Odottaa tietoja"}
RUN_STATUS_FI = {"running": "Käynnissä", "succeeded": "Valmis", "partial": "Valmis, osa epäonnistui",
                 "failed": "Epäonnistui"}
KIND_FI = {"weekly_setup": "Viikon valmistelu", "nightly_sync": "Yöajo", "notify": "Viestit",
           "weekly_letters": "Viikkokirjeet", "reminders": "Muistutukset", "notify_send": "Viestien lähetys",
           "tenant_check": "Vuokraajan tarkistus"}
# Every counter a job run records, in Finnish (a counter missing here shows as its key: add it).
COUNT_FI = {
    # sending (integrator.jobs.notify.outbox.SendStats)
    "sent": "lähetetty", "uncertain": "epävarma, tarkistettava", "failed": "epäonnistui",
    "parked": "siirretty myöhemmäksi (lähetysraja)", "requeued": "yritetään myöhemmin uudelleen",
    "cancelled": "peruttu ennen lähetystä", "recovered_uncertain": "keskeytyneestä ajosta epävarmaksi",
    "refused": "lähettäjän tunnukset hylättiin", "requests": "pyyntöjä palveluun",
    # letters and reminders
    "queued": "viestejä jonossa", "already": "jo jonossa aiemmin", "no_email": "ei sähköpostiosoitetta",
    "no_link": "ei tapaamislinkkiä", "without_link": "ilman tapaamislinkkiä",
    # weekly setup
    "held_removals": "pääsyn poistoja odottaa vahvistusta (pääsy säilyi)", "groups_deactivated": "ryhmiä poistettu käytöstä",
    # nightly sync
    "alerts_queued": "poissaolohälytyksiä jonossa", "alerts_postponed": "poissaolohälytyksiä siirretty",
    "classroom_courses_read": "Classroom-kursseja luettu", "classroom_returns_written": "Classroom-palautuksia kirjattu",
    "drive_feeds_read": "Drive-muutoslistoja luettu", "drive_returns_written": "Drive-palautuksia kirjattu",
    "drive_returns_retied": "Drive-palautuksia liitetty työpäivään uudelleen",
    "meet_meetings_read": "Meet-tapaamisia luettu", "meet_attendees_written": "Meet-osallistujia kirjattu",
    "meet_intervals_rejected": "Meet-läsnäolojaksoja hylätty", "teams_meetings_read": "Teams-kokouksia luettu",
    "teams_attendees_written": "Teams-osallistujia kirjattu", "teams_intervals_rejected": "Teams-läsnäolojaksoja hylätty",
    "meeting_ids_resolved": "kokoustunnisteita selvitetty", "days_changed": "päiviä muuttui",
    "days_kept_unread_source": "päiviä ennallaan (lähdettä ei luettu)",
    "days_outside_window_evaluated": "päiviä arvioitu korjausikkunan ulkopuolelta",
    "days_present": "läsnäolopäiviä", "days_absent": "poissaolopäiviä", "days_pending": "päiviä odottaa tietoja",
    "days_excused": "hyväksyttyjä poissaoloja",
    "work_days_evaluated": "työpäiviä arvioitu uudelleen", "days_evaluated": "läsnäolopäiviä arvioitu uudelleen",
    # client import
    "clients_created": "asiakkaita lisätty", "clients_updated": "asiakkaita päivitetty",
    "clients_unchanged": "asiakkaita ennallaan", "periods_created": "jaksoja lisätty",
    "periods_updated": "jaksoja päivitetty", "periods_unchanged": "jaksoja ennallaan",
    "memberships_created": "ryhmäjäsenyyksiä lisätty", "memberships_updated": "ryhmäjäsenyyksiä päivitetty",
    "memberships_unchanged": "ryhmäjäsenyyksiä ennallaan",
}
# "<what>:<outcome>" counters (e.g. meeting:requests, accepted:invitation)
OUTCOME_FI = {"created": "luotu", "updated": "päivitetty", "removed": "poistettu", "error": "virhe",
              "requests": "pyyntöjä palveluun", "cancelled": "peruttu", "unchanged": "ennallaan",
              "accepted": "hyväksytty", "kept": "säilytetty", "repaired": "korjattu", "failed": "epäonnistui"}


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"OP_FI": OP_FI, "RESOURCE_FI": RESOURCE_FI, "STATUS_FI": STATUS_FI, "RUN_STATUS_FI": RUN_STATUS_FI, "KIND_FI": KIND_FI,
            "WEEKDAY_FI": weeks.WEEKDAY_FI, "explain_error": explain_error}


@bp.app_template_filter("fi_weekdays")
def _fi_weekdays(days: list[int]) -> str:
    return ", ".join(weeks.WEEKDAY_FI.get(d, "?") for d in days)


@bp.app_template_filter("fi_count_key")
def _fi_count_key(key: str) -> str:
    """"create:course" -> "luodaan: kurssi", "sent" -> "lähetetty"; other counters pass unchanged."""
    op, _, resource = key.partition(":")
    if op in OP_FI and resource:
        return f"{OP_FI[op]}: {RESOURCE_FI.get(resource, resource)}"
    if resource and op in OUTCOME_FI:  # "accepted:invitation", "failed:enrolment"
        return f"{RESOURCE_FI.get(resource, resource)}: {OUTCOME_FI[op]}"
    if resource and resource in OUTCOME_FI:  # "meeting:requests", "meeting:created"
        return f"{RESOURCE_FI.get(op, op)}: {OUTCOME_FI[resource]}"
    return COUNT_FI.get(key, key)


def _week_param() -> str:
    week = request.args.get("week") or weeks.iso_week_of(context.today())
    try:
        # The pages link to the weeks before and after: 0001-W01 has none before it.
        weeks.shift_week(week, -1), weeks.shift_week(week, 1)
    except (ValueError, OverflowError):
        abort(400, description="Viikko on annettava muodossa 2026-W49.")
    return week


@bp.get("/")
def dashboard() -> ResponseReturnValue:
    return dashboard_page.page(_week_param())


@bp.get("/groups/<id:group_id>")
def group_page(group_id: int) -> ResponseReturnValue:
    week = _week_param()
    p = current_principal()
    with get_store().session() as s:
        g = access.group_or_404(s, p, group_id)
        days = weeks.days_of(week)
        clients = [readmodels.client_with_periods(s, p, c)
                   for c in readmodels.active_members(s, p, g, days[0], days[-1])]
        work_days = [readmodels.work_day_json(d) for d in readmodels.work_days(s, g, week)]
        group = readmodels.group_json(g)
    return render_template("group.html", group=group, clients=clients, work_days=work_days, week=week,
                           month=days[0].strftime("%Y-%m"))


@bp.get("/groups/<id:group_id>/register")
def register_download(group_id: int) -> ResponseReturnValue:
    """The month's register as a file; without the organisation's rules, back to the group page
    with the reason (never a file at a default rate)."""
    fmt = request.args.get("format", "csv")
    month = request.args.get("month") or context.today().strftime("%Y-%m")
    if fmt not in ("csv", "xlsx"):
        abort(400, description="Tiedostomuoto on csv tai xlsx.")
    try:
        year, num = weeks.parse_month(month)
    except ValueError:
        abort(400, description="Kuukausi on annettava muodossa 2026-11.")
    store = get_store()
    with store.session() as s:
        g = access.group_or_404(s, current_principal(), group_id)
        org_key, group_key = g.organisation.key, g.key
    try:
        data, mimetype = services.register_file(store, org_key, group_key, year, num, fmt)
    except services.RulesUnavailable:
        flash(services.RulesUnavailable.FI, "error")
        return redirect(url_for("ui.group_page", group_id=group_id))
    filename = f"lasnaolot-{group_key}-{month}.{fmt}"
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/groups/<id:group_id>/attendance")
def attendance_page(group_id: int) -> ResponseReturnValue:
    return register_ui.attendance_view(group_id)  # the register grid: integrator.web.register_ui


@bp.post("/groups/<id:group_id>/identity-mappings")
def map_attendee(group_id: int) -> ResponseReturnValue:
    client_id = request.form.get("client_id", type=int)
    if client_id is None:
        flash("Valitse asiakas.", "error")
    else:
        identities.map_for_group(get_store(), current_principal(), group_id, request.form.get("source"),
                                 request.form.get("participant_key"), client_id)
        flash("Osallistuja yhdistetty asiakkaaseen; hänen päivänsä laskettiin uudelleen.", "ok")
    return redirect(url_for("ui.attendance_page", group_id=group_id, week=request.form.get("week") or None,
                            month=request.form.get("month") or None))


def _attendance_day_back(attendance_day_id: int) -> str:
    """The week's attendance page at the day's cell (404 for a day the principal may not see)."""
    p = current_principal()
    with get_store().session() as s:
        ad = access.attendance_day_or_404(s, p, attendance_day_id)
        wd = access.work_day_or_404(s, p, ad.work_day_id)
        return url_for("ui.attendance_page", group_id=wd.group_id, week=wd.iso_week) + f"#ad-{attendance_day_id}"


def _reason() -> str | None:
    reason = (request.form.get("reason") or "").strip()
    if not reason or len(reason) > 500:
        flash("Kirjoita korjauksen syy (enintään 500 merkkiä).", "error")
        return None
    return reason


@bp.post("/attendance/<id:attendance_day_id>/correct")
def correct_attendance(attendance_day_id: int) -> ResponseReturnValue:
    back = _attendance_day_back(attendance_day_id)
    status = request.form.get("status", "")
    if status not in services.CORRECTABLE_STATUSES:
        # No default status: a form sent without choosing one (Enter in the reason field) records nothing.
        flash("Valitse läsnäolon tila.", "error")
    elif (reason := _reason()) is not None:
        outcome = services.correct(get_store(), attendance_day_id, AttendanceStatus(status), reason,
                                   current_principal().staff_id)
        flash("Korjaus tallennettu." if outcome.changed else "Ei muutosta: päätös ja syy olivat jo nämä.", "ok")
    return redirect(back)


@bp.post("/attendance/<id:attendance_day_id>/revert")
def revert_attendance(attendance_day_id: int) -> ResponseReturnValue:
    back = _attendance_day_back(attendance_day_id)
    if (reason := _reason()) is not None:
        outcome = services.revert(get_store(), attendance_day_id, reason, current_principal().staff_id)
        flash("Päivä palautettiin laskettuun tilaan." if outcome.changed else "Päivällä ei ollut korjausta.", "ok")
    return redirect(back)


def _setup_form_groups() -> list[dict[str, Any]]:
    with get_store().session() as s:
        return [readmodels.group_json(g) for g in access.visible_groups(s, current_principal())]


@dataclass(frozen=True)
class SetupTarget:
    """What a setup form asks for: one group ("123") or all the principal's groups ("all")."""

    choice: str
    org_key: str | None  # None: an admin of every organisation, all of them
    group_keys: frozenset[str] | None  # None: the whole organisation (or every one)
    names: dict[str, str]  # group key -> name, for the plan's lines
    week: str


ALL_GROUPS = "all"


def _setup_target(*, apply: bool) -> SetupTarget:
    """The form's groups and week, checked against the principal and the weekly-setup window."""
    p = current_principal()
    choice = request.form.get("group_id", "")
    try:
        week = weeks.read_typed_week(request.form.get("week", ""), context.today())
    except ValueError:
        abort(400, description="Viikko: kirjoita viikon numero (esim. 50 tai viikko 50/2026) "
                               f"tai muodossa {weeks.iso_week_of(context.today())}.")
    with get_store().session() as s:
        if choice == ALL_GROUPS:
            groups = access.visible_groups(s, p)
            if not groups:
                abort(400, description="Sinulla ei ole ryhmiä.")
            orgs = {g.organisation.key for g in groups}
            if p.is_admin:  # their organisation, or every one: all its groups
                org_key = groups[0].organisation.key if p.organisation_id is not None else None
                keys = None
            elif len(orgs) == 1:
                org_key, keys = orgs.pop(), frozenset(g.key for g in groups)
            else:
                abort(400, description="Ryhmäsi ovat useassa organisaatiossa: valitse ryhmä.")
        else:
            group_id = parse_id(choice)
            if group_id is None:
                abort(400, description="Valitse ryhmä.")
            g = access.group_or_404(s, p, group_id)
            groups, org_key, keys = [g], g.organisation.key, frozenset({g.key})
        names = {g.key: g.name for g in groups}
    forced = request.form.get("force_past_week", "").strip() or None
    if forced is not None and not p.is_admin:
        abort(403, description="Vain ylläpitäjä voi toteuttaa valmistelun menneelle viikolle.")
    try:
        weeks.check_setup_week(week, context.today(), apply=apply, forced_week=forced)
    except weeks.PastWeekRefused:
        abort(400, description=f"{fi_week(week).capitalize()} on jo mennyt: valmistelua ei toteuteta menneelle "
                               "viikolle, koska suunnitelma tehdään tämän päivän ryhmistä ja se voisi poistaa "
                               "pääsyn asiakkailta, joiden jakso jatkuu."
                               + (" Ylläpitäjänä voit pakottaa sen kirjoittamalla viikon uudelleen "
                                  "esikatselun alle." if p.is_admin else ""))
    except ValueError:
        first, last = weeks.setup_week_window(context.today(), apply=apply)
        abort(400, description=f"Viikko {week} ei käy: valmistelun voi tehdä viikoille {first}–{last}"
                               + ("" if apply else " (esikatselun myös enintään "
                                  f"{weeks.SETUP_WEEKS_BACK} viikkoa taaksepäin)") + ".")
    return SetupTarget(choice, org_key, keys, names, week)


def _scope(t: SetupTarget) -> dict[str, Any]:
    # A single group keeps the job's group_key (its params and lock messages name it).
    if t.group_keys is not None and len(t.group_keys) == 1:
        return {"org_key": t.org_key, "group_key": next(iter(t.group_keys))}
    return {"org_key": t.org_key, "group_key": None, "group_keys": t.group_keys}


@bp.get("/weekly-setup")
def weekly_setup_page() -> ResponseReturnValue:
    next_week = weeks.iso_week_of(context.today() + timedelta(days=7))
    return render_template("weekly_setup.html", groups=_setup_form_groups(), week=next_week, preview=None,
                           selected=request.args.get("group_id") or ALL_GROUPS)


@bp.post("/weekly-setup/preview")
def weekly_setup_preview() -> ResponseReturnValue:
    t = _setup_target(apply=False)
    p = current_principal()
    try:
        plan, run_id = services.call_job(lambda settings: background.preview(
            get_store(), settings, t.week, actor=p.actor, now=context.now(), **_scope(t)))
    except HTTPException as err:
        if err.code not in (409, 502):
            raise
        flash(f"Esikatselu ei onnistunut: {err.description}", "error")
        return redirect(url_for("ui.weekly_setup_page", group_id=t.choice))
    lines = plan_lines(plan.to_json(), t.names)
    removals = [ln for group in lines.values() for ln in group if ln.access]
    preview = {"run_id": run_id, "lines": lines, "removals": removals, "writes": len(plan.writes),
               "notes": len(plan.notes), "past": weeks.is_past_week(t.week, context.today())}
    return render_template("weekly_setup.html", groups=_setup_form_groups(), week=t.week, preview=preview,
                           selected=t.choice)


@bp.post("/weekly-setup/apply")
def weekly_setup_apply() -> ResponseReturnValue:
    t = _setup_target(apply=True)
    p = current_principal()
    # Only the removals the person saw and confirmed: any other is held back, the access stays.
    confirmed = request.form.getlist("removal") if request.form.get("confirm_removals") == "yes" else []
    try:
        run_id = services.call_job(lambda settings: background.start_apply(
            get_store(), settings, t.week, actor=p.actor, now=context.now(), confirmed=confirmed, **_scope(t)))
    except HTTPException as err:
        if err.code not in (409, 502):
            raise
        flash(f"Valmistelua ei voitu käynnistää: {err.description}", "error")
        return redirect(url_for("ui.weekly_setup_page", group_id=t.choice))
    return redirect(url_for("ui.job_page", run_id=run_id))


@bp.get("/jobs")
def jobs_page() -> ResponseReturnValue:
    with get_store().session() as s:
        p = current_principal()
        runs = [readmodels.run_json(r, scope=access.run_scope(s, p, r.organisation_id))
                for r in access.visible_runs(s, p, limit=100)]
    return render_template("jobs.html", runs=runs)


@bp.get("/jobs/<id:run_id>")
def job_page(run_id: int) -> ResponseReturnValue:
    with get_store().session() as s:
        p = current_principal()
        found = access.job_run_or_404(s, p, run_id)
        run = readmodels.run_json(found, with_plan=True, scope=access.run_scope(s, p, found.organisation_id))
        names = {g.key: g.name for g in access.visible_groups(s, p)}
    lines = plan_lines(run.get("plan", [])[:300], names)
    return render_template("job.html", run=run, lines=lines)


@bp.route("/import", methods=["GET", "POST"])
def import_page() -> ResponseReturnValue:
    """Client CSV import (admins): check every row first, then write all rows or none."""
    return handle_import()
