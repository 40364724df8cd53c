"""Benchmark: weekly setup for 1,000 clients in 100 groups, 4 work days, sandbox with 20 ms latency.

    .venv/bin/python scripts/bench/weekly_setup.py [--clients 1000] [--groups 100] [--latency-ms 20]

Runs, in this process, against a fresh sandbox tenant and a fresh SQLite store each time:
1. the weekly setup with batching (the product's way), then a re-run with nothing changed;
2. the same plan with every call sent on its own (the baseline).
The last line on stdout is one JSON object:
`requests` (API requests on the wire in run 1; a batch counts once; token fetches not counted),
`min_requests` (the least possible given the batch limits and the dependency stages),
`wall_s`, `baseline_wall_s`, `speedup`, `rerun_writes` (write calls in the re-run), `peak_rss_mb`.
Per-minute quotas are switched off: the sandbox counts them on wall time per user, and the
baseline would otherwise measure waiting for a quota window rather than the calls.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from integrator.config import Settings
from integrator.config.apply import apply_settings
from integrator.domain.types import ServiceModel
from integrator.jobs.weekly.setup import run_weekly_setup
from integrator.providers.google.client import GoogleClient
from integrator.providers.limits import GOOGLE_BATCH_LIMITS as BATCH_LIMITS
from integrator.providers.retry import RetryPolicy
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import Client, Membership, Organisation, PeerGroup, Period

ORG, DOMAIN, WEEK = "bench", "sandbox.example.fi", "2026-W49"  # Mon-Thu 30.11.-3.12.2026: no holidays
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ADMIN = f"admin@{DOMAIN}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(sb: Sandbox, tmp: Path, clients: int, groups: int, coordinators: int) -> tuple[Store, Settings]:
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    store = Store(url)
    sb.google.add_user(ADMIN, "Admin", admin=True)
    coaches = [f"ohjaaja{i}@{DOMAIN}" for i in range(coordinators)]
    for c in coaches:
        sb.google.add_user(c, c.split("@")[0])
    key = tmp / "key.json"
    key.write_text(json.dumps(sb.google.service_account_info()))
    raw: dict[str, Any] = {"organisations": [{
        "key": ORG, "name": "Bench", "google": {"domain": DOMAIN, "service_account": {"file": str(key)},
                                                 "admin_subject": ADMIN, "api_base_url": sb.google_url},
        "staff": [{"email": c, "name": c, "role": "coordinator"} for c in coaches],
        "groups": [{"key": f"g{g:03d}", "name": f"Ryhmä {g}", "coordinator": coaches[g % coordinators],
                    "weekdays": [1, 2, 3, 4], "meeting": {"start": "10:00", "end": "11:00", "provider": "meet"}}
                   for g in range(groups)]}]}
    (tmp / "integrator.yaml").write_text(yaml.safe_dump(raw))
    settings = Settings.model_validate(raw)
    apply_settings(store, settings)
    with store.session() as s:
        org = s.scalars(select(Organisation).where(Organisation.key == ORG)).one()
        group_rows = s.scalars(select(PeerGroup).order_by(PeerGroup.key)).all()
        for n in range(clients):
            code = f"K-{n:05d}"
            external = n % 20 == 19  # 5 % with a personal Google account: invited
            email = f"{code.lower()}@{'gmail.example.com' if external else DOMAIN}"
            if external:
                sb.google.add_external_user(email, code)
            else:
                sb.google.add_user(email, code)
            client = Client(organisation_id=org.id, code=code, display_name=code, email=email,
                            plain_language=n % 5 == 0)
            s.add(client)
            s.flush()
            s.add(Period(client_id=client.id, service_model=ServiceModel.LONG_TERM, start_date=date(2026, 9, 1),
                         end_date=date(2027, 2, 28), weekdays=[1, 2, 3, 4],
                         briefing_recorded_at=datetime(2026, 8, 20, tzinfo=UTC)))
            s.add(Membership(group_id=group_rows[n % groups].id, client_id=client.id, start_date=date(2026, 9, 1)))
    return store, settings


def api_requests(sb: Sandbox) -> int:
    return sum(1 for e in sb.state.log.entries if e.kind != "part" and e.api != "oauth")


def minimum(counts: dict[str, int]) -> int:
    """Fewest requests: each dependency stage's calls per API in full batches, plus generateIds."""
    c, d = BATCH_LIMITS["classroom"], BATCH_LIMITS["drive"]
    folders, weeks = counts.get("create:folder", 0), counts.get("create:week_folder", 0)
    stages = [
        math.ceil(counts.get("create:course", 0) / c),                       # courses
        math.ceil((folders + weeks) / 1000),                                  # reserve folder ids
        math.ceil(folders / d),                                               # client folders
        math.ceil((counts.get("create:topic", 0) + counts.get("create:enrolment", 0)) / c),  # need the course
        math.ceil((weeks + counts.get("create:permission", 0)) / d),         # need the client folder
        math.ceil(counts.get("create:coursework", 0) / c),                   # needs topic and enrolment
    ]
    return sum(stages)


def one_run(args: argparse.Namespace, sb: Sandbox, batching: bool, rerun: bool) -> dict[str, Any]:
    sb.reset()
    sb.state.latency_ms = 0
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        store, settings = build(sb, tmp, args.clients, args.groups, args.coordinators)
        sb.state.log.reset()
        sb.state.latency_ms = args.latency_ms
        policy = RetryPolicy(max_attempts=6, base_delay_s=0.2, max_delay_s=5)
        factory = (lambda tenant: GoogleClient(tenant, policy=policy, batching=batching))  # noqa: E731
        started = time.perf_counter()
        plan, _ = run_weekly_setup(store, settings, WEEK, ORG, now=NOW, client_factory=factory,
                                   include_meetings=False, triggered_by="bench")
        wall = time.perf_counter() - started
        out: dict[str, Any] = {"wall_s": wall, "requests": api_requests(sb), "counts": plan.counts()}
        log(f"{'batched' if batching else 'one call at a time'}: {wall:.1f} s, {out['requests']} requests, "
            f"{len(sb.state.log.items())} operations")
        if rerun:
            sb.state.log.reset()
            run_weekly_setup(store, settings, WEEK, ORG, now=NOW, client_factory=factory, include_meetings=False,
                             triggered_by="bench")
            out["rerun_writes"] = sum(1 for e in sb.state.log.writes() if e.api != "oauth")
            log(f"re-run: {out['rerun_writes']} writes, {api_requests(sb)} requests (reads)")
        store.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--coordinators", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--skip-baseline", action="store_true", help="(quick look) leave out the baseline run")
    args = parser.parse_args()
    with Sandbox(page_size=100, with_graph=False) as sb:
        quotas = sb.state.quotas
        quotas.classroom_per_user_per_min = quotas.classroom_per_project_per_min = None
        quotas.drive_per_user_per_min = None
        batched = one_run(args, sb, batching=True, rerun=True)
        baseline = None if args.skip_baseline else one_run(args, sb, batching=False, rerun=False)
    result = {
        "requests": batched["requests"],
        "min_requests": minimum(batched["counts"]),
        "wall_s": round(batched["wall_s"], 2),
        "baseline_wall_s": round(baseline["wall_s"], 2) if baseline else None,
        "speedup": round(baseline["wall_s"] / batched["wall_s"], 1) if baseline else None,
        "rerun_writes": batched["rerun_writes"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    log(json.dumps(batched["counts"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
