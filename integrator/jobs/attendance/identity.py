"""Who is who in a meeting: attendee records joined to clients.

Order of the join: the stable account id (Entra object id for Teams, Google user id for Meet),
then a coordinator's one-time mapping of the participant key, then the e-mail address
(case-insensitive). A coordinator's explicit mapping wins over an e-mail heuristic; a stable
id wins over both because it cannot be mistyped. Whoever stays unmatched (guests, phone
dial-ins, people joining under another name) is kept and listed for the coordinator.

Only a STABLE key (an account id, an e-mail address, a phone number shown in full) is
remembered and reused for later meetings. A WEAK key - a display name ("Vieras", "iPhone")
or a masked number ("+358 40 *** **12") - says nothing about who is behind it next time, and
a paid attendance day must never be credited to one client for another's presence. So a
coordinator's mapping of a weak key attaches only the records they were shown (unmatched,
in meetings of a group the client belongs to) and is not remembered: the next record under
that name is listed again. Not even reused within the group: a group is exactly where the
other people who may join as "Vieras" or from a masked number are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.jobs.attendance.evaluate import reevaluate_work_days
from integrator.store.db import Store
from integrator.store.models import (
    AuditEvent,
    Client,
    ExternalResource,
    IdentityMapping,
    MeetingAttendance,
    Membership,
    StaffUser,
    WorkDay,
)
from integrator.store.types import utcnow

_PHONE = re.compile(r"^\+?[0-9][0-9 ()*\-]{4,}$")
_FULL_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]*$")  # digits and separators only: nothing masked
MIN_PHONE_DIGITS = 7


def is_stable_key(participant_key: str) -> bool:
    """True for keys that name the same person every time: an account id, an e-mail address,
    a full phone number. A display name or a masked number is weak (see the module doc)."""
    kind, _, value = participant_key.partition(":")
    value = value.strip()
    if kind in ("user", "email"):
        return bool(value)
    if kind == "phone":
        return bool(_FULL_PHONE.match(value)) and sum(ch.isdigit() for ch in value) >= MIN_PHONE_DIGITS
    return False


def looks_like_phone(display_name: str | None) -> bool:
    """Dial-in attendees show up with their (partly masked) phone number as name."""
    return bool(display_name) and bool(_PHONE.match(display_name.strip()))  # type: ignore[union-attr]


def participant_key(*, user_id: str | None, email: str | None, display_name: str | None,
                    via_phone: bool = False) -> str:
    """The key under which a coordinator's mapping is stored and reused.

    It must stay the same from one meeting to the next: an e-mail address does, a signed-in
    account id does, a phone number does; the per-session id a guest gets does not.
    """
    if email:
        return f"email:{email.strip().lower()}"
    if via_phone:
        return f"phone:{(display_name or '').strip()}"
    if user_id:
        return f"user:{user_id}"
    return f"name:{(display_name or '').strip().lower()}"


@dataclass
class ClientIndex:
    """Lookup tables for one organisation, built once per sync."""

    by_entra: dict[str, int]
    by_google: dict[str, int]
    by_email: dict[str, int]
    mappings: dict[tuple[str, str], int]
    staff_emails: set[str]

    @classmethod
    def load(cls, session: Session, org_id: int) -> ClientIndex:
        # Columns, not ORM objects: this is read for every client of the organisation each night.
        clients = session.execute(select(Client.id, Client.entra_object_id, Client.google_user_id, Client.email)
                                  .where(Client.organisation_id == org_id)).all()
        maps = session.execute(select(IdentityMapping.source, IdentityMapping.participant_key,
                                      IdentityMapping.client_id)
                               .where(IdentityMapping.organisation_id == org_id)).all()
        staff = session.scalars(select(StaffUser.email)).all()
        return cls(
            by_entra={c.entra_object_id: c.id for c in clients if c.entra_object_id},
            by_google={c.google_user_id: c.id for c in clients if c.google_user_id},
            by_email={c.email.lower(): c.id for c in clients if c.email},
            # A weak key's mapping (made before weak keys stopped being remembered) is never reused.
            mappings={(m.source, m.participant_key): m.client_id for m in maps if is_stable_key(m.participant_key)},
            staff_emails={e.lower() for e in staff},
        )

    def resolve(self, source: str, *, user_id: str | None, key: str, email: str | None) -> int | None:
        if user_id:
            table = self.by_entra if source == "teams" else self.by_google
            if user_id in table:
                return table[user_id]
        if (source, key) in self.mappings and is_stable_key(key):
            return self.mappings[(source, key)]
        if email and email.lower() in self.by_email:
            return self.by_email[email.lower()]
        return None



@dataclass(frozen=True)
class UnmatchedAttendee:
    """One participant key nobody could place, with what a coordinator needs to recognise it."""

    source: str
    participant_key: str
    display_name: str | None
    email: str | None
    via_phone: bool
    records: int
    work_day_ids: list[int]
    stable: bool = True  # False: a mapping applies to these records only and is not reused
    #: (work day id, seconds in the meeting) of each record, so a coordinator sees when and how long
    meetings: tuple[tuple[int, int], ...] = ()


class StaffIdentityError(ValueError):
    """A staff member's (or the meeting organiser's) attendee key cannot be mapped to a client."""


#: `raw["role"]` of an attendance record the harvest recognised as the organiser or other staff.
ORGANIZER_ROLE = "organizer"
STAFF_ROLE = "staff"
STAFF_ROLES = frozenset({ORGANIZER_ROLE, STAFF_ROLE})


def is_staff_record(record: MeetingAttendance, staff_emails: set[str]) -> bool:
    """The meeting's organiser or a staff member: never a client, never listed as unmatched.

    Recognised by what the vendor says (Teams: role "Organizer") or the harvest learned (Meet:
    the signed-in account's address is the organiser's or a staff address), else by a staff
    address on the record or in the key. Nothing about staff is stored beyond this role.
    """
    role = str((record.raw or {}).get("role", "")).lower()
    if role in STAFF_ROLES:
        return True
    if record.email and record.email.lower() in staff_emails:
        return True
    kind, _, value = record.participant_key.partition(":")
    return kind == "email" and value.strip().lower() in staff_emails


def staff_emails(s: Session) -> set[str]:
    return {e.lower() for e in s.scalars(select(StaffUser.email)).all()}


def is_staff_key(store: Store, org_id: int, source: str, participant_key: str) -> bool:
    """True when the key is a staff address or any record under it is the organiser's or staff's."""
    with store.session() as s:
        staff = staff_emails(s)
        kind, _, value = participant_key.partition(":")
        if kind == "email" and value.strip().lower() in staff:
            return True
        records = s.scalars(select(MeetingAttendance).where(
            MeetingAttendance.organisation_id == org_id, MeetingAttendance.source == source,
            MeetingAttendance.participant_key == participant_key)).all()
        return any(is_staff_record(r, staff) for r in records)


#: ExternalResource kind of a coordinator's "ei asiakas" (not a client): no migration needed, the
#: marker is a row of the store's generic table, keyed by `not_a_client_key` (a hash: the
#: participant key may hold an e-mail address). Its state holds the source, the key and, for a
#: weak key, the ids of the records the coordinator was shown (a later "Vieras" may be a client).
NOT_A_CLIENT = "not_a_client"


def not_a_client_key(source: str, participant_key: str) -> str:
    return f"{source}:{hashlib.sha256(participant_key.encode('utf-8')).hexdigest()}"


def not_a_client_filter(s: Session, org_id: int) -> tuple[set[tuple[str, str]], set[int]]:
    """(stable keys marked not a client, record ids marked not a client) of the organisation."""
    keys: set[tuple[str, str]] = set()
    records: set[int] = set()
    for m in s.scalars(select(ExternalResource).where(ExternalResource.organisation_id == org_id,
                                                      ExternalResource.kind == NOT_A_CLIENT,
                                                      ExternalResource.status == "active")):
        state = m.state or {}
        if state.get("stable"):
            keys.add((str(state.get("source")), str(state.get("participant_key"))))
        records.update(int(r) for r in state.get("records", []))
    return keys, records


def unmatched_attendees(store: Store, org_id: int) -> list[UnmatchedAttendee]:
    """Attendees not joined to a client; staff, meeting organisers and those a coordinator
    marked "ei asiakas" are left out."""
    with store.session() as s:
        rows = s.scalars(
            select(MeetingAttendance)
            .where(MeetingAttendance.organisation_id == org_id, MeetingAttendance.client_id.is_(None))
            .order_by(MeetingAttendance.id)
        ).all()
        staff = staff_emails(s)
        not_keys, not_records = not_a_client_filter(s, org_id)
    rows = [r for r in rows if (r.source, r.participant_key) not in not_keys and r.id not in not_records]
    grouped: dict[tuple[str, str], list[MeetingAttendance]] = {}
    # A key seen once as staff is staff in every meeting (the organiser of one may attend another).
    staff_keys = {(r.source, r.participant_key) for r in rows if is_staff_record(r, staff)}
    for r in rows:
        if (r.source, r.participant_key) in staff_keys:
            continue
        grouped.setdefault((r.source, r.participant_key), []).append(r)
    out = []
    for (source, key), recs in sorted(grouped.items()):
        last = recs[-1]
        out.append(UnmatchedAttendee(
            source=source, participant_key=key, display_name=last.display_name, email=last.email,
            via_phone=any(r.via_phone for r in recs), records=len(recs),
            work_day_ids=sorted({r.work_day_id for r in recs if r.work_day_id is not None}),
            stable=is_stable_key(key),
            meetings=tuple((r.work_day_id, r.seconds) for r in recs if r.work_day_id is not None)))
    return out


def map_identity(store: Store, org_id: int, source: str, participant_key: str, client_id: int,
                 actor: str | int | None, *, work_day_ids: Iterable[int] | None = None) -> int:
    """A coordinator says who `participant_key` is; records are attached; audited.

    A stable key is remembered (later meetings resolve it by themselves) and every record of
    it is attached, including those a previous mapping gave to another client. A weak key
    (a display name, a masked number) is not remembered: only its unmatched records in
    meetings of the client's own groups are attached (narrowed to `work_day_ids` if given).
    Returns the number of records of the key now attached to the client. The affected days
    of both the new and the previous client are re-evaluated (a coordinator's own decision on
    a day is still kept). `actor` is a staff id (int) or an actor string such as "staff:3".
    Raises StaffIdentityError for the key of the organiser or other staff: their presence
    must never pay a client.
    """
    if is_staff_key(store, org_id, source, participant_key):
        raise StaffIdentityError("the attendee is the meeting's organiser or a staff member, not a client")
    staff_id = actor if isinstance(actor, int) else None
    actor_s = f"staff:{actor}" if isinstance(actor, int) else (actor or "system")
    stable = is_stable_key(participant_key)
    only_days = set(work_day_ids) if work_day_ids is not None else None
    with store.session() as s:
        client = s.get(Client, client_id)
        if client is None or client.organisation_id != org_id:
            raise ValueError("no such client in this organisation")
        previous: int | None = None
        if stable:
            existing = s.scalar(select(IdentityMapping).where(
                IdentityMapping.organisation_id == org_id, IdentityMapping.source == source,
                IdentityMapping.participant_key == participant_key))
            previous = existing.client_id if existing else None
            if existing is None:
                s.add(IdentityMapping(organisation_id=org_id, source=source, participant_key=participant_key,
                                      client_id=client_id, mapped_by_id=staff_id, mapped_at=utcnow()))
            else:
                existing.client_id = client_id
                existing.mapped_by_id = staff_id
                existing.mapped_at = utcnow()
        records = s.scalars(select(MeetingAttendance).where(
            MeetingAttendance.organisation_id == org_id, MeetingAttendance.source == source,
            MeetingAttendance.participant_key == participant_key)).all()
        movable = {None, previous} if stable else {None}
        allowed = None if stable else _member_work_days(s, client_id)
        work_days: set[int] = set()
        affected: set[int] = {client_id}
        for r in records:
            if r.client_id not in movable:
                continue
            if allowed is not None and (r.work_day_id is None or r.work_day_id not in allowed):
                continue
            if only_days is not None and r.work_day_id not in only_days:
                continue
            if r.client_id is not None:
                affected.add(r.client_id)
            r.client_id = client_id
            if not stable:  # the record says who decided, since no mapping row does
                r.raw = {**(r.raw or {}), "mapped_by": actor_s, "mapped_at": utcnow().isoformat()}
            if r.work_day_id is not None:
                work_days.add(r.work_day_id)
        attached = sum(1 for r in records if r.client_id == client_id)
        # The key itself may hold an e-mail address: the audit names the client by code only.
        s.add(AuditEvent(organisation_id=org_id, actor=actor_s, action="identity.map", entity="client",
                         entity_id=str(client_id),
                         details={"source": source, "client": client.code, "records": attached,
                                  "previous_client_id": previous, "reused": stable,
                                  "work_days": sorted(work_days)}))
    if work_days:
        # Both sides: the client who got the records, and the one they were taken from.
        reevaluate_work_days(store, org_id, sorted(work_days), client_ids=sorted(affected))
    return attached


def _member_work_days(s: Session, client_id: int) -> set[int]:
    """Work days of the groups the client is a member of, inside the membership."""
    rows = s.execute(select(WorkDay.id, WorkDay.day, Membership.start_date, Membership.end_date)
                     .join(Membership, Membership.group_id == WorkDay.group_id)
                     .where(Membership.client_id == client_id)).all()
    return {wid for wid, day, start, end in rows if start <= day and (end is None or day <= end)}


def unmap_identity(store: Store, org_id: int, source: str, participant_key: str, client_id: int,
                   actor: str | int | None, *, work_day_ids: Iterable[int] | None = None,
                   now: datetime | None = None) -> int:
    """Undo a coordinator's mapping: the key's records attached to the client go back to
    unmatched, the remembered mapping (a stable key's) is deleted, audited, and the affected
    days are re-evaluated as `map_identity` does (a day that became PRESENT through the mapping
    goes back; a coordinator's own decision on a day is still kept). Records the client's own
    account id or e-mail address names stay theirs: no mapping put them there.
    `work_day_ids` narrows a weak key's undo to those meetings; a stable key's mapping is
    undone whole (kept, it would attach the records again at the next sync).
    Returns the number of records detached."""
    staff_id = actor if isinstance(actor, int) else None
    actor_s = f"staff:{actor}" if isinstance(actor, int) else (actor or "system")
    stable = is_stable_key(participant_key)
    only_days = set(work_day_ids) if work_day_ids is not None and not stable else None
    with store.session() as s:
        client = s.get(Client, client_id)
        if client is None or client.organisation_id != org_id:
            raise ValueError("no such client in this organisation")
        mapping = s.scalar(select(IdentityMapping).where(
            IdentityMapping.organisation_id == org_id, IdentityMapping.source == source,
            IdentityMapping.participant_key == participant_key, IdentityMapping.client_id == client_id))
        if mapping is not None:
            s.delete(mapping)
        records = s.scalars(select(MeetingAttendance).where(
            MeetingAttendance.organisation_id == org_id, MeetingAttendance.source == source,
            MeetingAttendance.participant_key == participant_key, MeetingAttendance.client_id == client_id)).all()
        work_days: set[int] = set()
        detached = 0
        for r in records:
            if only_days is not None and r.work_day_id not in only_days:
                continue
            if names_client(r, client):
                continue
            r.client_id = None
            r.raw = {k: v for k, v in (r.raw or {}).items() if k not in ("mapped_by", "mapped_at")}
            detached += 1
            if r.work_day_id is not None:
                work_days.add(r.work_day_id)
        if detached or mapping is not None:
            s.add(AuditEvent(organisation_id=org_id, actor=actor_s, action="identity.unmap", entity="client",
                             entity_id=str(client_id),
                             details={"source": source, "client": client.code, "records": detached,
                                      "mapping_removed": mapping is not None,
                                      "staff_id": staff_id, "work_days": sorted(work_days)}))
    if work_days:
        reevaluate_work_days(store, org_id, sorted(work_days), client_ids=[client_id], now=now)
    return detached


def names_client(r: MeetingAttendance, client: Client) -> bool:
    """The record resolves to the client without any mapping (their account id or address)."""
    user_id = (r.raw or {}).get("user_id")
    if user_id and user_id in (client.entra_object_id, client.google_user_id):
        return True
    return bool(r.email and client.email and r.email.lower() == client.email.lower())
