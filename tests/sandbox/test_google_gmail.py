"""Gmail users.messages.send: letters land in the sandbox mailbox, quotas answer like Gmail."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from tests.sandbox.conftest import CLIENT_A, COACH, GoogleSandbox


def raw_letter(to: str, subject: str) -> dict[str, str]:
    letter = EmailMessage()
    letter["From"] = f"Olli Ohjaaja <{COACH}>"
    letter["To"] = to
    letter["Subject"] = subject
    letter.set_content("Hei, huomenna aloitetaan klo 9.")
    letter.add_alternative("<p>Hei, huomenna aloitetaan klo 9.</p>", subtype="html")
    return {"raw": base64.urlsafe_b64encode(letter.as_bytes()).decode()}


@pytest.fixture
def gmail(google: GoogleSandbox) -> Any:
    return google.service("gmail")


def test_sent_letter_is_parsed_into_the_sandbox_mailbox(gmail: Any, google: GoogleSandbox) -> None:
    sent = (
        gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, "Tervetuloa ryhmään")).execute()
    )
    assert sent["labelIds"] == ["SENT"] and sent["threadId"] == sent["id"]
    [mail] = google.sb.sent_mail()
    assert (mail.vendor, mail.sender, mail.to, mail.subject) == (
        "google",
        COACH,
        [CLIENT_A],
        "Tervetuloa ryhmään",
    )
    assert "klo 9" in mail.text and mail.html.startswith("<p>")
    assert mail.message_id == sent["id"]


def test_daily_sending_limit_answers_429_until_the_next_day(gmail: Any, google: GoogleSandbox) -> None:
    google.sb.state.quotas.gmail_messages_per_user_per_day = 2
    for n in range(2):
        gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, f"Kirje {n}")).execute()
    with pytest.raises(HttpError) as limited:
        gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, "Liikaa")).execute()
    error = json.loads(limited.value.content)["error"]
    assert limited.value.status_code == 429 and error["errors"][0]["reason"] == "rateLimitExceeded"
    assert error["message"].startswith("User-rate limit exceeded.  Retry after 2026-01-06T00:00:00")
    google.sb.state.clock.advance(timedelta(days=1))
    gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, "Uusi päivä")).execute()
    assert len(google.sb.sent_mail()) == 3


def test_per_minute_units_count_100_per_send(gmail: Any, google: GoogleSandbox) -> None:
    google.sb.state.quotas.gmail_units_per_user_per_min = 250
    gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, "1")).execute()
    gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, "2")).execute()
    with pytest.raises(HttpError) as limited:
        gmail.users().messages().send(userId="me", body=raw_letter(CLIENT_A, "3")).execute()
    assert limited.value.status_code == 403
    assert limited.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert "limit 'Queries per minute per user'" in limited.value.reason
    assert int(limited.value.resp["retry-after"]) >= 1


def test_sending_as_someone_else_is_denied(gmail: Any) -> None:
    with pytest.raises(HttpError) as denied:
        gmail.users().messages().send(userId=CLIENT_A, body=raw_letter(COACH, "x")).execute()
    assert denied.value.status_code == 403
