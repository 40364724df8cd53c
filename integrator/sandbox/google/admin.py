"""The admin API under /_sandbox/: the Python control surface as JSON, for other processes."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from integrator.sandbox.google.wire import HttpAnswer, HttpCall

if TYPE_CHECKING:
    from integrator.sandbox.google.app import GoogleApp

Json = dict[str, Any]

#: Simulation actions callable as POST /_sandbox/google/<action> with keyword arguments as JSON.
GOOGLE_ACTIONS = (
    "add_user", "add_external_user", "service_account_info", "create_shared_drive", "add_file", "upload_file",
    "accept_invitation", "accept_all_invitations", "submit_task", "join_meet", "submit_response",
)  # fmt: skip
_TIME_ARGS = ("at", "start")


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _json(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def handle(app: GoogleApp, call: HttpCall) -> HttpAnswer:
    try:
        args: Json = json.loads(call.body) if call.body else {}
        return HttpAnswer(200, {"result": _json(_dispatch(app, call.http_method, call.raw_path, args))})
    except (KeyError, ValueError, TypeError) as err:
        return HttpAnswer(400, {"error": str(err)})


def _dispatch(app: GoogleApp, verb: str, path: str, args: Json) -> Any:
    state, tenant = app.state, app.tenant
    route = path.removeprefix("/_sandbox/")
    if route == "clock":
        if "set" in args:
            state.clock.set(datetime.fromisoformat(args["set"]))
        if "advance_seconds" in args:
            state.clock.advance(timedelta(seconds=float(args["advance_seconds"])))
        return state.clock.now()
    if route == "faults":
        if verb == "DELETE":
            state.faults.clear()
            return None
        if verb == "POST":
            return state.faults.inject(**args)
        return state.faults.rules
    if route == "log":
        if verb == "DELETE":
            state.log.reset()
            return None
        return {"total": state.log.total(), "items": len(state.log.items()), "writes": len(state.log.writes()),
                "api_requests": state.log.api_requests(), "token_fetches": state.log.token_fetches(),
                "api_writes": sum(1 for e in state.log.writes() if e.api != "oauth"),
                "counts": state.log.counts()}  # fmt: skip
    if route == "latency":
        if verb == "POST":
            state.latency_ms = int(args["ms"])
        return state.latency_ms
    if route == "quotas":
        for key, value in args.items():
            if not hasattr(state.quotas, key) or key.startswith("_"):
                raise KeyError(f"unknown quota {key}")
            setattr(state.quotas, key, value)
        return {
            f.name: getattr(state.quotas, f.name)
            for f in dataclasses.fields(state.quotas)
            if not f.name.startswith("_")
        }
    if route == "reset" and verb == "POST":
        if app.sandbox is not None:
            app.sandbox.reset()
        else:
            state.reset()
            tenant.reset()
        return None
    if route == "mail":
        return state.sent_mail
    if route.startswith("google/"):
        action = route.removeprefix("google/")
        if verb != "POST" or action not in GOOGLE_ACTIONS:
            raise KeyError(f"unknown sandbox action {action}")
        for key in _TIME_ARGS:
            if isinstance(args.get(key), str):
                args[key] = datetime.fromisoformat(args[key])
        return getattr(tenant, action)(**args)
    raise KeyError(f"unknown sandbox route {route}")
