"""Drive v3 files: create, copy, get, list, update, delete and generated ids."""

from __future__ import annotations

import hashlib
from typing import Any

from integrator.sandbox.google.drive import (
    FOLDER,
    ID_ALPHABET,
    WRITERS,
    new_file,
    not_found,
    record_change,
    resolve_id,
    role_of,
    root_of,
    view,
    visible,
)
from integrator.sandbox.google.drive_query import compile_query
from integrator.sandbox.google.errors import GoogleError, invalid
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.tenant import GoogleTenant, GoogleUser
from integrator.sandbox.google.util import page, rfc3339

Json = dict[str, Any]


def _parents_for_create(call: Call, requested: list[str]) -> list[str]:
    if len(requested) > 1:
        raise GoogleError(
            403, "Increasing the number of parents is not allowed", reason="cannotAddParent", domain="global"
        )
    if not requested:
        return [root_of(call.tenant, call.user)]
    parent_id = resolve_id(call.tenant, call.user, requested[0])
    if parent_id in call.tenant.drive.drives:
        if not call.param("supportsAllDrives") or call.user.email not in call.tenant.drive.members[parent_id]:
            raise not_found(parent_id)
        return [parent_id]
    parent = visible(call, parent_id, write=True)
    if parent.resource["mimeType"] != FOLDER:
        raise invalid("The specified parent is not a folder.", reason="parentNotAFolder")
    return [parent_id]


@handles("drive.files.create")
def create_file(call: Call) -> Json:
    meta: Json = dict(call.body or {})
    if call.media is not None and "mimeType" not in meta:
        meta["mimeType"] = call.media_type
    file_id = meta.get("id")
    if file_id is not None:
        if file_id in call.tenant.drive.files:
            raise GoogleError(
                409, "A file already exists with the provided ID.", "ALREADY_EXISTS", reason="duplicate"
            )
        if file_id not in call.tenant.drive.generated:
            raise invalid("The provided file ID is not usable.", reason="fileIdNotUsable")
        call.tenant.drive.generated.discard(file_id)
    parents = _parents_for_create(call, list(meta.get("parents") or []))
    record = new_file(call.tenant, call.user, meta, parents, call.media or b"", file_id)
    return view(call.tenant, record, call.user)


def _writable_parent(call: Call, parent_id: str) -> bool:
    if parent_id in call.tenant.drive.drives:
        return (
            bool(call.param("supportsAllDrives")) and call.user.email in call.tenant.drive.members[parent_id]
        )
    parent = call.tenant.drive.files.get(parent_id)
    return parent is not None and role_of(call.tenant, call.user, parent) in WRITERS


@handles("drive.files.copy")
def copy_file(call: Call) -> Json:
    source = visible(call, call.params["fileId"])
    if source.resource["mimeType"] == FOLDER:
        raise GoogleError(403, "This file cannot be copied by the user.", reason="cannotCopyFile")
    meta: Json = dict(call.body or {})
    meta.setdefault("name", f"Copy of {source.resource['name']}")
    meta["mimeType"] = source.resource["mimeType"]
    meta.setdefault("appProperties", source.resource.get("appProperties"))
    meta.setdefault("description", source.resource.get("description"))
    requested = list(meta.get("parents") or [])
    if not requested:
        # Drive: a copy "inherits any discoverable parents of the source file".
        requested = [p for p in source.resource.get("parents", []) if _writable_parent(call, p)][:1]
    parents = _parents_for_create(call, requested)
    record = new_file(call.tenant, call.user, meta, parents, source.content, None)
    return view(call.tenant, record, call.user)


def _published(call: Call) -> bool:
    return bool(call.param("includePermissionsForView") == "published")


@handles("drive.files.get")
def get_file(call: Call) -> Json:
    return view(call.tenant, visible(call, call.params["fileId"]), call.user, _published(call))


@handles("drive.files.list")
def list_files(call: Call) -> Json:
    tenant, user = call.tenant, call.user
    drive_id = call.param("driveId")
    all_drives = bool(call.param("includeItemsFromAllDrives")) and bool(call.param("supportsAllDrives"))
    if drive_id and not all_drives:
        raise GoogleError(
            403,
            "The includeItemsFromAllDrives and supportsAllDrives parameters must be set to true when driveId is specified.",
            reason="teamDriveIdRequiresIncludeTeamDriveItems",
        )
    match = compile_query(call.param("q") or "")
    roots = set(tenant.drive.roots.values())
    found: list[Json] = []
    for record in tenant.drive.files.values():
        if record.resource["id"] in roots or record.resource["id"] in tenant.drive.drives:
            continue
        if record.drive_id is not None and not all_drives:
            continue
        if drive_id and record.drive_id != drive_id:
            continue
        if role_of(tenant, user, record) is None:
            continue
        shown = view(tenant, record, user, _published(call))
        if match(_with_root_alias(tenant, user, shown)):
            found.append(shown)
    order = (call.param("orderBy") or "").split(",")[0].strip()
    if order:
        key, _, direction = order.partition(" ")
        found.sort(key=lambda f: str(f.get(key, "")).lower(), reverse=direction == "desc")
    chunk, token = page(found, call.param("pageToken"), call.param("pageSize"), tenant.state.page_size)
    body: Json = {"kind": "drive#fileList", "incompleteSearch": False, "files": chunk}
    if token:
        body["nextPageToken"] = token
    return body


def _with_root_alias(tenant: GoogleTenant, user: GoogleUser, shown: Json) -> Json:
    root = tenant.drive.roots.get(user.email)
    if root and root in shown.get("parents", []):
        return {**shown, "parents": [*shown["parents"], "root"]}
    return shown


@handles("drive.files.update")
def update_file(call: Call) -> Json:
    record = visible(call, call.params["fileId"], write=True)
    resource = record.resource
    meta: Json = call.body or {}
    for key in ("name", "description", "trashed", "mimeType"):
        if key in meta:
            resource[key] = meta[key]
    for key in ("appProperties", "properties"):
        if key in meta:
            merged = dict(resource.get(key, {}))
            for name, value in (meta[key] or {}).items():
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
            resource[key] = merged
    parents = list(resource.get("parents", []))
    for remove in filter(None, (call.param("removeParents") or "").split(",")):
        if remove in parents:
            parents.remove(remove)
    for add in filter(None, (call.param("addParents") or "").split(",")):
        add = _parents_for_create(call, [add])[0]
        if add not in parents:
            parents.append(add)
    if len(parents) > 1:
        raise GoogleError(403, "Increasing the number of parents is not allowed", reason="cannotAddParent")
    resource["parents"] = parents
    if call.media is not None:
        record.content = call.media
        resource["size"] = str(len(call.media))
        resource["md5Checksum"] = hashlib.md5(call.media, usedforsecurity=False).hexdigest()
    resource["modifiedTime"] = rfc3339(call.tenant.state.clock.now())
    resource["version"] = str(int(resource["version"]) + 1)
    record_change(call.tenant, record)
    return view(call.tenant, record, call.user)


@handles("drive.files.delete")
def delete_file(call: Call) -> None:
    record = visible(call, call.params["fileId"])
    if role_of(call.tenant, call.user, record) not in ("owner", "organizer"):
        raise GoogleError(
            403,
            "The user does not have sufficient permissions for this file.",
            reason="insufficientFilePermissions",
        )
    del call.tenant.drive.files[record.resource["id"]]
    record_change(call.tenant, record, removed=True)


@handles("drive.files.generateIds")
def generate_ids(call: Call) -> Json:
    count = int(call.param("count") or 10)
    if not 1 <= count <= 1000:
        raise invalid("Invalid Value", reason="invalid", location="count")
    ids = ["1" + call.tenant.new_id(32, alphabet=ID_ALPHABET) for _ in range(count)]
    call.tenant.drive.generated.update(ids)
    return {"kind": "drive#generatedIds", "space": call.param("space") or "drive", "ids": ids}
