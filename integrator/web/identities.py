"""Unmatched meeting attendees of a group, and the coordinator's one-time mapping to a client."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import select

from integrator.jobs.attendance.identity import is_staff_key, map_identity, unmatched_attendees
from integrator.store.db import Store
from integrator.store.models import Membership, PeerGroup, WorkDay
from integrator.web import access
from integrator.web.auth import Principal
from integrator.web.validation import parse_id

SOURCES = frozenset({"teams", "meet"})
PARTICIPANT_KEY_MAX = 300


def unmatched_for_group(store: Store, group: PeerGroup) -> list[dict[str, Any]]:
    """Attendees nobody could place, in this group's meetings only."""
    with store.session() as s:
        day_ids = set(s.scalars(select(WorkDay.id).where(WorkDay.group_id == group.id)))
    out = []
    for u in unmatched_attendees(store, group.organisation_id):
        days = [d for d in u.work_day_ids if d in day_ids]
        if days:
            out.append({"source": u.source, "participant_key": u.participant_key,
                        "display_name": u.display_name, "email": u.email, "via_phone": u.via_phone,
                        "records": u.records, "work_day_ids": days})
    return out


def map_for_group(store: Store, p: Principal, group_id: int, source: Any, participant_key: Any,
                  client_id: Any) -> int:
    """Checks that the key is unmatched in this group and the client a member, then maps it."""
    # The form route passes strings as typed; a JSON body may hold anything (an object is unhashable).
    if not isinstance(source, str) or source not in SOURCES or not isinstance(participant_key, str) \
            or not participant_key or len(participant_key) > PARTICIPANT_KEY_MAX:
        abort(400, description="source (teams|meet) and participant_key are required")
    if not isinstance(client_id, int) or parse_id(client_id) is None:
        abort(400, description="client_id must be a positive integer")
    with store.session() as s:
        group = access.group_or_404(s, p, group_id)
        org_id = group.organisation_id
        member = s.scalar(select(Membership.id).where(Membership.group_id == group.id,
                                                      Membership.client_id == client_id))
        if member is None or not access.visible_client_ids(s, p, [client_id]):
            abort(404, description="no such client in this group")
    if is_staff_key(store, org_id, source, participant_key):
        # Checked before "unmatched": staff are never listed, and a 404 would hide the reason.
        abort(400, description="participant_key is the meeting organiser or a staff member and cannot be "
                               "mapped to a client")
    entry = next((u for u in unmatched_for_group(store, group)
                  if u["source"] == source and u["participant_key"] == participant_key), None)
    if entry is None:
        abort(404, description="no such unmatched attendee in this group's meetings")
    # A weak key ("Vieras", a masked number) is mapped only for the meetings the coordinator was
    # shown here; another group's "Vieras" is somebody else until its own coordinator says so.
    return map_identity(store, org_id, source, participant_key, client_id, p.staff_id,
                        work_day_ids=entry["work_day_ids"])
