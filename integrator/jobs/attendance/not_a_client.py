"""A coordinator's "ei asiakas": a meeting attendee who is nobody's client (a visitor, an
interpreter, a social worker who joined). The attendee leaves the unmatched list; nothing is
paid or withdrawn, since an unmatched record never counted for anyone. Audited and reversible.

Stored without a migration as an ExternalResource of kind `identity.NOT_A_CLIENT` (see there).
A stable key (an account, an address, a full phone number) is the same person every time, so the
marker covers its later records too; a weak key ("Vieras", a masked number) only the records
the coordinator was shown: the next "Vieras" may be a client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from integrator.jobs.attendance.identity import NOT_A_CLIENT, is_stable_key, not_a_client_key
from integrator.store.db import Store
from integrator.store.models import AuditEvent, ExternalResource, MeetingAttendance
from integrator.store.types import utcnow


def _actor(actor: str | int | None) -> str:
    return f"staff:{actor}" if isinstance(actor, int) else (actor or "system")


def mark_not_a_client(store: Store, org_id: int, source: str, participant_key: str, actor: str | int | None,
                      *, work_day_ids: Iterable[int] | None = None) -> int:
    """Marks the attendee not a client; returns the number of records the marker covers now.
    `work_day_ids`: the meetings the coordinator was shown (a weak key's marker covers only them)."""
    stable = is_stable_key(participant_key)
    only_days = set(work_day_ids) if work_day_ids is not None else None
    with store.session() as s:
        found = s.scalars(select(MeetingAttendance).where(
            MeetingAttendance.organisation_id == org_id, MeetingAttendance.source == source,
            MeetingAttendance.participant_key == participant_key, MeetingAttendance.client_id.is_(None))).all()
        ids = sorted(r.id for r in found if stable or only_days is None or r.work_day_id in only_days)
        key = not_a_client_key(source, participant_key)
        row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == org_id,
                                                      ExternalResource.kind == NOT_A_CLIENT,
                                                      ExternalResource.local_key == key))
        state = {"source": source, "participant_key": participant_key, "stable": stable,
                 "display_name": found[-1].display_name if found else None,
                 "records": [] if stable else ids, "by": _actor(actor), "at": utcnow().isoformat()}
        if row is None:
            s.add(ExternalResource(organisation_id=org_id, kind=NOT_A_CLIENT, local_key=key, state=state,
                                   status="active"))
        else:
            old: list[int] = [] if stable or row.status != "active" else list((row.state or {}).get("records", []))
            state["records"] = sorted(set(old) | set(ids)) if not stable else []
            row.state, row.status = state, "active"
        # The key may hold an e-mail address: the audit keeps the source and the record count only.
        s.add(AuditEvent(organisation_id=org_id, actor=_actor(actor), action="identity.not_a_client",
                         entity="meeting_attendance", entity_id=str(ids[0]) if ids else None,
                         details={"source": source, "records": len(ids), "stable": stable}))
    return len(ids)


def unmark_not_a_client(store: Store, org_id: int, source: str, participant_key: str,
                        actor: str | int | None) -> bool:
    """Undoes "ei asiakas": the attendee is listed as unmatched again. False when not marked."""
    with store.session() as s:
        row = s.scalar(select(ExternalResource).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == NOT_A_CLIENT,
            ExternalResource.local_key == not_a_client_key(source, participant_key),
            ExternalResource.status == "active"))
        if row is None:
            return False
        row.status = "removed"
        s.add(AuditEvent(organisation_id=org_id, actor=_actor(actor), action="identity.not_a_client_removed",
                         entity="meeting_attendance", entity_id=None,
                         details={"source": source, "records": len((row.state or {}).get("records", []))}))
    return True


def not_a_client_markers(store: Store, org_id: int) -> list[dict[str, Any]]:
    """The organisation's active markers: source, participant key, records covered (for an undo)."""
    with store.session() as s:
        return [dict(m.state or {}) for m in s.scalars(select(ExternalResource).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == NOT_A_CLIENT,
            ExternalResource.status == "active").order_by(ExternalResource.id))]
