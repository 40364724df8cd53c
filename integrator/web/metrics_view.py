"""`/metrics` for Prometheus: behind authentication like every route (scrape with an API token).

The answer is this process's own metrics (`integrator.observability.metrics`) followed by gauges
read from the store at scrape time, so that jobs run by the CLI in other processes count too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Blueprint, Flask, Response, abort
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from integrator.observability import metrics
from integrator.store.db import Store
from integrator.store.models import JobRun, OutboxMessage
from integrator.web.access import require_admin
from integrator.web.auth import current_principal
from integrator.web.context import get_store

bp = Blueprint("metrics", __name__)


class StoreCollector(Collector):
    """Messages in the outbox and job runs, counted in the store each time it is scraped."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        with self.store.session() as s:
            queued = s.execute(select(OutboxMessage.kind, OutboxMessage.status, func.count())
                               .group_by(OutboxMessage.kind, OutboxMessage.status)).all()
            runs = s.execute(select(JobRun.kind, JobRun.status, func.count())
                             .group_by(JobRun.kind, JobRun.status)).all()
        yield _gauge("integrator_outbox_messages", "Messages in the outbox by status and kind.", queued)
        yield _gauge("integrator_job_runs", "Job runs recorded in the store by kind and status.", runs)


def _gauge(name: str, help_text: str, rows: Iterable[Sequence[Any]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=("kind", "status"))
    for kind, status, n in sorted((str(k), str(st), int(n)) for k, st, n in rows):
        family.add_metric((kind, status), n)
    return family


def render(store: Store) -> bytes:
    """The Prometheus text exposition of this process's metrics and the store's gauges."""
    return generate_latest(metrics.REGISTRY) + generate_latest(StoreCollector(store))


@bp.get("/metrics")
def metrics_text() -> Response:
    # Operations data across every organisation: for an admin of all of them (or their scraper token).
    p = current_principal()
    require_admin(p)
    if p.organisation_id is not None:
        abort(403, description="Vain koko palvelun ylläpitäjä näkee mittarit.")
    return Response(render(get_store()), content_type=CONTENT_TYPE_LATEST)


@bp.record_once
def _count_requests(state: object) -> None:
    app: Flask = state.app  # type: ignore[attr-defined]

    @app.after_request
    def _count(resp: Response) -> Response:
        metrics.record_http_response(resp.status_code)
        return resp
