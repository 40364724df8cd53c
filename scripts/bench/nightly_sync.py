"""Benchmark: the nightly sync after a week of 1,000 clients (Teams and Meet groups, 2 days a week).

    .venv/bin/python scripts/bench/nightly_sync.py [--clients 1000] [--group-size 20] [--latency-ms 20]

In this process: a fresh sandbox tenant and SQLite store, the product's weekly setup (courses,
coursework, folders, meetings), then the week played on the sandbox clock (most clients attend,
some only return work in Classroom or Drive, some dial in by phone, some are absent). Then
`integrator nightly-sync` runs as a separate process (so that its memory is its own) at
Friday 02:00, and once more with nothing new. (It also runs the night before the week, as it
does every night: that run starts the Drive changes feed and is reported as `bootstrap_*`.) The last line on stdout is one JSON object:
`requests` (API requests on the wire in run 1; a batch counts once; token fetches not counted),
`wall_s` (run 1, process start to exit), `cpu_s` / `second_run_cpu_s` (user + system CPU seconds
of the sync process: wall grows when other work shares the cores, CPU much less), `peak_rss_mb` (the sync
process's own VmHWM, written by it at exit; `second_run_peak_rss_mb`: run 2's),
`second_run_requests` (run 2: with no new data only cursors are read, and each meeting of the
re-evaluation window is listed once, in batch envelopes), `token_fetches` / `second_run_token_fetches`
(OAuth token endpoint calls of both vendors), plus context fields. The sandbox is never in the
measured process: the sync is a child process of its own, so `peak_rss_mb` is the integrator's
alone (there is no `--sandbox-process` to ask for it, as weekly_setup.py has).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from integrator.demo.world import DemoWorld, GroupPlan, local
from integrator.domain.types import ServiceModel
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AttendanceDay

WEEK = "2026-W03"  # Mon 12.1. - Thu 15.1.2026, no holidays
SETUP_AT = datetime(2026, 1, 9, 10, 0, tzinfo=UTC)
MON = date(2026, 1, 12)
DAY_PAIRS = [[1, 3], [2, 4]]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def plans(clients: int, size: int) -> list[GroupPlan]:
    out = []
    for g in range((clients + size - 1) // size):
        n = min(size, clients - g * size)
        out.append(GroupPlan(f"g{g:03d}", f"Ryhmä {g}", DAY_PAIRS[g % 2], "teams" if g % 2 == 0 else "meet",
                             ServiceModel.LONG_TERM, n))
    return out


def api_requests(sb: Sandbox) -> int:
    return sb.state.log.api_requests()


def play_week(w: DemoWorld) -> dict[str, int]:
    """Each client-day: 60 % attend, 10 % Classroom return, 10 % Drive photo, 5 % phone, 15 % absent."""
    counts = {"attend": 0, "turn_in": 0, "photo": 0, "phone": 0, "absent": 0}
    days = sorted({wd.day for wd, _ in w.work_days()})
    by_day: dict[date, list[tuple[int, str]]] = {}
    for wd, group in w.work_days():
        by_day.setdefault(wd.day, []).append((wd.id, group))
    for day in days:
        w.sb.state.clock.set(local(day, 12))
        for wd_id, group in by_day[day]:
            for code in w.participants(wd_id):
                k = (int(code[2:]) * 7 + day.toordinal()) % 20
                if k < 12:
                    w.attend(code, group, day, 40 + k)
                    counts["attend"] += 1
                elif k < 14:
                    w.turn_in(code, group, day, at=local(day, 14))
                    counts["turn_in"] += 1
                elif k < 16:
                    w.drop_file(code, WEEK, "kuva.jpg", "image/jpeg", at=local(day, 13))
                    counts["photo"] += 1
                elif k < 17:
                    w.attend(code, group, day, 45, phone=f"+358 40 {int(code[2:]):07d}")
                    counts["phone"] += 1
                else:
                    counts["absent"] += 1
    return counts


#: The sync process under cProfile (`--profile`): the stats file, then the CLI's own arguments.
PROFILED = ("import cProfile, sys; from integrator.cli import main; p = cProfile.Profile(); out = sys.argv.pop(1)\n"
            "try:\n    p.runcall(main)\nfinally:\n    p.dump_stats(out)")
#: The sync process writes its own peak (VmHWM of its own address space) to the file named by
#: BENCH_HWM_FILE as it exits. Not `wait4`'s ru_maxrss: Linux keeps in it the high-water mark of
#: the address space the child had before its exec, i.e. this process's (which holds the sandbox
#: and the store it built), so a child smaller than this process reports this process's peak.
OWN_PEAK = ("import atexit, os\n"
            "def _own_peak():\n"
            "    with open('/proc/self/status') as f, open(os.environ['BENCH_HWM_FILE'], 'w') as out:\n"
            "        out.write(next(line for line in f if line.startswith('VmHWM:')).split()[1])\n"
            "atexit.register(_own_peak)\n")


def sync_process(w: DemoWorld, db_url: str, profile: str | None = None) -> tuple[float, int, float, float]:
    """Run `integrator nightly-sync` in its own process: (wall s, exit code, its peak RSS MB, its CPU
    seconds, user + system: unlike wall, this does not grow when other work shares the cores);
    `profile`: a file for its cProfile stats."""
    hwm = tempfile.NamedTemporaryFile(prefix="bench-hwm-", delete=False)
    hwm.close()
    env = {**os.environ, "INTEGRATOR_DATABASE_URL": db_url, "BENCH_HWM_FILE": hwm.name}
    head = (["-c", OWN_PEAK + PROFILED, profile] if profile
            else ["-c", OWN_PEAK + "from integrator.cli import main; main()"])
    cmd = [sys.executable, *head, "nightly-sync",
           "--config", str(w.config_path), "--now", w.sb.state.clock.now().isoformat()]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this run's own CPU, not the sum over all children
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        log(out.read().strip() or err.read().strip()[-2000:])
    own_kb = Path(hwm.name).read_text(encoding="utf-8").strip()
    os.unlink(hwm.name)
    peak = int(own_kb) / 1024 if own_kb else 0.0  # 0: the process died before it could say
    return wall, proc.returncode, peak, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--group-size", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--profile", help="write the second (no-change) run's cProfile stats to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir, Sandbox(page_size=100) as sb:
        tmp = Path(tmp_dir)
        quotas = sb.state.quotas
        quotas.classroom_per_user_per_min = quotas.classroom_per_project_per_min = None
        quotas.drive_per_user_per_min = None
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(db_url)
        store = Store(db_url)
        sb.state.clock.set(SETUP_AT)
        t0 = time.perf_counter()
        w = DemoWorld.build(sb, store, tmp / "world", groups=plans(args.clients, args.group_size), db_url=db_url)
        w.weekly_setup(WEEK)
        log(f"world and weekly setup: {time.perf_counter() - t0:.1f} s")
        # The night before the week: the sync runs every night, so the feeds already have their
        # cursors when the week starts (this first run lists the folders once to start the feed).
        sb.state.clock.set(local(date(2026, 1, 10), 2))
        sb.state.log.reset()
        boot_wall, _, _, _ = sync_process(w, db_url)
        boot_requests = api_requests(sb)
        log(f"bootstrap run (the night before): {boot_wall:.1f} s, {boot_requests} requests")
        t0 = time.perf_counter()
        played = play_week(w)
        log(f"week played in {time.perf_counter() - t0:.1f} s: {played}")
        sb.state.clock.set(local(date(2026, 1, 16), 2))  # Friday 02:00
        sb.state.latency_ms = args.latency_ms
        sb.state.log.reset()
        wall, rc, peak, cpu = sync_process(w, db_url)
        first, tokens = api_requests(sb), sb.state.log.token_fetches()
        by_api = {k: v for k, v in sb.state.log.counts().items() if "oauth" not in k and "login" not in k}
        log(f"run 1: {wall:.1f} s (CPU {cpu:.1f} s), {first} requests: {json.dumps(by_api, sort_keys=True)}")
        sb.state.log.reset()
        wall2, rc2, peak2, cpu2 = sync_process(w, db_url, args.profile)
        second, tokens2 = api_requests(sb), sb.state.log.token_fetches()
        log(f"run 2: {wall2:.1f} s (CPU {cpu2:.1f} s), {second} requests: {json.dumps(sb.state.log.counts(), sort_keys=True)}")
        with store.session() as s:
            days = s.scalar(select(func.count(AttendanceDay.id))) or 0
        store.dispose()
    result: dict[str, Any] = {
        "requests": first, "wall_s": round(wall, 2), "peak_rss_mb": round(peak, 1), "second_run_requests": second,
        "second_run_peak_rss_mb": round(peak2, 1),
        "second_run_wall_s": round(wall2, 2), "cpu_s": round(cpu, 2), "second_run_cpu_s": round(cpu2, 2), "bootstrap_requests": boot_requests,
        "bootstrap_wall_s": round(boot_wall, 2), "attendance_days": days, "clients": args.clients,
        "latency_ms": args.latency_ms, "exit_codes": [rc, rc2], "token_fetches": tokens,
        "second_run_token_fetches": tokens2,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
