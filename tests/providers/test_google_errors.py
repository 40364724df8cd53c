"""How Google's error answers are sorted into our four error classes (pure, offline)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from integrator.providers.checks import THROTTLED, THROTTLED_FI, failed
from integrator.providers.errors import Fatal, NeedsReauth, Parked, Retriable
from integrator.providers.google.errors import classify, classify_http
from integrator.providers.retry import parse_retry_after


def google_error(code: int, reason: str | None = None, status: str = "") -> bytes:
    err: dict[str, object] = {"code": code, "message": "msg", "status": status}
    if reason:
        err["errors"] = [{"reason": reason, "domain": "usageLimits", "message": "msg"}]
    return json.dumps({"error": err}).encode()


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded"])
def test_403_rate_limits_are_retriable_not_fatal(reason: str) -> None:
    err = classify_http(403, google_error(403, reason))
    assert isinstance(err, Retriable)
    assert err.reason == reason


def test_daily_limit_parks_the_work_for_the_day() -> None:
    assert isinstance(classify_http(403, google_error(403, "dailyLimitExceeded")), Parked)
    assert isinstance(classify_http(429, google_error(429, "dailyLimitExceeded")), Parked)


def test_429_and_5xx_are_retriable_with_retry_after_seconds() -> None:
    err = classify_http(429, google_error(429, None, "RESOURCE_EXHAUSTED"), retry_after="7")
    assert isinstance(err, Retriable) and err.retry_after == 7.0
    assert isinstance(classify_http(503, b"Service Unavailable"), Retriable)
    assert isinstance(classify_http(500, google_error(500, "backendError")), Retriable)


def test_retry_after_as_http_date_counts_seconds_from_now() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 01 Dec 2026 08:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_401_and_unauthorized_client_need_reauthentication() -> None:
    assert isinstance(classify_http(401, google_error(401, "authError", "UNAUTHENTICATED")), NeedsReauth)
    body = json.dumps({"error": "unauthorized_client", "error_description": "x"}).encode()
    assert isinstance(classify_http(401, body), NeedsReauth)
    assert isinstance(classify(RefreshError("unauthorized_client: Client is unauthorized")), NeedsReauth)


def test_other_client_errors_are_fatal_and_keep_the_status_as_reason() -> None:
    err = classify_http(409, google_error(409, None, "ALREADY_EXISTS"))
    assert isinstance(err, Fatal) and err.reason == "ALREADY_EXISTS" and err.status == 409
    assert isinstance(classify_http(404, google_error(404, "notFound")), Fatal)
    assert isinstance(classify_http(400, google_error(400, "invalid")), Fatal)


def test_http_error_objects_and_transport_errors_are_classified() -> None:
    resp = httplib2.Response({"status": "429", "retry-after": "3"})
    err = classify(HttpError(resp, google_error(429, None, "RESOURCE_EXHAUSTED")))
    assert isinstance(err, Retriable) and err.retry_after == 3.0
    assert isinstance(classify(ConnectionResetError("reset")), Retriable)
    assert isinstance(classify(TimeoutError("slow")), Retriable)


def test_a_programming_error_is_not_swallowed() -> None:
    with pytest.raises(KeyError):
        classify(KeyError("bug"))


def test_a_throttled_token_refresh_is_waited_out_not_sent_to_the_admin_as_a_bad_delegation() -> None:
    err = classify(RefreshError("Too many requests", {"error": "rate_limit_exceeded"}, retryable=True))

    assert isinstance(err, Retriable) and not isinstance(err, NeedsReauth)
    check = failed("google.token", err, "add the delegation", "lisää delegointi")
    assert check.status == "fail"
    assert check.hint == THROTTLED and check.hint_fi == THROTTLED_FI
