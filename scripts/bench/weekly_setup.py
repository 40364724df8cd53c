"""Benchmark: weekly setup for 1,000 clients in 100 groups, 4 work days, sandbox with 20 ms latency.

    .venv/bin/python scripts/bench/weekly_setup.py [--clients 1000] [--groups 100] [--latency-ms 20]
        [--skip-baseline] [--skip-rerun] [--sandbox-process] [--quotas] [--throttle RATE]

Builds, in this process, a fresh sandbox tenant and a fresh SQLite store each time (with
`--sandbox-process` the sandbox is `integrator sandbox serve` in a process of its own, driven
through its /_sandbox/ admin API) and runs the weekly setup in a child process of its own (as
nightly_sync.py does), so that `peak_rss_mb` is the job's alone, without the store this script
built or the sandbox:
1. the weekly setup with batching (the product's way), then a re-run with nothing changed;
2. the same plan with every call sent on its own (the baseline).
The last line on stdout is one JSON object:
`requests` (API requests on the wire in run 1; a batch counts once; token fetches not counted),
`min_requests` (the least possible given the batch limits and the dependency stages),
`ratio` (requests / min_requests), `coursework_lists` (coursework list calls in run 1: lookups),
`token_fetches` (OAuth token endpoint calls in run 1), `wall_s` (the whole `run_weekly_setup`),
`plan_s` (from its call to the apply's first line: config sync, reading the week and the tenant,
the plan), `apply_s` (the rest: the writes), `baseline_wall_s`, `speedup`,
`rerun_writes` (write calls in the re-run), `peak_rss_mb` (the batched job's process: its own VmHWM),
`rss_after_plan_mb` (its RSS when the apply starts), `bench_peak_rss_mb` (this process: the
store it built), `sandbox_peak_rss_mb` (with `--sandbox-process`); with `--quotas` also
`quota_bound_s` (see `quota_bound()`: the least time the quotas allow the writes),
`quota_bucket` (the bucket that sets it), `quota_ratio` (`apply_s` / `quota_bound_s`: the part
the quotas bind; per-minute windows run on wall time, so both are wall time) and
`wall_quota_ratio` (`wall_s` / `quota_bound_s`, planning included, as measured before).
`--tracemalloc` logs the job's top 15 allocation lines after planning and at the end (slow).
Per-minute quotas are switched off: the sandbox counts them on wall time per user, and the
baseline would otherwise measure waiting for a quota window rather than the calls. `--quotas`
keeps the published ones (Classroom 1,200/user and 3,000/project a minute): the run then meets
429s and shows what they cost; `--throttle RATE` answers that share of the coursework creates
429 (Retry-After: 0), what a throttled week costs without waiting out quota windows.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
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


class _RemoteGoogle:
    """The few `sb.google` calls the benchmark makes, as /_sandbox/ admin API calls."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def _call(self, action: str, **args: Any) -> Any:
        answer = self._http.post(f"/_sandbox/google/{action}", json=args)
        answer.raise_for_status()
        return answer.json()["result"]

    def add_user(self, email: str, name: str, admin: bool = False) -> Any:
        return self._call("add_user", email=email, name=name, admin=admin)

    def add_external_user(self, email: str, name: str) -> Any:
        return self._call("add_external_user", email=email, name=name)

    def service_account_info(self) -> dict[str, Any]:
        return dict(self._call("service_account_info"))


class Tenant:
    """The sandbox as the benchmark drives it: in this process, or in its own (`--sandbox-process`)."""

    def __init__(self, sandbox_process: bool) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.sb: Sandbox | None = None
        if not sandbox_process:
            self.sb = Sandbox(page_size=100, with_graph=False).start()
            self.google: Any = self.sb.google
            self.google_url = self.sb.google_url
            self._quotas_off(self.sb.state.quotas)
            return
        port, graph_port = _free_port(), _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from integrator.cli import main; main()", "sandbox", "serve", "--port", str(port),
             "--graph-port", str(graph_port), "--page-size", "100", "--admin-subject", ADMIN],
            stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        for line in self.process.stdout:  # ready once it printed its last line
            if line.startswith("Press Ctrl+C"):
                break
        self.google_url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.google_url, timeout=60)
        self.google = _RemoteGoogle(self.http)

    @staticmethod
    def _quotas_off(quotas: Any) -> None:
        quotas.classroom_per_user_per_min = quotas.classroom_per_project_per_min = None
        quotas.drive_per_user_per_min = None

    def quotas_off(self) -> None:
        if self.sb is not None:
            self._quotas_off(self.sb.state.quotas)
        else:
            self._admin("quotas", classroom_per_user_per_min=None, classroom_per_project_per_min=None,
                        drive_per_user_per_min=None)

    def quotas_on(self) -> None:
        if self.sb is not None:
            self.sb.state.quotas.classroom_per_user_per_min = QUOTAS["classroom_per_user"]
            self.sb.state.quotas.classroom_per_project_per_min = QUOTAS["classroom_per_project"]
            self.sb.state.quotas.drive_per_user_per_min = QUOTAS["drive_per_user"]
        else:
            self._admin("quotas", classroom_per_user_per_min=QUOTAS["classroom_per_user"],
                        classroom_per_project_per_min=QUOTAS["classroom_per_project"],
                        drive_per_user_per_min=QUOTAS["drive_per_user"])

    def _admin(self, route: str, method: str = "POST", **args: Any) -> Any:
        answer = self.http.request(method, f"/_sandbox/{route}", json=args if method == "POST" else None)
        answer.raise_for_status()
        return answer.json()["result"]

    def reset(self) -> None:
        if self.sb is not None:
            self.sb.reset()
        else:
            self._admin("reset")

    def throttle(self, path_glob: str, rate: float) -> None:
        """Answer `rate` of the POSTs to `path_glob` 429 with Retry-After: 0 (a throttled create)."""
        rule = {"vendor": "google", "path_glob": path_glob, "http_method": "POST", "rate": rate, "status": 429,
                "retry_after": 0}
        if self.sb is not None:
            self.sb.state.faults.inject(**rule)  # type: ignore[arg-type]
        else:
            self._admin("faults", **rule)

    def clear_faults(self) -> None:
        if self.sb is not None:
            self.sb.state.faults.clear()
        else:
            self._admin("faults", "DELETE")

    def latency(self, ms: int) -> None:
        if self.sb is not None:
            self.sb.state.latency_ms = ms
        else:
            self._admin("latency", ms=ms)

    def clear_log(self) -> None:
        if self.sb is not None:
            self.sb.state.log.reset()
        else:
            self._admin("log", "DELETE")

    def stats(self) -> dict[str, Any]:
        """API requests on the wire, operations, API writes, token fetches and counts per operation."""
        if self.sb is None:
            got = self._admin("log", "GET")
            return {k: got[k] for k in ("api_requests", "items", "api_writes", "token_fetches", "counts")}
        log_ = self.sb.state.log
        return {"api_requests": log_.api_requests(), "items": len(log_.items()), "token_fetches": log_.token_fetches(),
                "api_writes": sum(1 for e in log_.writes() if e.api != "oauth"), "counts": log_.counts()}

    def peak_rss_mb(self) -> float | None:
        """The sandbox process's own peak (VmHWM), while it runs; None in this process."""
        if self.process is None:
            return None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None

    def stop(self) -> None:
        if self.sb is not None:
            self.sb.stop()
        if self.process is not None:
            self.http.close()
            self.process.send_signal(2)  # SIGINT: `sandbox serve` stops its servers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(sb: Tenant, tmp: Path, clients: int, groups: int, coordinators: int) -> tuple[Store, Settings]:
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


#: The sandbox's per-minute quotas as `--quotas` switches them on (Tenant.quotas_on).
QUOTAS = {"classroom_per_user": 1200, "classroom_per_project": 3000, "drive_per_user": 12000}


def quota_bound(counts: dict[str, int], clients: int, groups: int, coordinators: int) -> tuple[float, str]:
    """Least seconds the per-minute quotas allow: the most loaded bucket's calls / its rate.

    Buckets as the sandbox counts them: Classroom per acting user and per project, Drive per
    user. The admin account enrols the domain's students; each group's coordinator (groups go
    round the coordinators) makes its course, topic, invitations, coursework and Drive work.
    The fixed windows let up to one minute's worth go at once, so a run that fits in one window
    ends below this bound; it is a bound for runs of several windows.
    """
    invitations = sum(1 for n in range(clients) if n % 20 == 19)  # build(): personal accounts
    enrolments = counts.get("create:enrolment", 0)
    owner_classroom = sum(counts.get(f"create:{k}", 0) for k in ("course", "topic", "coursework")) + invitations
    owner_drive = sum(counts.get(f"create:{k}", 0) for k in ("folder", "week_folder", "permission"))
    busiest = math.ceil(groups / coordinators) / groups  # the share of the coordinator with most groups
    buckets = {
        "classroom admin": (enrolments - invitations) / QUOTAS["classroom_per_user"],
        "classroom project": (enrolments + owner_classroom) / QUOTAS["classroom_per_project"],
        "classroom coordinator": owner_classroom * busiest / QUOTAS["classroom_per_user"],
        "drive coordinator": owner_drive * busiest / QUOTAS["drive_per_user"],
    }
    name = max(buckets, key=lambda b: buckets[b])
    return buckets[name] * 60, name


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _top(snapshot: tracemalloc.Snapshot, label: str) -> None:
    stats = snapshot.statistics("lineno")
    log(f"tracemalloc {label}: {sum(s.size for s in stats) / 2**20:.1f} MB traced; top 15:")
    for s in stats[:15]:
        log(f"  {s.size / 2**20:7.1f} MB {s.count:9d} blocks  {s.traceback}")
    log("  by file:")
    for s in snapshot.statistics("filename")[:10]:
        log(f"  {s.size / 2**20:7.1f} MB {s.count:9d} blocks  {s.traceback}")
    for s in snapshot.statistics("traceback")[:4]:
        log(f"  {s.size / 2**20:7.1f} MB from:\n    " + "\n    ".join(s.traceback.format()[-12:]))


class _PeakSnapshot:
    """Every few seconds, a snapshot of the traced allocations when they are the highest yet."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.snapshot: tracemalloc.Snapshot | None = None
        self.high = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            current = tracemalloc.get_traced_memory()[0]
            if current > self.high * 1.05:
                self.high, self.snapshot = current, tracemalloc.take_snapshot()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def job(tmp: Path, batching: bool, traced: bool) -> None:
    """The weekly setup alone, in this (child) process: prints one JSON line with its timings.

    `plan_s` runs from the call to the apply's first line ("applying N Google change(s)"):
    the config sync, reading the week and the tenant, the plan; `apply_s` is the rest."""
    if traced:
        tracemalloc.start(6)
    settings = Settings.model_validate(yaml.safe_load((tmp / "integrator.yaml").read_text()))
    store = Store(f"sqlite:///{tmp / 'bench.db'}")
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.2, max_delay_s=5)
    factory = (lambda tenant: GoogleClient(tenant, policy=policy, batching=batching))  # noqa: E731
    marks: dict[str, float] = {}

    def said(line: str) -> None:
        if "applying" in line and "apply_at" not in marks:
            marks["apply_at"] = time.perf_counter()
            marks["rss_after_plan_mb"] = _rss_mb()
            if traced:
                _top(tracemalloc.take_snapshot(), "after planning")

    peak = _PeakSnapshot() if traced else None
    started = time.perf_counter()
    plan, _ = run_weekly_setup(store, settings, WEEK, ORG, now=NOW, client_factory=factory,
                               include_meetings=False, triggered_by="bench", echo=said)
    ended = time.perf_counter()
    if peak is not None:
        peak.stop()
        if peak.snapshot is not None:
            _top(peak.snapshot, f"at the highest sample ({peak.high / 2**20:.1f} MB traced)")
        _top(tracemalloc.take_snapshot(), "at the end (plan returned)")
        log(f"tracemalloc peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB")
    apply_at = marks.get("apply_at", ended)
    store.dispose()
    print(json.dumps({"wall_s": ended - started, "plan_s": apply_at - started, "apply_s": ended - apply_at,
                      "rss_after_plan_mb": marks.get("rss_after_plan_mb"), "counts": plan.counts(),
                      "peak_rss_mb": _rss_mb("VmHWM")}))


def job_process(tmp: Path, batching: bool, traced: bool) -> dict[str, Any]:
    """Run `job` in a child process of its own (as nightly_sync.py does): its figures and its own
    peak RSS (its VmHWM, which holds neither the sandbox nor the store this script built; not
    `wait4`'s ru_maxrss, which keeps the high-water mark of this process's address space that the
    child had before its exec)."""
    cmd = [sys.executable, __file__, "--job", str(tmp), *([] if batching else ["--job-unbatched"]),
           *(["--tracemalloc"] if traced else [])]
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, text=True)
        if (code := proc.wait()) != 0:
            raise SystemExit(f"the weekly setup's process failed ({code})")
        out.seek(0)
        figures: dict[str, Any] = json.loads(out.read().strip().splitlines()[-1])
    return figures


def one_run(args: argparse.Namespace, sb: Tenant, batching: bool, rerun: bool) -> dict[str, Any]:
    sb.reset()
    sb.latency(0)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        store, settings = build(sb, tmp, args.clients, args.groups, args.coordinators)
        sb.clear_log()
        sb.latency(args.latency_ms)
        if args.throttle and batching:
            sb.throttle("/classroom/v1/courses/*/courseWork", args.throttle)
        store.dispose()  # the job opens the store in its own process
        del settings
        ran = job_process(tmp, batching, args.tracemalloc and batching)
        stats = sb.stats()
        out: dict[str, Any] = {**ran, "requests": stats["api_requests"], "token_fetches": stats["token_fetches"],
                               "coursework_lists": stats["counts"].get("google classroom courses.courseWork.list", 0)}
        log(f"{'batched' if batching else 'one call at a time'}: {ran['wall_s']:.1f} s (plan {ran['plan_s']:.1f} s, "
            f"apply {ran['apply_s']:.1f} s), {out['requests']} requests, {stats['items']} operations, "
            f"{stats['token_fetches']} token fetches, job peak RSS {ran['peak_rss_mb']} MB "
            f"({ran['rss_after_plan_mb']} MB after planning)")
        if rerun:
            sb.clear_log()
            job_process(tmp, batching, False)
            again = sb.stats()
            out["rerun_writes"] = again["api_writes"]
            log(f"re-run: {out['rerun_writes']} writes, {again['api_requests']} requests (reads)")
    return out


def quota_figures(args: argparse.Namespace, batched: dict[str, Any]) -> dict[str, Any]:
    if not args.quotas:
        return {}
    bound, bucket = quota_bound(batched["counts"], args.clients, args.groups, args.coordinators)
    return {"quota_bound_s": round(bound, 1), "quota_bucket": bucket,
            "quota_ratio": round(batched["apply_s"] / bound, 2) if bound else None,
            "wall_quota_ratio": round(batched["wall_s"] / bound, 2) if bound else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--coordinators", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--skip-baseline", action="store_true", help="(quick look) leave out the baseline run")
    parser.add_argument("--skip-rerun", action="store_true", help="leave out the re-run (rerun_writes is then null)")
    parser.add_argument("--sandbox-process", action="store_true",
                        help="serve the sandbox from its own process: peak_rss_mb is then the integrator's alone")
    parser.add_argument("--quotas", action="store_true",
                        help="keep the published per-minute quotas on (the batched run meets 429s)")
    parser.add_argument("--throttle", type=float, default=0.0, metavar="RATE",
                        help="answer this share of the batched run's coursework creates 429 (Retry-After: 0)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="trace the batched job's allocations: top 15 lines after planning and at the end (slow)")
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)  # the child process: run the job in that dir
    parser.add_argument("--job-unbatched", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        job(args.job, batching=not args.job_unbatched, traced=args.tracemalloc)
        return
    sb = Tenant(args.sandbox_process)
    try:
        if args.quotas:
            sb.quotas_on()
        else:
            sb.quotas_off()
        batched = one_run(args, sb, batching=True, rerun=not args.skip_rerun)
        sb.quotas_off()
        sb.clear_faults()
        baseline = None if args.skip_baseline else one_run(args, sb, batching=False, rerun=False)
        sandbox_rss = sb.peak_rss_mb()
    finally:
        sb.stop()
    least = minimum(batched["counts"])
    result = {
        "requests": batched["requests"],
        "min_requests": least,
        "ratio": round(batched["requests"] / least, 2) if least else None,
        "coursework_lists": batched["coursework_lists"],
        "token_fetches": batched["token_fetches"],
        "wall_s": round(batched["wall_s"], 2),
        "plan_s": round(batched["plan_s"], 2),
        "apply_s": round(batched["apply_s"], 2),
        "baseline_wall_s": round(baseline["wall_s"], 2) if baseline else None,
        "speedup": round(baseline["wall_s"] / batched["wall_s"], 1) if baseline else None,
        "rerun_writes": batched.get("rerun_writes"),
        "peak_rss_mb": batched["peak_rss_mb"],
        "rss_after_plan_mb": batched["rss_after_plan_mb"],
        "bench_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sandbox_peak_rss_mb": sandbox_rss,
        "sandbox_process": args.sandbox_process,
        "quotas": args.quotas,
        **quota_figures(args, batched),
        "throttle": args.throttle,
    }
    log(json.dumps(batched["counts"]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
