"""Google's token endpoint and bearer checks, through google-auth's real service-account flow."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import CLIENT_A, COACH, SCOPES, GoogleSandbox, discovery_doc

UNAUTHORIZED_CLIENT = {
    "error": "unauthorized_client",
    "error_description": "Client is unauthorized to retrieve access tokens using this method, "
    "or client not authorized for any of the scopes requested.",
}


def test_delegated_token_acts_as_the_subject(google: GoogleSandbox) -> None:
    course = google.service("classroom").courses().create(body={"name": "Ryhmä", "ownerId": "me"}).execute()
    assert course["ownerId"] == google.users[COACH]
    assert google.sb.state.log.counts()["google oauth token"] == 1


def test_scope_outside_the_delegation_allow_list_is_refused_in_googles_shape(google: GoogleSandbox) -> None:
    narrow = google.sb.google.service_account_info(scopes=SCOPES["drive"])
    google.info = narrow
    with pytest.raises(RefreshError) as refused:
        google.service("classroom").courses().list().execute()
    assert refused.value.args[1] == UNAUTHORIZED_CLIENT
    assert google.sb.state.log.entries[-1].status == 401


def test_subject_outside_the_domain_cannot_be_impersonated(google: GoogleSandbox) -> None:
    with pytest.raises(RefreshError) as refused:
        google.service("drive", subject="someone@gmail.com").files().list().execute()
    assert refused.value.args[1] == {
        "error": "invalid_grant",
        "error_description": "Invalid email or User ID",
    }


def test_assertion_signed_with_an_unregistered_key_is_refused(google: GoogleSandbox) -> None:
    forged = dict(google.info, client_email="stranger@evil-project.iam.gserviceaccount.com")
    google.info = forged
    with pytest.raises(RefreshError, match="invalid_grant"):
        google.service("drive").files().list().execute()


def test_token_expires_on_the_sandbox_clock_and_the_client_refreshes_after_401(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    drive.files().list().execute()
    google.sb.state.clock.advance(timedelta(hours=2))
    drive.files().list().execute()
    statuses = [(e.operation, e.status) for e in google.sb.state.log.entries]
    assert statuses == [
        ("token", 200),
        ("files.list", 200),
        ("files.list", 401),
        ("token", 200),
        ("files.list", 200),
    ]


def test_expired_bearer_answers_googles_unauthenticated_error(google: GoogleSandbox) -> None:
    creds = google.credentials("drive")
    creds.refresh(Request())
    google.sb.state.clock.advance(timedelta(hours=1, seconds=1))
    # An http without credentials shows the raw 401 (the library would otherwise refresh and retry).
    drive = build_from_document(discovery_doc("drive", google.sb.google_url), http=httplib2.Http())
    request = drive.files().list()
    request.headers["authorization"] = f"Bearer {creds.token}"
    with pytest.raises(HttpError) as failed:
        request.execute()
    body = json.loads(failed.value.content)
    assert failed.value.status_code == 401
    assert body["error"]["status"] == "UNAUTHENTICATED"
    assert body["error"]["errors"][0] == {
        "message": "Invalid Credentials",
        "domain": "global",
        "reason": "authError",
        "location": "Authorization",
        "locationType": "header",
    }


def test_token_without_the_methods_scope_gets_insufficient_permissions(google: GoogleSandbox) -> None:
    drive_only = google.service("classroom", scopes=SCOPES["drive"])
    with pytest.raises(HttpError) as failed:
        drive_only.courses().list().execute()
    assert failed.value.status_code == 403
    assert failed.value.error_details[0]["reason"] == "insufficientPermissions"


def test_gmail_me_is_the_delegated_user(google: GoogleSandbox) -> None:
    import base64
    from email.message import EmailMessage

    letter = EmailMessage()
    letter["To"] = CLIENT_A
    letter["Subject"] = "Tervetuloa"
    letter.set_content("Hei!")
    raw = base64.urlsafe_b64encode(letter.as_bytes()).decode()
    google.service("gmail").users().messages().send(userId="me", body={"raw": raw}).execute()
    assert google.sb.sent_mail()[0].sender == COACH


def test_batch_items_answer_401_after_expiry_and_the_library_retries_them(google: GoogleSandbox) -> None:
    drive = google.service("drive")
    drive.files().list().execute()
    google.sb.state.clock.advance(timedelta(hours=2))
    outcomes: list[Any] = []
    batch = drive.new_batch_http_request(callback=lambda _id, resp, exc: outcomes.append(exc))
    for n in range(3):
        batch.add(drive.files().create(body={"name": f"k{n}"}))
    batch.execute()
    assert outcomes == [None, None, None]
    parts = [(e.operation, e.status) for e in google.sb.state.log.entries if e.kind == "part"]
    assert parts == [("files.create", 401)] * 3 + [("files.create", 200)] * 3
