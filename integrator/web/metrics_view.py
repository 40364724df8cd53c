"""`/metrics` for Prometheus: behind authentication like every route (scrape with an API token)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort

from integrator.observability import metrics
from integrator.web.access import require_admin
from integrator.web.auth import current_principal
from integrator.web.context import get_store

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_text() -> Response:
    # Operations data across every organisation: for an admin of all of them (or their scraper token).
    p = current_principal()
    require_admin(p)
    if p.organisation_id is not None:
        abort(403, description="Vain koko palvelun ylläpitäjä näkee mittarit.")
    return Response(metrics.render(get_store()), mimetype="text/plain; version=0.0.4")


@bp.record_once
def _count_requests(state: object) -> None:
    app: Flask = state.app  # type: ignore[attr-defined]

    @app.after_request
    def _count(resp: Response) -> Response:
        metrics.HTTP_REQUESTS.inc(status=f"{resp.status_code // 100}xx")
        return resp
