"""users/{id}/sendMail: store the letter for ``sb.sent_mail()``, enforce Exchange's send rate."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from flask import Flask, Response
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from integrator.sandbox.core import SentMail
from integrator.sandbox.graph.app import _OUTLOOK_DENIED, GraphApp, Operation, graph_app, tenant
from integrator.sandbox.graph.errors import GraphError
from integrator.sandbox.graph.users import require_user
from integrator.sandbox.graph.validation import parse_body

ROLES = frozenset({"Mail.Send"})


def _addresses(recipients: object) -> list[str]:
    if not isinstance(recipients, list):
        return []
    return [str((r.get("emailAddress") or {}).get("address") or "") for r in recipients if isinstance(r, dict)]


def send_mail(user_id: str) -> Response:
    sender = require_user(user_id)
    _, raw = parse_body(SendMailPostRequestBody, action=True)
    message = raw.get("Message")
    if not isinstance(message, dict):
        raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
    recipients = [
        a for key in ("toRecipients", "ccRecipients", "bccRecipients") for a in _addresses(message.get(key))
    ]
    if not recipients or not all("@" in a for a in recipients):
        raise GraphError(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
        )
    state = graph_app().state
    now = state.clock.now()
    wait = state.quotas.take(
        f"exchange send {sender['id']}", state.quotas.exchange_messages_per_min, timedelta(minutes=1), now
    )
    if wait is not None:
        raise GraphError(
            429,
            "ApplicationThrottled",
            "The mailbox has exceeded its message submission rate limit (messages per minute).",
            retry_after=int(wait),
        )
    body = message.get("body") or {}
    content = str(body.get("content") or "")
    is_html = str(body.get("contentType") or "text").lower() == "html"
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split()) if is_html else content
    state.record_mail(
        SentMail(
            vendor="graph",
            sender=str(sender["mail"]),
            to=recipients,
            subject=str(message.get("subject") or ""),
            text=text,
            html=content if is_html else "",
            message_id=f"<{state.random_id(32)}@{tenant().domain}>",
            at=now,
        )
    )
    return Response(status=202)


def register(app: Flask) -> None:
    assert isinstance(app, GraphApp)
    operation = Operation("mail", "sendMail", ROLES, denied=_OUTLOOK_DENIED, mailbox=True)
    app.graph_route("/users/<user_id>/sendMail", ["POST"], operation, send_mail)
