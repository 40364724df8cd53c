"""Drive v3 data: the store, who sees what, file views, the change log and the simulation entry points.

The handlers are in ``drive_files`` (files and generated ids) and ``drive_sharing`` (permissions,
the changes feed and shared drives); the ``q`` language is in ``drive_query``.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrator.sandbox.google.discovery import Method
from integrator.sandbox.google.errors import GoogleError
from integrator.sandbox.google.registry import Call
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser
from integrator.sandbox.google.util import rfc3339

Json = dict[str, Any]
FOLDER = "application/vnd.google-apps.folder"
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
ROLES = ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader")
WRITERS = ("owner", "organizer", "fileOrganizer", "writer")

#: What Drive returns when the caller does not ask for `fields` (Drive v3 answers sparsely).
_DEFAULT_FIELDS = {
    "File": "kind,id,name,mimeType",
    "FileList": "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)",
    "ChangeList": "kind,nextPageToken,newStartPageToken,changes(kind,changeType,time,removed,fileId,driveId,file(kind,id,name,mimeType))",
    "Permission": "kind,id,type,role",
    "PermissionList": "kind,nextPageToken,permissions(kind,id,type,role)",
    "Drive": "kind,id,name",
    "DriveList": "kind,nextPageToken,drives(kind,id,name)",
}


def default_fields(method: Method) -> str | None:
    return _DEFAULT_FIELDS.get(method.spec.get("response", {}).get("$ref", ""))


@dataclass
class DriveFile:
    resource: Json
    owner: str  # email
    content: bytes = b""
    drive_id: str | None = None
    permissions: list[Json] = field(default_factory=list)


@dataclass
class Change:
    token: int
    file_id: str
    time: str
    removed: bool
    drive_id: str | None
    snapshot: Json | None


@dataclass
class DriveData:
    files: dict[str, DriveFile] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # user email -> root folder id
    generated: set[str] = field(default_factory=set)
    changes: list[Change] = field(default_factory=list)
    drives: dict[str, Json] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)  # drive id -> member emails


def not_found(file_id: str) -> GoogleError:
    return GoogleError(404, f"File not found: {file_id}.", "NOT_FOUND", reason="notFound", location="fileId")


def _link(file_id: str, mime: str) -> str:
    if mime == FOLDER:
        return f"https://drive.google.com/drive/folders/{file_id}"
    if mime.startswith("application/vnd.google-apps."):
        kind = mime.rsplit(".", 1)[1]
        return f"https://docs.google.com/{kind}/d/{file_id}/edit?usp=drivesdk"
    return f"https://drive.google.com/file/d/{file_id}/view?usp=drivesdk"


def _owner_json(user: GoogleUser, me: GoogleUser | None) -> Json:
    return {
        "kind": "drive#user",
        "displayName": user.name,
        "emailAddress": user.email,
        "permissionId": user.id,
        "me": me is not None and me.id == user.id,
    }


def root_of(tenant: GoogleTenant, user: GoogleUser) -> str:
    data = tenant.drive
    if user.email not in data.roots:
        root_id = "0A" + tenant.new_id(17, alphabet=ID_ALPHABET) + "Uk9PVA"
        stamp = rfc3339(tenant.state.clock.now())
        data.files[root_id] = DriveFile(
            {"kind": "drive#file", "id": root_id, "name": "My Drive", "mimeType": FOLDER, "trashed": False,
             "createdTime": stamp, "modifiedTime": stamp, "webViewLink": _link(root_id, FOLDER), "version": "1"},
            user.email,
        )  # fmt: skip
        data.roots[user.email] = root_id
    return data.roots[user.email]


def resolve_id(tenant: GoogleTenant, user: GoogleUser, file_id: str) -> str:
    return root_of(tenant, user) if file_id == "root" else file_id


def role_of(tenant: GoogleTenant, user: GoogleUser, record: DriveFile, depth: int = 0) -> str | None:
    """The user's effective role: ownership, shared-drive membership, or a permission here or above."""
    if record.owner == user.email and record.drive_id is None:
        return "owner"
    if record.drive_id is not None and user.email in tenant.drive.members.get(record.drive_id, set()):
        return "organizer"
    for perm in record.permissions:
        if perm.get("view") == "published":
            continue  # a form's responders: they may answer it, not open it (forms_responses)
        if (
            perm.get("emailAddress") == user.email
            or perm.get("type") == "anyone"
            or (perm.get("type") == "domain" and perm.get("domain") == tenant.domain)
        ):
            return str(perm["role"])
    for parent in record.resource.get("parents", []):
        above = tenant.drive.files.get(parent)
        if above is not None and depth < 20:
            role = role_of(tenant, user, above, depth + 1)
            if role is not None:
                return "writer" if role in ("owner", "organizer") else role
    return None


def visible(call: Call, file_id: str, write: bool = False) -> DriveFile:
    file_id = resolve_id(call.tenant, call.user, file_id)
    record = call.tenant.drive.files.get(file_id)
    if record is None:
        raise not_found(file_id)
    if record.drive_id is not None and not call.param("supportsAllDrives"):
        raise not_found(file_id)
    role = role_of(call.tenant, call.user, record)
    if role is None:
        raise not_found(file_id)
    if write and role not in WRITERS:
        raise GoogleError(
            403,
            "The user does not have sufficient permissions for this file.",
            reason="insufficientFilePermissions",
        )
    return record


def view(tenant: GoogleTenant, record: DriveFile, me: GoogleUser | None, published: bool = False) -> Json:
    """A file as `me` sees it; `published` (includePermissionsForView=published) adds a form's
    responder permissions to ``permissions``."""
    shown = copy.deepcopy(record.resource)
    owner = tenant.user(record.owner)
    if record.drive_id is None and owner is not None:
        shown["owners"] = [_owner_json(owner, me)]
    if record.drive_id is not None:
        shown["driveId"] = record.drive_id
    perms = permissions_of(tenant, record, published)
    shown["permissionIds"] = [p["id"] for p in perms]
    if record.drive_id is None:  # "Not populated for items in shared drives."
        shown["permissions"] = perms
    return shown


def record_change(
    tenant: GoogleTenant, record: DriveFile, removed: bool = False, at: datetime | None = None
) -> None:
    data = tenant.drive
    snapshot = None if removed else copy.deepcopy(record)
    data.changes.append(
        Change(
            len(data.changes) + 1,
            record.resource["id"],
            rfc3339(at or tenant.state.clock.now()),
            removed,
            record.drive_id,
            snapshot.resource if snapshot else None,
        )
    )


def new_file(
    tenant: GoogleTenant, user: GoogleUser, meta: Json, parents: list[str], content: bytes, file_id: str | None,
    at: datetime | None = None,
) -> DriveFile:  # fmt: skip
    data = tenant.drive
    if file_id is None:
        file_id = "1" + tenant.new_id(32, alphabet=ID_ALPHABET)
    stamp = rfc3339(at or tenant.state.clock.now())
    mime = str(meta.get("mimeType") or "application/octet-stream")
    resource: Json = {
        "kind": "drive#file",
        "id": file_id,
        "name": meta.get("name") or "Untitled",
        "mimeType": mime,
        "parents": parents,
        "trashed": False,
        "createdTime": stamp,
        "modifiedTime": stamp,
        "webViewLink": _link(file_id, mime),
        "version": "1",
    }
    for key in ("appProperties", "properties", "description"):
        if meta.get(key):
            resource[key] = (
                {k: v for k, v in meta[key].items() if v is not None} if key != "description" else meta[key]
            )
    if mime != FOLDER and not mime.startswith("application/vnd.google-apps."):
        resource["size"] = str(len(content))
        resource["md5Checksum"] = hashlib.md5(content, usedforsecurity=False).hexdigest()
    drive_id = None
    if parents:
        parent = data.files.get(parents[0])
        drive_id = (
            parent.drive_id if parent is not None else (parents[0] if parents[0] in data.drives else None)
        )
    record = DriveFile(resource, user.email, content, drive_id)
    data.files[file_id] = record
    record_change(tenant, record, at=at)
    return record


def permissions_of(tenant: GoogleTenant, record: DriveFile, published: bool = False) -> list[Json]:
    """The file's permissions; a form's published-view ones only when asked for
    (``includePermissionsForView=published``), as Drive lists them."""
    perms: list[Json] = []
    owner = tenant.user(record.owner)
    if record.drive_id is None and owner is not None:
        perms.append({"kind": "drive#permission", "id": owner.id, "type": "user", "role": "owner",
                      "emailAddress": owner.email, "displayName": owner.name})  # fmt: skip
    return perms + [dict(p) for p in record.permissions if published or p.get("view") != "published"]


# ---- simulation ----


def create_shared_drive(tenant: GoogleTenant, name: str, member_emails: list[str]) -> str:
    with tenant.state.lock:
        drive_id = "0A" + tenant.new_id(17, alphabet=ID_ALPHABET) + "Uk9PVA"
        tenant.drive.drives[drive_id] = {"kind": "drive#drive", "id": drive_id, "name": name,
                                         "createdTime": rfc3339(tenant.state.clock.now()), "hidden": False}  # fmt: skip
        tenant.drive.members[drive_id] = {e.lower() for e in member_emails}
        return drive_id


def add_file(
    tenant: GoogleTenant, owner_email: str, name: str, mime_type: str, parents: list[str], content: bytes,
    at: datetime | None = None,
    must_write: bool = False,
) -> str:  # fmt: skip
    """Put a file in Drive as if ``owner_email`` had made it (appears in the changes feed).

    ``must_write`` makes it a user's upload: refused unless the folder is shared with them.
    """
    with tenant.state.lock:
        user = tenant.user(owner_email)
        if user is None:
            raise KeyError(f"unknown user {owner_email}")
        for parent in parents:
            if parent not in tenant.drive.files and parent not in tenant.drive.drives:
                raise KeyError(f"no folder {parent}")
        resolved = parents or [root_of(tenant, user)]
        if must_write:
            folder = tenant.drive.files.get(resolved[0])
            if folder is None or role_of(tenant, user, folder) not in WRITERS:
                raise PermissionError(f"{owner_email} cannot add files to {resolved[0]}")
        record = new_file(tenant, user, {"name": name, "mimeType": mime_type}, resolved, content, None, at)
        return str(record.resource["id"])
