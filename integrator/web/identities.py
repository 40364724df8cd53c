"""Unmatched meeting attendees of a group, and the coordinator's one-time mapping to a client."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort
from sqlalchemy import select

from integrator.jobs.attendance.identity import (
    is_stable_key,
    is_staff_key,
    map_identity,
    names_client,
    unmap_identity,
    unmatched_attendees,
)
from integrator.jobs.attendance.not_a_client import (
    mark_not_a_client,
    not_a_client_markers,
    unmark_not_a_client,
)
from integrator.store.db import Store
from integrator.store.models import Client, IdentityMapping, MeetingAttendance, Membership, PeerGroup, WorkDay
from integrator.web import access
from integrator.web.auth import Principal
from integrator.web.validation import parse_id

SOURCES = frozenset({"teams", "meet"})
PARTICIPANT_KEY_MAX = 300


def unmatched_for_group(store: Store, group: PeerGroup, *, with_meetings: bool = False) -> list[dict[str, Any]]:
    """Attendees nobody could place, in this group's meetings only. `with_meetings`: each also
    with its meetings in this group, [{"day": date, "minutes": int}] (the page shows them)."""
    with store.session() as s:
        day_of = dict(s.execute(select(WorkDay.id, WorkDay.day).where(WorkDay.group_id == group.id)).all())
    out = []
    for u in unmatched_attendees(store, group.organisation_id):
        days = [d for d in u.work_day_ids if d in day_of]
        if days:
            entry: dict[str, Any] = {"source": u.source, "participant_key": u.participant_key,
                                     "display_name": u.display_name, "email": u.email, "via_phone": u.via_phone,
                                     "records": u.records, "work_day_ids": days}
            if with_meetings:
                entry["meetings"] = sorted(({"day": day_of[wd], "minutes": seconds // 60}
                                            for wd, seconds in u.meetings if wd in day_of),
                                           key=lambda m: m["day"])
                entry["records"] = len(entry["meetings"])
            out.append(entry)
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


def _key_or_400(source: Any, participant_key: Any) -> tuple[str, str]:
    if not isinstance(source, str) or source not in SOURCES or not isinstance(participant_key, str) \
            or not participant_key or len(participant_key) > PARTICIPANT_KEY_MAX:
        abort(400, description="Osallistujan tiedot puuttuvat (source: teams tai meet, participant_key).")
    return source, participant_key


def mapped_in_group(store: Store, p: Principal, group: PeerGroup, first: date | None = None,
                    last: date | None = None) -> list[dict[str, Any]]:
    """Attendees a coordinator's mapping (not the client's own account or address) attached to a
    client the principal sees, in this group's meetings between the dates: what an undo offers."""
    with store.session() as s:
        q = (select(MeetingAttendance, WorkDay.day, Client)
             .join(WorkDay, WorkDay.id == MeetingAttendance.work_day_id)
             .join(Client, Client.id == MeetingAttendance.client_id)
             .where(WorkDay.group_id == group.id))
        if first is not None and last is not None:
            q = q.where(WorkDay.day >= first, WorkDay.day <= last)
        found = s.execute(q.order_by(WorkDay.day, MeetingAttendance.id)).all()
        remembered = set(s.execute(select(IdentityMapping.source, IdentityMapping.participant_key,
                                          IdentityMapping.client_id)
                                   .where(IdentityMapping.organisation_id == group.organisation_id)).all())
        visible = access.visible_client_ids(s, p, sorted({c.id for _, _, c in found}))
        grouped: dict[tuple[str, str, int], dict[str, Any]] = {}
        for r, day, c in found:
            if c.id not in visible or names_client(r, c):
                continue
            if is_stable_key(r.participant_key) and (r.source, r.participant_key, c.id) not in remembered:
                continue
            entry = grouped.setdefault((r.source, r.participant_key, c.id), {
                "source": r.source, "participant_key": r.participant_key, "display_name": r.display_name,
                "via_phone": r.via_phone, "client_id": c.id, "client_code": c.code, "client_name": c.display_name,
                "meetings": [], "work_day_ids": []})
            entry["meetings"].append({"day": day, "minutes": r.seconds // 60})
            entry["work_day_ids"].append(r.work_day_id)
    return list(grouped.values())


def unmap_for_group(store: Store, p: Principal, group_id: int, source: Any, participant_key: Any,
                    client_id: Any, now: datetime) -> int:
    """Undoes a mapping shown on the group's page; the client's affected days are re-evaluated."""
    source, key = _key_or_400(source, participant_key)
    if not isinstance(client_id, int) or parse_id(client_id) is None:
        abort(400, description="Valitse asiakas.")
    with store.session() as s:
        group = access.group_or_404(s, p, group_id)
    entry = next((m for m in mapped_in_group(store, p, group) if (m["source"], m["participant_key"],
                                                                   m["client_id"]) == (source, key, client_id)), None)
    if entry is None:
        abort(404, description="Tätä yhdistämistä ei ole tämän ryhmän tapaamisissa.")
    return unmap_identity(store, group.organisation_id, source, key, client_id, p.staff_id,
                          work_day_ids=entry["work_day_ids"], now=now)


def not_a_client_for_group(store: Store, p: Principal, group_id: int, source: Any, participant_key: Any) -> int:
    """"Ei asiakas" for an attendee listed as unmatched in this group's meetings."""
    source, key = _key_or_400(source, participant_key)
    with store.session() as s:
        group = access.group_or_404(s, p, group_id)
    entry = next((u for u in unmatched_for_group(store, group)
                  if u["source"] == source and u["participant_key"] == key), None)
    if entry is None:
        abort(404, description="Osallistujaa ei ole tämän ryhmän tunnistamattomissa.")
    return mark_not_a_client(store, group.organisation_id, source, key, p.staff_id,
                             work_day_ids=entry["work_day_ids"])


def markers_for_group(store: Store, group: PeerGroup) -> list[dict[str, Any]]:
    """The "ei asiakas" markers of attendees of this group's meetings (for an undo)."""
    with store.session() as s:
        seen = set(s.execute(select(MeetingAttendance.source, MeetingAttendance.participant_key, MeetingAttendance.id)
                             .join(WorkDay, WorkDay.id == MeetingAttendance.work_day_id)
                             .where(WorkDay.group_id == group.id)).all())
    keys = {(src, key) for src, key, _ in seen}
    ids = {rid for _, _, rid in seen}
    return [m for m in not_a_client_markers(store, group.organisation_id)
            if (m.get("source"), m.get("participant_key")) in keys
            and (m.get("stable") or ids & set(m.get("records") or []))]


def unmark_for_group(store: Store, p: Principal, group_id: int, source: Any, participant_key: Any) -> bool:
    source, key = _key_or_400(source, participant_key)
    with store.session() as s:
        group = access.group_or_404(s, p, group_id)
    if not any((m.get("source"), m.get("participant_key")) == (source, key) for m in markers_for_group(store, group)):
        abort(404, description="Tätä merkintää ei ole tämän ryhmän tapaamisissa.")
    return unmark_not_a_client(store, group.organisation_id, source, key, p.staff_id)
