"""Client task folders in a SharePoint document library (or a service account's OneDrive).

Graph drive items through the GraphClient; callers get plain dataclasses, never SDK models.
Folder and file names that a client sees are pseudonymous (the client code, the task's title),
never a person's name: the caller passes them and this module adds nothing personal.

Idempotency, because an answer can be lost after the server acted:
- ``ensure_folder`` creates with conflictBehavior "fail"; a 409 nameAlreadyExists means the
  folder is there (made by a lost answer or an earlier run), so it is looked up by name.
- ``share`` lists the item's permissions first and invites only who lacks the role; inviting
  twice would send a second invitation letter.
- ``upload_small`` replaces a file of the same name (a task document is rewritten, not copied).

Many at once (the weekly setup of a whole organisation): ``grants_many`` reads permissions in
`$batch` envelopes of 20; ``ensure_folders``, ``invite_many`` and ``upload_many`` send their writes
a few at a time (``WRITE_CONCURRENCY``) with the same idempotency as the one-by-one calls. Writes
do not go in `$batch`: file content is bytes (msgraph-core's batch item takes JSON bodies only),
and a lost envelope would leave twenty invitations in doubt instead of one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (
    CreateUploadSessionPostRequestBody,
)
from msgraph.generated.drives.item.items.item.invite.invite_post_request_body import InvitePostRequestBody
from msgraph.generated.models.drive_item import DriveItem
from msgraph.generated.models.drive_item_uploadable_properties import DriveItemUploadableProperties
from msgraph.generated.models.drive_recipient import DriveRecipient
from msgraph.generated.models.folder import Folder
from msgraph.generated.models.identity_set import IdentitySet
from msgraph.generated.models.permission import Permission

from integrator.providers.errors import Fatal, ProviderError
from integrator.providers.microsoft.client import GraphClient, error_for_status, map_error

#: Above this a file goes through an upload session (Graph's long-standing limit for a single PUT).
SMALL_UPLOAD_LIMIT = 4 * 1024 * 1024
#: Upload-session fragments must be multiples of 320 KiB; 10 of them stay well under 60 MiB.
CHUNK = 10 * 320 * 1024
CONFLICT = "@microsoft.graph.conflictBehavior"
#: Drive writes in flight at once: SharePoint throttles per app and tenant (429/503 with
#: Retry-After, honoured per call), so a few, not many.
WRITE_CONCURRENCY = 4


@dataclass(frozen=True)
class DriveFolder:
    drive_id: str
    id: str
    name: str
    web_url: str | None
    parent_id: str | None


@dataclass(frozen=True)
class DriveFile:
    drive_id: str
    id: str
    name: str
    web_url: str | None
    parent_id: str | None
    size: int


@dataclass(frozen=True)
class DriveChange:
    """One item of a delta round: created, changed or (``deleted``) removed since the cursor."""

    id: str
    name: str | None
    parent_id: str | None
    is_folder: bool
    deleted: bool
    size: int | None
    created_by_id: str | None
    created_by_email: str | None
    modified_by_email: str | None
    modified_at: datetime | None
    created_at: datetime | None = None  # when the item was first saved (a return's day)


@dataclass(frozen=True)
class Grant:
    """A direct sharing permission of one person on an item."""

    permission_id: str
    email: str
    roles: tuple[str, ...]


def _base(client: GraphClient) -> str:
    return str(client.sdk.request_adapter.base_url).rstrip("/")


def _email(identities: IdentitySet | None) -> tuple[str | None, str | None]:
    user = identities.user if identities else None
    if user is None:
        return None, None
    email = (user.additional_data or {}).get("email")
    return user.id, str(email) if email else None


def _folder(drive_id: str, item: DriveItem | None) -> DriveFolder:
    if item is None or not item.id:
        raise Fatal("graph drive: empty answer for a folder", vendor="graph")
    parent = item.parent_reference.id if item.parent_reference else None
    return DriveFolder(drive_id, item.id, item.name or "", item.web_url, parent)


def _file(drive_id: str, item: DriveItem | None) -> DriveFile:
    if item is None or not item.id:
        raise Fatal("graph drive: empty answer for a file", vendor="graph")
    parent = item.parent_reference.id if item.parent_reference else None
    return DriveFile(drive_id, item.id, item.name or "", item.web_url, parent, int(item.size or 0))


def _page(client: GraphClient, op: str, builder: Any) -> Any:
    """GET one page with a request builder bound to its URL (first page or an @odata.nextLink)."""
    return client.call(op, lambda sdk: builder.get())


def _delete(client: GraphClient, builder: Any) -> None:
    client.call("drive.permissions.delete", lambda sdk: builder.delete())


def children(client: GraphClient, drive_id: str, parent_id: str) -> list[DriveFolder | DriveFile]:
    """Every child of a folder, all pages read."""
    out: list[DriveFolder | DriveFile] = []
    builder = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(parent_id).children
    answer = client.call("drive.children", lambda sdk: builder.get())
    while answer is not None:
        for item in answer.value or []:
            out.append(_folder(drive_id, item) if item.folder is not None else _file(drive_id, item))
        link = answer.odata_next_link
        if not link:
            break
        answer = _page(client, "drive.children", builder.with_url(link))
    return out


def ensure_folder(client: GraphClient, drive_id: str, parent_id: str, name: str) -> DriveFolder:
    """The folder ``name`` under ``parent_id``: created once, found on every later call."""
    body = DriveItem(name=name, folder=Folder(), additional_data={CONFLICT: "fail"})
    builder = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(parent_id).children
    try:
        return _folder(drive_id, client.call("drive.folder.create", lambda sdk: builder.post(body)))
    except Fatal as err:
        if err.status != 409:
            raise
    for child in children(client, drive_id, parent_id):
        if isinstance(child, DriveFolder) and child.name.lower() == name.lower():
            return child
    raise Fatal(f"graph drive: '{name}' exists under {parent_id} but is not a folder", vendor="graph",
                status=409, reason="nameAlreadyExists")


def _grant(permission: Permission) -> Grant | None:
    """A person's direct permission (not an inherited one, not a site group or a link)."""
    if (permission.inherited_from is not None or not permission.id
            or permission.granted_to_v2 is None or permission.granted_to_v2.user is None):
        return None
    _, email = _email(permission.granted_to_v2)
    if email is None and permission.invitation is not None:
        email = permission.invitation.email
    if not email:
        return None
    return Grant(permission.id, email.lower(), tuple(permission.roles or ()))


def grants(client: GraphClient, drive_id: str, item_id: str) -> list[Grant]:
    item = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(item_id)
    answer = client.call("drive.permissions.list", lambda sdk: item.permissions.get())
    found = [_grant(p) for p in (answer.value or [])] if answer else []
    return [g for g in found if g is not None]


def grant_from_json(d: Mapping[str, Any]) -> Grant | None:
    """As `_grant`, from a permission's JSON object (a `$batch` answer's item)."""
    granted = d.get("grantedToV2") or {}
    user = granted.get("user") if isinstance(granted, dict) else None
    if d.get("inheritedFrom") is not None or not d.get("id") or not isinstance(user, dict):
        return None
    email = user.get("email") or (d.get("invitation") or {}).get("email")
    if not email:
        return None
    return Grant(str(d["id"]), str(email).lower(), tuple(str(r) for r in d.get("roles") or ()))


def _permissions_of(drive_id: str, item_id: str) -> Callable[[Any], Any]:
    return lambda sdk: sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(item_id).permissions


def grants_many(client: GraphClient, drive_id: str, item_ids: Sequence[str]) -> dict[str, list[Grant] | ProviderError]:
    """The direct permissions of many items, in `$batch` envelopes of 20 (items throttled are
    retried on their own, after their Retry-After); a failed read is that item's error."""
    ids = list(dict.fromkeys(item_ids))
    read = client.batch_lists("drive.permissions.list", {i: _permissions_of(drive_id, i) for i in ids},
                              grant_from_json, _grant)
    return {key: (found if isinstance(found, ProviderError) else [g for g in found if g is not None])
            for key, found in read.items()}


def _has(grants_: Sequence[Grant], role: str) -> set[str]:
    return {g.email for g in grants_ if role in g.roles or "write" in g.roles or "owner" in g.roles}


def share(client: GraphClient, drive_id: str, item_id: str, emails: list[str] | tuple[str, ...], role: str,
          *, send_invitation: bool = True, message: str | None = None) -> list[Grant]:
    """Give ``emails`` the ``role`` ("read" or "write") on the item; who has it already is skipped.

    Returns the permissions made now (empty on a re-run). The invite is not repeated by the
    retry policy when it sends letters: a re-run after a lost answer finds the permission.
    """
    if role not in ("read", "write"):
        raise ValueError(f"role must be 'read' or 'write', not {role!r}")
    have = _has(grants(client, drive_id, item_id), role)
    lacking = [e for e in dict.fromkeys(e.strip() for e in emails) if e and e.lower() not in have]
    if not lacking:
        return []
    body = InvitePostRequestBody(recipients=[DriveRecipient(email=e) for e in lacking], roles=[role],
                                 require_sign_in=True, send_invitation=send_invitation, message=message)
    item = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(item_id)
    answer = client.call("drive.invite", lambda sdk: item.invite.post(body), retry=not send_invitation)
    made = [_grant(p) for p in (answer.value or [])] if answer else []
    return [g for g in made if g is not None]


def unshare(client: GraphClient, drive_id: str, item_id: str, email: str) -> bool:
    """Remove that person's direct permission on the item; its files stay. False: had none."""
    item = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(item_id)
    removed = False
    for grant in grants(client, drive_id, item_id):
        if grant.email != email.strip().lower():
            continue
        try:
            _delete(client, item.permissions.by_permission_id(grant.permission_id))
        except Fatal as err:
            if err.status != 404:  # gone already (a lost answer of an earlier delete)
                raise
        removed = True
    return removed


def upload_small(client: GraphClient, drive_id: str, parent_id: str, name: str, data: bytes) -> DriveFile:
    """Write a task document (replacing one of the same name); an upload session above 4 MiB."""
    path = f"{_base(client)}/drives/{quote(drive_id, safe='')}/items/{quote(parent_id, safe='')}:/{quote(name, safe='')}:"
    item = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(parent_id)
    if len(data) <= SMALL_UPLOAD_LIMIT:
        url = f"{path}/content?{quote(CONFLICT)}=replace"
        return _file(drive_id, client.call("drive.upload", lambda sdk: item.content.with_url(url).put(data)))
    body = CreateUploadSessionPostRequestBody(item=DriveItemUploadableProperties(additional_data={CONFLICT: "replace"}))
    session = client.call("drive.upload.session",
                          lambda sdk: item.create_upload_session.with_url(f"{path}/createUploadSession").post(body))
    if session is None or not session.upload_url:
        raise Fatal("graph drive: upload session without an uploadUrl", vendor="graph")
    return _file(drive_id, _send_chunks(client, session.upload_url, data))


def _send_chunks(client: GraphClient, upload_url: str, data: bytes) -> DriveItem:
    """PUT the fragments without our token: the upload URL is its own credential (Graph's docs
    warn that an Authorization header there may be refused)."""
    answer: Any = None
    for start in range(0, len(data), CHUNK):
        part = data[start:start + CHUNK]
        headers = {"Content-Range": f"bytes {start}-{start + len(part) - 1}/{len(data)}"}
        try:
            answer = client.run(client._http.put(upload_url, content=part, headers=headers))
        except Exception as exc:  # noqa: BLE001 - transport errors are mapped, as in GraphClient.call
            raise map_error(exc, "drive.upload.chunk") from exc
        if answer.status_code >= 300:
            raise error_for_status("drive.upload.chunk", answer.status_code, None, answer.text,
                                   answer.headers.get("Retry-After"))
    node = JsonParseNodeFactory().get_root_parse_node("application/json", answer.content)
    item: DriveItem = node.get_object_value(DriveItem)  # type: ignore[arg-type]
    return item


def _change(item: DriveItem) -> DriveChange:
    created_id, created_email = _email(item.created_by)
    _, modified_email = _email(item.last_modified_by)
    return DriveChange(
        id=item.id or "", name=item.name, parent_id=item.parent_reference.id if item.parent_reference else None,
        is_folder=item.folder is not None or item.root is not None, deleted=item.deleted is not None,
        size=item.size, created_by_id=created_id, created_by_email=created_email,
        modified_by_email=modified_email, modified_at=item.last_modified_date_time,
        created_at=item.created_date_time)


def delta(client: GraphClient, drive_id: str, token: str | None) -> tuple[list[DriveChange], str]:
    """Everything changed in the drive since ``token`` (None: the whole drive), all pages read,
    and the token of the next round (from @odata.deltaLink)."""
    url = f"{_base(client)}/drives/{quote(drive_id, safe='')}/root/delta"
    if token:
        url += f"?token={quote(token, safe='')}"
    builder = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id("root").delta
    changes: list[DriveChange] = []
    while True:
        answer = _page(client, "drive.delta", builder.with_url(url))
        if answer is None:
            raise Fatal("graph drive.delta: empty answer", vendor="graph")
        changes.extend(_change(item) for item in answer.value or [])
        if answer.odata_next_link:
            url = answer.odata_next_link
            continue
        link = answer.odata_delta_link or ""
        next_token = parse_qs(urlsplit(link).query).get("token", [""])[0]
        if not next_token:
            raise Fatal("graph drive.delta: no deltaLink token on the last page", vendor="graph")
        return changes, next_token


# ---- many at once (the weekly setup): a few writes in flight, the same idempotency ----

Call = Callable[[Any], Awaitable[Any]]


def _bound(send: Callable[[Any], Awaitable[Any]], body: Any) -> Call:
    """A call of `call_many` sending `body` with its request builder's method."""
    return lambda sdk: send(body)


def ensure_folders(client: GraphClient, drive_id: str, parent_id: str, names: Sequence[str], *,
                   limit: int = WRITE_CONCURRENCY) -> dict[str, DriveFolder | ProviderError]:
    """`ensure_folder` for many names under one parent: created a few at a time with
    conflictBehavior "fail"; every 409 (a lost answer, an earlier run) is found by name in one
    listing of the parent."""
    builder = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(parent_id).children

    calls = [(n, _bound(builder.post, DriveItem(name=n, folder=Folder(), additional_data={CONFLICT: "fail"})), True)
             for n in dict.fromkeys(names)]
    answers = client.call_many("drive.folder.create", calls, limit=limit)
    out: dict[str, DriveFolder | ProviderError] = {}
    for name, answer in answers.items():
        try:
            out[name] = answer if isinstance(answer, ProviderError) else _folder(drive_id, answer)
        except Fatal as err:
            out[name] = err
    there = [n for n, a in out.items() if isinstance(a, Fatal) and a.status == 409]
    if there:
        try:
            listed = {c.name.lower(): c for c in children(client, drive_id, parent_id)}
        except ProviderError as err:
            listed, out = {}, {**out, **{n: err for n in there}}
        for name in there if listed else []:
            child = listed.get(name.lower())
            out[name] = child if isinstance(child, DriveFolder) else Fatal(
                f"graph drive: '{name}' exists under {parent_id} but is not a folder", vendor="graph",
                status=409, reason="nameAlreadyExists")
    return out


def invite_many(client: GraphClient, drive_id: str, invites: Mapping[str, tuple[str, str]], have: Mapping[str, Any],
                role: str, *, send_invitation: bool = True,
                limit: int = WRITE_CONCURRENCY) -> dict[str, list[Grant] | ProviderError]:
    """Invite {key: (item id, e-mail)} with ``role``, a few at a time, given each item's permissions
    as read just before (`grants_many`: a list, or the error that read met). Who has the role is
    skipped (an empty list); an item whose permissions could not be read gets that error and no
    invite, never a blind one. Not retried when a letter goes out, as `share`."""
    if role not in ("read", "write"):
        raise ValueError(f"role must be 'read' or 'write', not {role!r}")
    out: dict[str, list[Grant] | ProviderError] = {}
    calls: list[tuple[str, Call, bool]] = []
    for key, (item_id, email) in invites.items():
        read = have.get(item_id)
        if not isinstance(read, list):
            out[key] = read if isinstance(read, ProviderError) else Fatal(
                "graph drive: the item's permissions were not read", vendor="graph")
            continue
        if email.strip().lower() in _has(read, role):
            out[key] = []
            continue
        body = InvitePostRequestBody(recipients=[DriveRecipient(email=email.strip())], roles=[role],
                                     require_sign_in=True, send_invitation=send_invitation)
        builder = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(item_id).invite
        calls.append((key, _bound(builder.post, body), not send_invitation))
    for key, answer in client.call_many("drive.invite", calls, limit=limit).items():
        out[key] = answer if isinstance(answer, ProviderError) else [
            g for g in (_grant(p) for p in (answer.value if answer is not None else None) or []) if g is not None]
    return out


def upload_many(client: GraphClient, drive_id: str, files: Mapping[str, tuple[str, str, bytes]], *,
                limit: int = WRITE_CONCURRENCY) -> dict[str, DriveFile | ProviderError]:
    """`upload_small` for {key: (parent id, name, content)}, a few at a time (replace: a repeat
    rewrites the same file); a file above the single-PUT limit goes alone through its session."""
    out: dict[str, DriveFile | ProviderError] = {}
    calls: list[tuple[str, Call, bool]] = []
    for key, (parent_id, name, data) in files.items():
        if len(data) > SMALL_UPLOAD_LIMIT:
            try:
                out[key] = upload_small(client, drive_id, parent_id, name, data)
            except ProviderError as err:
                out[key] = err
            continue
        url = (f"{_base(client)}/drives/{quote(drive_id, safe='')}/items/{quote(parent_id, safe='')}:/"
               f"{quote(name, safe='')}:/content?{quote(CONFLICT)}=replace")
        builder = client.sdk.drives.by_drive_id(drive_id).items.by_drive_item_id(parent_id).content.with_url(url)
        calls.append((key, _bound(builder.put, data), True))
    for key, answer in client.call_many("drive.upload", calls, limit=limit).items():
        try:
            out[key] = answer if isinstance(answer, ProviderError) else _file(drive_id, answer)
        except Fatal as err:
            out[key] = err
    return out
