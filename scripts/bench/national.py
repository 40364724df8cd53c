"""Benchmark: Thursday's letters and a night's sync of N organisations x M clients, run by k
`integrator worker` processes (k = 1, 2, 4) on PostgreSQL against the sandbox tenant.

    .venv/bin/python scripts/bench/national.py --database-url postgresql://.../scratch \\
        [--orgs 300] [--clients 150] [--workers 1,2,4] [--concurrency 4] [--speed 5]

THE DATABASE IS EMPTIED (its public schema dropped) before each run: give a scratch database.

Each organisation has its own sending mailbox on the one sandbox tenant (tests/jobs/national_world.py:
one Teams group, M clients). The sandbox's quotas are on at the published limits (Exchange 30
messages a minute per mailbox, Graph 10,000 requests per mailbox per 10 minutes,
integrator/sandbox/core.py Quotas; the senders pace to integrator/providers/limits.py), counted on
the sandbox clock. That clock runs `--speed` times faster than the wall clock, and the workers'
pacing sleeps and measures time at the same speed (`worker --sandbox-speed`): a mailbox's 150
letters take 5 sandbox minutes, 60 wall seconds at speed 5. The workers are real processes;
their CPU time counts at the same speed, so on a small machine the ratio below includes it.

For each k: a fresh database and tenant, k workers started (not timed), then one firing of the
nightly sync for every organisation (the night after Tuesday's meetings) and one of the letters
(Thursday 12:00), each as the periodic tasks defer it, timed until the queue is empty.

    letters_bound_s  the lower bound the vendor's limit sets: a mailbox sends at most 30 in any
                     minute, so M letters take at least (ceil(M/30)-1)*60 s (240 s for 150). (Before
                     the senders sent bursts, the pacing's own bound was (M-1)*2 s: 298 s.)
    letters_s        sandbox-clock seconds from the firing until no letters job nor continuation
                     (`integrator.send`) is left in the queue
    last_letter_s    sandbox-clock seconds from the firing to the last letter the sandbox received
    ratio            letters_s / letters_bound_s (1.0: every mailbox sent at its limit at once)
    nightly_s        sandbox-clock seconds for the night's sync of every organisation
    requests         HTTP requests the sandbox served (letters; nightly)
    letters_per_wall_s  letters sent per wall second (letters_sent / (letters_s / speed)); the
                     bound asks for N*M / (letters_bound_s / speed)
    cpu_s            CPU seconds (user + system) over the letters, from /proc: `workers` (the k
                     worker processes together), `bench` (this process: the sandbox's servers and
                     the clock) and `machine_busy` (share of all cores busy, from /proc/stat, any
                     process: a CI run on the same cores counts). A run whose cores were near 100%
                     busy measured the machine, not the pacing.
    bursts_s         when each mailbox's n-th burst of 30 began (sandbox s from the firing): the
                     earliest, median and latest over the mailboxes, per burst (the bound: 0, 60, 120...)
    load             the 1-minute load average when the letters ended, and the number of cores
    peak_rss_mb      each worker's peak resident memory (VmHWM)

The last line printed is one JSON object with these per k.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from integrator.jobs.queue import Runtime, apply_schema, build_app, fire
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from tests.jobs.national_world import NationalWorld

NIGHT = datetime(2026, 1, 14, 0, 0, tzinfo=UTC)  # Wednesday 02:00 in Helsinki
THURSDAY = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)  # 12:00 in Helsinki: letters about 2026-W04
EXCHANGE_PER_MIN = 30


class RunningClock:
    """Moves the sandbox clock `speed` times faster than the wall clock, from a set instant."""

    def __init__(self, sb: Sandbox, speed: float) -> None:
        self.sb, self.speed = sb, speed
        self._base, self._m0 = NIGHT, time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def set(self, at: datetime) -> None:
        with self._lock:
            self._base, self._m0 = at, time.monotonic()
            self.sb.state.clock.set(at)

    def now(self) -> datetime:
        with self._lock:
            return self._base + timedelta(seconds=(time.monotonic() - self._m0) * self.speed)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.sb.state.clock.set(self.now())

    def stop(self) -> None:
        self._stop.set()


def reset(url: str) -> Store:
    st = Store(url)
    with st.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    st.dispose()
    upgrade(url)
    apply_schema(url)
    return Store(url)


def queue_left(store: Store, tasks: tuple[str, ...]) -> int:
    with store.session() as s:
        return int(s.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = ANY(:t) "
                                 "AND status IN ('todo', 'doing')"), {"t": list(tasks)}) or 0)


def letters_left(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(text("SELECT count(*) FROM outbox_message WHERE status IN "
                                 "('queued', 'sending', 'parked')")) or 0)


def failed(store: Store) -> Counter[str]:
    with store.session() as s:
        return Counter(str(t) for t, in s.execute(text(
            "SELECT task_name FROM procrastinate_jobs WHERE status = 'failed'")))


def timed_firing(w: NationalWorld, clock: RunningClock, kind: str, at: datetime) -> tuple[float, int]:
    """Sandbox-clock seconds from the firing until the queue has no job of `kind` left; requests."""
    clock.set(at)
    w.sb.state.log.reset()
    app = build_app(w.db_url, Runtime(w.store, w.settings))

    async def go() -> None:
        async with app.open_async():
            await fire(app, kind, int(at.timestamp()))

    asyncio.run(go())
    # The letters' senders hand on to their continuations (integrator.send) between bursts, and a
    # reminders run (every 5 minutes) may send a burst of them too: done when no letter is left.
    letters = kind == "weekly_letters"
    tasks = (f"integrator.{kind}", "integrator.send", "integrator.reminders") if letters else (f"integrator.{kind}",)
    while queue_left(w.store, tasks) or (letters and letters_left(w.store)):
        time.sleep(0.05)
    return (clock.now() - at).total_seconds(), w.sb.state.log.total()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far (/proc/<pid>/stat utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot (/proc/stat; idle and iowait are not busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


class CpuMeter:
    """CPU used between `start` and `stop` by the workers, this process, and the machine."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._w0, self._b0, self._m0 = self._read()

    def _read(self) -> tuple[float, float, tuple[int, int]]:
        me = os.times()
        return sum(cpu_s(p) for p in self.pids), me.user + me.system, machine_ticks()

    def stop(self) -> dict[str, float]:
        w1, b1, m1 = self._read()
        busy, total = m1[0] - self._m0[0], m1[1] - self._m0[1]
        return {"workers": round(w1 - self._w0, 1), "bench": round(b1 - self._b0, 1),
                "machine_busy": round(busy / total, 2) if total else 0.0}


def burst_starts(mail: list[Any]) -> list[list[float]]:
    """Per burst n (a mailbox's letters 30n, 30n+1, ...): [earliest, median, latest] start over the
    mailboxes, sandbox seconds from the firing."""
    by_sender: dict[str, list[float]] = {}
    for m in mail:
        by_sender.setdefault(m.sender, []).append((m.at - THURSDAY).total_seconds())
    starts: list[list[float]] = []
    for times in by_sender.values():
        times.sort()
        for n, i in enumerate(range(0, len(times), EXCHANGE_PER_MIN)):
            if n == len(starts):
                starts.append([])
            starts[n].append(times[i])
    return [[round(min(x), 1), round(sorted(x)[len(x) // 2], 1), round(max(x), 1)] for x in starts]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def one_run(url: str, orgs: int, clients: int, k: int, concurrency: int, speed: float) -> dict[str, Any]:
    store = reset(url)
    with tempfile.TemporaryDirectory() as tmp_s, Sandbox(start_time=NIGHT) as sb:
        tmp = Path(tmp_s)
        w = NationalWorld.build(sb, store, url, tmp, orgs=orgs, clients=clients,
                                jobs={"engine": "procrastinate", "concurrency": concurrency},
                                weeks=("2026-W03", "2026-W04"))
        clock = RunningClock(sb, speed)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [subprocess.Popen([sys.executable, "-m", "integrator", "worker", "--config", str(w.config_path),
                                   "--sandbox-clock", sb.google_url, "--sandbox-speed", str(speed),
                                   "--log-level", "ERROR"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(k)]
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # the workers have started (not timed)
                with store.session() as s:
                    if (s.scalar(text("SELECT count(*) FROM procrastinate_workers")) or 0) >= k:
                        break
                time.sleep(0.2)
            nightly_s, nightly_requests = timed_firing(w, clock, "nightly_sync", NIGHT)
            meter = CpuMeter([p.pid for p in procs])
            letters_s, letters_requests = timed_firing(w, clock, "weekly_letters", THURSDAY)
            cpu = meter.stop()
            load = [round(os.getloadavg()[0], 2), os.cpu_count() or 0]
            mail = sb.sent_mail()
            sent = Counter(m.sender for m in mail)
            bursts = burst_starts(mail)
            last_letter_s = max(((m.at - THURSDAY).total_seconds() for m in mail), default=0.0)
            rss = [peak_rss_mb(p.pid) for p in procs]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            clock.stop()
        bound = (math.ceil(clients / EXCHANGE_PER_MIN) - 1) * 60.0
        out = {"workers": k, "concurrency": concurrency, "letters_s": round(letters_s, 1),
               "last_letter_s": round(last_letter_s, 1),
               "letters_bound_s": round(bound, 1), "ratio": round(letters_s / bound, 2) if bound else None,
               "nightly_s": round(nightly_s, 1), "requests": {"letters": letters_requests, "nightly": nightly_requests},
               "letters_sent": sum(sent.values()), "mailboxes": len(sent),
               "letters_per_wall_s": round(sum(sent.values()) / (letters_s / speed), 1) if letters_s else None,
               "needed_per_wall_s": round(orgs * clients / (bound / speed), 1) if bound else None,
               "cpu_s": cpu, "load": load, "bursts_s": bursts,
               "most_from_one_mailbox": max(sent.values(), default=0), "failed_jobs": dict(failed(store)),
               "peak_rss_mb": rss}
        store.dispose()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default=os.environ.get("INTEGRATOR_BENCH_POSTGRES_URL"),
                    help="a scratch PostgreSQL database (EMPTIED); default $INTEGRATOR_BENCH_POSTGRES_URL")
    ap.add_argument("--orgs", type=int, default=300)
    ap.add_argument("--clients", type=int, default=150)
    ap.add_argument("--workers", default="1,2,4", help="the k to run, comma-separated")
    ap.add_argument("--concurrency", type=int, default=4, help="jobs one worker runs at once")
    ap.add_argument("--speed", type=float, default=5.0, help="sandbox-clock seconds per wall second")
    args = ap.parse_args()
    if not args.database_url:
        ap.error("give --database-url (a scratch PostgreSQL database: it is emptied)")
    logging.basicConfig(level=logging.ERROR)
    results = []
    for k in (int(x) for x in args.workers.split(",")):
        t0 = time.perf_counter()
        r = one_run(args.database_url, args.orgs, args.clients, k, args.concurrency, args.speed)
        r["wall_s"] = round(time.perf_counter() - t0, 1)
        results.append(r)
        print(f"k={k}: letters {r['letters_s']} s on the sandbox clock (last letter {r['last_letter_s']} s) "
              f"for a bound of {r['letters_bound_s']} s (x{r['ratio']}), {r['letters_sent']} letters from {r['mailboxes']} mailboxes, "
              f"{r['requests']['letters']} requests; {r['letters_per_wall_s']} letters/wall s "
              f"(bound needs {r['needed_per_wall_s']}); CPU s workers {r['cpu_s']['workers']}, bench "
              f"{r['cpu_s']['bench']}, machine busy {r['cpu_s']['machine_busy']:.0%}, load {r['load'][0]} "
              f"on {r['load'][1]} cores; night {r['nightly_s']} s, {r['requests']['nightly']} requests; "
              f"peak RSS per worker {r['peak_rss_mb']} MB; failed jobs {r['failed_jobs'] or 0}", flush=True)
    print(json.dumps({"orgs": args.orgs, "clients": args.clients, "speed": args.speed, "runs": results}))


if __name__ == "__main__":
    main()
