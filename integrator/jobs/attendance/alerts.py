"""Absence alerts: N consecutive absences tell the client's responsible worker, once per streak.

The message carries the client's pseudonymous code, the group and the dates, nothing more:
no name, no reasons, no evidence (the worker looks the client up in their own system).
One outbox key per streak (client + first day), so a growing streak or a re-run never sends
a second message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config import Rules
from integrator.domain.attendance import absence_streaks
from integrator.domain.types import AttendanceStatus, MessageKind, WorkDayStatus
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.reports.expected import expected_pairs
from integrator.store.models import AttendanceDay, Client, PeerGroup, Period, StaffUser, WorkDay

LOOKBACK_DAYS = 90  # a streak is read from this far back, so its first day (the key) is stable


def alert_key(client_id: int, first_day: date) -> str:
    return f"absence_alert:{client_id}:{first_day.isoformat()}"


@dataclass(frozen=True)
class AlertResult:
    streaks: int
    queued: int
    without_worker: list[str]  # client codes whose period names no responsible worker


def _fi(d: date) -> str:
    return f"{d.day}.{d.month}.{d.year}"


def message_text(code: str, groups: list[str], days: list[date]) -> tuple[str, str]:
    subject = f"Toistuvia poissaoloja: asiakas {code}"
    body = (f"Asiakas {code} (ryhmä {', '.join(groups)}) on ollut poissa etäkuntouttavasta "
            f"työtoiminnasta {len(days)} peräkkäisenä toimintapäivänä: {', '.join(_fi(d) for d in days)}.\n")
    return subject, body


def queue_absence_alerts(session: Session, org_id: int, rules: Rules, *, today: date) -> AlertResult:
    """Queue one alert per new streak that reached the threshold and is recent (in the sync window)."""
    start = today - timedelta(days=LOOKBACK_DAYS)
    # The same days the register counts: planned work days only (a cancelled day is nobody's
    # absence), and only days the client is expected on, unless a coordinator decided the day.
    rows = session.execute(
        select(AttendanceDay, WorkDay, PeerGroup.name)
        .join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
        .join(PeerGroup, WorkDay.group_id == PeerGroup.id)
        .where(PeerGroup.organisation_id == org_id, WorkDay.day >= start, WorkDay.day <= today,
               WorkDay.status == WorkDayStatus.PLANNED)
    ).all()
    work_days = list({w.id: w for _, w, _ in rows}.values())
    expected = {(p.client_id, p.work_day_id) for p in expected_pairs(session, work_days)}
    per_client: dict[int, dict[date, AttendanceStatus]] = defaultdict(dict)
    groups_on: dict[tuple[int, date], str] = {}
    for a, wd, group_name in rows:
        if (a.client_id, a.work_day_id) not in expected and a.override_status is None:
            continue
        day = wd.day
        status = a.status
        # Two groups on one day (rare): any attended or excused day is not an absence.
        prev = per_client[a.client_id].get(day)
        if prev is None or prev is AttendanceStatus.ABSENT or status is AttendanceStatus.PRESENT:
            per_client[a.client_id][day] = status
        groups_on[(a.client_id, day)] = group_name
    recent = today - timedelta(days=rules.reevaluate_days)
    messages: list[NewMessage] = []
    streak_count = 0
    without: list[str] = []
    for client_id, days in per_client.items():
        for streak in absence_streaks(sorted(days.items()), rules.absence_alert_streak):
            if streak[-1] < recent:
                continue
            streak_count += 1
            client = session.get(Client, client_id)
            assert client is not None
            worker = _responsible_worker(session, client_id, streak[-1])
            if worker is None:
                without.append(client.code)
                continue
            groups = sorted({groups_on[(client_id, d)] for d in streak})
            subject, body = message_text(client.code, groups, streak)
            messages.append(NewMessage(key=alert_key(client_id, streak[0]), kind=MessageKind.ABSENCE_ALERT,
                                       organisation_id=org_id, to_address=worker.email, subject=subject,
                                       body_text=body, body_html=None, client_id=client_id,
                                       staff_user_id=worker.id))
    queued = enqueue(session, messages)
    return AlertResult(streaks=streak_count, queued=queued, without_worker=sorted(without))


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
