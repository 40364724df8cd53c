"""Batch limits, injected faults, latency, quotas and the admin HTTP API."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import _should_retry_response

from tests.sandbox.conftest import COACH, GoogleSandbox

FOLDER = "application/vnd.google-apps.folder"


def run_batch(service: Any, requests: list[Any]) -> list[tuple[Any, Exception | None]]:
    results: list[tuple[Any, Exception | None]] = []
    batch = service.new_batch_http_request(callback=lambda _id, resp, exc: results.append((resp, exc)))
    for request in requests:
        batch.add(request)
    batch.execute()
    return results


def test_a_batch_is_one_wire_request_carrying_many_items(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    drive.files().list().execute()  # fetch the token first so the count below is only the batch
    google.sb.state.log.reset()
    results = run_batch(
        drive, [drive.files().create(body={"name": f"k{n}", "mimeType": FOLDER}) for n in range(30)]
    )
    assert [exc for _, exc in results] == [None] * 30
    log = google.sb.state.log
    assert log.total() == 1 and len(log.items()) == 30 and len(log.writes()) == 30
    assert log.counts() == {"google drive batch": 1, "google drive files.create": 30}


@pytest.mark.parametrize(("api", "limit"), [("classroom", 50), ("calendar", 50), ("drive", 100)])
def test_batches_over_the_api_limit_are_refused(google: GoogleSandbox, api: str, limit: int) -> None:
    service = google.service(api)
    make = {
        "classroom": lambda: service.courses().list(),
        "calendar": lambda: service.events().list(calendarId="primary"),
        "drive": lambda: service.files().list(),
    }[api]
    assert all(exc is None for _, exc in run_batch(service, [make() for _ in range(limit)]))
    batch = service.new_batch_http_request()
    # googleapiclient itself stops at 1000 items; the service's own limit is far lower.
    for _ in range(limit + 1):
        batch.add(make())
    with pytest.raises(HttpError) as refused:
        batch.execute()
    assert refused.value.status_code == 400


def test_injected_429_carries_retry_after_and_is_retriable(google: GoogleSandbox) -> None:
    classroom = google.service("classroom")
    google.sb.state.faults.inject(
        vendor="google", path_glob="/classroom/v1/courses*", rate=1.0, status=429, retry_after=7, count=1
    )
    with pytest.raises(HttpError) as throttled:
        classroom.courses().list().execute()
    assert throttled.value.status_code == 429
    assert throttled.value.resp["retry-after"] == "7"
    assert json.loads(throttled.value.content)["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert _should_retry_response(throttled.value.status_code, throttled.value.content)
    assert classroom.courses().list().execute() == {}  # the rule fired its one time


def test_injected_403_user_rate_limit_uses_googles_reason(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    google.sb.state.faults.inject(
        vendor="google", http_method="POST", rate=1.0, status=403, reason="userRateLimitExceeded"
    )
    with pytest.raises(HttpError) as limited:
        drive.files().create(body={"name": "x", "mimeType": FOLDER}).execute()
    assert limited.value.status_code == 403
    assert limited.value.error_details[0]["reason"] == "userRateLimitExceeded"
    assert limited.value.error_details[0]["domain"] == "usageLimits"
    assert _should_retry_response(403, limited.value.content)
    drive.files().list().execute()  # GETs are untouched by a POST-only rule


def test_faults_apply_per_batch_item(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    drive.files().list().execute()
    google.sb.state.faults.inject(
        vendor="google", path_glob="/drive/drive/v3/files", http_method="POST", rate=1.0, status=503, count=2
    )
    results = run_batch(
        drive, [drive.files().create(body={"name": f"k{n}", "mimeType": FOLDER}) for n in range(4)]
    )
    statuses = [exc.status_code if isinstance(exc, HttpError) else 200 for _, exc in results]
    assert statuses == [503, 503, 200, 200]


def test_graph_only_faults_leave_google_alone_and_rates_are_seeded(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    google.sb.state.faults.inject(vendor="graph", rate=1.0, status=500)
    drive.files().list().execute()
    google.sb.state.faults.clear()
    google.sb.state.faults.inject(vendor="google", path_glob="/drive/*", rate=0.5, status=500)
    outcomes = []
    for _ in range(20):
        try:
            drive.files().list().execute()
            outcomes.append(200)
        except HttpError as err:
            outcomes.append(err.status_code)
    assert 0 < outcomes.count(500) < 20


def test_latency_is_added_per_request(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    drive.files().list().execute()
    google.sb.state.latency_ms = 60
    started = time.perf_counter()
    drive.files().list().execute()
    assert time.perf_counter() - started >= 0.06


def test_classroom_per_minute_quota_answers_429(google: GoogleSandbox) -> None:
    google.sb.state.quotas.classroom_per_user_per_min = 3
    classroom = google.service("classroom")
    for _ in range(3):
        classroom.courses().list().execute()
    with pytest.raises(HttpError) as limited:
        classroom.courses().list().execute()
    assert limited.value.status_code == 429
    assert "Requests per minute per user" in limited.value.reason


def admin(google: GoogleSandbox, verb: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{google.sb.google_url}/_sandbox/{path}", data=data, method=verb)
    with urllib.request.urlopen(request) as answer:  # noqa: S310 - loopback sandbox
        return json.loads(answer.read())["result"]


def test_admin_api_mirrors_the_python_controls(google: GoogleSandbox) -> None:
    assert admin(google, "POST", "clock", {"advance_seconds": 3600}) == "2026-01-05T08:00:00+00:00"
    user_id = admin(
        google, "POST", "google/add_user", {"email": "uusi@sandbox.example.fi", "name": "Uusi Asiakas"}
    )
    assert google.sb.google.user("uusi@sandbox.example.fi").id == user_id  # type: ignore[union-attr]
    admin(google, "POST", "faults", {"vendor": "google", "rate": 1.0, "status": 500, "count": 1})
    drive = google.service("drive")
    with pytest.raises(HttpError):
        drive.files().list().execute()
    log = admin(google, "GET", "log")
    assert log["counts"]["google drive files.list"] == 1 and log["total"] >= 2
    folder_id = admin(
        google, "POST", "google/add_file", {"owner_email": COACH, "name": "Pankki", "mime_type": FOLDER}
    )
    assert drive.files().get(fileId=folder_id).execute()["name"] == "Pankki"
    admin(google, "POST", "reset", {})
    assert google.sb.google.user(COACH) is None and google.sb.state.log.total() == 0


def test_the_log_counts_token_fetches_apart_from_api_requests(google: GoogleSandbox) -> None:
    """What the benchmarks print: API requests on the wire without the token endpoint, and the
    token fetches themselves (the admin API gives both to a benchmark in another process)."""
    google.sb.state.log.reset()
    drive = google.service("drive")
    drive.files().list().execute()  # a token fetch, then the call
    drive.files().list().execute()  # the token is reused
    log = admin(google, "GET", "log")
    assert (log["api_requests"], log["token_fetches"], log["total"]) == (2, 1, 3)
    assert (google.sb.state.log.api_requests(), google.sb.state.log.token_fetches()) == (2, 1)
