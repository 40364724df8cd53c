"""Graph drive items: folders, sharing, uploads and delta in a document library (or a OneDrive).

The subset (docs/dev/sandbox-contract.md): get drive/item, list/create children (with
``@microsoft.graph.conflictBehavior``), invite/list/delete permissions, small PUT upload,
upload sessions with chunked PUTs, DELETE item, and ``root/delta`` with tokens. Errors use
OneDrive's lowerCamel codes (itemNotFound, nameAlreadyExists, accessDenied, invalidRequest).

Access: Files.ReadWrite.All / Sites.ReadWrite.All reach every drive; Sites.Selected reaches a
site's library only after that site granted the app a role (``sb.graph.grant_site``).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, request

from integrator.sandbox.core import SentMail
from integrator.sandbox.graph.app import GraphApp, Operation, graph_app, json_response, tenant
from integrator.sandbox.graph.drive_store import (
    SITES_SELECTED,
    TENANT_WIDE_READ,
    TENANT_WIDE_WRITE,
    Drive,
    DriveItem,
    DriveStore,
    Json,
    UploadSession,
)
from integrator.sandbox.graph.errors import GraphError
from integrator.sandbox.graph.odata import base_url, page
from integrator.sandbox.graph.timefmt import iso_z

ROLES = TENANT_WIDE_READ | {SITES_SELECTED}
DENIED = ("accessDenied", "Access denied")
CHUNK_MULTIPLE = 320 * 1024
_BAD_NAME = re.compile(r'["*:<>?/\\|]')
_CONFLICT = "@microsoft.graph.conflictBehavior"


def store() -> DriveStore:
    return tenant().drives


def _not_found() -> GraphError:
    return GraphError(404, "itemNotFound", "The resource could not be found.")


def _drive(drive_id: str, write: bool) -> Drive:
    drive = store().drives.get(drive_id)
    if drive is None:
        raise GraphError(404, "itemNotFound",
                         "The provided drive id appears to be malformed, or does not represent a valid drive.")
    roles: frozenset[str] = g.principal.roles
    if roles & (TENANT_WIDE_WRITE if write else TENANT_WIDE_READ):
        return drive
    granted = store().site_grants.get(drive.site_id or "", {}).get(g.principal.client_id, set())
    wanted = {"write", "owner", "fullcontrol"} if write else {"read", "write", "owner", "fullcontrol"}
    if SITES_SELECTED in roles and granted & wanted:
        return drive
    raise GraphError(403, *DENIED)


def _item(drive: Drive, item_id: str) -> DriveItem:
    key = drive.root_id if item_id == "root" else item_id
    item = store().items.get(key)
    if item is None or item.drive_id != drive.id or item.deleted:
        raise _not_found()
    return item


def _folder(drive: Drive, item_id: str) -> DriveItem:
    item = _item(drive, item_id)
    if not item.is_folder:
        raise GraphError(400, "invalidRequest", "The parent item is not a folder.")
    return item


def _body() -> Json:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise GraphError(400, "invalidRequest", "Invalid request: the body must be a JSON object.")
    return body


def _conflict(value: object, default: str) -> str:
    text = default if value is None else str(value)
    if text not in ("fail", "rename", "replace"):
        raise GraphError(400, "invalidRequest", f"Invalid value '{text}' for {_CONFLICT}.")
    return text


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or _BAD_NAME.search(name) or name.endswith("."):
        raise GraphError(400, "invalidRequest", "The provided name is not valid.")
    return name


def _me() -> Json:
    return store().identity(g.principal.client_id)


def _item_answer(item: DriveItem, status: int = 200) -> Response:
    return json_response({"@odata.context": f"{base_url()}/$metadata#drives('{item.drive_id}')/items/$entity",
                          **store().item_json(item)}, status)


def get_drive(drive_id: str) -> Response:
    with graph_app().state.lock:
        drive = _drive(drive_id, write=False)
        return json_response({"@odata.context": f"{base_url()}/$metadata#drives/$entity", **store().drive_json(drive)})


def get_site_drive(site_id: str) -> Response:
    with graph_app().state.lock:
        drive = next((d for d in store().drives.values() if d.site_id == site_id), None)
        if drive is None:
            raise GraphError(404, "itemNotFound", "Requested site could not be found")
        return get_drive(drive.id)


def get_item(drive_id: str, item_id: str = "root") -> Response:
    with graph_app().state.lock:
        return _item_answer(_item(_drive(drive_id, write=False), item_id))


def list_children(drive_id: str, item_id: str) -> Response:
    with graph_app().state.lock:
        folder = _folder(_drive(drive_id, write=False), item_id)
        items = [store().item_json(child) for child in store().children(folder.id)]
    context = f"{base_url()}/$metadata#drives('{drive_id}')/items('{folder.id}')/children"
    return json_response(page(items, graph_app().state.page_size, context, max_top=1000))


def create_child(drive_id: str, item_id: str) -> Response:
    body = _body()
    name = _check_name(body.get("name"))
    if "folder" not in body and "file" not in body:
        raise GraphError(400, "invalidRequest", "Either 'folder' or 'file' must be provided.")
    conflict = _conflict(body.get(_CONFLICT), "fail")
    with graph_app().state.lock:
        drive = _drive(drive_id, write=True)
        parent = _folder(drive, item_id)
        existing = store().child_named(parent.id, name)
        if existing is not None:
            if conflict == "fail":
                raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
            if conflict == "rename":
                name = store().free_name(parent.id, name)
            else:
                existing.deleted = True  # replace: the old item goes, a new one takes its name
                store().touch(existing)
        item = store().new_item(drive.id, parent.id, name, "folder" in body, _me())
        return _item_answer(item, 201)


def delete_item(drive_id: str, item_id: str) -> Response:
    with graph_app().state.lock:
        item = _item(_drive(drive_id, write=True), item_id)
        if item.parent_id is None:
            raise GraphError(403, "accessDenied", "The root of a drive cannot be deleted.")
        pending = [item]
        while pending:  # the folder's contents go with it
            current = pending.pop()
            pending.extend(store().children(current.id))
            current.deleted = True
            store().touch(current)
    return Response(status=204)


def _recipient_permission(email: str, roles: list[str], sign_in: bool) -> Json:
    user = tenant().find_user(email)
    who: Json = ({"id": user["id"], "displayName": user["displayName"], "email": user["mail"]} if user
                 else {"id": store().guest_id(email), "displayName": email, "email": email})
    # SharePoint's claims login: a member by UPN, anyone else as a guest of the invitation.
    login = f"i:0#.f|membership|{user['userPrincipalName'].lower()}" if user else f"i:0#.f|membership|urn%3aspo%3aguest#{email.lower()}"
    site_user = {"id": str(10 + sum(len(p) for p in store().permissions.values())), "displayName": who["displayName"], "email": email,
                 "loginName": login}
    return {"@odata.type": "#microsoft.graph.permission", "id": tenant().new_uuid(), "roles": roles,
            "@deprecated.GrantedTo": "GrantedTo has been deprecated. Refer to GrantedToV2",
            "grantedTo": {"user": who}, "grantedToV2": {"user": who, "siteUser": site_user},
            "invitation": {"email": email, "signInRequired": sign_in}}


def _may_share_with(email: str) -> bool:
    """The tenant's sharing policy (sb.graph.set_sharing_capability): an address outside the
    tenant needs external sharing; "existing guests only" reaches only who is in the directory."""
    capability = tenant().sharepoint_settings.get("sharingCapability")
    if tenant().find_user(email) is not None:
        return True
    return capability in ("externalUserSharingOnly", "externalUserAndGuestSharing")


def invite(drive_id: str, item_id: str) -> Response:
    body = _body()
    recipients = body.get("recipients")
    roles = body.get("roles")
    if not isinstance(recipients, list) or not recipients or not all(
            isinstance(r, dict) and "@" in str(r.get("email") or "") for r in recipients):
        raise GraphError(400, "invalidRequest", "Invalid request: 'recipients' must list email addresses.")
    if not isinstance(roles, list) or not roles or not set(roles) <= {"read", "write"}:
        raise GraphError(400, "invalidRequest", "Invalid request: 'roles' must be 'read' or 'write'.")
    if body.get("requireSignIn") is not True and body.get("sendInvitation") is not True:
        raise GraphError(400, "invalidRequest", "Invalid request: requireSignIn or sendInvitation must be true.")
    state = graph_app().state
    with state.lock:
        item = _item(_drive(drive_id, write=True), item_id)
        refused = [str(r["email"]) for r in recipients if not _may_share_with(str(r["email"]))]
        if refused:
            # Nothing is shared when one recipient is refused, as SharePoint answers the whole invite.
            raise GraphError(403, "accessDenied",
                             "Sharing with people outside the organization is not allowed by the sharing policy.")
        own = store().permissions.setdefault(item.id, [])
        created = []
        for recipient in recipients:
            email = str(recipient["email"])
            # SharePoint keeps one direct permission per person: inviting again updates its roles.
            found = next((p for p in own if p["invitation"]["email"].lower() == email.lower()), None)
            if found is None:
                found = _recipient_permission(email, list(roles), body.get("requireSignIn") is True)
                own.append(found)
            else:
                found["roles"] = list(roles)
            created.append(found)
            if body.get("sendInvitation") is True:
                state.record_mail(SentMail(
                    vendor="graph", sender=f"no-reply@{tenant().domain}", to=[email],
                    subject=f"integrator shared '{item.name}' with you", text=str(body.get("message") or ""),
                    html="", message_id=f"<{state.random_id(32)}@sharepointonline.com>", at=state.clock.now()))
    return json_response({"@odata.context": f"{base_url()}/$metadata#Collection(microsoft.graph.permission)",
                          "value": created})


def list_permissions(drive_id: str, item_id: str) -> Response:
    with graph_app().state.lock:
        drive = _drive(drive_id, write=False)
        item = _item(drive, item_id)
        # The library's owners group (inherited below the root): a permission that is no person's.
        owner: Json = next(iter(drive.owner.values()), {})
        owner_name = str(owner.get("displayName") or "Owners")
        owners: Json = {"id": f"owners-{drive.id[2:14]}", "roles": ["owner"],
                        "grantedToV2": {"siteGroup": {"id": "3", "displayName": owner_name}}}
        if item.parent_id is not None:
            owners["inheritedFrom"] = {"driveId": drive.id, "id": drive.root_id, "path": "/drive/root:"}
        value = [owners, *store().permissions.get(item.id, [])]
    return json_response({"@odata.context": f"{base_url()}/$metadata#drives('{drive_id}')/items('{item.id}')/permissions",
                          "value": value})


def delete_permission(drive_id: str, item_id: str, perm_id: str) -> Response:
    with graph_app().state.lock:
        item = _item(_drive(drive_id, write=True), item_id)
        own = store().permissions.get(item.id, [])
        if not any(p["id"] == perm_id for p in own):
            raise _not_found()
        store().permissions[item.id] = [p for p in own if p["id"] != perm_id]
    return Response(status=204)


def put_content(drive_id: str, parent_id: str, name: str) -> Response:
    conflict = _conflict(request.args.get(_CONFLICT), "replace")
    data = request.get_data()
    with graph_app().state.lock:
        drive = _drive(drive_id, write=True)
        parent = _folder(drive, parent_id)
        existed = store().child_named(parent.id, _check_name(name)) is not None
        try:
            item = store().put_file(drive.id, parent.id, name, data, _me(), conflict)
        except FileExistsError:
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.") from None
        return _item_answer(item, 200 if existed and conflict == "replace" else 201)


def create_upload_session(drive_id: str, parent_id: str, name: str) -> Response:
    body = request.get_json(silent=True) or {}
    item_part = body.get("item") if isinstance(body, dict) else None
    # The documented default is "fail" (driveitem-createuploadsession.md, request body); a simple PUT replaces.
    conflict = _conflict((item_part or {}).get(_CONFLICT) if isinstance(item_part, dict) else None, "fail")
    state = graph_app().state
    with state.lock:
        drive = _drive(drive_id, write=True)
        parent = _folder(drive, parent_id)
        if conflict == "fail" and store().child_named(parent.id, _check_name(name)) is not None:
            raise GraphError(409, "nameAlreadyExists", "The specified item name already exists.")
        session = UploadSession(state.random_id(40), drive.id, parent.id, name, conflict,
                                state.clock.now() + timedelta(days=1), _me())
        store().sessions[session.id] = session
    return json_response({"@odata.context": f"{base_url()}/$metadata#microsoft.graph.uploadSession",
                          "uploadUrl": f"{request.host_url}up/{session.id}",
                          "expirationDateTime": iso_z(session.expires), "nextExpectedRanges": ["0-"]})


def upload_chunk(session_id: str) -> Response:
    """A PUT to an upload URL: no Authorization (the URL is the credential), Content-Range required."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.headers.get("Content-Range", ""))
    data = request.get_data()
    state = graph_app().state
    with state.lock:
        session = _live_session(session_id)
        if match is None:
            raise GraphError(400, "invalidRequest", "Content-Range header is required: bytes start-end/total.")
        start, end, total = (int(x) for x in match.groups())
        if start != len(session.received) or end - start + 1 != len(data) or end >= total:
            raise GraphError(416, "invalidRange", "The uploaded fragment does not fit the expected range.")
        if end + 1 < total and len(data) % CHUNK_MULTIPLE:
            raise GraphError(400, "invalidRequest", "Fragment size must be a multiple of 320 KiB.")
        session.received.extend(data)
        if end + 1 < total:
            return json_response({"expirationDateTime": iso_z(session.expires),
                                  "nextExpectedRanges": [f"{end + 1}-"]}, 202)
        existed = store().child_named(session.parent_id, session.name) is not None
        try:
            item = store().put_file(session.drive_id, session.parent_id, session.name, bytes(session.received),
                                    session.by, session.conflict)
        except FileExistsError:
            # The session stays until it expires, so that the upload can be committed under a new name.
            raise GraphError(409, "nameAlreadyExists", "Another file exists with the same name as the uploaded "
                             "session. You can redirect the upload session to use a new filename by calling PUT "
                             "with the new metadata and @microsoft.graph.sourceUrl attribute.") from None
        del store().sessions[session_id]
        return _item_answer(item, 200 if existed else 201)


def _live_session(session_id: str) -> UploadSession:
    session = store().sessions.get(session_id)
    if session is None or session.expires <= graph_app().state.clock.now():
        raise GraphError(404, "itemNotFound", "The upload session was not found.")
    return session


def upload_status(session_id: str) -> Response:
    """GET on an upload URL: what is still missing (driveitem-createuploadsession.md, resuming)."""
    with graph_app().state.lock:
        session = _live_session(session_id)
        return json_response({"expirationDateTime": iso_z(session.expires),
                              "nextExpectedRanges": [f"{len(session.received)}-"]})


def upload_cancel(session_id: str) -> Response:
    """DELETE on an upload URL: the session and its bytes go (204)."""
    with graph_app().state.lock:
        _live_session(session_id)
        del store().sessions[session_id]
    return Response(status=204)


def _token(cursor: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")


def _cursor(token: str) -> dict[str, int]:
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if isinstance(value, dict) and all(isinstance(v, int) for v in value.values()) and "s" in value:
            return value
    except ValueError:
        pass
    raise GraphError(400, "invalidRequest", "Invalid delta token.")


def delta(drive_id: str) -> Response:
    """Changes after the token, in change order, paged; the last page carries @odata.deltaLink."""
    token = request.args.get("token")
    with graph_app().state.lock:
        drive = _drive(drive_id, write=False)
        if token == "latest":  # noqa: S105 - the documented "from now on" value, not a secret
            cursor = {"s": drive.seq, "u": drive.seq}
        else:
            cursor = _cursor(token) if token else {"s": 0}
            cursor.setdefault("u", drive.seq)  # this round ends at what exists now
        after = max(cursor["s"], cursor.get("a", 0))
        changed = sorted((i for i in store().items.values() if i.drive_id == drive.id
                          and after < i.seq <= cursor["u"] and not (i.deleted and cursor["s"] == 0)),
                         key=lambda i: i.seq)
        size = graph_app().state.page_size
        chunk = changed[:size]
        value = [store().item_json(i) for i in chunk]
    link = f"{base_url()}/drives/{drive_id}/root/delta?token="
    body: dict[str, Any] = {"@odata.context": f"{base_url()}/$metadata#Collection(driveItem)", "value": value}
    if len(changed) > size:
        body["@odata.nextLink"] = link + _token({"s": cursor["s"], "u": cursor["u"], "a": chunk[-1].seq})
    else:
        body["@odata.deltaLink"] = link + _token({"s": cursor["u"]})
    return json_response(body)


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)

    def op(name: str) -> Operation:
        return Operation("drive", name, ROLES, denied=DENIED)

    items = "/drives/<drive_id>/items"
    app.graph_route("/drives/<drive_id>", ["GET"], op("get"), get_drive)
    app.graph_route("/sites/<site_id>/drive", ["GET"], op("site drive"), get_site_drive)
    app.graph_route("/drives/<drive_id>/root", ["GET"], op("items get"), get_item)
    app.graph_route("/drives/<drive_id>/root/delta", ["GET"], op("delta"), delta)
    app.graph_route(f"{items}/<item_id>", ["GET"], op("items get"), get_item)
    app.graph_route(f"{items}/<item_id>", ["DELETE"], op("items delete"), delete_item)
    app.graph_route(f"{items}/<item_id>/children", ["GET"], op("children list"), list_children)
    app.graph_route(f"{items}/<item_id>/children", ["POST"], op("children create"), create_child)
    app.graph_route(f"{items}/<item_id>/invite", ["POST"], op("invite"), invite)
    app.graph_route(f"{items}/<item_id>/permissions", ["GET"], op("permissions list"), list_permissions)
    app.graph_route(f"{items}/<item_id>/permissions/<perm_id>", ["DELETE"], op("permissions delete"),
                    delete_permission)
    app.graph_route(f"{items}/<parent_id>:/<name>:/content", ["PUT"], op("content put"), put_content)
    app.graph_route(f"{items}/<parent_id>:/<name>:/createUploadSession", ["POST"], op("upload session"),
                    create_upload_session)
    # The upload URL is not a Graph path: no token (app.py lets api "upload" through unauthenticated).
    app.add_url_rule("/up/<session_id>", "drive.upload", upload_chunk, methods=["PUT"])
    app.add_url_rule("/up/<session_id>", "drive.upload.status", upload_status, methods=["GET"])
    app.add_url_rule("/up/<session_id>", "drive.upload.cancel", upload_cancel, methods=["DELETE"])
    app.operations["drive.upload"] = Operation("upload", "chunk", frozenset())
    app.operations["drive.upload.status"] = Operation("upload", "status", frozenset())
    app.operations["drive.upload.cancel"] = Operation("upload", "cancel", frozenset())
