"""The sandbox's Graph drive-item subset: shapes, paging, conflicts, sharing, uploads, delta, access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.sandbox.graph_fixtures import GRAPH_SCOPE, GraphSandbox

COACH = "ohjaaja@sandbox.example.fi"
CLIENT = "k-0001@sandbox.example.fi"


class Api:
    """Raw HTTPS calls with an app-only token: the shapes as they are on the wire."""

    def __init__(self, ms: GraphSandbox, permissions: list[str]) -> None:
        self.ms = ms
        client_id, secret = ms.graph.register_app(permissions=permissions)
        self.client_id = client_id
        credential = ms.secret_credential(client_id, secret)
        self.token = credential.get_token(GRAPH_SCOPE).token
        credential.close()
        self.http = httpx.Client(verify=ms.tls_context(), base_url=ms.graph_url)

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def folder(self, drive: str, parent: str, name: str, conflict: str = "fail") -> httpx.Response:
        return self("POST", f"/drives/{drive}/items/{parent}/children",
                    json={"name": name, "folder": {}, "@microsoft.graph.conflictBehavior": conflict})


@pytest.fixture
def api(ms: GraphSandbox) -> Iterator[Api]:
    ms.graph.add_user(COACH, "Olli Ohjaaja")
    ms.graph.add_user(CLIENT, "K 0001")
    a = Api(ms, ["Files.ReadWrite.All"])
    yield a
    a.http.close()


@pytest.fixture
def drive(ms: GraphSandbox) -> str:
    drive_id: str = ms.graph.add_drive("kuntouttava")
    return drive_id


def test_folder_create_answers_a_drive_item_and_fail_conflict_is_409_name_already_exists(api: Api, drive: str) -> None:
    made = api.folder(drive, "root", "K-0001")
    assert made.status_code == 201
    item = made.json()
    assert item["id"].startswith("01") and len(item["id"]) == 34
    assert item["folder"] == {"childCount": 0} and item["name"] == "K-0001"
    assert item["parentReference"]["driveId"] == drive and item["parentReference"]["driveType"] == "documentLibrary"
    assert item["createdBy"] == {"application": {"id": api.client_id, "displayName": "integrator"}}
    assert {"eTag", "cTag", "webUrl", "createdDateTime", "lastModifiedDateTime", "size"} <= set(item)

    again = api.folder(drive, "root", "k-0001")  # names compare without case, as in SharePoint
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "nameAlreadyExists"
    assert api.folder(drive, "root", "K-0001", "rename").json()["name"] == "K-0001 1"
    assert api("GET", f"/drives/{drive}/items/{item['id']}").json()["id"] == item["id"]
    assert api("GET", f"/drives/{drive}/items/01NOSUCHITEM").json()["error"]["code"] == "itemNotFound"


def test_children_are_paged_with_next_link(api: Api, drive: str) -> None:
    for n in range(7):
        assert api.folder(drive, "root", f"K-{n:04d}").status_code == 201
    first = api("GET", f"/drives/{drive}/items/root/children").json()
    assert len(first["value"]) == 5 and "@odata.nextLink" in first
    second = api("GET", first["@odata.nextLink"]).json()
    assert len(second["value"]) == 2 and "@odata.nextLink" not in second
    assert {i["name"] for i in first["value"] + second["value"]} == {f"K-{n:04d}" for n in range(7)}


def test_site_drive_and_access_by_files_permission_or_sites_selected_grant(ms: GraphSandbox, api: Api,
                                                                             drive: str) -> None:
    site = ms.graph.site_of(drive)
    assert api("GET", f"/sites/{site}/drive").json()["id"] == drive
    mail_only = Api(ms, ["Mail.Send"])
    denied = mail_only("GET", f"/drives/{drive}")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "accessDenied"

    selected = Api(ms, ["Sites.Selected"])
    assert selected.folder(drive, "root", "K-0002").status_code == 403
    ms.graph.grant_site(site, selected.client_id, ["read"])
    assert selected("GET", f"/drives/{drive}/root").status_code == 200
    assert selected.folder(drive, "root", "K-0002").status_code == 403, "read is not write"
    ms.graph.grant_site(site, selected.client_id, ["write"])
    assert selected.folder(drive, "root", "K-0002").status_code == 201
    other = ms.graph.add_drive("toinen")
    assert selected("GET", f"/drives/{other}").status_code == 403, "the grant is for one site only"


def test_invite_lists_and_deletes_permissions_and_sends_one_letter_per_invite(ms: GraphSandbox, api: Api,
                                                                             drive: str) -> None:
    folder = api.folder(drive, "root", "K-0001").json()["id"]
    body = {"recipients": [{"email": CLIENT}], "roles": ["write"], "requireSignIn": True, "sendInvitation": True}
    answer = api("POST", f"/drives/{drive}/items/{folder}/invite", json=body)
    assert answer.status_code == 200
    [perm] = answer.json()["value"]
    assert perm["roles"] == ["write"] and perm["grantedToV2"]["user"]["email"] == CLIENT
    assert perm["invitation"] == {"email": CLIENT, "signInRequired": True}
    assert [m.to for m in ms.sandbox.sent_mail()] == [[CLIENT]]

    listed = api("GET", f"/drives/{drive}/items/{folder}/permissions").json()["value"]
    assert [p["roles"] for p in listed] == [["owner"], ["write"]]
    assert "inheritedFrom" in listed[0], "the owners group comes from the library"
    assert api("DELETE", f"/drives/{drive}/items/{folder}/permissions/{perm['id']}").status_code == 204
    assert api("DELETE", f"/drives/{drive}/items/{folder}/permissions/{perm['id']}").status_code == 404
    bad = api("POST", f"/drives/{drive}/items/{folder}/invite", json={**body, "roles": ["owner"]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalidRequest"


def test_small_put_replaces_and_upload_session_takes_chunks_in_order(api: Api, drive: str) -> None:
    folder = api.folder(drive, "root", "K-0001").json()["id"]
    first = api("PUT", f"/drives/{drive}/items/{folder}:/tehtava.txt:/content", content=b"v1")
    again = api("PUT", f"/drives/{drive}/items/{folder}:/tehtava.txt:/content", content=b"v22")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["size"] == 3
    assert again.json()["eTag"] != first.json()["eTag"]

    session = api("POST", f"/drives/{drive}/items/{folder}:/iso.bin:/createUploadSession", json={}).json()
    assert session["nextExpectedRanges"] == ["0-"]
    chunk, total = 320 * 1024, 320 * 1024 + 10
    # The upload URL takes no token.
    out_of_order = httpx.put(session["uploadUrl"], content=b"x" * 10, verify=api.ms.tls_context(),
                             headers={"Content-Range": f"bytes {chunk}-{total - 1}/{total}"})
    assert out_of_order.status_code == 416
    part = httpx.put(session["uploadUrl"], content=b"x" * chunk, verify=api.ms.tls_context(),
                     headers={"Content-Range": f"bytes 0-{chunk - 1}/{total}"})
    assert part.status_code == 202 and part.json()["nextExpectedRanges"] == [f"{chunk}-"]
    done = httpx.put(session["uploadUrl"], content=b"x" * 10, verify=api.ms.tls_context(),
                     headers={"Content-Range": f"bytes {chunk}-{total - 1}/{total}"})
    assert done.status_code == 201 and done.json()["size"] == total and done.json()["name"] == "iso.bin"


def test_delta_with_its_token_gives_only_later_changes_and_deleted_items(ms: GraphSandbox, api: Api,
                                                                         drive: str) -> None:
    folder = api.folder(drive, "root", "K-0001").json()["id"]
    api("PUT", f"/drives/{drive}/items/{folder}:/tehtava.txt:/content", content=b"teht")
    everything: list[dict[str, Any]] = []
    page = api("GET", f"/drives/{drive}/root/delta").json()
    everything += page["value"]
    assert "@odata.deltaLink" in page
    assert {i["name"] for i in everything} == {"root", "K-0001", "tehtava.txt"}

    client_file = ms.graph.upload_as(CLIENT, drive, folder, "vastaus.txt", b"valmis")
    doomed = api("PUT", f"/drives/{drive}/items/{folder}:/vanha.txt:/content", content=b"x").json()["id"]
    assert api("DELETE", f"/drives/{drive}/items/{doomed}").status_code == 204
    later = api("GET", page["@odata.deltaLink"]).json()
    by_id = {i["id"]: i for i in later["value"]}
    assert set(by_id) == {client_file, doomed}
    assert by_id[client_file]["createdBy"]["user"]["email"] == CLIENT
    assert by_id[doomed]["deleted"] == {"state": "deleted"}
    nothing = api("GET", later["@odata.deltaLink"]).json()
    assert nothing["value"] == []
    latest = api("GET", f"/drives/{drive}/root/delta?token=latest").json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest


@pytest.mark.parametrize(("capability", "external_ok"), [
    ("disabled", False), ("existingExternalUserSharingOnly", False), ("externalUserSharingOnly", True)])
def test_the_tenant_sharing_policy_decides_whether_an_outside_address_may_be_invited(
        ms: GraphSandbox, api: Api, drive: str, capability: str, external_ok: bool) -> None:
    ms.graph.set_sharing_capability(capability)
    folder = api.folder(drive, "root", "K-0002").json()["id"]
    body = {"roles": ["write"], "requireSignIn": True, "sendInvitation": False}

    outside = api("POST", f"/drives/{drive}/items/{folder}/invite",
                  json={**body, "recipients": [{"email": "asiakas@gmail.com"}]})
    member = api("POST", f"/drives/{drive}/items/{folder}/invite", json={**body, "recipients": [{"email": CLIENT}]})

    assert member.status_code == 200
    assert outside.status_code == (200 if external_ok else 403)
    if not external_ok:
        assert outside.json()["error"]["code"] == "accessDenied"
    emails = [p["invitation"]["email"] for p in ms.graph.drives.permissions.get(folder, [])]
    assert emails == (["asiakas@gmail.com", CLIENT] if external_ok else [CLIENT])


def test_the_settings_endpoint_needs_its_permission_and_shows_the_sharing_policy(ms: GraphSandbox) -> None:
    ms.graph.set_sharing_capability("disabled")
    with pytest.raises(ValueError, match="sharing capability"):
        ms.graph.set_sharing_capability("everyone")
    allowed, denied = Api(ms, ["SharePointTenantSettings.Read.All"]), Api(ms, ["Files.ReadWrite.All"])

    read = allowed("GET", "/admin/sharepoint/settings")
    refused = denied("GET", "/admin/sharepoint/settings")
    allowed.http.close()
    denied.http.close()

    assert read.status_code == 200 and read.json()["sharingCapability"] == "disabled"
    assert read.json()["@odata.context"].endswith("$metadata#admin/sharepoint/settings/$entity")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "accessDenied"


def test_an_upload_url_answers_its_status_and_can_be_cancelled(api: Api, drive: str) -> None:
    folder = api.folder(drive, "root", "K-0003").json()["id"]
    session = api("POST", f"/drives/{drive}/items/{folder}:/iso.bin:/createUploadSession", json={}).json()
    chunk = 320 * 1024
    tls = api.ms.tls_context()
    httpx.put(session["uploadUrl"], content=b"x" * chunk, verify=tls,
              headers={"Content-Range": f"bytes 0-{chunk - 1}/{chunk + 10}"})

    status = httpx.get(session["uploadUrl"], verify=tls)
    cancelled = httpx.delete(session["uploadUrl"], verify=tls)

    assert status.status_code == 200 and status.json()["nextExpectedRanges"] == [f"{chunk}-"]
    assert cancelled.status_code == 204
    assert httpx.get(session["uploadUrl"], verify=tls).status_code == 404
