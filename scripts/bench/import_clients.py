"""Benchmark: importing a generated client CSV (one client and one period a row) into SQLite.

    .venv/bin/python scripts/bench/import_clients.py [--rows 10000] [--database-url URL]

`--database-url` names an empty database (e.g. a fresh PostgreSQL database); by default a
temporary SQLite file is used.

Applies config/integrator.example.yaml to an empty store, writes a CSV of `--rows` clients of
organisation raisio (every column filled: contact details, group, period, briefing,
responsible worker), then imports it three times through `import_clients`, as the CLI does:
a dry run (check and count, roll back), the real import (creates everything) and the same file
again (must change nothing).

The last line printed is one JSON object:
    rows                 data rows in the file
    bytes                size of the file
    check_rows_per_s     rows per second of the dry run
    create_rows_per_s    rows per second of the first import (everything created)
    again_rows_per_s     rows per second of the second import (everything unchanged)
    again_changed        rows the second import created or updated (must be 0)
    peak_rss_mb          peak resident memory of this process
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from integrator.clients_import import import_clients
from integrator.config import load_settings
from integrator.config.apply import apply_settings
from integrator.store.db import Store
from integrator.store.migrate import upgrade

EXAMPLE = ROOT / "config" / "integrator.example.yaml"
HEADER = ("code;display_name;email;phone;google_user_id;entra_object_id;plain_language;digital_support;"
          "loan_device_note;group;service_model;period_start;period_end;weekdays;hours_per_day;"
          "briefing_recorded_at;briefing_recorded_by;responsible_worker")


def csv_text(rows: int) -> str:
    lines = [HEADER]
    for i in range(rows):
        lines.append(
            f"RAI-{i:05d};Asiakas {i};asiakas{i}@example.fi;+358 40 {i:07d};g{i};"
            f"{i:08x}-0000-4000-8000-000000000000;{'kyllä' if i % 2 else 'ei'};paljon;;tiistai;pitkä;"
            f"13.1.2026;12.7.2026;ti,to;4,5;10.1.2026 14:30;ohjaaja.tiistai@raisio.example.fi;"
            f"sosiaaliohjaaja@raisio.example.fi")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    args = parser.parse_args()
    settings = load_settings(EXAMPLE, check_secrets=False)
    raw = csv_text(args.rows).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        store = Store(url)
        apply_settings(store, settings)
        figures: dict[str, float] = {}
        results = {}
        for name, dry_run in (("check", True), ("create", False), ("again", False)):
            t0 = time.perf_counter()
            result = import_clients(store, raw, org_key="raisio", settings=settings, dry_run=dry_run)
            elapsed = time.perf_counter() - t0
            if result.problems:
                sys.exit("\n".join(p.format("bench.csv") for p in result.problems[:10]))
            results[name] = result
            figures[f"{name}_rows_per_s"] = round(args.rows / elapsed)
            print(f"{name}: {elapsed:.2f} s, {result.counts}", file=sys.stderr)
        store.dispose()
    again = results["again"].counts
    changed = sum(v for k, v in again.items() if k.endswith(("_created", "_updated")))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": args.rows, "bytes": len(raw), **figures, "again_changed": changed,
                      "peak_rss_mb": round(peak, 1)}))


if __name__ == "__main__":
    main()
