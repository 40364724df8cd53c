"""A coordinator's corrections of attendance days: a decision recorded before or after the day,
a day returned to its computed status, and the day's history. Every change is audited.

What may be decided (the rules; docs/attendance-corrections.md says the same for coordinators):

- A decision is PRESENT, ABSENT or EXCUSED, with a reason (1-500 characters, not blank), on a
  planned (not cancelled) work day of a group the client belongs to that day.
- On a day the client is *expected* (`domain.participation.takes_part`): any of the three on a
  past day or today; in advance, EXCUSED (a doctor's appointment, an agreed day off) or PRESENT
  (e.g. agreed to work at the workshop that day). ABSENT in advance is refused: nobody is absent
  before the day, and an absence recorded early would hide the day's real evidence.
- On a day the client is *not expected* (outside their period or weekdays, before their
  briefing): refused for today and the future. A past day may still be decided when the caller
  says so explicitly (`allow_unexpected`; the CLI's --not-expected, and the register's own rows:
  the register lists a stored day no longer expected and counts it only with a decision).
- A decision on a day without an attendance row creates the row, computed PENDING: the nightly
  sync evaluates it as any other day, and never overwrites the decision (`evaluate`).

A re-run of the same decision (same status, same reason) or a revert of a day without a
decision writes nothing: no second audit event. Each audit event (`attendance.override`,
`attendance.override_removed`) records who (actor; a staff member also by id on the row), when,
the effective status before and after, the computed status, and the reason; the history and
the corrections report read them back (`reports.corrections`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from integrator.domain import weeks
from integrator.domain.finnish import fi_day
from integrator.domain.participation import member_on
from integrator.domain.types import AttendanceStatus, WorkDayStatus
from integrator.jobs.attendance.alerts import withdraw_untrue_alerts
from integrator.reports.corrections import DECIDED, REVERTED, CorrectionEvent, events
from integrator.reports.expected import expected_pairs
from integrator.reports.register import STATUS_LABEL
from integrator.store.db import Store
from integrator.store.models import AttendanceDay, AuditEvent, Client, Membership, PeerGroup, WorkDay
from integrator.store.types import utcnow

ALLOWED_OVERRIDES = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED})
REASON_MAX = 500  # AttendanceDay.override_reason is a String(500)
#: The words a coordinator may type for a decision: the register's Finnish words, the page's
#: ("Poissa, hyväksytty syy") and the English values.
STATUS_WORDS: dict[str, AttendanceStatus] = {
    "present": AttendanceStatus.PRESENT, "läsnä": AttendanceStatus.PRESENT, "lasna": AttendanceStatus.PRESENT,
    "absent": AttendanceStatus.ABSENT, "poissa": AttendanceStatus.ABSENT,
    "excused": AttendanceStatus.EXCUSED, "perusteltu": AttendanceStatus.EXCUSED,
    "perusteltu poissaolo": AttendanceStatus.EXCUSED, "hyväksytty poissaolo": AttendanceStatus.EXCUSED,
    "hyväksytty syy": AttendanceStatus.EXCUSED, "poissa, hyväksytty syy": AttendanceStatus.EXCUSED,
}
_FI_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class CorrectionError(ValueError):
    """A correction that cannot be accepted; the message (Finnish) says why, `field` names the input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Actor:
    """Who corrects: `label` is the audited actor ("staff:<id>" or "cli:<os user>"); a staff
    member's id is also kept on the row (`override_by_id`), and the register names them."""

    label: str
    staff_id: int | None = None
    via: str | None = None  # e.g. "cli:olli" when a staff member's decision is typed in a shell

    @classmethod
    def staff(cls, staff_id: int, via: str | None = None) -> Actor:
        return cls(f"staff:{staff_id}", staff_id, via)


@dataclass(frozen=True)
class Outcome:
    """What a correction or a revert did (or, as a preview, would do) to one day."""

    client_code: str
    group: str
    day: date
    attendance_day_id: int | None  # None: a preview of a day without a row yet
    before: AttendanceStatus | None  # effective status before; None: not evaluated
    after: AttendanceStatus | None
    computed: AttendanceStatus | None
    decision: AttendanceStatus | None  # the coordinator's decision in force afterwards
    reason: str | None  # the decision's reason in force afterwards
    changed: bool
    applied: bool  # False: a preview, nothing written

    def describe(self) -> str:
        """'K-0005 ti 24.11.2026 (g-tue): poissa -> perusteltu poissaolo (laskettu: poissa)'."""
        return (f"{self.client_code} {fi_date(self.day)} ({self.group}): {status_fi(self.before)} -> "
                f"{status_fi(self.after)} (laskettu: {status_fi(self.computed)})")


def status_fi(status: AttendanceStatus | None) -> str:
    return STATUS_LABEL[status] if status is not None else "ei arvioitu"


def fi_date(day: date) -> str:
    """'ti 8.12.2026': how the corrections name a day (domain.finnish.fi_day)."""
    return fi_day(day)


def parse_status(text: str | AttendanceStatus) -> AttendanceStatus:
    """A decision from its English or Finnish word; CorrectionError(field="status") otherwise."""
    if isinstance(text, AttendanceStatus):
        status = text
    else:
        word = " ".join(str(text).strip().lower().split())
        found = STATUS_WORDS.get(word) or (AttendanceStatus.PENDING if word in ("pending", "odottaa") else None)
        if found is None:
            raise CorrectionError(f"tuntematon tila {text!r}; odotettiin läsnä (present), poissa (absent) tai "
                                  "perusteltu poissaolo (excused)", "status")
        status = found
    if status not in ALLOWED_OVERRIDES:
        raise CorrectionError(f"tila {status.value!r} ei ole ohjaajan päätös; odotettiin läsnä, poissa tai "
                              "perusteltu poissaolo", "status")
    return status


def parse_day(text: str) -> date:
    """A date as YYYY-MM-DD or d.m.yyyy; CorrectionError(field="day") otherwise."""
    value = text.strip()
    try:
        m = _FI_DATE.match(value)
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise CorrectionError(f"päivämäärä {text!r} ei kelpaa; odotettiin muotoa 2026-11-24 tai 24.11.2026", "day")


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise CorrectionError("syy puuttuu: kirjoita korjauksen syy (1–500 merkkiä)", "reason")
    if len(text) > REASON_MAX:
        raise CorrectionError(f"syy on liian pitkä ({len(text)} merkkiä); enintään {REASON_MAX} merkkiä", "reason")
    return text


# --- which work day ---------------------------------------------------------------------------


def find_work_day(session: Session, client: Client, day: date, group_key: str | None = None, *,
                  group_ids: Collection[int] | None = None, work_day_id: int | None = None) -> tuple[WorkDay, bool]:
    """The client's work day on `day` and whether the client is expected on it.

    Candidates: planned work days that date of the groups the client belongs to that day, and
    any work day that date where a row of theirs is stored (a day no longer expected). When two
    groups meet that day, the expected one is chosen; two expected ones need `group_key`.
    `group_ids`: only these groups' days (what the caller may see); `work_day_id`: only that day.
    """
    members = [m for m in session.scalars(select(Membership).where(Membership.client_id == client.id))
               if member_on(m, day)]
    stored = select(AttendanceDay.work_day_id).where(AttendanceDay.client_id == client.id)
    q = (select(WorkDay).join(PeerGroup, WorkDay.group_id == PeerGroup.id)
         .where(WorkDay.day == day, PeerGroup.organisation_id == client.organisation_id,
                or_(WorkDay.group_id.in_([m.group_id for m in members]), WorkDay.id.in_(stored))))
    if group_key is not None:
        q = q.where(PeerGroup.key == group_key)
    if group_ids is not None:
        q = q.where(WorkDay.group_id.in_(list(group_ids)))
    if work_day_id is not None:
        q = q.where(WorkDay.id == work_day_id)
    candidates = list(session.scalars(q.order_by(WorkDay.id)))
    if not candidates:
        where = f" ryhmässä {group_key}" if group_key else ""
        raise CorrectionError(f"asiakkaalla {client.code} ei ole toimintapäivää {fi_date(day)}{where}", "day")
    planned = [w for w in candidates if w.status == WorkDayStatus.PLANNED]
    if not planned:
        raise CorrectionError(f"toimintapäivä {fi_date(day)} on peruttu: peruttua päivää ei korjata", "day")
    expected = {p.work_day_id for p in expected_pairs(session, planned, [client.id])}
    chosen = [w for w in planned if w.id in expected] or planned
    if len(chosen) > 1:
        keys = ", ".join(sorted(w.group.key for w in chosen))
        raise CorrectionError(f"asiakkaalla {client.code} on {fi_date(day)} kaksi toimintapäivää ({keys}); "
                              "valitse ryhmä", "group")
    return chosen[0], chosen[0].id in expected


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise CorrectionError("asiakasta ei löydy", "client")
    return client


# --- correct ----------------------------------------------------------------------------------


def correct(store: Store, client_id: int, day: date, status: AttendanceStatus | str, reason: str, actor: Actor,
            *, group_key: str | None = None, work_day_id: int | None = None, today: date | None = None,
            allow_unexpected: bool = False, apply: bool = True) -> Outcome:
    """Record a decision on the client's work day `day` (see the module docstring for the rules).

    `today`: the service's Finnish date (default: the wall clock's); `apply=False`: a preview;
    `work_day_id`: the work day `find_work_day` chose for the caller (a web request checks its group).
    """
    new, text = parse_status(status), check_reason(reason)
    with store.session() as s:
        client = _client(s, client_id)
        wd, expected = find_work_day(s, client, day, group_key, work_day_id=work_day_id)
        return _decide(s, client, wd, expected, new, text, actor, today or weeks.today(), allow_unexpected, apply)


def correct_day(store: Store, attendance_day_id: int, status: AttendanceStatus | str, reason: str, actor: Actor,
                *, today: date | None = None, apply: bool = True) -> Outcome:
    """As `correct`, for a stored row (the register's cell). The register lists a stored past day
    even when it is no longer expected, so such a day may be decided here (never a future one)."""
    new, text = parse_status(status), check_reason(reason)
    with store.session() as s:
        row = s.get(AttendanceDay, attendance_day_id)
        if row is None:
            raise CorrectionError("läsnäolopäivää ei löydy", "attendance_day")
        client, wd = _client(s, row.client_id), s.get(WorkDay, row.work_day_id)
        assert wd is not None
        if wd.status != WorkDayStatus.PLANNED:
            raise CorrectionError(f"toimintapäivä {fi_date(wd.day)} on peruttu: peruttua päivää ei korjata", "day")
        expected = bool(expected_pairs(s, [wd], [client.id]))
        return _decide(s, client, wd, expected, new, text, actor, today or weeks.today(), True, apply)


def _decide(s: Session, client: Client, wd: WorkDay, expected: bool, new: AttendanceStatus, reason: str,
            actor: Actor, today: date, allow_unexpected: bool, apply: bool) -> Outcome:
    future = wd.day > today
    if not expected and (future or not allow_unexpected):
        raise CorrectionError(
            f"{fi_date(wd.day)} ei ole asiakkaan {client.code} odotettu toimintapäivä (jakso, viikonpäivät, ryhmä "
            "tai tietosuojaperehdytys)" + ("" if future else "; menneen päivän voi silti korjata erikseen sallimalla "
                                              "(komentorivillä --not-expected)"), "day")
    if future and new is AttendanceStatus.ABSENT:
        raise CorrectionError(
            f"poissaoloa ei voi merkitä etukäteen ({fi_date(wd.day)} on vasta tulossa); merkitse sovittu poissaolo "
            "perustelluksi (excused) tai korjaa päivä sen jälkeen", "status")
    row = s.scalar(select(AttendanceDay).where(AttendanceDay.client_id == client.id,
                                               AttendanceDay.work_day_id == wd.id))
    before = row.status if row is not None else None
    computed = row.computed_status if row is not None else AttendanceStatus.PENDING
    unchanged = row is not None and row.override_status is new and row.override_reason == reason
    outcome = Outcome(client.code, wd.group.key, wd.day, row.id if row is not None else None, before, new,
                      computed, new, reason, changed=not unchanged, applied=apply and not unchanged)
    if unchanged or not apply:
        return outcome
    if row is None:
        # Decided before the sync has evaluated the day: the sync fills in the computed side.
        row = AttendanceDay(client_id=client.id, work_day_id=wd.id, computed_status=AttendanceStatus.PENDING,
                            minutes=0, evidence={"reasons": ["Ei vielä arvioitu"]}, computed_at=utcnow())
        s.add(row)
    row.override_status, row.override_reason = new, reason
    row.override_by_id, row.override_at = actor.staff_id, utcnow()
    s.flush()
    _audit(s, client, wd, row, DECIDED, before, new, reason, actor, advance=future)
    if before is AttendanceStatus.ABSENT and new is not AttendanceStatus.ABSENT:
        _follow_alerts(s, client, today, actor)
    return replace(outcome, attendance_day_id=row.id)


# --- revert -----------------------------------------------------------------------------------


def revert(store: Store, client_id: int, day: date, reason: str, actor: Actor, *, group_key: str | None = None,
           work_day_id: int | None = None, apply: bool = True) -> Outcome:
    """Return the day to its computed status: the decision is removed, audited with the reason.

    A day without a decision is left as it is (nothing written). A row made only to carry an
    advance decision stays, computed PENDING, and the next sync evaluates it as any other day.
    """
    text = check_reason(reason)
    with store.session() as s:
        client = _client(s, client_id)
        wd, _ = find_work_day(s, client, day, group_key, work_day_id=work_day_id)
        row = s.scalar(select(AttendanceDay).where(AttendanceDay.client_id == client.id,
                                                   AttendanceDay.work_day_id == wd.id))
        return _revert(s, client, wd, row, text, actor, apply)


def revert_day(store: Store, attendance_day_id: int, reason: str, actor: Actor, *, apply: bool = True) -> Outcome:
    text = check_reason(reason)
    with store.session() as s:
        row = s.get(AttendanceDay, attendance_day_id)
        if row is None:
            raise CorrectionError("läsnäolopäivää ei löydy", "attendance_day")
        wd = s.get(WorkDay, row.work_day_id)
        assert wd is not None
        return _revert(s, _client(s, row.client_id), wd, row, text, actor, apply)


def _revert(s: Session, client: Client, wd: WorkDay, row: AttendanceDay | None, reason: str, actor: Actor,
            apply: bool) -> Outcome:
    if row is None or row.override_status is None:
        status = row.status if row is not None else None
        return Outcome(client.code, wd.group.key, wd.day, row.id if row is not None else None, status, status,
                       row.computed_status if row is not None else None, None,
                       None, changed=False, applied=False)
    before = row.status
    outcome = Outcome(client.code, wd.group.key, wd.day, row.id, before, row.computed_status, row.computed_status,
                      None, None, changed=True, applied=apply)
    if not apply:
        return outcome
    row.override_status = row.override_reason = row.override_by_id = row.override_at = None
    _audit(s, client, wd, row, REVERTED, before, row.computed_status, reason, actor, advance=False)
    if before is AttendanceStatus.ABSENT and row.computed_status is not AttendanceStatus.ABSENT:
        _follow_alerts(s, client, weeks.today(), actor)
    return outcome


def _follow_alerts(s: Session, client: Client, today: date, actor: Actor) -> None:
    """An absence the coordinator just took back must not reach the social worker: an alert
    still waiting to be sent is withdrawn now, not at the next nightly sync (one already sent
    gets its correction queued), in the same transaction as the decision."""
    s.flush()
    withdraw_untrue_alerts(s, client.organisation_id, today=today, actor=actor.label)


def _audit(s: Session, client: Client, wd: WorkDay, row: AttendanceDay, action: str,
           before: AttendanceStatus | None, after: AttendanceStatus, reason: str, actor: Actor, *,
           advance: bool) -> None:
    details: dict[str, object] = {
        "v": 2, "client": client.code, "day": wd.day.isoformat(), "group": wd.group.key, "reason": reason,
        "from": before.value if before is not None else None, "to": after.value,
        "computed": row.computed_status.value, "advance": advance}
    if actor.via:
        details["via"] = actor.via
    s.add(AuditEvent(organisation_id=client.organisation_id, actor=actor.label, action=action,
                     entity="attendance_day", entity_id=str(row.id), details=details))


# --- history ----------------------------------------------------------------------------------


def history(store: Store, client_id: int, day: date | None = None, *, last: date | None = None
            ) -> list[CorrectionEvent]:
    """The client's correction events, oldest first: of `day`, of [day, last], or (no day) all."""
    with store.session() as s:
        client = _client(s, client_id)
        first = day or date.min
        return events(s, client.organisation_id, first, last or (day or date.max), client_code=client.code)
