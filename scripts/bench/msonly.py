"""Benchmark: an organisation on Microsoft 365 alone, 1,000 clients in groups of 10, task folders on.

    .venv/bin/python scripts/bench/msonly.py [--clients 1000] [--group-size 10] [--latency-ms 0]

In this process, against a fresh sandbox (Graph only) and a fresh SQLite store: the weekly setup
of week 2026-W03 (work days, tasks, Teams meetings, a SharePoint task folder per client shared
with the client and the coordinator, a task document per work day), a re-run (it must write
nothing), the week played on the sandbox clock (70 % of client-days join the Teams meeting,
a third of the clients save a return into their folder with `upload_as`), then the nightly sync
at Friday 02:00 and once more with nothing new. (Before the week the sync runs once, as it does
every night: that run starts the drive's delta cursor and is reported as `bootstrap`.)

Per phase it prints the Graph requests on the wire (the sandbox request log of Graph: a `$batch`
envelope counts once, token fetches left out) and the least a client batching 20 per envelope
would need:

    min = ceil(batchable / 20) + unbatchable_writes

where `batchable` is every GET but the drive's delta pages (lists, sharing reads, attendance
reports; a delta page needs the previous page's link, so each is one request) plus the
calendar event writes (Graph batches Outlook items; our client does for creates), and
`unbatchable_writes` is every other write, one request each: drive folder creates, `invite`
(sharing), file content PUTs and permission deletes, which our client sends one per request,
`--write-concurrency` (task_folders.write_concurrency, default 4) at a time (uploads carry bytes
that msgraph-core's `$batch` item cannot, and a lost envelope would leave 20 invitations in doubt).
The permission reads before sharing are GETs: batchable, and batched.
Dependency stages are ignored, so the minimum is a lower bound. The ratio is requests / min.
Peak RSS and `cpu_s` are this process's (it serves the sandbox too): on a shared machine the CPU
seconds compare runs better than the wall. The last line on stdout is one JSON
object with `phases` ({name: {requests, min_requests, ratio, writes, wall_s, cpu_s}}), `peak_rss_mb`,
`clients`, `groups`, `returns`, `attendances`, `register_days`.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from integrator.config import Settings, load_settings
from integrator.config.apply import apply_settings
from integrator.domain.types import ServiceModel, StaffRole
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.graph.tenant import DEFAULT_PERMISSIONS
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import (
    AttendanceDay,
    Client,
    ExternalResource,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
)

ORG, DOMAIN, WEEK = "bench", "bench.example.fi", "2026-W03"  # Mon 12.1.-Thu 15.1.2026: no holidays
HELSINKI = ZoneInfo("Europe/Helsinki")
SETUP_AT = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
MON = date(2026, 1, 12)
DAY_PAIRS = [[1, 3], [2, 4]]
BATCH = 20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hh, mm), tzinfo=HELSINKI).astimezone(UTC)


def policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, base_delay_s=0.05, max_delay_s=1, max_retry_after_s=5)


def build(sb: Sandbox, tmp: Path, clients: int, size: int,
          write_concurrency: int) -> tuple[Store, Settings, dict[str, str], str]:
    """Tenant, config and store: (store, settings, client code -> e-mail, drive id)."""
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    store = Store(url)
    app_id, secret = sb.graph.register_app(permissions=set(DEFAULT_PERMISSIONS) | {"Sites.Selected"})
    drive_id = sb.graph.add_drive("tyotoiminta")
    site_id = sb.graph.site_of(drive_id)
    assert site_id is not None
    sb.graph.grant_site(site_id, app_id, ["write"])
    groups = math.ceil(clients / size)
    coaches = [f"ohjaaja{i}@{DOMAIN}" for i in range(max(1, groups // 10))]
    for c in coaches:
        sb.graph.grant_meeting_policy(sb.graph.add_user(c, f"Ohjaaja {c[7:].split('@')[0]}"))
    sender = f"posti@{DOMAIN}"
    sb.graph.add_user(sender, "Työtoiminta Posti")
    (tmp / "secret.txt").write_text(secret, encoding="utf-8")
    raw: dict[str, Any] = {"database_url": url, "organisations": [{
        "key": ORG, "name": "Bench", "kind": "municipality",
        "microsoft": {"tenant_id": sb.graph.tenant_id, "client_id": app_id,
                      "client_secret": {"file": str(tmp / "secret.txt")}, "mail_sender": sender,
                      "authority": sb.login_authority, "graph_base_url": sb.graph_url, "ca_bundle": str(sb.ca_cert_path),
                      "task_folders": {"drive_id": drive_id, "site_id": site_id,
                                       "write_concurrency": write_concurrency}},
        "staff": [{"email": c, "name": c, "role": "coordinator"} for c in coaches]
        + [{"email": f"sosiaaliohjaaja@{DOMAIN}", "name": "Sosiaaliohjaaja", "role": "social_worker"}],
        "groups": [{"key": f"g{g:03d}", "name": f"Ryhmä {g}", "coordinator": coaches[g % len(coaches)],
                    "weekdays": DAY_PAIRS[g % 2], "meeting": {"start": "10:00", "end": "11:00", "provider": "teams"}}
                   for g in range(groups)]}]}
    path = tmp / "integrator.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    settings = load_settings(path)
    apply_settings(store, settings)
    emails: dict[str, str] = {}
    with store.session() as s:
        org = s.scalars(select(Organisation).where(Organisation.key == ORG)).one()
        group_rows = s.scalars(select(PeerGroup).order_by(PeerGroup.key)).all()
        worker = s.scalars(select(StaffUser).where(StaffUser.role == StaffRole.SOCIAL_WORKER)).one()
        for n in range(clients):
            code = f"K-{n:05d}"
            email = emails[code] = f"{code.lower()}@{DOMAIN}"
            oid = sb.graph.add_user(email, f"Asiakas {n}")
            client = Client(organisation_id=org.id, code=code, display_name=code, email=email, entra_object_id=oid,
                            plain_language=n % 5 == 0)
            s.add(client)
            s.flush()
            group = group_rows[n // size]
            s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM, start_date=date(2025, 12, 1),
                         end_date=date(2026, 6, 30), weekdays=DAY_PAIRS[(n // size) % 2],
                         briefing_recorded_at=datetime(2025, 11, 20, tzinfo=UTC), responsible_worker_id=worker.id))
            s.add(Membership(group_id=group.id, client_id=client.id, start_date=date(2025, 12, 1)))
    return store, settings, emails, drive_id


def cpu_s() -> float:
    """This process's CPU seconds (jobs and sandbox): on a shared machine, steadier than the wall."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def figures(sb: Sandbox, wall: float, cpu: float) -> dict[str, Any]:
    """This phase's wire requests, its least possible with 20-item `$batch`es, and its writes."""
    items = [e for e in sb.state.log.items() if e.api not in ("oauth", "oidc", "login")]
    batchable = sum(1 for e in items if (e.http_method.upper() == "GET" and "delta" not in e.operation)
                    or "event" in e.operation or "event" in e.api)
    unbatchable = len(items) - batchable
    least = math.ceil(batchable / BATCH) + unbatchable
    requests = sb.state.log.api_requests()
    return {"requests": requests, "min_requests": least, "ratio": round(requests / least, 2) if least else None,
            "writes": sum(1 for e in items if e.http_method.upper() != "GET"), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "counts": dict(sorted(sb.state.log.counts().items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--write-concurrency", type=int, default=4, help="microsoft.task_folders.write_concurrency")
    args = parser.parse_args()
    phases: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp_dir, Sandbox(page_size=100) as sb:
        sb.state.quotas.graph_per_mailbox_per_10min = None
        sb.state.clock.set(SETUP_AT)
        t0 = time.perf_counter()
        store, settings, emails, drive_id = build(sb, Path(tmp_dir), args.clients, args.group_size,
                                                args.write_concurrency)
        log(f"world: {time.perf_counter() - t0:.1f} s")
        sb.state.latency_ms = args.latency_ms

        def phase(name: str, run: Any) -> Any:
            sb.state.log.reset()
            started, cpu = time.perf_counter(), cpu_s()
            out = run()
            phases[name] = figures(sb, time.perf_counter() - started, cpu_s() - cpu)
            p = phases[name]
            log(f"{name}: {p['requests']} requests (min {p['min_requests']}, ratio {p['ratio']}), "
                f"{p['writes']} writes, {p['wall_s']} s (CPU {p['cpu_s']} s)")
            return out

        def weekly() -> Any:
            return run_weekly_setup(store, settings, WEEK, ORG, now=sb.state.clock.now(), triggered_by="bench",
                                    graph_factory=lambda tenant: GraphClient(tenant, policy=policy()))

        def nightly() -> Any:
            def graph(org: Any) -> GraphClient:
                return GraphClient(org.microsoft, policy=policy())

            providers = Providers(google=lambda _o: (_ for _ in ()).throw(AssertionError("no Google here")),
                                  graph=graph)
            (result,) = run_nightly_sync(store, settings, org_key=ORG, now=sb.state.clock.now(), providers=providers,
                                         triggered_by="bench")
            assert not result.errors, result.errors
            return result

        phase("weekly_setup", weekly)
        phase("weekly_rerun", weekly)
        sb.state.clock.set(local(MON - timedelta(days=2), 2))
        phase("nightly_bootstrap", nightly)
        attendances, returns = play_week(sb, store, emails, drive_id)
        log(f"week played: {attendances} attendances, {returns} returns")
        sb.state.clock.set(local(date(2026, 1, 16), 2))  # Friday 02:00
        phase("nightly_sync", nightly)
        sb.state.clock.set(local(date(2026, 1, 16), 2, 10))
        phase("nightly_again", nightly)
        with store.session() as s:
            register_days = s.scalar(select(func.count(AttendanceDay.id))) or 0
        store.dispose()
    for name, p in phases.items():
        log(f"{name} operations: {json.dumps(p.pop('counts'))}")
    result = {"phases": phases, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "clients": args.clients, "groups": math.ceil(args.clients / args.group_size), "returns": returns,
              "attendances": attendances, "register_days": register_days, "latency_ms": args.latency_ms,
              "write_concurrency": args.write_concurrency}
    print(json.dumps(result))


def play_week(sb: Sandbox, store: Store, emails: dict[str, str], drive_id: str) -> tuple[int, int]:
    """70 % of client-days join the day's Teams meeting; every third client saves a return once."""
    with store.session() as s:
        meetings = [(r.local_key, str(r.state.get("join_url"))) for r in s.scalars(
            select(ExternalResource).where(ExternalResource.kind == "meeting"))]
        folders = {r.local_key.split(":", 1)[1]: r.external_id for r in s.scalars(
            select(ExternalResource).where(ExternalResource.kind == "sp_folder"))}
        members = {g: sorted(c for (c,) in s.execute(
            select(Client.code).join(Membership).join(PeerGroup).where(PeerGroup.key == g)))
            for g in {k.split(":")[1] for k, _ in meetings}}
    attendances = returns = 0
    for key, join_url in sorted(meetings, key=lambda m: m[0].split(":")[2]):
        _, group, iso = key.split(":")
        day = date.fromisoformat(iso)
        sb.state.clock.set(local(day, 12))
        for code in members[group]:
            k = (int(code[2:]) * 7 + day.toordinal()) % 10
            if k < 7:
                sb.graph.join_meeting(join_url, email=emails[code], minutes=40 + k, start=local(day, 10))
                attendances += 1
            if int(code[2:]) % 3 == 0 and day.isoweekday() in (1, 2):  # once, on the group's first day
                sb.graph.upload_as(emails[code], drive_id, folders[code], f"vastaus-{iso}.docx", b"vastaus",
                                   at=local(day, 14))
                returns += 1
    return attendances, returns


if __name__ == "__main__":
    main()
