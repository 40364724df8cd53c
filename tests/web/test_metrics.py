"""/metrics in the Prometheus text format: job durations, vendor API calls, queued messages."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import generate_latest

from integrator.domain.types import MessageKind
from integrator.observability import metrics
from integrator.store.models import OutboxMessage
from integrator.web.context import get_store
from tests.web.world import World

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? '
                    r'[-+]?(\d+(\.\d+)?([eE][-+]?\d+)?|\+Inf|NaN)$')


def test_metrics_are_valid_prometheus_text_with_the_promised_series(app: Flask, as_admin: FlaskClient,
                                                                    world: World) -> None:
    with get_store(app).session() as s:
        s.add(OutboxMessage(organisation_id=world.org_a, key="letter:x:K-0001:2026-W48", kind=MessageKind.WEEKLY_LETTER,
                            to_address="k-0001@asiakas.example.fi", subject="s", body_text="b"))
    metrics.record_api_call("google", "ok", 3)
    metrics.record_api_call("graph", "rate_limited")
    metrics.observe_job("nightly_sync", 12.5, "ok")

    resp = as_admin.get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.match(line), line
    assert 'integrator_api_calls_total{outcome="ok",vendor="google"}' in text
    assert 'integrator_api_calls_total{outcome="rate_limited",vendor="graph"}' in text
    assert 'integrator_job_duration_seconds_bucket{kind="nightly_sync",le="15.0",status="ok"}' in text
    assert 'integrator_job_duration_seconds_count{kind="nightly_sync",status="ok"}' in text
    assert 'integrator_outbox_messages{kind="weekly_letter",status="queued"} 1' in text
    assert 'integrator_job_runs{kind="weekly_setup",status="partial"} 1' in text
    assert "@" not in text


def test_job_duration_buckets_are_cumulative() -> None:
    for seconds in (0.5, 10, 5000):
        metrics.observe_job("bucket_check", seconds, "ok")
    lines = generate_latest(metrics.REGISTRY).decode().splitlines()
    assert 'integrator_job_duration_seconds_bucket{kind="bucket_check",le="1.0",status="ok"} 1.0' in lines
    assert 'integrator_job_duration_seconds_bucket{kind="bucket_check",le="15.0",status="ok"} 2.0' in lines
    assert 'integrator_job_duration_seconds_bucket{kind="bucket_check",le="+Inf",status="ok"} 3.0' in lines
    assert 'integrator_job_duration_seconds_count{kind="bucket_check",status="ok"} 3.0' in lines
