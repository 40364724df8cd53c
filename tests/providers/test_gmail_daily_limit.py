"""Gmail's daily sending limit parks the rest of the letters instead of retrying them all day."""

from __future__ import annotations

import json

from integrator.providers.errors import Parked, Retriable
from integrator.providers.google.errors import classify_http


def _gmail_429(message: str) -> bytes:
    return json.dumps({"error": {"code": 429, "message": message, "status": "RESOURCE_EXHAUSTED",
                                 "errors": [{"reason": "rateLimitExceeded", "domain": "usageLimits",
                                             "message": message}]}}).encode()


def test_the_daily_mail_sending_limit_is_parked_for_the_day() -> None:
    err = classify_http(429, _gmail_429("User-rate limit exceeded.  Retry after 2026-12-04T22:00:00Z (Mail sending)"))
    assert isinstance(err, Parked)
    assert err.reason == "rateLimitExceeded"


def test_a_per_minute_gmail_rate_limit_is_still_only_retried() -> None:
    err = classify_http(429, _gmail_429("Too many concurrent requests for user"), retry_after="2")
    assert isinstance(err, Retriable) and err.retry_after == 2.0
