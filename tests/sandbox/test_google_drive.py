"""Drive v3 in the sandbox, through the real client library."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.conftest import CLIENT_A, COACH, GoogleSandbox

FOLDER = "application/vnd.google-apps.folder"


@pytest.fixture
def drive(google: GoogleSandbox) -> Any:
    return google.service("drive")


def folder(drive: Any, name: str, parent: str | None = None, **props: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "mimeType": FOLDER}
    if parent:
        body["parents"] = [parent]
    if props:
        body["appProperties"] = props
    return dict(drive.files().create(body=body, fields="id,name,parents,appProperties").execute())


def test_files_answer_sparsely_unless_fields_are_asked(drive: Any) -> None:
    created = drive.files().create(body={"name": "Ryhmä A", "mimeType": FOLDER}).execute()
    assert set(created) == {"kind", "id", "name", "mimeType"}
    full = (
        drive.files()
        .get(fileId=created["id"], fields="id,parents,owners(emailAddress),webViewLink")
        .execute()
    )
    assert full["owners"] == [{"emailAddress": COACH}]
    assert full["webViewLink"] == f"https://drive.google.com/drive/folders/{created['id']}"


def test_query_subset_finds_by_parent_name_type_and_app_properties(drive: Any) -> None:
    root = folder(drive, "Ryhmät")
    a = folder(drive, "Aino", root["id"], clientCode="A-17")
    folder(drive, "Bertta", root["id"], clientCode="B-02")
    drive.files().create(body={"name": "Aino", "parents": [root["id"]], "mimeType": "text/plain"}).execute()
    q = (
        f"'{root['id']}' in parents and name = 'Aino' and mimeType = '{FOLDER}' and trashed = false"
        " and appProperties has { key='clientCode' and value='A-17' }"
    )
    found = drive.files().list(q=q, fields="files(id,appProperties)").execute()["files"]
    assert found == [{"id": a["id"], "appProperties": {"clientCode": "A-17"}}]
    drive.files().update(fileId=a["id"], body={"trashed": True}).execute()
    assert drive.files().list(q=q).execute()["files"] == []


def test_unsupported_query_is_refused(drive: Any) -> None:
    with pytest.raises(HttpError) as failed:
        drive.files().list(q="fullText contains 'x'").execute()
    assert failed.value.status_code == 400
    assert failed.value.error_details[0]["location"] == "q"


def test_list_pages_with_small_pages(drive: Any) -> None:
    root = folder(drive, "Paljon")
    for n in range(7):
        folder(drive, f"f{n}", root["id"])
    names: list[str] = []
    request = drive.files().list(q=f"'{root['id']}' in parents", pageSize=100, orderBy="name")
    while request is not None:
        response = request.execute()
        assert len(response["files"]) <= 5
        names += [f["name"] for f in response["files"]]
        request = drive.files().list_next(request, response)
    assert names == [f"f{n}" for n in range(7)]


def test_generated_ids_are_accepted_once(drive: Any) -> None:
    ids = drive.files().generateIds(count=2).execute()["ids"]
    made = drive.files().create(body={"id": ids[0], "name": "Idempotentti", "mimeType": FOLDER}).execute()
    assert made["id"] == ids[0]
    with pytest.raises(HttpError) as again:
        drive.files().create(body={"id": ids[0], "name": "Idempotentti", "mimeType": FOLDER}).execute()
    assert again.value.status_code == 409
    with pytest.raises(HttpError) as invented:
        drive.files().create(body={"id": "1made-up-id", "name": "x"}).execute()
    assert invented.value.error_details[0]["reason"] == "fileIdNotUsable"


def test_permissions_share_a_folder_with_a_client(drive: Any, google: GoogleSandbox) -> None:
    shared = folder(drive, "Ainon kansio")
    perm = (
        drive.permissions()
        .create(
            fileId=shared["id"],
            body={"type": "user", "role": "writer", "emailAddress": CLIENT_A},
            sendNotificationEmail=False,
        )
        .execute()
    )
    listed = (
        drive.permissions().list(fileId=shared["id"], fields="permissions(id,role,emailAddress)").execute()
    )
    assert {(p["emailAddress"], p["role"]) for p in listed["permissions"]} == {
        (COACH, "owner"),
        (CLIENT_A, "writer"),
    }
    client_drive = google.service("drive", subject=CLIENT_A)
    assert client_drive.files().get(fileId=shared["id"]).execute()["name"] == "Ainon kansio"
    drive.permissions().delete(fileId=shared["id"], permissionId=perm["id"]).execute()
    with pytest.raises(HttpError) as gone:
        client_drive.files().get(fileId=shared["id"]).execute()
    assert gone.value.status_code == 404


def test_copy_update_parents_and_app_properties(drive: Any, google: GoogleSandbox) -> None:
    bank = folder(drive, "Materiaalipankki")
    target = folder(drive, "Viikko 2")
    source = google.sb.google.add_file(
        COACH, "Ohje.docx", "application/vnd.google-apps.document", [bank["id"]]
    )
    copied = (
        drive.files()
        .copy(fileId=source, body={"parents": [target["id"]]}, fields="id,name,parents")
        .execute()
    )
    assert copied["name"] == "Copy of Ohje.docx" and copied["parents"] == [target["id"]]
    moved = (
        drive.files()
        .update(
            fileId=copied["id"],
            addParents=bank["id"],
            removeParents=target["id"],
            body={"appProperties": {"week": "2"}},
            fields="parents,appProperties",
        )
        .execute()
    )
    assert moved == {"parents": [bank["id"]], "appProperties": {"week": "2"}}


def test_changes_feed_reports_uploads_after_the_start_token(drive: Any, google: GoogleSandbox) -> None:
    work = folder(drive, "Palautukset")
    drive.permissions().create(
        fileId=work["id"], body={"type": "user", "role": "writer", "emailAddress": CLIENT_A}
    ).execute()
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    uploaded = [
        google.sb.google.upload_file(CLIENT_A, work["id"], f"kuva{n}.jpg", "image/jpeg") for n in range(6)
    ]
    seen: list[str] = []
    while True:
        page = (
            drive.changes()
            .list(
                pageToken=token, fields="nextPageToken,newStartPageToken,changes(fileId,file(name,parents))"
            )
            .execute()
        )
        seen += [c["fileId"] for c in page["changes"]]
        if "newStartPageToken" in page:
            break
        token = page["nextPageToken"]
    assert seen == uploaded
    assert drive.changes().list(pageToken=page["newStartPageToken"]).execute()["changes"] == []


def test_multipart_and_resumable_uploads_store_content(drive: Any) -> None:
    small = MediaInMemoryUpload(b"hei maailma", mimetype="text/plain")
    made = drive.files().create(body={"name": "a.txt"}, media_body=small, fields="id,size,mimeType").execute()
    assert made["size"] == "11" and made["mimeType"] == "text/plain"
    big = MediaInMemoryUpload(
        b"x" * (600 * 1024), mimetype="application/pdf", resumable=True, chunksize=256 * 1024
    )
    request = drive.files().create(body={"name": "b.pdf"}, media_body=big, fields="id,size")
    response = None
    while response is None:
        _, response = request.next_chunk()
    assert response["size"] == str(600 * 1024)


def test_shared_drive_items_need_supports_all_drives(drive: Any, google: GoogleSandbox) -> None:
    drive_id = google.sb.google.create_shared_drive("Etäkuntoutus", [COACH])
    assert drive.drives().list().execute()["drives"] == [
        {"kind": "drive#drive", "id": drive_id, "name": "Etäkuntoutus"}
    ]
    made = (
        drive.files()
        .create(
            body={"name": "Yhteinen", "mimeType": FOLDER, "parents": [drive_id]},
            supportsAllDrives=True,
            fields="id,driveId",
        )
        .execute()
    )
    assert made["driveId"] == drive_id
    with pytest.raises(HttpError):
        drive.files().get(fileId=made["id"]).execute()
    listed = (
        drive.files()
        .list(corpora="drive", driveId=drive_id, includeItemsFromAllDrives=True, supportsAllDrives=True)
        .execute()["files"]
    )
    assert [f["id"] for f in listed] == [made["id"]]
    assert drive.drives().get(driveId=drive_id).execute()["name"] == "Etäkuntoutus"


def test_a_client_can_upload_only_into_a_folder_shared_with_them(drive: Any, google: GoogleSandbox) -> None:
    private = folder(drive, "Vain ohjaajalle")
    with pytest.raises(PermissionError):
        google.sb.google.upload_file(CLIENT_A, private["id"], "kuva.jpg", "image/jpeg")


def test_batched_permission_deletes_answer_no_content_per_item(drive: Any) -> None:
    shared = folder(drive, "Jaettu")
    ids = [
        drive.permissions()
        .create(fileId=shared["id"], body={"type": "user", "role": "reader", "emailAddress": e})
        .execute()["id"]
        for e in (CLIENT_A, "ulkoinen@example.com")
    ]
    outcomes: list[Any] = []
    batch = drive.new_batch_http_request(callback=lambda _id, resp, exc: outcomes.append((resp, exc)))
    for pid in ids:
        batch.add(drive.permissions().delete(fileId=shared["id"], permissionId=pid))
    batch.execute()
    assert [exc for _, exc in outcomes] == [None, None]
    left = drive.permissions().list(fileId=shared["id"], fields="permissions(role)").execute()["permissions"]
    assert left == [{"role": "owner"}]


def test_copy_without_parents_lands_beside_the_source_when_writable(
    drive: Any, google: GoogleSandbox
) -> None:
    bank = folder(drive, "Pankki")
    source = google.sb.google.add_file(COACH, "Ohje", "application/vnd.google-apps.document", [bank["id"]])
    beside = drive.files().copy(fileId=source, body={}, fields="parents").execute()
    assert beside["parents"] == [bank["id"]]
    drive.permissions().create(
        fileId=source, body={"type": "user", "role": "reader", "emailAddress": CLIENT_A}
    ).execute()
    client_copy = (
        google.service("drive", subject=CLIENT_A)
        .files()
        .copy(fileId=source, body={}, fields="parents")
        .execute()
    )
    assert client_copy["parents"] != [bank["id"]]  # the reader's copy goes to their own My Drive
