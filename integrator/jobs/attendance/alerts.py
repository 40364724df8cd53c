"""Absence alerts: N consecutive absences tell the client's responsible worker, once per streak,
and an alert that no longer holds is withdrawn (or, once sent, corrected).

The messages carry the client's pseudonymous code, the group and the dates, nothing more:
no name, no reasons, no evidence (the worker looks the client up in their own system).

Only final absences count: a day's *effective* status ABSENT (a coordinator's decision, else
the computed one); PENDING never does. Each alert keeps its days in `OutboxMessage.meta`, so:
- a streak that overlaps the days of an alert already queued or sent is the same absence and
  never alerts again, whether it grew at its end or its first day moved earlier (a late mapping,
  a `--since` run); alerts from before the days were kept count as their key's first day;
- at every run, an alert whose days are not all ABSENT any more (present, excused, pending
  again, no longer expected) is cancelled before it goes, or, if it went (or maybe went), one
  short correction follows it to the same worker. Both are audited (`alert.withdrawn`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, select, union
from sqlalchemy.orm import Session

from integrator.config import Rules
from integrator.domain.attendance import absence_streaks
from integrator.domain.finnish import fi_date
from integrator.domain.types import AttendanceStatus, MessageKind, OutboxStatus, WorkDayStatus
from integrator.jobs.notify.outbox import DUE, NewMessage, cancel_message, enqueue
from integrator.reports.expected import expected_pairs
from integrator.store.models import (
    AttendanceDay,
    AuditEvent,
    Client,
    Membership,
    OutboxMessage,
    PeerGroup,
    Period,
    StaffUser,
    WorkDay,
)

LOOKBACK_DAYS = 90  # streaks (and the alerts followed up) are read from this far back

#: Not delivered: an untrue alert is simply cancelled. FAILED too, so nobody requeues it.
UNDELIVERED = (*DUE, OutboxStatus.FAILED)
#: Delivered, or maybe delivered: an untrue alert gets a correction. UNCERTAIN is corrected as
#: if sent: a worker who never got the alert loses a moment over a correction about it, while a
#: worker who did and hears nothing may start an inquiry with a vulnerable client for nothing.
#: (SENDING is in a sender's hands right now: it is followed up at the next run.)
DELIVERED = (OutboxStatus.SENT, OutboxStatus.UNCERTAIN)

#: Why a day of an alert no longer is an absence, for the audit (no reasons of the client's own).
NOT_ABSENT = {AttendanceStatus.PRESENT: "present", AttendanceStatus.EXCUSED: "excused",
              AttendanceStatus.PENDING: "pending"}
NOT_EXPECTED = "not_expected"


def alert_key(client_id: int, first_day: date) -> str:
    return f"absence_alert:{client_id}:{first_day.isoformat()}"


def correction_key(alert_id: int) -> str:
    return f"absence_alert_correction:{alert_id}"


@dataclass(frozen=True)
class AlertResult:
    streaks: int
    queued: int
    without_worker: list[str]  # client codes whose period names no responsible worker
    withdrawn: int = 0  # alerts found untrue (cancelled, or corrected when already sent)
    corrections: int = 0  # corrections queued for alerts already sent


def _span(days: list[date]) -> str:
    """First to last day the Finnish way: 8.12.2026, 8.–9.12.2026, 30.11.–2.12.2026."""
    first, last = min(days), max(days)
    if first == last:
        return fi_date(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}.–{fi_date(last)}"
    if first.year == last.year:
        return f"{first.day}.{first.month}.–{fi_date(last)}"
    return f"{fi_date(first)}–{fi_date(last)}"


def message_text(code: str, groups: list[str], days: list[date]) -> tuple[str, str]:
    subject = f"Toistuvia poissaoloja: asiakas {code}"
    body = (f"Asiakas {code} (ryhmä {', '.join(groups)}) on ollut poissa etäkuntouttavasta "
            f"työtoiminnasta {len(days)} peräkkäisenä toimintapäivänä: {', '.join(fi_date(d) for d in days)}.\n")
    return subject, body


def correction_text(code: str, groups: list[str], not_absent: list[date], alert_days: list[date]) -> tuple[str, str]:
    subject = f"Korjaus poissaoloilmoitukseen: asiakas {code}"
    body = (f"Korjaus: asiakas {code} (ryhmä {', '.join(groups)}) ei ollutkaan poissa "
            f"{', '.join(fi_date(d) for d in sorted(not_absent))}; aiempi ilmoitus poissaoloista "
            f"{_span(alert_days)} ei pidä enää paikkaansa.\n")
    return subject, body


@dataclass
class _Register:
    """The effective status of each client's expected work days in the window, and their groups."""

    start: date
    days: dict[int, dict[date, AttendanceStatus]] = field(default_factory=lambda: defaultdict(dict))
    groups: dict[tuple[int, date], tuple[str, str]] = field(default_factory=dict)  # (key, name)


def _read_register(session: Session, org_id: int, start: date, today: date,
                   groups: Select[int] | None = None,
                   clients: Select[Any] | CompoundSelect[Any] | None = None) -> _Register:
    # The same days the register counts: planned work days only (a cancelled day is nobody's
    # absence), and only days the client is expected on, unless a coordinator decided the day;
    # a day before the client joined the product is never an absence (reports.expected).
    q = (select(AttendanceDay, WorkDay, PeerGroup.key, PeerGroup.name)
         .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
         .join(PeerGroup, WorkDay.group_id == PeerGroup.id)
         .where(PeerGroup.organisation_id == org_id, WorkDay.day >= start, WorkDay.day <= today,
                WorkDay.status == WorkDayStatus.PLANNED))
    if groups is not None:
        q = q.where(PeerGroup.id.in_(groups))
    if clients is not None:
        q = q.where(AttendanceDay.client_id.in_(clients))
    rows = session.execute(q).all()
    work_days = list({w.id: w for _, w, _, _ in rows}.values())
    only = {a.client_id for a, _, _, _ in rows} if clients is not None else None
    expected = {(p.client_id, p.work_day_id): p for p in expected_pairs(session, work_days, only)}
    reg = _Register(start)
    for a, wd, group_key, group_name in rows:
        status = a.status
        if a.override_status is None:
            pair = expected.get((a.client_id, a.work_day_id))
            if pair is None or (not pair.absence_possible and status is not AttendanceStatus.PRESENT):
                continue
        # Two groups on one day (rare): any attended or excused day is not an absence.
        prev = reg.days[a.client_id].get(wd.day)
        if prev is None or prev is AttendanceStatus.ABSENT or status is AttendanceStatus.PRESENT:
            reg.days[a.client_id][wd.day] = status
        reg.groups[(a.client_id, wd.day)] = (group_key, group_name)
    return reg


def absence_register(session: Session, org_id: int, *, start: date, today: date, groups: Select[int] | None = None,
                     clients: Select[int] | None = None) -> dict[int, dict[date, AttendanceStatus]]:
    """Each client's effective status on the work days between the dates that count for absence
    streaks (the days the alerts read), limited to `groups` and `clients` (selects of ids) when
    given: the dashboard shows the streaks with the same rule the alerts follow."""
    return _read_register(session, org_id, start, today, groups, clients).days


def _followed_clients(org_id: int) -> Select[Any]:
    """The clients with an alert the withdrawal may follow up: only their days can make one untrue."""
    return (select(OutboxMessage.client_id).where(
        OutboxMessage.organisation_id == org_id, OutboxMessage.kind == MessageKind.ABSENCE_ALERT,
        OutboxMessage.client_id.is_not(None)).distinct())


def _maybe_streak(org_id: int, start: date, today: date, recent: date, threshold: int) -> Select[Any]:
    """The clients who may have a recent streak: at least `threshold` absent days in the window
    read, one of them since `recent`. A superset, counted in the store (a day of two groups
    counts twice here; the register decides): every other client's register has no streak the
    alerts would count, so the nightly read follows the absences, not the client count."""
    effective = func.coalesce(AttendanceDay.override_status, AttendanceDay.computed_status)
    return (select(AttendanceDay.client_id)
            .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
            .join(PeerGroup, WorkDay.group_id == PeerGroup.id)
            .where(PeerGroup.organisation_id == org_id, WorkDay.day >= start, WorkDay.day <= today,
                   WorkDay.status == WorkDayStatus.PLANNED, effective == AttendanceStatus.ABSENT)
            .group_by(AttendanceDay.client_id)
            .having(func.count() >= threshold, func.max(WorkDay.day) >= recent))


def alert_days(alert: OutboxMessage) -> list[date]:
    """The days an alert told of; an alert from before they were kept: its key's first day."""
    days = (alert.meta or {}).get("days")
    if days:
        return sorted(date.fromisoformat(d) for d in days)
    return [date.fromisoformat(alert.key.split(":")[2])]


def _alerts(session: Session, org_id: int) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.organisation_id == org_id, OutboxMessage.kind == MessageKind.ABSENCE_ALERT)
        .order_by(OutboxMessage.id)))


def _withdrawn(alert: OutboxMessage) -> bool:
    return bool((alert.meta or {}).get("withdrawn"))


def withdraw_untrue_alerts(session: Session, org_id: int, *, today: date,
                           actor: str = "system:nightly_sync") -> tuple[int, int]:
    """Cancel (or correct, once sent) every alert with a day that is no longer ABSENT.

    Returns (alerts withdrawn, corrections queued). Alerts whose days reach back before the
    window read are left alone: their days are not re-evaluated any more either.
    """
    reg = _read_register(session, org_id, today - timedelta(days=LOOKBACK_DAYS), today,
                         clients=_followed_clients(org_id))
    return _withdraw(session, org_id, reg, actor)


def _withdraw(session: Session, org_id: int, reg: _Register, actor: str) -> tuple[int, int]:
    withdrawn = corrections = 0
    for alert in _alerts(session, org_id):
        if _withdrawn(alert) or alert.status not in (*UNDELIVERED, *DELIVERED) or alert.client_id is None:
            continue
        days = alert_days(alert)
        if days[0] < reg.start:
            continue
        statuses = reg.days.get(alert.client_id, {})
        why = {d: NOT_ABSENT.get(statuses[d], "") if d in statuses else NOT_EXPECTED
               for d in days if statuses.get(d) is not AttendanceStatus.ABSENT}
        if not why:
            continue
        was = alert.status
        correction: str | None = None
        if was is not OutboxStatus.SENT:
            if not cancel_message(session, alert.id, "withdrawn: the absence no longer holds",
                                  (*UNDELIVERED, OutboxStatus.UNCERTAIN)):
                continue  # a sender claimed it meanwhile: the next run sees how it ended
        if was in DELIVERED:
            correction = correction_key(alert.id)
            corrections += _queue_correction(session, alert, sorted(why), days, reg)
        code = session.scalar(select(Client.code).where(Client.id == alert.client_id))
        session.add(AuditEvent(
            organisation_id=org_id, actor=actor, action="alert.withdrawn", entity="outbox_message",
            entity_id=str(alert.id),
            details={"client": code, "days": [d.isoformat() for d in days],
                     "why": {d.isoformat(): w for d, w in sorted(why.items())},
                     "from": was.value, "correction": correction}))
        session.refresh(alert)
        alert.meta = {**(alert.meta or {}), "days": [d.isoformat() for d in days],
                      "withdrawn": {d.isoformat(): w for d, w in sorted(why.items())}}
        withdrawn += 1
    session.flush()
    return withdrawn, corrections


def _queue_correction(session: Session, alert: OutboxMessage, not_absent: list[date], days: list[date],
                      reg: _Register) -> int:
    assert alert.client_id is not None
    code = session.scalar(select(Client.code).where(Client.id == alert.client_id)) or ""
    groups = list((alert.meta or {}).get("groups") or []) or _group_names(session, alert.client_id, days, reg)
    subject, body = correction_text(code, groups, not_absent, days)
    return enqueue(session, [NewMessage(
        key=correction_key(alert.id), kind=MessageKind.ABSENCE_ALERT_CORRECTION,
        organisation_id=alert.organisation_id, to_address=alert.to_address, subject=subject, body_text=body,
        body_html=None, client_id=alert.client_id, staff_user_id=alert.staff_user_id,
        meta={"alert": alert.id, "days": [d.isoformat() for d in not_absent]})])


def _group_names(session: Session, client_id: int, days: list[date], reg: _Register) -> list[str]:
    """An alert from before its groups were kept: the groups of its days, else the client's."""
    names = {reg.groups[(client_id, d)][1] for d in days if (client_id, d) in reg.groups}
    if not names:
        names = set(session.scalars(select(PeerGroup.name).join(Membership, Membership.group_id == PeerGroup.id)
                                    .where(Membership.client_id == client_id)))
    return sorted(names)


def queue_absence_alerts(session: Session, org_id: int, rules: Rules, *, today: date,
                         actor: str = "system:nightly_sync") -> AlertResult:
    """Withdraw the alerts that no longer hold, then queue one alert per new streak that reached
    the threshold, is recent (in the sync window) and overlaps no alert already made.

    The register is read for the clients these can concern only: those with an alert to follow
    up, and those with enough recent absent days for a streak (`_maybe_streak`)."""
    start = today - timedelta(days=LOOKBACK_DAYS)
    recent = today - timedelta(days=rules.reevaluate_days)
    reg = _read_register(session, org_id, start, today, clients=union(
        _followed_clients(org_id), _maybe_streak(org_id, start, today, recent, rules.absence_alert_streak)))
    withdrawn, corrections = _withdraw(session, org_id, reg, actor)
    alerts = _alerts(session, org_id)
    taken = {a.key for a in alerts}
    told: dict[int, set[date]] = defaultdict(set)  # days each client's standing alerts tell of
    for a in alerts:
        if a.client_id is not None and not _withdrawn(a):
            told[a.client_id].update(alert_days(a))
    messages: list[NewMessage] = []
    streak_count = 0
    without: list[str] = []
    for client_id, days in reg.days.items():
        for streak in absence_streaks(sorted(days.items()), rules.absence_alert_streak):
            if streak[-1] < recent:
                continue
            streak_count += 1
            if told[client_id] & set(streak):
                continue  # the same absence: it grew, or its first day moved earlier
            client = session.get(Client, client_id)
            assert client is not None
            worker = _responsible_worker(session, client_id, streak[-1])
            if worker is None:
                without.append(client.code)
                continue
            groups = sorted({reg.groups[(client_id, d)] for d in streak})
            subject, body = message_text(client.code, [name for _, name in groups], streak)
            messages.append(NewMessage(
                key=_free_key(alert_key(client_id, streak[0]), taken), kind=MessageKind.ABSENCE_ALERT,
                organisation_id=org_id, to_address=worker.email, subject=subject, body_text=body, body_html=None,
                client_id=client_id, staff_user_id=worker.id, meta=_meta(streak, groups)))
    queued = enqueue(session, messages)
    return AlertResult(streaks=streak_count, queued=queued, without_worker=sorted(without),
                       withdrawn=withdrawn, corrections=corrections)


def _meta(streak: list[date], groups: list[tuple[str, str]]) -> dict[str, Any]:
    return {"days": [d.isoformat() for d in streak], "group_keys": [k for k, _ in groups],
            "groups": [name for _, name in groups]}


def _free_key(key: str, taken: set[str]) -> str:
    """The streak's key, or, when an alert withdrawn earlier holds it (the days turned absent
    again), the next free `<key>:<n>`: the withdrawn alert stays as it was, for the record."""
    n = 2
    free = key
    while free in taken:
        free, n = f"{key}:{n}", n + 1
    return free


def _responsible_worker(session: Session, client_id: int, day: date) -> StaffUser | None:
    periods = session.scalars(select(Period).where(Period.client_id == client_id)
                              .order_by(Period.start_date.desc())).all()
    for p in periods:
        if p.start_date <= day <= p.end_date and p.responsible_worker_id is not None:
            return session.get(StaffUser, p.responsible_worker_id)
    for p in periods:  # the period ended since: its worker still needs to know
        if p.responsible_worker_id is not None:
            return session.get(StaffUser, p.responsible_worker_id)
    return None
