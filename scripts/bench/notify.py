"""Benchmark: a week's meetings, letters and reminders for 1,000 clients on the sandbox.

    .venv/bin/python scripts/bench/notify.py [--clients 1000] [--mail graph|gmail] [--faults 0.1]

Runs the week twice against one sandbox tenant and one SQLite store: the first run creates
every meeting and sends every letter and reminder; the second run (everything again, same
moments) must send nothing. Sending is paced to the real limits (Exchange 30/min, Gmail
60/min) on the *sandbox* clock: the pacing's sleeps move that clock instead of the wall clock,
so the sandbox's own quota check and our pacing agree, and the run takes seconds.

The last line printed is one JSON object:
    requests         HTTP requests the sandbox served in the first run (a $batch counts once)
    wall_s           wall-clock seconds of the first run
    messages_sent    messages the first run sent
    second_run_sent  messages the second run sent (must be 0)
    peak_rss_mb      peak resident memory of this process
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from integrator.config import Settings
from integrator.domain.calendar import meeting_window, work_days_for_week
from integrator.domain.types import MeetingProvider, OutboxStatus, ServiceModel, StaffRole
from integrator.jobs.meetings.apply import apply_meetings
from integrator.jobs.meetings.plan import plan_meetings
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.reminders import queue_due_reminders
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.runs import RunRecorder
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import (
    Client,
    Membership,
    Organisation,
    OutboxMessage,
    PeerGroup,
    Period,
    StaffUser,
    Task,
    WorkDay,
)

ORG = "bench"
DOMAIN = "sandbox.example.fi"
WEEK = "2026-W03"
LETTER_DAY = datetime(2026, 1, 8, 10, 0, tzinfo=UTC)  # Thursday 12:00 Helsinki, the week before
STARTS = [dtime(9, 0), dtime(10, 0), dtime(12, 0), dtime(13, 0)]


def build(sb: Sandbox, store: Store, tmp: Path, clients: int, group_size: int, mail: str) -> Settings:
    rng = random.Random(1)
    client_id, secret = sb.graph.register_app()
    sender = f"posti@{DOMAIN}"
    sb.graph.add_user(sender, "Posti")
    sb.google.add_user(sender, "Posti")
    sb.google.add_user(f"admin@{DOMAIN}", "Admin", admin=True)
    (tmp / "key.json").write_text(json.dumps(sb.google.service_account_info()))
    (tmp / "secret").write_text(secret)
    raw: dict[str, Any] = {"organisations": [{
        "key": ORG, "name": "Benchin kunta",
        "google": {"domain": DOMAIN, "service_account": {"file": str(tmp / "key.json")},
                   "admin_subject": f"admin@{DOMAIN}", "mail_sender": sender, "api_base_url": sb.google_url},
        "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": client_id,
                      "client_secret": {"file": str(tmp / "secret")}, "mail_sender": sender,
                      "authority": sb.login_authority, "graph_base_url": sb.graph_url, "ca_bundle": sb.ca_cert_path},
        "mail": {"via": mail},
    }]}
    settings = Settings.model_validate(raw)
    briefed = datetime(2025, 12, 1, tzinfo=UTC)
    n_groups = max(1, clients // group_size)
    with store.session() as s:
        org = Organisation(key=ORG, name="Benchin kunta")
        s.add(org)
        s.flush()
        coordinators = []
        for i in range(max(1, n_groups // 5)):  # one coordinator runs five groups
            email = f"ohjaaja{i:02d}@{DOMAIN}"
            oid = sb.graph.add_user(email, f"Ohjaaja {i}")
            sb.graph.grant_meeting_policy(oid)
            sb.google.add_user(email, f"Ohjaaja {i}")
            staff = StaffUser(organisation_id=org.id, email=email, display_name=f"Ohjaaja {i}",
                              role=StaffRole.COORDINATOR, phone="040 000 0000")
            s.add(staff)
            coordinators.append(staff)
        s.flush()
        n = 0
        for g in range(n_groups):
            weekdays = sorted(rng.sample([1, 2, 3, 4, 5], rng.choice([1, 2])))
            start = STARTS[g % len(STARTS)]
            end = dtime(start.hour + 1, 30)
            provider = MeetingProvider.MEET if g % 4 == 3 else MeetingProvider.TEAMS
            group = PeerGroup(organisation_id=org.id, key=f"g{g:03d}", name=f"Ryhmä {g}",
                              coordinator_id=coordinators[g % len(coordinators)].id, weekdays=weekdays,
                              meeting_start=start, meeting_end=end, meeting_provider=provider)
            s.add(group)
            s.flush()
            size = group_size if g < n_groups - 1 else clients - n
            for _ in range(size):
                n += 1
                code = f"B-{n:05d}"
                c = Client(organisation_id=org.id, code=code, display_name=f"Asiakas {n}",
                           email=f"{code.lower()}@asiakas.example.fi", plain_language=(n % 6 == 0))
                s.add(c)
                s.flush()
                s.add(Period(client_id=c.id, service_model=ServiceModel.LONG_TERM, start_date=date(2025, 12, 1),
                             end_date=date(2026, 12, 1), weekdays=weekdays, briefing_recorded_at=briefed))
                s.add(Membership(group_id=group.id, client_id=c.id, start_date=date(2025, 12, 1)))
            for d in work_days_for_week(WEEK, weekdays).days:
                b, e = meeting_window(d, start, end)
                wd = WorkDay(group_id=group.id, day=d, iso_week=WEEK, meeting_start=b, meeting_end=e,
                             instructions="Päivän tehtävä: kirjoita viikon teemasta.")
                s.add(wd)
                s.flush()
                s.add(Task(work_day_id=wd.id, title="Viikon teema", material_file_id=f"file{g}"))
    return settings


def send_until_done(sb: Sandbox, store: Store, settings: Settings, at: datetime, deadline: datetime) -> int:
    """Send everything due, moving the sandbox clock through pacing and Retry-After waits."""
    clock = sb.state.clock
    clock.set(max(at, clock.now()))

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    sent = 0
    for _ in range(1000):
        counts = send_outbox(store, settings, clock=clock.now, sleep=sleep,
                             monotonic=lambda: clock.now().timestamp())
        sent += counts["sent"]
        with store.session() as s:
            nxt = s.scalar(select(func.min(OutboxMessage.not_before)).where(
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.PARKED))))
            due_now = s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.PARKED)),
                (OutboxMessage.not_before.is_(None)) | (OutboxMessage.not_before <= clock.now())))
        if due_now:
            continue
        if nxt is None or nxt.replace(tzinfo=UTC) >= deadline:
            return sent
        clock.set(nxt.replace(tzinfo=UTC))
    return sent


def run_week(sb: Sandbox, store: Store, settings: Settings) -> dict[str, int]:
    out: Counter[str] = Counter()
    sb.state.clock.set(LETTER_DAY - timedelta(hours=2))
    for _ in range(5):  # faults may leave items for another pass
        plan = plan_meetings(store, settings, ORG, WEEK)
        out["meeting_actions"] += len(plan.actions)
        if not plan.actions:
            break
        recorder = RunRecorder.start(store, "meetings", organisation_id=None, params={"week": WEEK})
        apply_meetings(store, settings, ORG, plan, recorder)
        recorder.finish()
        out["meeting_errors"] += len(recorder.errors)
    out["letters_queued"] += queue_weekly_letters(store, settings, ORG, WEEK)["queued"]
    out["sent"] += send_until_done(sb, store, settings, LETTER_DAY, LETTER_DAY + timedelta(days=3))
    with store.session() as s:
        starts = sorted(set(s.scalars(select(WorkDay.meeting_start).where(WorkDay.iso_week == WEEK))))
    for start in starts:
        moment = start - timedelta(minutes=60)
        if sb.state.clock.now() < moment:
            sb.state.clock.set(moment)
        out["reminders_queued"] += queue_due_reminders(store, settings, sb.state.clock.now())["queued"]
        out["sent"] += send_until_done(sb, store, settings, sb.state.clock.now(), start)
    return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--group-size", type=int, default=10)
    ap.add_argument("--mail", choices=["graph", "gmail"], default="graph")
    ap.add_argument("--faults", type=float, default=0.0, help="rate of injected 429s (and 503s on events)")
    ap.add_argument("--latency-ms", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp_s, Sandbox(latency_ms=args.latency_ms, page_size=50) as sb:
        tmp = Path(tmp_s)
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        store = Store(url)
        settings = build(sb, store, tmp, args.clients, args.group_size, args.mail)
        if args.faults:
            sb.state.faults.inject(vendor="*", rate=args.faults, status=429, retry_after=0)
            sb.state.faults.inject(vendor="*", path_glob="*/events*", rate=args.faults, status=503, retry_after=0)
        sb.state.log.reset()
        t0 = time.perf_counter()
        first = run_week(sb, store, settings)
        wall = time.perf_counter() - t0
        requests = sb.state.log.total()
        mail_first = len(sb.sent_mail())
        sb.state.log.reset()
        second = run_week(sb, store, settings)
        with store.session() as s:
            statuses = Counter(str(st.value) for st in s.scalars(select(OutboxMessage.status)))
            work_days = s.scalar(select(func.count()).select_from(WorkDay)) or 0
        live = sum(1 for e in sb.graph.events.values() if not e.data.get("isCancelled")) + sum(
            1 for cal in sb.google.calendar.events.values() for e in cal.values() if e.get("status") != "cancelled")
        copies = Counter((m.to[0], m.subject, m.text) for m in sb.sent_mail())
        print(json.dumps({"first_run": first, "second_run": second, "outbox": dict(statuses),
                          "work_days": work_days, "live_meetings": live,
                          "most_copies_of_one_message": max(copies.values(), default=0),
                          "second_run_writes": len(sb.state.log.writes()),
                          "sandbox_mail": len(sb.sent_mail()), "mail_first_run": mail_first}, sort_keys=True),
              file=sys.stderr)
        store.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"requests": requests, "wall_s": round(wall, 1), "messages_sent": first["sent"],
                      "second_run_sent": second["sent"], "peak_rss_mb": round(peak, 1)}))


if __name__ == "__main__":
    main()
