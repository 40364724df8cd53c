"""Drive v3 sharing and feeds: permissions, the changes feed and shared drives."""

from __future__ import annotations

from typing import Any

from integrator.sandbox.google.drive import (
    ROLES,
    permissions_of,
    record_change,
    role_of,
    view,
    visible,
)
from integrator.sandbox.google.errors import GoogleError, invalid
from integrator.sandbox.google.forms import FORM
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.util import page

Json = dict[str, Any]


# ---- permissions ----


@handles("drive.permissions.create")
def create_permission(call: Call) -> Json:
    record = visible(call, call.params["fileId"], write=True)
    body: Json = call.body or {}
    kind, role = body.get("type"), body.get("role")
    if kind not in ("user", "group", "domain", "anyone"):
        raise invalid("The permission type field is required.", reason="required", location="permission.type")
    if role not in ROLES or role == "owner":
        raise invalid("The provided role is invalid.", reason="invalid", location="permission.role")
    perm: Json = {"kind": "drive#permission", "type": kind, "role": role}
    if body.get("view") is not None:
        _published_view(call, record.resource, body, perm)
    if kind in ("user", "group"):
        email = str(body.get("emailAddress", "")).lower()
        if not email:
            raise invalid("The permission emailAddress field is required.", reason="required")
        user = call.tenant.user(email) or call.tenant._add(email, email.split("@")[0], None, external=True)
        perm.update(id=user.id, emailAddress=email, displayName=user.name)
    elif kind == "domain":
        perm.update(id=call.tenant.new_id(20), domain=body.get("domain", call.tenant.domain))
    else:
        perm["id"] = "anyoneWithLink"
    if perm.get("view") == "published":
        perm["id"] += "Published"  # beside, not instead of, an ordinary permission of the same grantee
    record.permissions = [p for p in record.permissions if p["id"] != perm["id"]] + [perm]
    record_change(call.tenant, record)
    return dict(perm)


def _published_view(call: Call, resource: Json, body: Json, perm: Json) -> None:
    """A form's responder (``view: "published"``, role reader): Google's forms guide adds
    responders to a published form this way (googleworkspace/python-samples
    forms/snippets/anyone_with_link_responder.py; guides/publish-form)."""
    if body["view"] != "published" or resource.get("mimeType") != FORM:
        raise invalid("The view field is only supported with the value 'published' for forms.", reason="invalid",
                      location="permission.view")
    if body.get("role") != "reader":
        raise invalid("A published view permission must have the role reader.", reason="invalid",
                      location="permission.role")
    form = call.tenant.forms.forms.get(str(resource["id"]))
    if form is None or not form.published:
        raise GoogleError(400, "The form must be published before responders can be added.",
                          reason="formNotPublished")
    perm["view"] = "published"


@handles("drive.permissions.list")
def list_permissions(call: Call) -> Json:
    record = visible(call, call.params["fileId"])
    published = call.param("includePermissionsForView") == "published"
    chunk, token = page(permissions_of(call.tenant, record, published), call.param("pageToken"), call.param("pageSize"),
                        call.tenant.state.page_size)  # fmt: skip
    body: Json = {"kind": "drive#permissionList", "permissions": chunk}
    if token:
        body["nextPageToken"] = token
    return body


@handles("drive.permissions.get")
def get_permission(call: Call) -> Json:
    record = visible(call, call.params["fileId"])
    for perm in permissions_of(call.tenant, record):
        if perm["id"] == call.params["permissionId"]:
            return perm
    raise GoogleError(404, f"Permission not found: {call.params['permissionId']}.", reason="notFound",
                      location="permissionId")  # fmt: skip


@handles("drive.permissions.delete")
def delete_permission(call: Call) -> None:
    record = visible(call, call.params["fileId"], write=True)
    before = len(record.permissions)
    record.permissions = [p for p in record.permissions if p["id"] != call.params["permissionId"]]
    if len(record.permissions) == before:
        raise GoogleError(404, f"Permission not found: {call.params['permissionId']}.", reason="notFound",
                          location="permissionId")  # fmt: skip
    record_change(call.tenant, record)


# ---- changes ----


@handles("drive.changes.getStartPageToken")
def start_page_token(call: Call) -> Json:
    return {"kind": "drive#startPageToken", "startPageToken": str(len(call.tenant.drive.changes) + 1)}


@handles("drive.changes.list")
def list_changes(call: Call) -> Json:
    tenant, user = call.tenant, call.user
    try:
        start = int(call.params["pageToken"])
    except ValueError:
        raise invalid("Invalid Value", reason="invalid", location="pageToken") from None
    all_drives = bool(call.param("includeItemsFromAllDrives")) and bool(call.param("supportsAllDrives"))
    drive_id = call.param("driveId")
    size = min(call.param("pageSize") or tenant.state.page_size, tenant.state.page_size)
    items: list[Json] = []
    position = start
    changes = tenant.drive.changes
    while position <= len(changes) and len(items) < size:
        change = changes[position - 1]
        position += 1
        if drive_id and change.drive_id != drive_id:
            continue
        if change.drive_id is not None and not all_drives:
            continue
        record = tenant.drive.files.get(change.file_id)
        if record is not None and role_of(tenant, user, record) is None:
            continue
        item: Json = {"kind": "drive#change", "changeType": "file", "time": change.time,
                      "removed": change.removed or record is None, "fileId": change.file_id}  # fmt: skip
        if change.drive_id:
            item["driveId"] = change.drive_id
        if record is not None and not change.removed:
            item["file"] = view(tenant, record, user)
        items.append(item)
    body: Json = {"kind": "drive#changeList", "changes": items}
    if position <= len(changes):
        body["nextPageToken"] = str(position)
    else:
        body["newStartPageToken"] = str(len(changes) + 1)
    return body


# ---- shared drives ----


@handles("drive.drives.get")
def get_drive(call: Call) -> Json:
    drive = call.tenant.drive.drives.get(call.params["driveId"])
    if drive is None or call.user.email not in call.tenant.drive.members[drive["id"]]:
        raise GoogleError(404, f"Shared drive not found: {call.params['driveId']}", reason="notFound",
                          location="driveId")  # fmt: skip
    return dict(drive)


@handles("drive.drives.list")
def list_drives(call: Call) -> Json:
    mine = [
        dict(d)
        for d in call.tenant.drive.drives.values()
        if call.user.email in call.tenant.drive.members[d["id"]]
    ]
    chunk, token = page(mine, call.param("pageToken"), call.param("pageSize"), call.tenant.state.page_size)
    body: Json = {"kind": "drive#driveList", "drives": chunk}
    if token:
        body["nextPageToken"] = token
    return body
