"""This process's Prometheus metrics, kept with prometheus-client in a registry of our own.

In-process counters and histograms: vendor API calls by vendor and outcome, durations of jobs run by
this process, and requests to this service. What the store knows (queued messages, job runs by
status, counted across every process) is read at scrape time by `integrator.web.metrics_view`, so
that this module, which the providers call, depends on nothing of ours.

Providers report each vendor call with `record_api_call("google", "ok")`; outcomes are a small
fixed vocabulary (ok, retried, rate_limited, failed, parked) to keep label cardinality low.
"""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

# No `*_created` timestamp series beside each counter and histogram (a process-wide switch of
# prometheus-client): Prometheus does not need them, and they would double the series scraped.
disable_created_metrics()  # type: ignore[no-untyped-call]

JOB_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, math.inf)

# Not prometheus-client's global default registry: only what is declared here is exposed, and a
# library that registers its own collectors there cannot collide with ours.
REGISTRY = CollectorRegistry()

# Label names in alphabetical order: the order they have always been written out in.
API_CALLS = Counter("integrator_api_calls", "Vendor API calls by vendor and outcome.",
                    ("outcome", "vendor"), registry=REGISTRY)  # exposed as integrator_api_calls_total
JOB_DURATION = Histogram("integrator_job_duration_seconds", "Duration of jobs run by this process.",
                         ("kind", "status"), buckets=JOB_BUCKETS, registry=REGISTRY)
HTTP_REQUESTS = Counter("integrator_http_requests", "Requests to this service by status class.",
                        ("status",), registry=REGISTRY)  # exposed as integrator_http_requests_total


def record_api_call(vendor: str, outcome: str, n: int = 1) -> None:
    API_CALLS.labels(outcome=outcome, vendor=vendor).inc(n)


def api_call_count(vendor: str, outcome: str) -> float:
    """How many calls to `vendor` this process has counted with `outcome` (0 before the first)."""
    value = REGISTRY.get_sample_value("integrator_api_calls_total", {"outcome": outcome, "vendor": vendor})
    return value or 0.0


def observe_job(kind: str, seconds: float, status: str) -> None:
    JOB_DURATION.labels(kind=kind, status=status).observe(seconds)


def record_http_response(status_code: int) -> None:
    HTTP_REQUESTS.labels(status=f"{status_code // 100}xx").inc()
