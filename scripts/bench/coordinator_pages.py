"""Benchmark: the coordinator's pages for 1,000 clients in 100 groups (or any size).

    .venv/bin/python scripts/bench/coordinator_pages.py [--clients 1000] [--groups 100] [--requests 30]

Builds one organisation in a SQLite file with bulk inserts: groups of a fixed size, a quarter of
them hybrid (a group that meets on Tuesdays and Thursdays whose clients work remotely on one of
the days), four weeks of work days with attendance (present, absent, pending, a day awaiting a
decision), unknown meeting attendees, absence alerts, an uncertain message and failed runs: every
to-do of the dashboard has items. A coordinator (10 groups) and an admin (all groups) then ask
for each page through Flask's test client (the whole app: login session, access checks,
templates); each request's SQL statements are counted with a `before_cursor_execute` listener.

Pages: the dashboard (to-do list + the first 25 groups), the dashboard filtered by name, a
group's attendance (register) page, and the register API (month JSON, rules from the config).

The last line printed is one JSON object: per page and principal, p50/p95 milliseconds, the SQL
statements of one request (the same for every request of the page), and the response's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from integrator.config import Settings
from integrator.domain import weeks
from integrator.domain.types import (
    AttendanceStatus,
    JobStatus,
    MeetingProvider,
    MessageKind,
    OutboxStatus,
    ServiceModel,
)
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import (
    AttendanceDay,
    Client,
    JobRun,
    MeetingAttendance,
    Membership,
    Organisation,
    OutboxMessage,
    PeerGroup,
    Period,
    StaffUser,
    WorkDay,
)
from integrator.web import accounts, create_app
from integrator.web.context import close_app

ORG = "bench"
PASSWORD = "bench password 123"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # Thursday noon in Helsinki
WEEK = weeks.iso_week_of(NOW.date())
HISTORY_WEEKS = 4
BRIEFED = datetime(2026, 8, 1, tzinfo=UTC)
STATUSES = [AttendanceStatus.PRESENT] * 6 + [AttendanceStatus.ABSENT, AttendanceStatus.PENDING]


def build(store: Store, clients: int, groups: int) -> dict[str, Any]:
    """Bulk inserts (one statement per table and batch): 1,000 clients load in about a second."""
    per_group = max(1, clients // groups)
    with store.session() as s:
        org = Organisation(key=ORG, name="Benchin kunta")
        s.add(org)
        s.flush()
        org_id = org.id
    coordinator = accounts.add_staff(store, email="ohjaaja@bench.example.fi", name="Ohjaaja", role="coordinator",
                                     org_key=ORG, password=PASSWORD)
    accounts.add_staff(store, email="admin@bench.example.fi", name="Ylläpitäjä", role="admin", org_key=ORG,
                       password=PASSWORD)
    with store.session() as s:
        other = StaffUser(organisation_id=org_id, email="muut@bench.example.fi", display_name="Muut",
                          role=accounts.StaffRole.COORDINATOR)
        s.add(other)
        s.flush()
        group_rows = []
        for g in range(groups):
            hybrid = g % 4 == 3
            group_rows.append({"organisation_id": org_id, "key": f"g{g:04d}", "name": f"Ryhmä {g:04d}",
                               "coordinator_id": coordinator if g < 10 else other.id,
                               "weekdays": [2, 4] if hybrid else [2 + g % 3],
                               "meeting_start": dtime(10), "meeting_end": dtime(11, 30),
                               "meeting_provider": MeetingProvider.TEAMS, "time_zone": "Europe/Helsinki",
                               "active": True})
        s.execute(insert(PeerGroup), group_rows)
        group_list = list(s.scalars(select(PeerGroup).order_by(PeerGroup.id)))
        s.execute(insert(Client), [{"organisation_id": org_id, "code": f"B-{n:05d}", "display_name": f"Asiakas {n}",
                                    "email": f"b-{n:05d}@asiakas.example.fi", "plain_language": False}
                                   for n in range(per_group * groups)])
        client_ids = list(s.scalars(select(Client.id).order_by(Client.id)))
        periods, members, remote_days = [], [], {}
        for i, cid in enumerate(client_ids):
            g = group_list[i // per_group]
            days = list(g.weekdays) if len(g.weekdays) == 1 or i % 2 else [g.weekdays[i % 2 // 1]]
            remote_days[cid] = days
            periods.append({"client_id": cid, "service_model": ServiceModel.LONG_TERM, "start_date": date(2026, 8, 1),
                            "end_date": date(2027, 5, 31), "weekdays": days, "hours_per_day": 4.0,
                            "briefing_recorded_at": BRIEFED})
            members.append({"group_id": g.id, "client_id": cid, "start_date": date(2026, 8, 1)})
        s.execute(insert(Period), periods)
        s.execute(insert(Membership), members)
        work_days = []
        for g in group_list:
            for w in range(-HISTORY_WEEKS + 1, 1):
                week = weeks.shift_week(WEEK, w)
                for d in weeks.days_of(week):
                    if d.isoweekday() in g.weekdays:
                        start = datetime(d.year, d.month, d.day, 8, tzinfo=UTC)
                        work_days.append({"group_id": g.id, "day": d, "iso_week": week, "meeting_start": start,
                                          "meeting_end": start + timedelta(hours=1, minutes=30)})
        s.execute(insert(WorkDay), work_days)
        by_group: dict[int, list[tuple[int, date, datetime]]] = {}
        for wd_id, gid, day, end in s.execute(select(WorkDay.id, WorkDay.group_id, WorkDay.day, WorkDay.meeting_end)):
            by_group.setdefault(gid, []).append((wd_id, day, end))
        attendance, unknown, n = [], [], 0
        for i, cid in enumerate(client_ids):
            g = group_list[i // per_group]
            for wd_id, day, end in by_group[g.id]:
                if day.isoweekday() not in remote_days[cid] or end.replace(tzinfo=UTC) > NOW:
                    continue
                status = STATUSES[(i + day.toordinal()) % len(STATUSES)]
                n += 1
                attendance.append({"client_id": cid, "work_day_id": wd_id, "computed_status": status,
                                   "minutes": 45 if status is AttendanceStatus.PRESENT else 0,
                                   "evidence": {"needs_decision": status is AttendanceStatus.PENDING and n % 3 == 0,
                                                "reasons": ["meeting report"]}})
        for g in group_list:
            wd_id = by_group[g.id][-1][0]
            unknown.append({"organisation_id": org_id, "work_day_id": wd_id, "source": "teams",
                            "record_key": f"r:{g.id}", "participant_key": f"name:vieras {g.id}",
                            "display_name": "Vieras", "seconds": 1800, "intervals": [], "raw": {}})
        s.execute(insert(AttendanceDay), attendance)
        s.execute(insert(MeetingAttendance), unknown)
        messages = [{"organisation_id": org_id, "key": f"absence_alert:{cid}:2026-11-10",
                     "kind": MessageKind.ABSENCE_ALERT, "client_id": cid, "to_address": "sosiaalityo@kunta.example.fi",
                     "subject": "Toistuvia poissaoloja", "body_text": "...", "status": OutboxStatus.SENT,
                     "meta": {"days": ["2026-11-10", "2026-11-17"]}, "created_at": NOW - timedelta(days=8)}
                    for cid in client_ids[::25]]
        messages += [{"organisation_id": org_id, "key": f"reminder:{cid}:x:60", "kind": MessageKind.REMINDER,
                      "client_id": cid, "to_address": "a@example.fi", "subject": "Muistutus", "body_text": "...",
                      "status": OutboxStatus.UNCERTAIN, "created_at": NOW - timedelta(days=1)}
                     for cid in client_ids[::50]]
        s.execute(insert(OutboxMessage), messages)
        s.execute(insert(JobRun), [{"organisation_id": org_id, "kind": "nightly_sync", "params": {"org": ORG},
                                    "status": JobStatus.PARTIAL, "started_at": NOW - timedelta(hours=h),
                                    "counts": {}, "errors": [], "plan": []} for h in range(1, 30)])
        first_own = group_list[0].id
    return {"attendance_days": len(attendance), "work_days": len(work_days), "group": first_own,
            "clients": len(client_ids), "groups": len(group_list)}


def measure(client: Any, url: str, counter: list[int], n: int) -> dict[str, Any]:
    resp = client.get(url)  # warm: templates compiled, session touched
    assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True)[:300])
    times, statements = [], []
    for _ in range(n):
        counter[0] = 0
        t0 = time.perf_counter()
        resp = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        statements.append(counter[0])
        assert resp.status_code == 200
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
            "sql": max(statements), "sql_min": min(statements), "kb": round(len(resp.get_data()) / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--requests", type=int, default=30)
    args = ap.parse_args()
    accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # the login is not what is measured
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        store = Store(url)
        t0 = time.perf_counter()
        built = build(store, args.clients, args.groups)
        build_s = time.perf_counter() - t0
        store.dispose()
        settings = Settings.model_validate({"organisations": [{"key": ORG, "name": "Benchin kunta"}]})
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench" * 8,
                          "WTF_CSRF_ENABLED": False, "SETTINGS": settings, "CLOCK": lambda: NOW})
        from integrator.web.context import get_store

        counter = [0]

        def count(*_: Any) -> None:
            counter[0] += 1

        event.listen(get_store(app).engine, "before_cursor_execute", count)
        group = built["group"]
        month = NOW.strftime("%Y-%m")
        pages = {"dashboard": f"/?week={WEEK}", "dashboard_filtered": f"/?week={WEEK}&q=0003",
                 "register_page": f"/groups/{group}/attendance?week={WEEK}",
                 "register_api": f"/api/v1/groups/{group}/register?month={month}",
                 "attendance_api": f"/api/v1/groups/{group}/attendance?week={WEEK}"}
        results: dict[str, Any] = {}
        for who, email in (("coordinator", "ohjaaja@bench.example.fi"), ("admin", "admin@bench.example.fi")):
            client = app.test_client()
            resp = client.post("/login", data={"email": email, "password": PASSWORD})
            assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
            for name, path in pages.items():
                r = measure(client, path, counter, args.requests)
                results[f"{who}:{name}"] = r
                print(f"{who:<12} {name:<20} p50 {r['p50_ms']:>7} ms  p95 {r['p95_ms']:>7} ms  "
                      f"SQL {r['sql']:>4}  {r['kb']:>7} kB", flush=True)
        close_app(app)
    print(json.dumps({"clients": built["clients"], "groups": built["groups"],
                      "attendance_days": built["attendance_days"], "build_s": round(build_s, 1),
                      "requests_per_page": args.requests, "pages": results}, sort_keys=True))


if __name__ == "__main__":
    main()
