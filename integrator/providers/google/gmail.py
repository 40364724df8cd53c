"""Send one email through the Gmail API as the configured Workspace sender.

`messages.send` has no idempotency key, so nothing here retries: a 429, a 403 rate limit or a
connection never made (Gmail did not get or refused the message: `never_reached`) stays
Retriable for the outbox to requeue, a daily sending limit is Parked, and a 5xx or a lost
answer raises DeliveryUncertain. The Message-ID is
derived from the outbox key, so even a duplicate in the crash window threads as the same
message in the recipient's mailbox.
"""

from __future__ import annotations

import base64
import hashlib
from email.message import EmailMessage
from email.utils import formataddr

from integrator.providers.errors import DeliveryUncertain, Retriable, never_reached
from integrator.providers.google.client import GoogleClient

GMAIL_SEND_SCOPE = ("https://www.googleapis.com/auth/gmail.send",)


def message_id_for(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_mime(sender: str, to: str, subject: str, text: str, html: str | None, *,
               reply_to: str | None = None, message_id: str | None = None, from_name: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = formataddr((from_name, sender)) if from_name else sender
    msg["To"] = to
    msg["Subject"] = subject
    if reply_to:
        msg["Reply-To"] = reply_to
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def send_gmail(client: GoogleClient, sender: str, to: str, subject: str, html: str | None, text: str, *,
               reply_to: str | None = None, outbox_key: str | None = None, from_name: str | None = None) -> str | None:
    """Send; returns Gmail's message id."""
    domain = sender.rsplit("@", 1)[-1]
    raw = build_mime(sender, to, subject, text, html, reply_to=reply_to, from_name=from_name,
                     message_id=message_id_for(outbox_key, domain) if outbox_key else None)
    svc = client.service("gmail", subject=sender, scopes=GMAIL_SEND_SCOPE)
    request = svc.users().messages().send(userId="me", body={"raw": base64.urlsafe_b64encode(raw).decode()})
    try:
        answer = client.execute(request, retry=False)
    except Retriable as err:
        if never_reached(err) or err.status == 403:
            raise
        raise DeliveryUncertain(str(err), vendor="google", status=err.status, reason="uncertain") from err
    return str(answer.get("id")) if isinstance(answer, dict) and answer.get("id") else None
