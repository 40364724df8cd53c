"""POST /_sandbox/graph/<action>: the ``sb.graph`` setup/simulation API as JSON, for other processes.

Not Graph: no token, no faults, no latency, not in the request log (those are vendor traffic).
Shared controls (clock, faults, log, reset, mail) live on the Google half's /_sandbox/ routes.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from integrator.sandbox.graph.tenant import GraphTenant

GRAPH_ACTIONS = ("register_app", "add_user", "grant_meeting_policy", "join_meeting", "add_drive", "grant_site",
                 "set_sharing_capability")


def _call(tenant: GraphTenant, action: str) -> Response:
    if action == "tenant" and request.method == "GET":
        return jsonify({"result": {"tenant_id": tenant.tenant_id, "domain": tenant.domain}})
    if request.method != "POST" or action not in GRAPH_ACTIONS:
        return Response(json.dumps({"error": f"unknown sandbox action {action}"}), 404, content_type="application/json")
    args: dict[str, Any] = request.get_json(silent=True) or {}
    try:
        if isinstance(args.get("start"), str):
            args["start"] = datetime.fromisoformat(args["start"])
        if isinstance(args.get("certificate_pem"), str):
            args["certificate_pem"] = args["certificate_pem"].encode()
        result = getattr(tenant, action)(**args)
    except (KeyError, ValueError, TypeError) as err:
        return Response(json.dumps({"error": str(err)}), 400, content_type="application/json")
    return jsonify({"result": list(result) if isinstance(result, tuple) else result})


def register(app: Flask, tenant: GraphTenant) -> None:
    app.add_url_rule(
        "/_sandbox/graph/<action>", "admin.graph", lambda action: _call(tenant, action), methods=["GET", "POST"]
    )
