"""Graph's and Entra's error shapes, so the SDKs raise exactly what they raise in production."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from flask import Response

GRAPH_ERROR_TEXT = {
    400: ("BadRequest", "Bad request."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Forbidden", "Forbidden."),
    404: ("ResourceNotFound", "Resource not found."),
    405: ("BadRequest", "The HTTP method is not supported for this resource."),
    409: ("Conflict", "Conflict."),
    429: ("TooManyRequests", "Too many requests."),
    500: ("generalException", "General exception while processing."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "Service unavailable."),
    504: ("GatewayTimeout", "The server did not receive a timely response."),
}


class GraphError(Exception):
    """Raised by a handler to answer with Graph's error JSON."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        default_code, default_message = GRAPH_ERROR_TEXT.get(status, ("UnknownError", "Error."))
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.retry_after = retry_after


def graph_error_body(code: str, message: str, now: datetime, client_request_id: str | None) -> dict[str, object]:
    request_id = str(uuid.uuid4())
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id or request_id,
            },
        }
    }


def graph_error_response(error: GraphError, now: datetime, client_request_id: str | None) -> Response:
    body = graph_error_body(error.code, error.message, now, client_request_id)
    response = Response(json.dumps(body), status=error.status, content_type="application/json")
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


class EntraError(Exception):
    """An AADSTS error from the token endpoint (OAuth2 error JSON with Entra's extra fields)."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(f"AADSTS{aadsts}: {description}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description


def entra_error_response(error: EntraError, now: datetime) -> Response:
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error.error,
        "error_description": (
            f"AADSTS{error.aadsts}: {error.description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}"
        ),
        "error_codes": [error.aadsts],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={error.aadsts}",
    }
    return Response(json.dumps(body), status=error.status, content_type="application/json; charset=utf-8")
