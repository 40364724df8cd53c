"""Prometheus metrics in the text exposition format, without a client library.

In-process counters and histograms (API calls by vendor and outcome, durations of jobs run by
this process) plus values read from the store at scrape time (queued messages, job runs by
status), so that jobs run by the CLI in other processes are counted too.

Providers report each vendor call with `record_api_call("google", "ok")`; outcomes are a small
fixed vocabulary (ok, retried, rate_limited, failed, parked) to keep label cardinality low.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import func, select

from integrator.store.db import Store
from integrator.store.models import JobRun, OutboxMessage

Labels = tuple[tuple[str, str], ...]
JOB_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, math.inf)


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(v: float) -> str:
    if v == math.inf:
        return "+Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[Labels, float] = defaultdict(float)
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        with self._lock:
            self._values[tuple(sorted(labels.items()))] += amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            for labels, v in sorted(self._values.items()):
                yield f"{self.name}{_labels(labels)} {_fmt(v)}"


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = defaultdict(float)
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            counts = self._counts.setdefault(key, [0] * len(self.buckets))
            for i, upper in enumerate(self.buckets):
                if value <= upper:
                    counts[i] += 1
            self._sums[key] += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            for labels, counts in sorted(self._counts.items()):
                for upper, n in zip(self.buckets, counts, strict=True):
                    yield f"{self.name}_bucket{_labels((*labels, ('le', _fmt(upper))))} {n}"
                yield f"{self.name}_sum{_labels(labels)} {_fmt(self._sums[labels])}"
                yield f"{self.name}_count{_labels(labels)} {counts[-1]}"


API_CALLS = Counter("integrator_api_calls_total", "Vendor API calls by vendor and outcome.")
JOB_DURATION = Histogram("integrator_job_duration_seconds", "Duration of jobs run by this process.",
                         JOB_BUCKETS)
HTTP_REQUESTS = Counter("integrator_http_requests_total", "Requests to this service by status class.")


def record_api_call(vendor: str, outcome: str, n: int = 1) -> None:
    API_CALLS.inc(n, vendor=vendor, outcome=outcome)


def observe_job(kind: str, seconds: float, status: str) -> None:
    JOB_DURATION.observe(seconds, kind=kind, status=status)


def _store_metrics(store: Store) -> Iterable[str]:
    with store.session() as s:
        queued = s.execute(select(OutboxMessage.status, OutboxMessage.kind, func.count())
                           .group_by(OutboxMessage.status, OutboxMessage.kind)).all()
        runs = s.execute(select(JobRun.kind, JobRun.status, func.count())
                         .group_by(JobRun.kind, JobRun.status)).all()
    yield "# HELP integrator_outbox_messages Messages in the outbox by status and kind."
    yield "# TYPE integrator_outbox_messages gauge"
    for status, kind, n in sorted(queued, key=lambda r: (str(r[0]), str(r[1]))):
        yield f"integrator_outbox_messages{_labels((('kind', str(kind)), ('status', str(status))))} {n}"
    yield "# HELP integrator_job_runs Job runs recorded in the store by kind and status."
    yield "# TYPE integrator_job_runs gauge"
    for run_kind, run_status, n in sorted(runs, key=lambda r: (str(r[0]), str(r[1]))):
        yield f"integrator_job_runs{_labels((('kind', str(run_kind)), ('status', str(run_status))))} {n}"


def render(store: Store | None = None) -> str:
    lines: list[str] = [*API_CALLS.render(), *JOB_DURATION.render(), *HTTP_REQUESTS.render()]
    if store is not None:
        lines.extend(_store_metrics(store))
    return "\n".join(lines) + "\n"
