"""Document libraries (SharePoint site drives, OneDrives) of the sandbox tenant: data + ``sb.graph`` API.

Kept apart from the HTTP handlers (graph/drive.py) so that the tenant can hold it without
importing Flask routes. Every stored item keeps the typed fields the emulator reasons with; its
Graph JSON is built on the way out (``item_json``), in SharePoint's shapes: ids ``01`` + 32
base32 characters, drive ids ``b!...``, ``eTag``/``cTag`` changing with each write, identities
``{"user": {"id", "displayName", "email"}}``.

Changes are ordered by one counter per drive: an item remembers the counter of its last change,
and a delta token is that counter (items changed after it, deleted ones with ``deleted``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integrator.sandbox.graph.timefmt import iso_z

if TYPE_CHECKING:
    from integrator.sandbox.graph.tenant import GraphTenant

Json = dict[str, Any]
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#: Application permissions that reach every drive in the tenant (Sites.Selected reaches only granted sites).
TENANT_WIDE_WRITE = frozenset({"Files.ReadWrite.All", "Sites.ReadWrite.All", "Sites.Manage.All", "Sites.FullControl.All"})
TENANT_WIDE_READ = TENANT_WIDE_WRITE | frozenset({"Files.Read.All", "Sites.Read.All"})
SITES_SELECTED = "Sites.Selected"


@dataclass
class DriveItem:
    id: str
    drive_id: str
    parent_id: str | None  # None: the drive's root
    name: str
    is_folder: bool
    created_by: Json
    created: datetime
    modified_by: Json
    modified: datetime
    content: bytes = b""
    version: int = 1
    content_version: int = 1
    seq: int = 0  # the drive's change counter at this item's last change
    deleted: bool = False


@dataclass
class Drive:
    id: str
    name: str
    drive_type: str  # "documentLibrary" (a site's) or "business" (a user's OneDrive)
    web_url: str
    root_id: str
    site_id: str | None
    owner: Json
    seq: int = 0


@dataclass
class UploadSession:
    id: str
    drive_id: str
    parent_id: str
    name: str
    conflict: str
    expires: datetime
    by: Json
    received: bytearray = field(default_factory=bytearray)


class DriveStore:
    """All drives, items, sharing permissions, upload sessions and per-site app grants."""

    def __init__(self, tenant: GraphTenant) -> None:
        self.tenant = tenant
        self.drives: dict[str, Drive] = {}
        self.items: dict[str, DriveItem] = {}
        #: item id -> its own (not inherited) sharing permissions, Graph JSON.
        self.permissions: dict[str, list[Json]] = {}
        self.sessions: dict[str, UploadSession] = {}
        #: site id -> {app client id -> roles} (Sites.Selected grants: POST /sites/{id}/permissions).
        self.site_grants: dict[str, dict[str, set[str]]] = {}
        #: lower-cased address -> guest object id: an invitation to someone outside the tenant makes
        #: them a guest (SharePoint's Entra B2B integration), the same id at every later invitation.
        self.guests: dict[str, str] = {}

    # -- ids and identities ----------------------------------------------------------------
    def _item_id(self) -> str:
        return "01" + self.tenant.state.random_id(32, _BASE32)

    def identity(self, user_key: str | None) -> Json:
        """``{"user": {...}}`` of a tenant user (by id or email), or the app for app-only writes."""
        user = self.tenant.find_user(user_key) if user_key else None
        if user is None:
            return {"application": {"id": user_key or "", "displayName": "integrator"}}
        return {"user": {"id": user["id"], "displayName": user["displayName"], "email": user["mail"]}}

    def guest_id(self, email: str) -> str:
        with self.tenant.state.lock:
            return self.guests.setdefault(email.lower(), self.tenant.new_uuid())

    # -- setup API ---------------------------------------------------------------------------
    def add_drive(self, site_name: str | None = None, owner_email: str | None = None) -> str:
        """A site's document library ("Documents") or, with ``owner_email``, that user's OneDrive."""
        state = self.tenant.state
        with state.lock:
            raw = state.rng.getrandbits(8 * 48).to_bytes(48, "big")
            drive_id = "b!" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
            host = f"{self.tenant.domain.split('.')[0]}.sharepoint.com"
            site_id = None
            if owner_email:
                owner = self.identity(owner_email)
                web_url = f"https://{host.replace('.sharepoint', '-my.sharepoint')}/personal/{owner_email.replace('@', '_').replace('.', '_')}/Documents"
                drive_type, name = "business", "OneDrive"
            else:
                site_id = f"{host},{self.tenant.new_uuid()},{self.tenant.new_uuid()}"
                owner = {"group": {"id": self.tenant.new_uuid(), "displayName": f"{site_name or 'Site'} Owners"}}
                web_url = f"https://{host}/sites/{site_name or 'site'}/Shared%20Documents"
                drive_type, name = "documentLibrary", "Documents"
            now = state.clock.now()
            root = DriveItem(self._item_id(), drive_id, None, "root", True, owner, now, owner, now)
            self.drives[drive_id] = Drive(drive_id, name, drive_type, web_url, root.id, site_id, owner)
            self.touch(root)
            self.items[root.id] = root
        return drive_id

    def grant_site(self, site_id: str, client_id: str, roles: list[str] | None = None) -> None:
        """What ``POST /sites/{site-id}/permissions`` does for an app under Sites.Selected."""
        with self.tenant.state.lock:
            self.site_grants.setdefault(site_id, {})[client_id] = set(roles or ["write"])

    def upload_as(self, user_email: str, drive_id: str, folder_id: str, name: str, data: bytes,
                  at: datetime | None = None) -> str:
        """Someone (a client returning a task) saves a file into a folder: createdBy is that user."""
        with self.tenant.state.lock:
            if folder_id not in self.items or self.items[folder_id].drive_id != drive_id:
                raise KeyError(f"no folder {folder_id!r} in drive {drive_id!r}")
            item = self.put_file(drive_id, folder_id, name, data, self.identity(user_email), "replace", at)
            return item.id

    # -- operations the handlers share ---------------------------------------------------------
    def touch(self, item: DriveItem) -> None:
        drive = self.drives[item.drive_id]
        drive.seq += 1
        item.seq = drive.seq

    def children(self, parent_id: str) -> list[DriveItem]:
        return sorted((i for i in self.items.values() if i.parent_id == parent_id and not i.deleted),
                      key=lambda i: i.name.lower())

    def child_named(self, parent_id: str, name: str) -> DriveItem | None:
        return next((i for i in self.children(parent_id) if i.name.lower() == name.lower()), None)

    def free_name(self, parent_id: str, name: str) -> str:
        """OneDrive's "rename" conflict behaviour: ``name 1.ext``, ``name 2.ext``..."""
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        n = 1
        while self.child_named(parent_id, f"{stem} {n}{dot}{ext}") is not None:
            n += 1
        return f"{stem} {n}{dot}{ext}"

    def new_item(self, drive_id: str, parent_id: str, name: str, is_folder: bool, by: Json,
                 content: bytes = b"", at: datetime | None = None) -> DriveItem:
        now = at or self.tenant.state.clock.now()
        item = DriveItem(self._item_id(), drive_id, parent_id, name, is_folder, by, now, by, now, content)
        self.touch(item)
        self.items[item.id] = item
        return item

    def put_file(self, drive_id: str, parent_id: str, name: str, data: bytes, by: Json, conflict: str,
                 at: datetime | None = None) -> DriveItem:
        """Write a file's content; ``conflict`` is Graph's conflictBehavior (fail|rename|replace).

        Raises FileExistsError for "fail" on an existing name (the handler answers 409).
        """
        existing = self.child_named(parent_id, name)
        if existing is not None and conflict == "fail":
            raise FileExistsError(name)
        if existing is not None and conflict == "rename":
            name, existing = self.free_name(parent_id, name), None
        if existing is None:
            return self.new_item(drive_id, parent_id, name, False, by, bytes(data), at)
        existing.content = bytes(data)
        existing.modified_by, existing.modified = by, at or self.tenant.state.clock.now()
        existing.version += 1
        existing.content_version += 1
        self.touch(existing)
        return existing

    def path_of(self, item: DriveItem) -> str:
        names: list[str] = []
        cursor = self.items.get(item.parent_id or "")
        while cursor is not None and cursor.parent_id is not None:
            names.append(cursor.name)
            cursor = self.items.get(cursor.parent_id)
        return "/drive/root:" + "".join("/" + n for n in reversed(names))

    def item_json(self, item: DriveItem) -> Json:
        drive = self.drives[item.drive_id]
        body: Json = {
            "id": item.id,
            "name": item.name,
            "eTag": f'"{{{item.id[2:10]}}},{item.version}"',
            "cTag": f'"c:{{{item.id[2:10]}}},{item.content_version}"',
            "createdDateTime": iso_z(item.created),
            "lastModifiedDateTime": iso_z(item.modified),
            "createdBy": item.created_by,
            "lastModifiedBy": item.modified_by,
            "size": len(item.content) if not item.is_folder else sum(
                len(c.content) for c in self.items.values() if c.parent_id == item.id and not c.deleted),
        }
        parent: Json = {"driveId": drive.id, "driveType": drive.drive_type}
        if item.parent_id is None:
            body["root"] = {}
            body["webUrl"] = drive.web_url
        else:
            parent.update({"id": item.parent_id, "path": self.path_of(item)})
            body["webUrl"] = drive.web_url + self.path_of(item).removeprefix("/drive/root:") + "/" + item.name
        if drive.site_id:
            parent["siteId"] = drive.site_id
        body["parentReference"] = parent
        if item.deleted:
            # A deleted item keeps its folder/file facet beside "deleted" (driveitem-delta.md, example 2).
            body["deleted"] = {"state": "deleted"}
        if item.is_folder:
            body["folder"] = {"childCount": 0 if item.deleted else len(self.children(item.id))}
        else:
            body["file"] = {"mimeType": "application/octet-stream", "hashes": {}}
        return body

    def drive_json(self, drive: Drive) -> Json:
        return {
            "id": drive.id,
            "name": drive.name,
            "driveType": drive.drive_type,
            "webUrl": drive.web_url,
            "owner": drive.owner,
            "createdDateTime": iso_z(self.items[drive.root_id].created),
            "quota": {"total": 1 << 40, "used": sum(len(i.content) for i in self.items.values()
                                                    if i.drive_id == drive.id and not i.deleted)},
        }
