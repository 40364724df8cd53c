"""GET /admin/sharepoint/settings: the tenant's SharePoint and OneDrive settings (sharepointsettings-get.md).

What `tenant check` reads from it is ``sharingCapability``: whether task folders may be shared
with clients' personal (external) addresses. Tests set it with ``sb.graph.set_sharing_capability``.
The answer is the entity itself with ``@odata.context`` ``...#admin/sharepoint/settings/$entity``
(what the service and the SDK's ``admin.sharepoint.settings.get()`` read; the docs' example wraps
it in ``"value"``, see tests/conformance/graph_cases.py). Application permission
SharePointTenantSettings.Read.All (or .ReadWrite.All); without it the answer is 403 accessDenied.
"""

from __future__ import annotations

from flask import Flask, Response

from integrator.sandbox.graph.app import GraphApp, Operation, graph_app, json_response, tenant
from integrator.sandbox.graph.odata import base_url

SETTINGS_ROLES = frozenset({"SharePointTenantSettings.Read.All", "SharePointTenantSettings.ReadWrite.All"})
#: The service's answer to an app without the permission (SharePoint speaks OneDrive's lowerCamel codes).
DENIED = ("accessDenied", "Access denied")


def get_settings() -> Response:
    with graph_app().state.lock:
        settings = dict(tenant().sharepoint_settings)
    return json_response({"@odata.context": f"{base_url()}/$metadata#admin/sharepoint/settings/$entity", **settings})


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    app.graph_route("/admin/sharepoint/settings", ["GET"],
                    Operation("admin", "sharepoint settings get", SETTINGS_ROLES, denied=DENIED), get_settings)
