"""Who is who in a meeting: attendee records joined to clients.

Order of the join: the stable account id (Entra object id for Teams, Google user id for Meet),
then a coordinator's one-time mapping of the participant key, then the e-mail address
(case-insensitive). A coordinator's explicit mapping wins over an e-mail heuristic; a stable
id wins over both because it cannot be mistyped. Whoever stays unmatched (guests, phone
dial-ins, people joining under another name) is kept and listed for the coordinator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrator.store.db import Store
from integrator.store.models import AuditEvent, Client, IdentityMapping, MeetingAttendance, StaffUser
from integrator.store.types import utcnow

_PHONE = re.compile(r"^\+?[0-9][0-9 ()*\-]{4,}$")


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
        clients = session.scalars(select(Client).where(Client.organisation_id == org_id)).all()
        maps = session.scalars(select(IdentityMapping).where(IdentityMapping.organisation_id == org_id)).all()
        staff = session.scalars(select(StaffUser.email)).all()
        return cls(
            by_entra={c.entra_object_id: c.id for c in clients if c.entra_object_id},
            by_google={c.google_user_id: c.id for c in clients if c.google_user_id},
            by_email={c.email.lower(): c.id for c in clients if c.email},
            mappings={(m.source, m.participant_key): m.client_id for m in maps},
            staff_emails={e.lower() for e in staff},
        )

    def resolve(self, source: str, *, user_id: str | None, key: str, email: str | None) -> int | None:
        if user_id:
            table = self.by_entra if source == "teams" else self.by_google
            if user_id in table:
                return table[user_id]
        if (source, key) in self.mappings:
            return self.mappings[(source, key)]
        if email and email.lower() in self.by_email:
            return self.by_email[email.lower()]
        return None

    def is_staff(self, email: str | None) -> bool:
        return bool(email) and email.lower() in self.staff_emails  # type: ignore[union-attr]


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


def unmatched_attendees(store: Store, org_id: int) -> list[UnmatchedAttendee]:
    """Attendees not joined to a client; staff and meeting organisers are left out."""
    with store.session() as s:
        rows = s.scalars(
            select(MeetingAttendance)
            .where(MeetingAttendance.organisation_id == org_id, MeetingAttendance.client_id.is_(None))
            .order_by(MeetingAttendance.id)
        ).all()
        staff = {e.lower() for e in s.scalars(select(StaffUser.email)).all()}
    grouped: dict[tuple[str, str], list[MeetingAttendance]] = {}
    for r in rows:
        if (r.email and r.email.lower() in staff) or str(r.raw.get("role", "")).lower() == "organizer":
            continue
        grouped.setdefault((r.source, r.participant_key), []).append(r)
    out = []
    for (source, key), recs in sorted(grouped.items()):
        last = recs[-1]
        out.append(UnmatchedAttendee(
            source=source, participant_key=key, display_name=last.display_name, email=last.email,
            via_phone=any(r.via_phone for r in recs), records=len(recs),
            work_day_ids=sorted({r.work_day_id for r in recs if r.work_day_id is not None})))
    return out


def map_identity(store: Store, org_id: int, source: str, participant_key: str, client_id: int,
                 actor: str | int | None) -> int:
    """Record once that `participant_key` is this client; attach past records; audit.

    Returns the number of attendance records now attached to the client. The affected days
    are re-evaluated (a coordinator's own decision on a day is still kept).
    `actor` is a staff id (int) or an actor string such as "staff:3".
    """
    staff_id = actor if isinstance(actor, int) else None
    actor_s = f"staff:{actor}" if isinstance(actor, int) else (actor or "system")
    with store.session() as s:
        client = s.get(Client, client_id)
        if client is None or client.organisation_id != org_id:
            raise ValueError("no such client in this organisation")
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
        work_days: set[int] = set()
        for r in records:
            if r.client_id in (None, previous):
                r.client_id = client_id
                if r.work_day_id is not None:
                    work_days.add(r.work_day_id)
        # The key itself may hold an e-mail address: the audit names the client by code only.
        s.add(AuditEvent(organisation_id=org_id, actor=actor_s, action="identity.map", entity="client",
                         entity_id=str(client_id),
                         details={"source": source, "client": client.code, "records": len(records),
                                  "previous_client_id": previous}))
        attached = len(records)
    if work_days:
        from integrator.jobs.attendance import reevaluate_work_days

        reevaluate_work_days(store, org_id, sorted(work_days), client_ids=[client_id])
    return attached


def attach_clients(session: Session, index: ClientIndex, rows: Iterable[MeetingAttendance]) -> None:
    """Join freshly stored attendee rows to clients (used by the harvest)."""
    for r in rows:
        if r.client_id is None:
            user_id = r.raw.get("user_id") if isinstance(r.raw, dict) else None
            r.client_id = index.resolve(r.source, user_id=user_id, key=r.participant_key, email=r.email)


def count_unmatched(session: Session, org_id: int) -> int:
    n = session.scalar(select(func.count(MeetingAttendance.id)).where(
        MeetingAttendance.organisation_id == org_id, MeetingAttendance.client_id.is_(None)))
    return int(n or 0)
