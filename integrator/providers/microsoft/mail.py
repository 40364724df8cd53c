"""Send one email through Graph `sendMail` from the configured sender mailbox.

sendMail has no idempotency key. Kiota's retries are off (client.py) and this module
retries nothing itself: a 429 or a refused connection is returned as Retriable (the outbox
requeues it: Exchange did not take the message), while a 5xx or a timeout after the request
left raises DeliveryUncertain (the message may be on its way; see integrator/jobs/outbox.py).
"""

from __future__ import annotations

from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.internet_message_header import InternetMessageHeader
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from integrator.providers.errors import DeliveryUncertain, Retriable, never_reached
from integrator.providers.microsoft.client import GraphClient


def send_mail(client: GraphClient, sender: str, to: str, subject: str, html: str, text: str | None = None,
              *, reply_to: str | None = None, outbox_key: str | None = None) -> None:
    """Send `html` (Graph sends one body; the HTML part carries the message)."""
    del text  # sendMail takes one body; the plain-text twin is used by Gmail
    headers = [InternetMessageHeader(name="X-Integrator-Key", value=outbox_key)] if outbox_key else None
    message = Message(
        subject=subject,
        body=ItemBody(content_type=BodyType.Html, content=html),
        to_recipients=[Recipient(email_address=EmailAddress(address=to))],
        reply_to=[Recipient(email_address=EmailAddress(address=reply_to))] if reply_to else None,
        internet_message_headers=headers,
    )
    body = SendMailPostRequestBody(message=message, save_to_sent_items=True)
    try:
        client.call("sendMail", lambda sdk: sdk.users.by_user_id(sender).send_mail.post(body), retry=False)
    except Retriable as err:
        if never_reached(err):
            raise
        raise DeliveryUncertain(str(err), vendor="graph", status=err.status, reason="uncertain") from err
