"""What the client page shows: the client's periods and memberships, their attendance month by
month and their task variant, as plain dicts in Finnish words, read through `web.access`.

A coordinator reads only what belongs to their own groups: the periods of the client's time in
them (`access.visible_periods`), the memberships and the days of those groups. An admin reads
the whole client.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.finnish import fi_month
from integrator.domain.periods import END_REASONS
from integrator.domain.types import AttendanceStatus, ServiceModel, VariantKind
from integrator.jobs.clients.variant import VARIANT_FI, current_variant
from integrator.store.models import AttendanceDay, Client, Membership, PeerGroup, Period, StaffUser, WorkDay
from integrator.web import access
from integrator.web.auth import Principal

STATUS_FI = {AttendanceStatus.PRESENT: "Läsnä", AttendanceStatus.ABSENT: "Poissa",
             AttendanceStatus.EXCUSED: "Poissa, hyväksytty syy", AttendanceStatus.PENDING: "Odottaa tietoja"}
MODEL_FI = {ServiceModel.LONG_TERM: "pitkä jakso", ServiceModel.SHORT_TERM: "lyhyt jakso",
            ServiceModel.INTERVAL: "intervallijakso", ServiceModel.HYBRID: "hybridijakso"}
#: The variant choices in the order the form lists them.
VARIANTS = [(k.value, VARIANT_FI[k]) for k in (VariantKind.STANDARD, VariantKind.PLAIN_LANGUAGE,
                                               VariantKind.EASIER, VariantKind.HARDER)]
REASONS = list(END_REASONS.items())


def own_groups(s: Session, p: Principal, client: Client) -> list[PeerGroup]:
    """The groups of the client's organisation the principal may move them into (active ones)."""
    return [g for g in access.visible_groups(s, p) if g.organisation_id == client.organisation_id and g.active]


def _period(per: Period) -> dict[str, Any]:
    return {"id": per.id, "model": MODEL_FI.get(per.service_model, per.service_model.value),
            "start": per.start_date, "end": per.end_date, "planned_end": per.planned_end_date,
            "reason": END_REASONS.get(per.end_reason or "", per.end_reason) if per.end_reason else None,
            "ended_at": per.ended_at, "weekdays": list(per.weekdays or []), "hours": per.hours_per_day,
            "briefed": per.briefing_recorded_at is not None}


def _evidence(ad: AttendanceDay) -> str:
    """The evaluation's own Finnish reasons, short: what the status rests on."""
    reasons = [str(r) for r in (ad.evidence or {}).get("reasons", []) if r]
    return "; ".join(reasons) if reasons else "-"


def _history(s: Session, client: Client, group_ids: set[int]) -> list[dict[str, Any]]:
    """The client's attendance days in these groups, newest month first, each month's days in order."""
    rows = s.execute(select(AttendanceDay, WorkDay, PeerGroup.name)
                     .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
                     .join(PeerGroup, WorkDay.group_id == PeerGroup.id)
                     .where(AttendanceDay.client_id == client.id, WorkDay.group_id.in_(group_ids))
                     .order_by(WorkDay.day, WorkDay.id)).all()
    staff_ids = {ad.override_by_id for ad, _, _ in rows if ad.override_by_id is not None}
    names = dict(s.execute(select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(staff_ids))).all()) \
        if staff_ids else {}
    months: dict[tuple[int, int], dict[str, Any]] = {}
    for ad, wd, group_name in rows:
        month = months.setdefault((wd.day.year, wd.day.month), {
            "title": fi_month(wd.day.year, wd.day.month).capitalize(), "days": [], "present": 0, "absent": 0})
        status = ad.status
        month["present"] += status is AttendanceStatus.PRESENT
        month["absent"] += status is AttendanceStatus.ABSENT
        month["days"].append({
            "day": wd.day, "group": group_name, "status": status.value, "status_fi": STATUS_FI[status],
            "computed_fi": STATUS_FI[ad.computed_status], "evidence": _evidence(ad),
            "decision": STATUS_FI[ad.override_status] if ad.override_status else None,
            "reason": ad.override_reason, "by": names.get(ad.override_by_id) if ad.override_by_id else None,
            "at": ad.override_at,
            "needs_decision": ad.override_status is None and (ad.evidence or {}).get("needs_decision") is True})
    return [months[k] for k in sorted(months, reverse=True)]


def client_page(s: Session, p: Principal, client: Client, today: date) -> dict[str, Any]:
    visible = {g.id: g for g in access.visible_groups(s, p) if g.organisation_id == client.organisation_id}
    memberships = [m for m in s.scalars(select(Membership).where(Membership.client_id == client.id)
                                        .order_by(Membership.start_date, Membership.id)) if m.group_id in visible]
    periods = sorted(access.visible_periods(s, p, client), key=lambda per: per.start_date)
    current = next((m for m in memberships if m.start_date <= today and (m.end_date is None or today <= m.end_date)),
                   None)
    return {
        "id": client.id, "code": client.code, "name": client.display_name, "plain_language": client.plain_language,
        "periods": [_period(per) for per in periods],
        "memberships": [{"group": visible[m.group_id].name, "group_id": m.group_id, "start": m.start_date,
                         "end": m.end_date, "current": m is current} for m in memberships],
        "current_group_id": current.group_id if current else None,
        "ended_early": any(per.planned_end_date is not None for per in periods),
        "variant": current_variant(s, client.id).value,
        "months": _history(s, client, set(visible)),
        "groups": [{"id": g.id, "name": g.name} for g in own_groups(s, p, client)],
        "tomorrow": today + timedelta(days=1), "today": today,
    }
