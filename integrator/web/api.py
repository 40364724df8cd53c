"""JSON API under /api/v1 (documented in openapi.py; a test keeps the two in step)."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue

from integrator.domain import weeks
from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.corrections import Actor, correct, find_work_day, history, revert
from integrator.jobs.clients.changes import end_period, move_client, undo_end_period
from integrator.store.models import Organisation, PeerGroup
from integrator.web import access, background, client_changes, context, identities, readmodels, services
from integrator.web.auth import current_principal
from integrator.web.context import get_store
from integrator.web.validation import JOB_KIND_PATTERN, id_field, json_object, str_field

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _week_arg(value: Any, *, default_current: bool = True) -> str:
    if value is None and default_current:
        return weeks.iso_week_of(context.today())
    if not isinstance(value, str):
        abort(400, description="week must look like 2026-W49")
    try:
        weeks.week_monday(value)
    except ValueError as err:
        abort(400, description=str(err))
    return value


@bp.get("/me")
def me() -> ResponseReturnValue:
    p = current_principal()
    return jsonify(staff_id=p.staff_id, role=p.role.value, organisation_id=p.organisation_id, via=p.via)


@bp.get("/organisations")
def organisations() -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    with get_store().session() as s:
        return jsonify([readmodels.organisation_json(o) for o in s.scalars(access.organisations_query(p))])


@bp.get("/organisations/<id:org_id>")
def organisation(org_id: int) -> ResponseReturnValue:
    p = current_principal()
    access.require_admin(p)
    with get_store().session() as s:
        org = access.organisation_or_404(s, p, org_id)
        groups = [readmodels.group_json(g) for g in access.visible_groups(s, p) if g.organisation_id == org.id]
        return jsonify({**readmodels.organisation_json(org), "groups": groups})


@bp.get("/groups")
def groups() -> ResponseReturnValue:
    with get_store().session() as s:
        return jsonify([readmodels.group_json(g) for g in access.visible_groups(s, current_principal())])


@bp.get("/groups/<id:group_id>")
def group(group_id: int) -> ResponseReturnValue:
    with get_store().session() as s:
        return jsonify(readmodels.group_json(access.group_or_404(s, current_principal(), group_id)))


@bp.get("/groups/<id:group_id>/clients")
def group_clients(group_id: int) -> ResponseReturnValue:
    week = _week_arg(request.args.get("week"))
    p = current_principal()
    with get_store().session() as s:
        g = access.group_or_404(s, p, group_id)
        days = weeks.days_of(week)
        members = readmodels.active_members(s, p, g, days[0], days[-1])
        return jsonify([readmodels.client_with_periods(s, p, c) for c in members])


@bp.get("/clients/<id:client_id>")
def client(client_id: int) -> ResponseReturnValue:
    p = current_principal()
    with get_store().session() as s:
        c = access.client_or_404(s, p, client_id)
        return jsonify(readmodels.client_with_periods(s, p, c))


@bp.post("/clients/<id:client_id>/move")
def client_move(client_id: int) -> ResponseReturnValue:
    """Move the client to another group from a date; a preview unless "confirm": true."""
    body = json_object(("to_group", "from", "confirm"))
    to_group = str_field(body, "to_group", max_length=64)
    assert to_group is not None
    day, apply = client_changes.day_field(body, "from"), client_changes.confirmed(body)
    p = current_principal()
    with get_store().session() as s:
        c = access.client_or_404(s, p, client_id)
        client_changes.may_move(s, p, c, to_group, day)
        code, org_key = c.code, s.get(Organisation, c.organisation_id).key  # type: ignore[union-attr]
    # A LifecycleError is a ValueError: call_job answers 400 with its words (field: reason).
    change = services.call_job(lambda settings: move_client(
        get_store(), settings, code, to_group, day, p.actor, org_key=org_key, now=context.now(), apply=apply))
    return jsonify(client_changes.answer(change))


# One rule for both methods: with two, a path whose id the converter refuses answered DELETE with
# 405 (the POST rule's method list) instead of 404.
@bp.route("/clients/<id:client_id>/end", methods=["POST", "DELETE"])
def client_end(client_id: int) -> ResponseReturnValue:
    """End the client's period early (keskeytys), "on" its last day; a preview unless "confirm": true.
    DELETE undoes it."""
    if request.method == "DELETE":
        return _client_end_undo(client_id)
    body = json_object(("on", "reason", "confirm"))
    reason = str_field(body, "reason", choices=client_changes.REASONS)
    assert reason is not None
    day, apply = client_changes.day_field(body, "on"), client_changes.confirmed(body)
    p = current_principal()
    with get_store().session() as s:
        c = access.client_or_404(s, p, client_id)
        client_changes.may_end(s, p, c, day)
        code, org_key = c.code, s.get(Organisation, c.organisation_id).key  # type: ignore[union-attr]
    # A LifecycleError is a ValueError: call_job answers 400 with its words (field: reason).
    change = services.call_job(lambda settings: end_period(
        get_store(), settings, code, day, reason, p.actor, org_key=org_key, now=context.now(), apply=apply))
    return jsonify(client_changes.answer(change))


def _client_end_undo(client_id: int) -> ResponseReturnValue:
    """Undo the client's early end; a preview unless ?confirm=true."""
    apply = request.args.get("confirm", "false") == "true"
    p = current_principal()
    with get_store().session() as s:
        c = access.client_or_404(s, p, client_id)
        client_changes.may_end(s, p, c, None)
        code, org_key = c.code, s.get(Organisation, c.organisation_id).key  # type: ignore[union-attr]
    # A LifecycleError is a ValueError: call_job answers 400 with its words (field: reason).
    change = services.call_job(lambda settings: undo_end_period(
        get_store(), settings, code, p.actor, org_key=org_key, now=context.now(), apply=apply))
    return jsonify(client_changes.answer(change))


@bp.get("/groups/<id:group_id>/work-days")
def group_work_days(group_id: int) -> ResponseReturnValue:
    week = _week_arg(request.args.get("week"))
    with get_store().session() as s:
        g = access.group_or_404(s, current_principal(), group_id)
        return jsonify([readmodels.work_day_json(d) for d in readmodels.work_days(s, g, week)])


@bp.get("/groups/<id:group_id>/attendance")
def group_attendance(group_id: int) -> ResponseReturnValue:
    week = _week_arg(request.args.get("week"))
    p = current_principal()
    with get_store().session() as s:
        g = access.group_or_404(s, p, group_id)
        return jsonify(readmodels.attendance_grid(s, p, g, week))


@bp.post("/attendance/<id:attendance_day_id>/correction")
def correct_attendance(attendance_day_id: int) -> ResponseReturnValue:
    p = current_principal()
    body = json_object(("status", "reason"))
    status = str_field(body, "status", choices=services.CORRECTABLE_STATUSES)
    reason = str_field(body, "reason", max_length=500)
    if status is None or reason is None or not reason.strip():
        abort(400, description="reason is required (1-500 characters)")
    store = get_store()
    with store.session() as s:
        access.attendance_day_or_404(s, p, attendance_day_id)
    services.correct(store, attendance_day_id, AttendanceStatus(status), reason.strip(), p.staff_id)
    with store.session() as s:
        ad = access.attendance_day_or_404(s, p, attendance_day_id)
        return jsonify(readmodels.attendance_cell(ad))


def _client_work_day(client_id: int, day: date) -> int:
    """The work day a correction of the client's `day` is about, in a group the principal sees
    (404 for a client they do not see; 400 when the client has no such day in their groups)."""
    p = current_principal()
    with get_store().session() as s:
        client = access.client_or_404(s, p, client_id)
        visible = [g.id for g in access.visible_groups(s, p)]
        wd, _ = services.correction(lambda: find_work_day(s, client, day, group_ids=visible))
        return wd.id


@bp.post("/clients/<id:client_id>/attendance/<day:day>")
def correct_client_day(client_id: int, day: date) -> ResponseReturnValue:
    """A decision on the client's day, in advance or afterwards (rules: jobs.attendance.corrections)."""
    body = json_object(("status", "reason"))
    status = str_field(body, "status", choices=services.CORRECTABLE_STATUSES)
    reason = str_field(body, "reason", max_length=500)
    assert status is not None and reason is not None
    wd_id = _client_work_day(client_id, day)
    p = current_principal()
    outcome = services.correction(lambda: correct(get_store(), client_id, day, status, reason,
                                                  Actor.staff(p.staff_id), work_day_id=wd_id,
                                                  today=context.today()))
    log.info("attendance corrected", extra={"client_id": client_id, "status": status, "changed": outcome.changed})
    return jsonify(readmodels.correction_json(outcome))


@bp.post("/clients/<id:client_id>/attendance/<day:day>/revert")
def revert_client_day(client_id: int, day: date) -> ResponseReturnValue:
    """The day back to its computed status (the decision removed, audited with the reason)."""
    reason = str_field(json_object(("reason",)), "reason", max_length=500)
    assert reason is not None
    wd_id = _client_work_day(client_id, day)
    p = current_principal()
    outcome = services.correction(lambda: revert(get_store(), client_id, day, reason, Actor.staff(p.staff_id),
                                                 work_day_id=wd_id))
    log.info("attendance correction reverted", extra={"client_id": client_id, "changed": outcome.changed})
    return jsonify(readmodels.correction_json(outcome))


@bp.get("/clients/<id:client_id>/attendance/<day:day>/history")
def client_day_history(client_id: int, day: date) -> ResponseReturnValue:
    """Every correction of the client's day, oldest first (only of groups the principal sees)."""
    p = current_principal()
    store = get_store()
    with store.session() as s:
        client = access.client_or_404(s, p, client_id)
        visible = {g.key for g in access.visible_groups(s, p) if g.organisation_id == client.organisation_id}
    found = history(store, client_id, day)
    return jsonify([readmodels.correction_event_json(e) for e in found if p.is_admin or e.group in visible])


@bp.get("/groups/<id:group_id>/unmatched-attendees")
def group_unmatched(group_id: int) -> ResponseReturnValue:
    store = get_store()
    with store.session() as s:
        g = access.group_or_404(s, current_principal(), group_id)
    return jsonify(identities.unmatched_for_group(store, g))


@bp.post("/groups/<id:group_id>/identity-mappings")
def group_map_identity(group_id: int) -> ResponseReturnValue:
    body = json_object(("source", "participant_key", "client_id"))
    source = str_field(body, "source", choices=identities.SOURCES)
    participant_key = str_field(body, "participant_key", max_length=identities.PARTICIPANT_KEY_MAX)
    client_id = id_field(body, "client_id", required=True)
    attached = identities.map_for_group(get_store(), current_principal(), group_id, source, participant_key,
                                        client_id)
    log.info("attendee mapped", extra={"group_id": group_id, "client_id": client_id, "records": attached})
    return jsonify(records=attached)


SETUP_FIELDS = ("week", "group_id", "organisation_id", "confirm_removals", "force_past_week")
MAX_CONFIRMED = 10_000


def _in_setup_window(week: str, *, apply: bool, forced_week: str | None = None) -> None:
    """Checked after the target, so that a week nobody may set up never hides a 403/404."""
    if apply and forced_week is not None and not current_principal().is_admin:
        abort(403, description="only an admin may force a past week")
    try:
        weeks.check_setup_week(week, context.today(), apply=apply, forced_week=forced_week)
    except ValueError as err:
        abort(400, description=str(err))


def _confirmed_removals(body: dict[str, Any]) -> list[str]:
    """The removal keys the caller confirmed (from a preview's actions); any other is held back."""
    value = body.get("confirm_removals", [])
    if not isinstance(value, list) or len(value) > MAX_CONFIRMED or not all(
            isinstance(k, str) and 0 < len(k) <= 200 for k in value):
        abort(400, description="confirm_removals must be a list of the keys of the preview's remove actions")
    return value


def _setup_target(body: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """(organisation key, group key or None, organisation id) the principal may run a setup for."""
    p = current_principal()
    group_id = id_field(body, "group_id", required=not p.is_admin)
    org_id = id_field(body, "organisation_id", required=False)
    with get_store().session() as s:
        if group_id is not None:
            g: PeerGroup = access.group_or_404(s, p, group_id)
            return g.organisation.key, g.key, g.organisation_id
        if org_id is None:
            abort(400, description="give group_id or organisation_id")
        org: Organisation = access.organisation_or_404(s, p, org_id)
        return org.key, None, org.id


@bp.post("/jobs/weekly-setup/preview")
def weekly_setup_preview() -> ResponseReturnValue:
    body = json_object(SETUP_FIELDS)
    week = _week_arg(str_field(body, "week"), default_current=False)
    org_key, group_key, _ = _setup_target(body)
    _in_setup_window(week, apply=False)
    p = current_principal()
    plan, run_id = services.call_job(lambda settings: background.preview(
        get_store(), settings, week, org_key=org_key, group_key=group_key, actor=p.actor, now=context.now()))
    return jsonify(job_run_id=run_id, week=week, counts=plan.counts(), text=plan.render(),
                   actions=plan.to_json())


@bp.post("/jobs/weekly-setup/apply")
def weekly_setup_apply() -> ResponseReturnValue:
    body = json_object(SETUP_FIELDS)
    week = _week_arg(str_field(body, "week"), default_current=False)
    forced = str_field(body, "force_past_week", max_length=8, required=False)
    confirmed = _confirmed_removals(body)
    org_key, group_key, _ = _setup_target(body)
    _in_setup_window(week, apply=True, forced_week=forced)
    p = current_principal()
    run_id = services.call_job(lambda settings: background.start_apply(
        get_store(), settings, week, org_key=org_key, group_key=group_key, actor=p.actor, now=context.now(),
        confirmed=confirmed))
    log.info("weekly setup apply started", extra={"job_run_id": run_id, "group": group_key, "week": week})
    resp = jsonify(job_run_id=run_id)
    resp.status_code = 202
    return resp


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    kind = request.args.get("kind")
    if kind is not None and re.fullmatch(JOB_KIND_PATTERN, kind) is None:
        abort(400, description="kind is a job kind such as weekly_setup")
    with get_store().session() as s:
        p = current_principal()
        runs = access.visible_runs(s, p, kind=kind)
        return jsonify([readmodels.run_json(r, scope=access.run_scope(s, p, r.organisation_id)) for r in runs])


@bp.get("/jobs/<id:run_id>")
def job(run_id: int) -> ResponseReturnValue:
    with get_store().session() as s:
        p = current_principal()
        run = access.job_run_or_404(s, p, run_id)
        return jsonify(readmodels.run_json(run, with_plan=True, scope=access.run_scope(s, p, run.organisation_id)))


@bp.get("/groups/<id:group_id>/register")
def group_register(group_id: int) -> ResponseReturnValue:
    month = request.args.get("month")
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        abort(400, description="format is csv or xlsx")
    if month is None:
        month = context.today().strftime("%Y-%m")
    try:
        year, num = weeks.parse_month(month)
    except ValueError as err:
        abort(400, description=str(err))
    store = get_store()
    with store.session() as s:
        g = access.group_or_404(s, current_principal(), group_id)
        org_key, group_key = g.organisation.key, g.key
    try:
        data, mimetype = services.register_file(store, org_key, group_key, year, num, fmt)
    except services.RulesUnavailable as err:
        abort(409, description=str(err))
    filename = f"lasnaolot-{group_key}-{month}.{fmt}"
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
