"""How Google's failures become our four error classes (pure): the one place they are sorted.

Any exception a Google call can raise goes through :func:`classify`; an HTTP error answer
(status, JSON body, Retry-After) through :func:`classify_http`:

    ============================================================  ===============
    403 userRateLimitExceeded / rateLimitExceeded / quotaExceeded  Retriable
    403/429 dailyLimitExceeded (and other per-day reasons)         Parked
    Gmail's "(Mail sending)" rate limit (its daily sending limit)  Parked
    429, 5xx, connection errors, timeouts                          Retriable (Retry-After parsed)
    (a connection never made: reason "connect"; see errors.never_reached)
    401, unauthorized_client, non-retryable RefreshError,          NeedsReauth
    403 insufficient scopes
    any other 4xx (400, 403, 404, 409 ALREADY_EXISTS, ...)         Fatal
    ============================================================  ===============

``ProviderError.reason`` is the first ``errors[].reason`` or else the error ``status``
(e.g. "ALREADY_EXISTS", "notFound"), so callers can branch on it.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import BatchError, HttpError

from integrator.providers.errors import Fatal, NeedsReauth, Parked, ProviderError, Retriable
from integrator.providers.google.transport import NotSent
from integrator.providers.retry import parse_retry_after

#: Reasons (with a 403) that mean "try again later": rate limits and passing backend errors.
RATE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "RESOURCE_EXHAUSTED",
                          "backendError", "internalError"})
#: Reasons that mean a daily quota is used up: parked until it resets.
DAILY_REASONS = frozenset({"dailyLimitExceeded", "dailyLimitExceededUnreg", "userDailyLimitExceeded",
                           "sendingLimitExceeded", "domainPolicy.dailyLimitExceeded"})
#: Reasons (with a 403) that mean the delegation lacks a scope: the admin must grant it.
SCOPE_REASONS = frozenset({"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "authError"})


def _error_fields(content: bytes | str | None) -> tuple[str | None, str]:
    """(reason, message) from Google's JSON error body; reason falls back to `status`."""
    if not content:
        return None, ""
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None, (content[:200].decode("utf-8", "replace") if isinstance(content, bytes) else content[:200])
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, str):  # OAuth-style {"error": "unauthorized_client", ...}
        return err, str(data.get("error_description", ""))
    if not isinstance(err, dict):
        return None, ""
    reason: str | None = None
    items = err.get("errors")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        reason = items[0].get("reason")
    for detail in err.get("details", []) or []:
        if reason is None and isinstance(detail, dict) and detail.get("reason"):
            reason = str(detail["reason"])
    return reason or err.get("status"), str(err.get("message", ""))


def classify_http(status: int, content: bytes | str | None, retry_after: str | None = None) -> ProviderError:
    """Turn an HTTP error answer into Retriable / Parked / NeedsReauth / Fatal."""
    reason, message = _error_fields(content)
    text = f"HTTP {status} {reason or ''}: {message}".strip()
    kw: dict[str, Any] = {"vendor": "google", "status": status, "reason": reason}
    if reason in DAILY_REASONS:
        return Parked(text, **kw)
    if "(Mail sending)" in message:
        # Gmail's 2,000-a-day sending limit arrives as a plain rateLimitExceeded whose message ends
        # "(Mail sending)"; retrying within the run only burns attempts until the day rolls over.
        return Parked(text, **kw)
    if status == 401 or reason == "unauthorized_client":
        return NeedsReauth(text, **kw)
    if status == 429 or status >= 500 or (status == 403 and reason in RATE_REASONS):
        return Retriable(text, retry_after=parse_retry_after(retry_after), **kw)
    if status == 403 and reason in SCOPE_REASONS:
        return NeedsReauth(text, **kw)
    return Fatal(text, **kw)


def classify(exc: BaseException) -> ProviderError:
    """Any exception a Google call can raise, as one of our error classes."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, HttpError):
        return classify_http(int(exc.resp.status), exc.content, exc.resp.get("retry-after"))
    if isinstance(exc, RefreshError):
        if getattr(exc, "retryable", False):
            # 429 or 5xx from the token endpoint: throttled or down, the delegation is fine.
            return Retriable(f"token refresh failed, retrying: {exc.args[0] if exc.args else ''}", vendor="google",
                             reason="token_throttled")
        return NeedsReauth(f"token refresh refused: {exc.args[0] if exc.args else exc}", vendor="google",
                           reason="unauthorized_client" if "unauthorized_client" in str(exc) else None)
    if isinstance(exc, NotSent):
        return Retriable(f"connection failed: {exc}", vendor="google", reason="connect")
    if isinstance(exc, TransportError):
        # google-auth's transport error comes from the token fetch only: the call itself never left.
        return Retriable(f"token fetch failed: {type(exc).__name__}: {exc}", vendor="google",
                         reason="token_unreachable")
    if isinstance(exc, httplib2.HttpLib2Error | socket.timeout | ConnectionError | TimeoutError):
        return Retriable(f"transport error: {type(exc).__name__}: {exc}", vendor="google")
    if isinstance(exc, BatchError):
        return Retriable(f"malformed batch answer: {exc}", vendor="google")
    if isinstance(exc, OSError):
        return Retriable(f"network error: {type(exc).__name__}: {exc}", vendor="google")
    raise exc
