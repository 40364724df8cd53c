"""Gmail v1 users.messages.send: parse the MIME letter, store it, count quota."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from email.utils import formataddr, getaddresses, parseaddr
from typing import Any

from integrator.sandbox.core import SentMail
from integrator.sandbox.google.errors import GoogleError, invalid, rate_limited
from integrator.sandbox.google.registry import Call, handles
from integrator.sandbox.google.util import rfc3339

Json = dict[str, Any]


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    user: str
    raw: bytes


@dataclass
class GmailData:
    messages: list[StoredMessage] = field(default_factory=list)


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return str(part.get_content()) if part is not None else ""


def _own_from(call: Call, message: EmailMessage, raw: bytes) -> bytes:
    """Gmail sends only as the authenticated user or a verified send-as alias: any other ``From``
    address is replaced by the user's own (the display name stays), as Gmail does silently."""
    user = call.user
    name, address = parseaddr(str(message.get("From", "")))
    allowed = {user.email, *call.tenant.send_as.get(user.email, set())}
    if address.lower() in allowed:
        return raw
    del message["From"]
    message["From"] = formataddr((name, user.email)) if name else user.email
    return message.as_bytes()


@handles("gmail.users.messages.send")
def send(call: Call) -> Json:
    tenant, user = call.tenant, call.user
    if call.params["userId"] not in ("me", user.email):
        raise GoogleError(403, f"Delegation denied for {user.email}", reason="forbidden")
    if call.media is not None:
        raw = call.media
    else:
        encoded = str((call.body or {}).get("raw", ""))
        if not encoded:
            raise invalid("'raw' RFC822 payload message string or uploading message via /upload/* URL required",
                          reason="invalidArgument")  # fmt: skip
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (ValueError, binascii.Error):
            raise invalid("Invalid value for ByteString", reason="invalidArgument") from None
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    raw = _own_from(call, message, raw)
    recipients = [addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", [])
                                                   + message.get_all("Bcc", [])) if addr]  # fmt: skip
    if not recipients:
        raise invalid("Invalid To header", reason="invalidArgument")
    quotas, clock = tenant.state.quotas, tenant.state.clock.now()
    wait = quotas.take(
        f"gmail-daily:{user.email}", quotas.gmail_messages_per_user_per_day, timedelta(days=1), clock
    )
    if wait is not None:
        retry_at = clock + timedelta(seconds=wait)
        raise rate_limited(429, "rateLimitExceeded", wait,
                           f"User-rate limit exceeded.  Retry after {rfc3339(retry_at)} (Mail sending)")  # fmt: skip
    message_id = tenant.new_id(16, alphabet="0123456789abcdef", first="1")
    thread_id = str((call.body or {}).get("threadId") or message_id)
    tenant.gmail.messages.append(StoredMessage(message_id, thread_id, user.email, raw))
    sender = parseaddr(str(message.get("From", user.email)))[1] or user.email  # rewritten above
    tenant.state.record_mail(
        SentMail(
            vendor="google",
            sender=sender,
            to=recipients,
            subject=str(message.get("Subject", "")),
            text=_body(message, "plain"),
            html=_body(message, "html"),
            message_id=message_id,
            at=clock,
        )
    )
    return {"id": message_id, "threadId": thread_id, "labelIds": ["SENT"]}
