"""Drive v3: typed request builders and pure body mappings for task folders and sharing.

Every call sets ``supportsAllDrives`` so that the same code serves a shared drive and a
coordinator's My Drive. Folders carry two appProperties (our organisation and local key), so
that they can be found again by listing if the store ever loses track of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from googleapiclient.http import HttpRequest

from integrator.providers.google.client import GoogleClient
from integrator.providers.limits import DRIVE_PAGE_SIZE_MAX

Json = dict[str, Any]
FOLDER = "application/vnd.google-apps.folder"
KEY_PROPERTY = "integratorKey"
ORG_PROPERTY = "integratorOrg"


@dataclass(frozen=True)
class FolderSpec:
    local_key: str
    org_key: str
    name: str
    parent: str  # folder id, shared drive id or "root"


def folder_body(spec: FolderSpec, file_id: str | None = None) -> Json:
    body: Json = {
        "name": spec.name,
        "mimeType": FOLDER,
        "parents": [spec.parent],
        "appProperties": {KEY_PROPERTY: spec.local_key, ORG_PROPERTY: spec.org_key},
    }
    if file_id:
        body["id"] = file_id  # reserved with generateIds: a repeat create answers 409, never a twin
    return body


def permission_body(email: str, role: str = "writer") -> Json:
    return {"type": "user", "role": role, "emailAddress": email}


def org_folders_query(org_key: str) -> str:
    return (f"appProperties has {{ key='{ORG_PROPERTY}' and value='{org_key}' }} "
            f"and mimeType='{FOLDER}' and trashed=false")


def key_of(file: Json) -> str | None:
    props = file.get("appProperties") or {}
    value = props.get(KEY_PROPERTY)
    return str(value) if value else None


class Drive:
    """Request builders over one tenant's Drive service, acting as `subject`."""

    def __init__(self, client: GoogleClient) -> None:
        self.client = client

    def _files(self, subject: str | None) -> Any:
        return self.client.collection("drive", "files", subject=subject)

    def _perms(self, subject: str | None) -> Any:
        return self.client.collection("drive", "permissions", subject=subject)

    def generate_ids(self, subject: str | None, count: int) -> HttpRequest:
        return self._files(subject).generateIds(count=count, space="drive", type="files")

    def create_folder(self, subject: str | None, spec: FolderSpec, file_id: str | None) -> HttpRequest:
        return self._files(subject).create(body=folder_body(spec, file_id), supportsAllDrives=True,
                                           fields="id,name,parents,appProperties")

    def list_org_folders(self, subject: str | None, org_key: str, shared_drive_id: str | None) -> HttpRequest:
        params: dict[str, Any] = {"q": org_folders_query(org_key), "supportsAllDrives": True,
                                  "fields": "nextPageToken,files(id,name,parents,appProperties)", "pageSize": DRIVE_PAGE_SIZE_MAX}
        if shared_drive_id:
            params.update(corpora="drive", driveId=shared_drive_id, includeItemsFromAllDrives=True)
        return self._files(subject).list(**params)

    def add_permission(self, subject: str | None, file_id: str, email: str, role: str = "writer") -> HttpRequest:
        return self._perms(subject).create(fileId=file_id, body=permission_body(email, role), supportsAllDrives=True,
                                           sendNotificationEmail=False, fields="id,emailAddress,role")

    def remove_permission(self, subject: str | None, file_id: str, permission_id: str) -> HttpRequest:
        return self._perms(subject).delete(fileId=file_id, permissionId=permission_id, supportsAllDrives=True)
