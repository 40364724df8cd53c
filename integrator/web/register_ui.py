"""The register page of a group (its attendance grid) and what it changes: a client's row of
decisions saved with one reason, and the unmatched attendees' "ei asiakas" and undos.

A row's changes are all checked first (previews of the corrections) and written only when
every one is accepted, so a refused day never leaves the others half-saved.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from integrator.domain import weeks
from integrator.domain.finnish import fi_count, fi_date, fi_week
from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.corrections import (
    Actor,
    CorrectionError,
    Outcome,
    check_reason,
    correct,
    correct_day,
    revert_day,
)
from integrator.store.models import AttendanceDay, Membership, WorkDay
from integrator.web import access, context, identities
from integrator.web.auth import current_principal
from integrator.web.context import get_store
from integrator.web.register_grid import REVERT, Grid, build_grid, month_bounds

bp = Blueprint("register", __name__)

MONTH_FI = {1: "tammikuu", 2: "helmikuu", 3: "maaliskuu", 4: "huhtikuu", 5: "toukokuu", 6: "kesäkuu",
            7: "heinäkuu", 8: "elokuu", 9: "syyskuu", 10: "lokakuu", 11: "marraskuu", 12: "joulukuu"}
DECISIONS = frozenset({AttendanceStatus.PRESENT.value, AttendanceStatus.ABSENT.value,
                       AttendanceStatus.EXCUSED.value, REVERT})


def _period(args: Any) -> dict[str, Any]:
    """The page's days: a month (?month=2026-11) or a week (?week=2026-W48, default this week)."""
    month = (args.get("month") or "").strip()
    if month:
        try:
            year, num = weeks.parse_month(month)
            first, last = month_bounds(date(year, num, 1))
            prev_first, next_first = month_bounds(first - timedelta(days=1))[0], last + timedelta(days=1)
        except (ValueError, OverflowError):
            abort(400, description="Kuukausi on annettava muodossa 2026-11.")
        return {"week": None, "month": month, "first": first, "last": last,
                "title": f"{MONTH_FI[num]} {year}",
                "prev": {"month": prev_first.strftime("%Y-%m")}, "next": {"month": next_first.strftime("%Y-%m")},
                "other": {"week": weeks.iso_week_of(first)}, "other_text": "viikko kerrallaan"}
    week = (args.get("week") or "").strip() or weeks.iso_week_of(context.today())
    try:
        prev_week, next_week = weeks.shift_week(week, -1), weeks.shift_week(week, 1)
        days = weeks.days_of(week)
    except (ValueError, OverflowError):
        abort(400, description="Viikko on annettava muodossa 2026-W49.")
    return {"week": week, "month": None, "first": days[0], "last": days[-1], "title": fi_week(week),
            "prev": {"week": prev_week}, "next": {"week": next_week},
            "other": {"month": days[0].strftime("%Y-%m")},
            "other_text": f"koko kuukausi ({MONTH_FI[days[0].month]} {days[0].year})"}


def attendance_view(group_id: int, *, args: Any = None, edit: int | None = None,
                    selected: dict[str, str] | None = None, errors: list[str] | None = None,
                    status: int = 200) -> ResponseReturnValue:
    """The register page; `edit` opens a client's row for decisions (a re-shown refused form
    keeps the person's `selected` choices and says what was wrong in `errors`)."""
    args = request.args if args is None else args
    period = _period(args)
    store, p = get_store(), current_principal()
    grid = build_grid(store, p, group_id, period["first"], period["last"], context.today())
    if edit is None:
        edit = request.args.get("edit", type=int)
    editing = next((r for r in grid.rows if r.client_id == edit), None)
    with store.session() as s:
        group = access.group_or_404(s, p, group_id)
    unmatched = identities.unmatched_for_group(store, group, with_meetings=True)
    mapped = identities.mapped_in_group(store, p, group, period["first"], period["last"])
    markers = identities.markers_for_group(store, group)
    corrections = sorted(((c.day, h["when"], row.code, h) for row in grid.rows for c in row.cells for h in c.history),
                         key=lambda t: (t[0], t[1]))
    here = {"week": period["week"]} if period["week"] else {"month": period["month"]}
    return render_template("attendance.html", grid=grid, period=period, here=here, editing=editing,
                           selected=selected or {}, errors=errors or [], unmatched=unmatched, mapped=mapped,
                           markers=markers, corrections=corrections), status


def _back(group_id: int, client_id: int | None = None, **extra: Any) -> str:
    """The page the form was sent from (its week or month), at the client's row."""
    period: dict[str, Any] = {k: v for k in ("week", "month") if (v := (request.form.get(k) or "").strip())}
    return url_for("ui.attendance_page", group_id=group_id, **period, **extra) + (
        f"#row-{client_id}" if client_id else "")


def _check(grid: Grid, client_id: int, changes: dict[int, str]) -> list[str]:
    """The changes' problems in Finnish ("" when all can be applied)."""
    row = next((r for r in grid.rows if r.client_id == client_id), None)
    if row is None:
        abort(404, description="Asiakasta ei ole tässä ryhmässä.")
    cells = {c.work_day_id: c for c in row.cells}
    problems = []
    for wd_id, value in changes.items():
        cell = cells.get(wd_id)
        if cell is None or value not in DECISIONS:
            abort(400, description="Päivän tila ei kelpaa: valitse se luettelosta.")
        if value not in {v for v, _ in cell.choices}:
            problems.append(f"{fi_date(cell.day)}: tätä valintaa ei voi tehdä tälle päivälle")
    return problems


def _apply(client_id: int, wd: WorkDay, row_id: int | None, value: str, reason: str, actor: Actor, *,
           apply: bool) -> Outcome | None:
    store, today = get_store(), context.today()
    if value == REVERT:
        return revert_day(store, row_id, reason, actor, apply=apply) if row_id is not None else None
    if row_id is not None:
        return correct_day(store, row_id, value, reason, actor, today=today, apply=apply)
    return correct(store, client_id, wd.day, value, reason, actor, work_day_id=wd.id, today=today, apply=apply)


@bp.post("/groups/<id:group_id>/attendance/clients/<id:client_id>")
def save_row(group_id: int, client_id: int) -> ResponseReturnValue:
    """A client's decisions on the shown days, with one reason; nothing is written unless every
    chosen day can take its decision. A form with no day chosen changes nothing."""
    p, store = current_principal(), get_store()
    changes: dict[int, str] = {}
    for key, value in request.form.items():
        if key.startswith("day-") and value:
            wd_id = int(key[4:]) if key[4:].isdigit() else 0
            changes[wd_id] = value
    with store.session() as s:
        access.group_or_404(s, p, group_id)
        if not access.visible_client_ids(s, p, [client_id]) or s.scalar(select(Membership.id).where(
                Membership.group_id == group_id, Membership.client_id == client_id).limit(1)) is None:
            abort(404, description="Asiakasta ei ole tässä ryhmässä.")
        wds = {w.id: w for w in s.scalars(select(WorkDay).where(WorkDay.id.in_(list(changes)),
                                                                WorkDay.group_id == group_id))}
        rows = dict(s.execute(select(AttendanceDay.work_day_id, AttendanceDay.id).where(
            AttendanceDay.client_id == client_id, AttendanceDay.work_day_id.in_(list(changes)))).all())
    selected = {f"day-{k}": v for k, v in changes.items()}
    if not changes:
        flash("Ei muutoksia: valitse ainakin yhdelle päivälle uusi tila.", "error")
        return redirect(_back(group_id, edit=client_id).split("#")[0] + "#edit")
    if set(changes) - set(wds):
        abort(400, description="Päivä ei ole tämän ryhmän toimintapäivä.")
    first, last = min(w.day for w in wds.values()), max(w.day for w in wds.values())
    grid = build_grid(store, p, group_id, first, last, context.today())
    problems = _check(grid, client_id, changes)
    try:
        reason = check_reason(request.form.get("reason"))
    except CorrectionError as err:
        problems.insert(0, f"Syy: {err}")
        reason = ""
    actor = Actor.staff(p.staff_id)
    if not problems:
        for wd_id, value in changes.items():
            try:
                _apply(client_id, wds[wd_id], rows.get(wd_id), value, reason, actor, apply=False)
            except CorrectionError as err:
                problems.append(f"{fi_date(wds[wd_id].day)}: {err}")
    if problems:
        return attendance_view(group_id, args=request.form, edit=client_id, selected=selected, errors=problems,
                               status=400)
    changed = 0
    for wd_id, value in changes.items():
        outcome = _apply(client_id, wds[wd_id], rows.get(wd_id), value, reason, actor, apply=True)
        changed += bool(outcome and outcome.changed)
    flash(f"Tallennettu: {fi_count(changed, 'muutos', 'muutosta')}." if changed
          else "Ei muutosta: päätökset ja syy olivat jo nämä.", "ok")
    return redirect(_back(group_id, client_id))


@bp.post("/groups/<id:group_id>/identity-mappings/undo")
def unmap_attendee(group_id: int) -> ResponseReturnValue:
    f = request.form
    detached = identities.unmap_for_group(get_store(), current_principal(), group_id, f.get("source"),
                                          f.get("participant_key"), f.get("client_id", type=int), context.now())
    flash(f"Yhdistäminen peruttu ({fi_count(detached, 'kirjaus', 'kirjausta')}); asiakkaan päivät laskettiin "
          "uudelleen.", "ok")
    return redirect(_back(group_id))


@bp.post("/groups/<id:group_id>/not-a-client")
def not_a_client(group_id: int) -> ResponseReturnValue:
    f = request.form
    identities.not_a_client_for_group(get_store(), current_principal(), group_id, f.get("source"),
                                      f.get("participant_key"))
    flash("Merkitty: ei asiakas. Osallistuja poistui tunnistamattomien listalta; merkinnän voi perua.", "ok")
    return redirect(_back(group_id))


@bp.post("/groups/<id:group_id>/not-a-client/undo")
def undo_not_a_client(group_id: int) -> ResponseReturnValue:
    f = request.form
    identities.unmark_for_group(get_store(), current_principal(), group_id, f.get("source"),
                                f.get("participant_key"))
    flash("Merkintä \"ei asiakas\" peruttu: osallistuja on taas tunnistamattomien listalla.", "ok")
    return redirect(_back(group_id))
