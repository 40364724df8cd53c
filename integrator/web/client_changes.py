"""The API's doors to a client's move and early end (jobs.clients): who may, what they sent,
and the answer. Without `"confirm": true` the answer is the preview; nothing changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort
from sqlalchemy import select

from integrator.clients_import.lifecycle import membership_on
from integrator.domain.periods import END_REASONS
from integrator.jobs.clients.changes import ClientChange
from integrator.store.models import Client, Membership, PeerGroup
from integrator.web import access
from integrator.web.auth import Principal

NOT_YOURS = "Voit siirtää tai keskeyttää vain omien ryhmiesi asiakkaita."
REASONS = frozenset(END_REASONS)


def day_field(body: dict[str, Any], name: str) -> date:
    value = body.get(name)
    if not isinstance(value, str):
        abort(400, description=f"{name}: päivämäärä puuttuu; odotettiin muotoa 2026-12-01")
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, description=f"{name}: päivämäärä ei kelpaa; odotettiin muotoa 2026-12-01")


def confirmed(body: dict[str, Any]) -> bool:
    value = body.get("confirm", False)
    if not isinstance(value, bool):
        abort(400, description="confirm: odotettiin true tai false")
    return value


def _own(s: Any, p: Principal, group_ids: set[int]) -> None:
    """A coordinator changes only clients of their own groups: every group the change touches."""
    if p.is_admin:
        return
    mine = {g.id for g in access.visible_groups(s, p)}
    if not group_ids <= mine:
        abort(403, description=NOT_YOURS)


def may_move(s: Any, p: Principal, client: Client, to_group: str, from_date: date) -> None:
    target = s.scalar(select(PeerGroup.id).where(PeerGroup.organisation_id == client.organisation_id,
                                                 PeerGroup.key == to_group))
    current = membership_on(s, client.id, from_date)
    _own(s, p, {g for g in (target, current.group_id if current else None) if g is not None})


def may_end(s: Any, p: Principal, client: Client, on: date | None) -> None:
    """The groups of the memberships that go on after `on` (for an undo: every membership)."""
    ms = s.scalars(select(Membership).where(Membership.client_id == client.id)).all()
    _own(s, p, {m.group_id for m in ms if on is None or m.end_date is None or m.end_date >= on})


def answer(change: ClientChange) -> dict[str, Any]:
    return {"changed": change.changed, "applied": change.applied, "job_run_id": change.run_id,
            "preview": change.preview(), "messages": len(change.messages),
            "actions": [*change.followed.tenant.to_json(), *change.followed.meetings.to_json()],
            "errors": change.followed.errors}
