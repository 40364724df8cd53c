"""The Google WSGI app: one pipeline (route, auth, faults, quota, validate, handle, log) per call."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from werkzeug.wrappers import Request, Response

from integrator.sandbox.core import LOSE_ANSWER, LogEntry
from integrator.sandbox.google import (
    admin,
    auth,
    batch,
    calendar,
    classroom,
    classroom_rosters,
    coursework,
    drive,
    drive_files,
    drive_sharing,
    forms,
    forms_responses,
    gmail,
    meet,
    signin,
    submissions,
    uploads,
)
from integrator.sandbox.google.discovery import APIS, Method, parse_query, route, validate_body
from integrator.sandbox.google.errors import GoogleError, injected, invalid, not_found, rate_limited
from integrator.sandbox.google.registry import HANDLERS, Call, Reply
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser
from integrator.sandbox.google.util import parse_fields, select
from integrator.sandbox.google.wire import HttpAnswer, HttpCall

#: Importing these modules registers their handlers by discovery method id.
API_MODULES = (
    calendar, classroom, classroom_rosters, coursework, drive, drive_files, drive_sharing, forms, forms_responses,
    gmail, meet, submissions,
)  # fmt: skip
log = logging.getLogger(__name__)
SANDBOX_PROJECT_NUMBER = "100000000001"
Json = dict[str, Any]


class GoogleApp:
    def __init__(self, tenant: GoogleTenant) -> None:
        self.tenant = tenant
        self.state = tenant.state
        #: The launcher's ``Sandbox``, so that the admin API's reset also empties the Graph half.
        self.sandbox: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(request.path))
        raw_path = raw.split("?", 1)[0]
        call = HttpCall(
            request.method,
            raw_path,
            request.query_string.decode(),
            {k.lower(): v for k, v in request.headers.items()},
            request.get_data(),
        )
        if raw_path in signin.PATHS or (raw_path == "/token" and request.form.get("grant_type") == "authorization_code"):
            # A user's sign-in (OpenID Connect): pages and JSON of accounts.google.com and its kin.
            signed = signin.handle(self.tenant, request, raw_path) if raw_path != "/token" else signin.redeem_code(
                self.tenant, request)
            self.state.log.record(
                LogEntry("google", "oidc", raw_path.rsplit("/", 1)[-1] or "discovery", request.method, raw_path,
                         signed.status_code, self.state.clock.now())
            )
            return signed(environ, start_response)
        if raw_path == "/token":
            status, token_body = auth.exchange(self.tenant, {k: v for k, v in request.form.items()})
            answer = HttpAnswer(status, token_body, {"Cache-Control": "no-store"})
            self.state.log.record(
                LogEntry("google", "oauth", "token", "POST", raw_path, status, self.state.clock.now())
            )
        elif raw_path.startswith("/_sandbox/"):
            answer = admin.handle(self, call)
        else:
            self.state.simulate_latency()
            answer = self.serve(call)
            if (lost := self.state.faults.pick("google", raw_path, request.method, mode="lose_answer")) is not None:
                environ[LOSE_ANSWER] = lost  # applied; SandboxRequestHandler drops the answer
        response = Response(answer.payload(), status=answer.status, headers=answer.headers)
        if answer.body is not None and "Content-Type" not in answer.headers:
            response.headers["Content-Type"] = "application/json; charset=UTF-8"
        return response(environ, start_response)

    def serve(self, call: HttpCall) -> HttpAnswer:
        api, rel, is_upload = split_path(call.raw_path)
        if api is not None and not is_upload and rel == batch.batch_path(api):
            return batch.serve(self, api, call)
        return self.execute(call)

    def execute(self, call: HttpCall) -> HttpAnswer:
        api, rel, is_upload = split_path(call.raw_path)
        method: Method | None = None
        user_key: str | None = None
        try:
            if api is None:
                raise not_found("Not Found")
            http_method = call.http_method
            if is_upload and http_method == "PUT":
                http_method = uploads.session_method(self.tenant, call.query) or http_method
            method, path_params = route(api, http_method, rel)
            if is_upload and "mediaUpload" not in method.spec:
                raise not_found("Not Found")
            token = auth.bearer(self.tenant, call.headers.get("authorization"), method.scopes)
            user = self.tenant.user(token.subject)
            if user is None:
                raise GoogleError(403, "The caller does not have permission", reason="forbidden")
            user_key = user.id
            fault = self.state.faults.pick("google", call.raw_path, call.http_method)
            if fault is not None:
                raise injected(fault.status, fault.reason, fault.retry_after)
            self._spend_quota(api, user.email, method)
            answer = self._handle(call, method, path_params, user, is_upload)
        except GoogleError as err:
            answer = HttpAnswer(err.code, err.body(), dict(err.headers))
        except Exception:  # noqa: BLE001 - a sandbox bug must still answer like a server would
            log.exception("sandbox handler failed for %s %s", call.http_method, call.raw_path)
            answer = HttpAnswer(
                500, GoogleError(500, "Internal error encountered.", reason="backendError").body()
            )
        self.state.log.record(
            LogEntry(
                "google",
                api or "unknown",
                method.operation if method else "unrouted",
                call.http_method,
                call.raw_path,
                answer.status,
                self.state.clock.now(),
                call.kind,
                user_key,
            )
        )
        return answer

    def _spend_quota(self, api: str, email: str, method: Method) -> None:
        quotas = self.state.quotas
        # Per-minute windows run on wall time so that a client honouring Retry-After can recover.
        now = datetime.now(UTC)
        minute = timedelta(minutes=1)
        if api == "forms":
            return self._spend_forms_quota(email, method, now, minute)
        units = 100 if method.operation == "users.messages.send" else (5 if api == "gmail" else 1)
        limits: dict[str, tuple[int | None, int | None, int, str]] = {
            # api: (per user, per project, status when refused, reason) as each service answers
            "classroom": (quotas.classroom_per_user_per_min, quotas.classroom_per_project_per_min, 429, "rateLimitExceeded"),
            "calendar": (quotas.calendar_per_user_per_min, quotas.calendar_per_project_per_min, 403, "userRateLimitExceeded"),
            "drive": (quotas.drive_per_user_per_min, None, 403, "userRateLimitExceeded"),
            "meet": (quotas.meet_per_user_per_min, None, 429, "rateLimitExceeded"),
            "gmail": (quotas.gmail_units_per_user_per_min, None, 403, "rateLimitExceeded"),
        }  # fmt: skip
        per_user, per_project, status, reason = limits[api]
        wait = quotas.take_all(
            [(f"{api}:project", per_project), (f"{api}:{email}", per_user)], minute, now, units
        )
        if wait is not None:
            metric = {"classroom": "Requests", "gmail": "Queries"}.get(api)
            message = (
                f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' of service "
                f"'{api}.googleapis.com' for consumer 'project_number:{SANDBOX_PROJECT_NUMBER}'."
                if metric
                else None
            )
            raise rate_limited(status, reason, wait, message)

    def _spend_forms_quota(self, email: str, method: Method, now: datetime, minute: timedelta) -> None:
        """Forms counts reads, expensive reads (responses.list) and writes apart; 429 when over."""
        quotas = self.state.quotas
        if method.operation == "forms.responses.list":
            kind, metric = "expensive_read", "Expensive read requests"
        elif method.http_method == "GET":
            kind, metric = "read", "Read requests"
        else:
            kind, metric = "write", "Write requests"
        per_user = getattr(quotas, f"forms_{kind}_per_user_per_min")
        per_project = getattr(quotas, f"forms_{kind}_per_project_per_min")
        wait = quotas.take_all([(f"forms:{kind}:project", per_project), (f"forms:{kind}:{email}", per_user)],
                               minute, now)
        if wait is not None:
            message = (f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute per user' of "
                       f"service 'forms.googleapis.com' for consumer 'project_number:{SANDBOX_PROJECT_NUMBER}'.")
            raise rate_limited(429, "rateLimitExceeded", wait, message)

    def _handle(
        self, call: HttpCall, method: Method, path_params: dict[str, str], user: GoogleUser, is_upload: bool
    ) -> HttpAnswer:
        query = parse_qs(call.query, keep_blank_values=True)
        upload_id = query.pop("upload_id", [None])[0]
        params = parse_query(method, query, path_params)
        ctx = Call(
            self.tenant,
            method,
            params,
            None,
            user,
            upload_type=params.get("uploadType") if is_upload else None,
        )
        if is_upload:
            pending = uploads.receive(
                self.tenant, call.raw_path, call.query, call.headers, call.body, ctx, upload_id
            )
            if isinstance(pending, HttpAnswer):
                return pending
        else:
            ctx.body = _json_body(call)
        validate_body(method, ctx.body)
        handler = HANDLERS.get(method.id)
        if handler is None:
            raise GoogleError(501, f"{method.id} is not implemented by the sandbox", "UNIMPLEMENTED")
        with self.state.lock:
            result = handler(ctx)
        if isinstance(result, Reply):
            return HttpAnswer(result.status, self._shape(method, params, result.body), result.headers)
        if result is None:
            return HttpAnswer(204, None)
        return HttpAnswer(200, self._shape(method, params, result))

    @staticmethod
    def _shape(method: Method, params: dict[str, Any], body: Json | None) -> Json | None:
        if body is None:
            return None
        fields = params.get("fields") or (drive.default_fields(method) if method.api == "drive" else None)
        if not fields:
            return body
        shaped: Json = select(body, parse_fields(fields))
        return shaped


def _json_body(call: HttpCall) -> Any:
    if not call.body:
        return None
    content_type = call.headers.get("content-type", "application/json")
    if "json" not in content_type:
        raise invalid(f"Invalid JSON payload received. Unexpected content type {content_type}.")
    try:
        return json.loads(call.body)
    except ValueError:
        raise invalid("Invalid JSON payload received. Unexpected token.") from None


def split_path(raw_path: str) -> tuple[str | None, str, bool]:
    """'/drive/drive/v3/files' -> ('drive', 'drive/v3/files', False); uploads may come at root too."""
    parts = raw_path.lstrip("/").split("/", 1)
    head, rest = parts[0], parts[1] if len(parts) > 1 else ""
    if head == "upload":
        api = rest.split("/", 1)[0]
        return (api if api in APIS else None), rest, True
    if head not in APIS:
        return None, rest, False
    if rest.startswith("upload/"):
        return head, rest.removeprefix("upload/"), True
    return head, rest, False
