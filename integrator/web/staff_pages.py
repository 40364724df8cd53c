"""Staff users and API tokens in the browser ("Henkilökunta"), for admins.

An admin sees and changes the staff of their own organisation (an admin of every organisation:
all staff); anyone else's staff user is a 404, a coordinator gets 403. The rules and the audit
are in `web.staff_admin`; the account mechanics (hashes, sessions, tokens) in `web.accounts`,
the same functions `integrator staff` uses.

A new password or token is shown exactly once: the POST keeps it in the signed session cookie
only until the redirect's GET has shown it (as a flash message), so a reload of the page shows
it no more, and the database only ever holds its hash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from integrator.domain.types import StaffRole
from integrator.store.models import ApiToken, Organisation, PeerGroup, StaffSession, StaffUser
from integrator.store.types import utcnow
from integrator.web import access, staff_admin
from integrator.web.auth import Principal, current_principal
from integrator.web.context import get_settings, get_store
from integrator.web.staff_admin import ROLE_FI, Managed, StaffError
from integrator.web.validation import parse_id

bp = Blueprint("staff", __name__)

REVEAL_KEY = "staff_reveal"
STATES = {"": "kaikki", "aktiiviset": "käytössä", "pois": "poistettu käytöstä"}
CONFIRM_FI = "vahvistus: rastita ruutu, jos haluat todella tehdä tämän"


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _admin() -> Principal:
    p = current_principal()
    access.require_admin(p)
    return p


def _managed() -> Managed:
    try:
        return staff_admin.managed(get_settings())
    except LookupError:  # no config file: nothing is decided by one
        return staff_admin.managed(None)


def _staff(p: Principal) -> Select[StaffUser]:
    q = select(StaffUser).order_by(func.lower(StaffUser.display_name), StaffUser.id)
    return q if p.organisation_id is None else q.where(StaffUser.organisation_id == p.organisation_id)


def _staff_or_404(s: Session, p: Principal, staff_id: int) -> StaffUser:
    user = s.scalar(_staff(p).where(StaffUser.id == staff_id))
    if user is None:
        abort(404)
    return user


def _group_ids() -> list[int]:
    ids = [parse_id(v) for v in request.form.getlist("group_id")]
    if None in ids:
        abort(400, description="ryhmät: valitse ryhmät listasta")
    return sorted({i for i in ids if i is not None})


def _confirmed() -> None:
    if request.form.get("confirm") != "yes":
        abort(400, description=CONFIRM_FI)


def _reveal(staff_id: int, kind: str, value: str, name: str = "") -> None:
    session[REVEAL_KEY] = {"staff_id": staff_id, "kind": kind, "value": value, "name": name}


def _list_rows(s: Session, users: list[StaffUser]) -> list[dict[str, Any]]:
    ids = [u.id for u in users]
    groups: dict[int, list[str]] = {}
    for g in s.scalars(select(PeerGroup).where(PeerGroup.coordinator_id.in_(ids), PeerGroup.active.is_(True))
                       .order_by(PeerGroup.key)):
        groups.setdefault(g.coordinator_id or 0, []).append(g.name)
    last = dict(s.execute(select(StaffSession.staff_user_id, func.max(StaffSession.created_at))
                          .where(StaffSession.staff_user_id.in_(ids)).group_by(StaffSession.staff_user_id)).all())
    orgs = dict(s.execute(select(Organisation.id, Organisation.name)).all())
    return [{"id": u.id, "name": u.display_name, "email": u.email, "role": ROLE_FI[u.role], "active": u.active,
             "groups": groups.get(u.id, []), "last_login": _aware(last.get(u.id)),
             "organisation": orgs.get(u.organisation_id) if u.organisation_id else "kaikki organisaatiot"}
            for u in users]


def _group_options(s: Session, p: Principal) -> list[dict[str, Any]]:
    m = _managed()
    out = []
    for g in s.scalars(access.groups_query(p).where(PeerGroup.active.is_(True))):
        out.append({"id": g.id, "name": g.name, "key": g.key, "organisation": g.organisation.name,
                    "coordinator": g.coordinator.display_name if g.coordinator else None,
                    "coordinator_id": g.coordinator_id, "managed": staff_admin.is_managed_group(m, g)})
    return out


def _list_page(p: Principal, form: dict[str, Any] | None = None, error: StaffError | None = None) -> ResponseReturnValue:
    role, state = request.args.get("rooli", ""), request.args.get("tila", "")
    if role and role not in {r.value for r in StaffRole}:
        abort(400, description="rooli: valitse ylläpitäjä, ohjaaja tai sosiaalityöntekijä")
    if state not in STATES:
        abort(400, description="tila: valitse kaikki, käytössä tai poistettu käytöstä")
    with get_store().session() as s:
        q = _staff(p)
        if role:
            q = q.where(StaffUser.role == StaffRole(role))
        if state:
            q = q.where(StaffUser.active.is_(state == "aktiiviset"))
        rows = _list_rows(s, list(s.scalars(q)))
        orgs = [(o.id, o.name) for o in s.scalars(access.organisations_query(p))]
        groups = _group_options(s, p)
    return render_template("staff.html", rows=rows, roles=ROLE_FI, states=STATES, role=role, state=state,
                           organisations=orgs, groups=groups, form=form or {}, error=error,
                           own_org=p.organisation_id), error.status if error else 200


@bp.get("/admin/staff")
def staff_page() -> ResponseReturnValue:
    return _list_page(_admin())


@bp.post("/admin/staff")
def add_staff() -> ResponseReturnValue:
    p = _admin()
    form: dict[str, Any] = {k: request.form.get(k, "")[:400] for k in ("name", "email", "role", "organisation_id")}
    group_ids = _group_ids()
    form["group_ids"] = group_ids
    try:
        with get_store().session() as s:
            if form["organisation_id"] or p.organisation_id is None:
                org_id = parse_id(form["organisation_id"])
                if org_id is None:
                    raise StaffError("organisaatio", "valitse organisaatio")
                org = access.organisation_or_404(s, p, org_id)
            else:
                org = access.organisation_or_404(s, p, p.organisation_id)
            user, password = staff_admin.add(s, _managed(), p.actor, org=org, email=form["email"],
                                             name=form["name"], role_value=form["role"], group_ids=group_ids)
            staff_id, name = user.id, user.display_name
    except StaffError as err:
        return _list_page(p, form, err)
    if password:
        _reveal(staff_id, "password", password)
    flash(f"{name} lisättiin.", "ok")
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))


@bp.get("/admin/staff/<id:staff_id>")
def staff_user_page(staff_id: int) -> ResponseReturnValue:
    p = _admin()
    reveal = session.pop(REVEAL_KEY, None)
    if not isinstance(reveal, dict) or reveal.get("staff_id") != staff_id:
        reveal = None
    now = utcnow()
    with get_store().session() as s:
        user = _staff_or_404(s, p, staff_id)
        choices = {g.id for g in staff_admin.group_choices(s, user.organisation_id)}
        groups = [g for g in _group_options(s, p) if g["id"] in choices]
        tokens = [{"id": t.id, "name": t.name, "created": _aware(t.created_at), "last_used": _aware(t.last_used_at),
                   "revoked": _aware(t.revoked_at)}
                  for t in s.scalars(select(ApiToken).where(ApiToken.staff_user_id == user.id).order_by(ApiToken.id))]
        open_sessions = s.scalar(select(func.count()).select_from(StaffSession).where(
            StaffSession.staff_user_id == user.id, StaffSession.revoked_at.is_(None),
            StaffSession.expires_at > now)) or 0
        row = _list_rows(s, [user])[0]
        in_file = _managed().roles.get(user.email.strip().lower())
        return render_template(
            "staff_user.html", user=row, role_value=user.role.value, roles=ROLE_FI, groups=groups,
            tokens=tokens, open_sessions=open_sessions, active_tokens=sum(1 for t in tokens if not t["revoked"]),
            reveal=reveal, role_in_file=in_file is not None, is_self=user.id == p.staff_id,
            can_log_in=user.role is not StaffRole.SOCIAL_WORKER)


@bp.post("/admin/staff/<id:staff_id>/edit")
def change_staff(staff_id: int) -> ResponseReturnValue:
    p = _admin()
    group_ids = _group_ids()
    role = request.form.get("role", "")
    try:
        with get_store().session() as s:
            user = _staff_or_404(s, p, staff_id)
            change = staff_admin.plan_change(s, _managed(), user, role, group_ids)
            if change.empty:
                flash("Ei muutoksia.", "ok")
                return redirect(url_for("staff.staff_user_page", staff_id=staff_id))
            if request.form.get("confirm") != "yes":
                # The preview: whose groups move and what the role becomes; nothing is written.
                return render_template("staff_change.html", user=user, change=change, roles=ROLE_FI,
                                       group_ids=group_ids, role=role)
            staff_admin.apply_change(s, p.actor, user, change)
    except StaffError as err:
        abort(err.status, description=str(err))
    flash("Muutokset tallennettiin.", "ok")
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))


@bp.post("/admin/staff/<id:staff_id>/deactivate")
def deactivate_staff(staff_id: int) -> ResponseReturnValue:
    p = _admin()
    try:
        with get_store().session() as s:
            user = _staff_or_404(s, p, staff_id)
            _confirmed()
            revoked = staff_admin.deactivate(s, p.actor, user)
    except StaffError as err:
        abort(err.status, description=str(err))
    flash(f"Poistettu käytöstä: kirjautumiset päättyivät ja {revoked} API-tunnusta peruttiin.", "ok")
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))


@bp.post("/admin/staff/<id:staff_id>/reactivate")
def reactivate_staff(staff_id: int) -> ResponseReturnValue:
    p = _admin()
    try:
        with get_store().session() as s:
            staff_admin.reactivate(s, p.actor, _staff_or_404(s, p, staff_id))
    except StaffError as err:
        abort(err.status, description=str(err))
    flash("Palautettu käyttöön. Perutut API-tunnukset eivät palaa: luo tarvittaessa uusi.", "ok")
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))


@bp.post("/admin/staff/<id:staff_id>/password")
def reset_password(staff_id: int) -> ResponseReturnValue:
    p = _admin()
    try:
        with get_store().session() as s:
            user = _staff_or_404(s, p, staff_id)
            _confirmed()
            password = staff_admin.reset_password(s, p.actor, user)
    except StaffError as err:
        abort(err.status, description=str(err))
    _reveal(staff_id, "password", password)
    flash("Uusi salasana luotiin; henkilön kirjautumiset päättyivät.", "ok")
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))


@bp.post("/admin/staff/<id:staff_id>/tokens")
def create_token(staff_id: int) -> ResponseReturnValue:
    p = _admin()
    name = request.form.get("name", "")[:400]
    try:
        with get_store().session() as s:
            token, row = staff_admin.create_token(s, p.actor, _staff_or_404(s, p, staff_id), name)
            token_name = row.name
    except StaffError as err:
        abort(err.status, description=str(err))
    _reveal(staff_id, "token", token, token_name)
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))


@bp.post("/admin/staff/<id:staff_id>/tokens/<id:token_id>/revoke")
def revoke_token(staff_id: int, token_id: int) -> ResponseReturnValue:
    p = _admin()
    try:
        with get_store().session() as s:
            row = staff_admin.revoke_token(s, p.actor, _staff_or_404(s, p, staff_id), token_id)
            if row is None:
                abort(404)
            name = row.name
    except StaffError as err:
        abort(err.status, description=str(err))
    flash(f"API-tunnus ”{name}” peruttiin; se ei enää toimi.", "ok")
    return redirect(url_for("staff.staff_user_page", staff_id=staff_id))
