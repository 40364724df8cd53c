"""Benchmark: how regularly the job-lock heartbeat renews a lease while its holder keeps the
database busy.

    .venv/bin/python scripts/bench/leases.py [--seconds 60] [--ttl 3] [--write-ms 500] [--url URL]

The main thread holds a lease (renewed every ttl/3 by the heartbeat thread) and meanwhile runs
write transactions back to back, each holding SQLite's single write lock for `--write-ms` (as
the nightly sync's one-transaction evaluation does), with a short pause between them. The
heartbeat's renewals must wait for that lock. Last line on stdout: JSON with `renewals_per_min`,
`longest_gap_s` (between two confirmed renewals), `interval_s` (the planned one) and `ttl_s`.
A gap under the TTL means the lease never lapsed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from integrator.jobs.locks import job_lock
from integrator.store.db import Store
from integrator.store.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ttl", type=float, default=3)
    parser.add_argument("--write-ms", type=float, default=500)
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'leases.db'}"
        upgrade(url)
        store = Store(url)
        ttl = timedelta(seconds=args.ttl)
        writes = 0
        with job_lock(store, "bench:leases", ttl=ttl) as lease:
            started = time.monotonic()
            while time.monotonic() - started < args.seconds:
                with store.engine.begin() as conn:  # holds the write lock for write_ms
                    conn.execute(text("UPDATE job_lock SET acquired_at = acquired_at WHERE name = 'bench:leases'"))
                    time.sleep(args.write_ms / 1000)
                writes += 1
                time.sleep(0.01)
                lease.check()
            held = time.monotonic() - started
        store.dispose()
    print(json.dumps({"renewals_per_min": round(lease.renewals / held * 60, 1),
                      "longest_gap_s": round(lease.longest_gap, 3), "interval_s": round(args.ttl / 3, 3),
                      "ttl_s": args.ttl, "write_ms": args.write_ms, "writes": writes, "held_s": round(held, 1),
                      "backend": url.split(":", 1)[0]}))


if __name__ == "__main__":
    main()
