"""Google's JSON error shape, raised anywhere in a handler and rendered by the app."""

from __future__ import annotations

from typing import Any

_STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class GoogleError(Exception):
    """An error answer in the shape every Google API uses: ``{"error": {code, message, status, errors}}``."""

    def __init__(
        self,
        code: int,
        message: str,
        status: str | None = None,
        reason: str | None = None,
        domain: str = "global",
        location: str | None = None,
        location_type: str | None = None,
        headers: dict[str, str] | None = None,
        item_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS_BY_CODE.get(code, "UNKNOWN")
        self.reason = reason
        self.domain = domain
        self.location = location
        self.location_type = location_type
        self.headers = headers or {}
        self.item_message = item_message or message

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.reason:
            item: dict[str, str] = {
                "message": self.item_message,
                "domain": self.domain,
                "reason": self.reason,
            }
            if self.location:
                item["location"] = self.location
                item["locationType"] = self.location_type or "parameter"
            error["errors"] = [item]
        error["status"] = self.status
        return {"error": error}


def not_found(message: str = "Requested entity was not found.", reason: str | None = None) -> GoogleError:
    return GoogleError(404, message, "NOT_FOUND", reason=reason)


def already_exists(message: str = "Requested entity already exists") -> GoogleError:
    return GoogleError(409, message, "ALREADY_EXISTS")


def invalid(message: str, reason: str | None = None, location: str | None = None) -> GoogleError:
    return GoogleError(400, message, "INVALID_ARGUMENT", reason=reason, location=location)


def permission_denied(message: str = "The caller does not have permission") -> GoogleError:
    return GoogleError(403, message, "PERMISSION_DENIED")


def unauthenticated() -> GoogleError:
    return GoogleError(
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
        "or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "UNAUTHENTICATED",
        reason="authError",
        location="Authorization",
        location_type="header",
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
        item_message="Invalid Credentials",
    )


def insufficient_scopes() -> GoogleError:
    return GoogleError(
        403,
        "Request had insufficient authentication scopes.",
        "PERMISSION_DENIED",
        reason="insufficientPermissions",
        headers={
            "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'
        },
        item_message="Insufficient Permission",
    )


def rate_limited(
    code: int, reason: str | None, retry_after: float | None, message: str | None = None
) -> GoogleError:
    """The shapes Google uses for throttling: 429 RESOURCE_EXHAUSTED or 403 usageLimits."""
    headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
    if code == 403:
        reason = reason or "userRateLimitExceeded"
        text = message or (
            "User Rate Limit Exceeded" if reason == "userRateLimitExceeded" else "Rate Limit Exceeded"
        )
        return GoogleError(
            403, text, "PERMISSION_DENIED", reason=reason, domain="usageLimits", headers=headers
        )
    return GoogleError(
        429,
        message or "Resource has been exhausted (e.g. check quota).",
        "RESOURCE_EXHAUSTED",
        reason=reason or "rateLimitExceeded",
        headers=headers,
    )


def injected(code: int, reason: str | None, retry_after: int | None) -> GoogleError:
    """An error chosen by a fault rule, in the shape the real service would have used."""
    if code in (403, 429):
        return rate_limited(code, reason, retry_after)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    messages = {
        500: "Internal error encountered.",
        502: "Bad Gateway",
        503: "The service is currently unavailable.",
        504: "Deadline exceeded",
    }
    return GoogleError(
        code,
        messages.get(code, "Injected sandbox fault"),
        reason=reason or ("backendError" if code >= 500 else "badRequest"),
        headers=headers,
    )
