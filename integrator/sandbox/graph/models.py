"""The msgraph-sdk request models the sandbox validates bodies with (warmed up at start)."""

from __future__ import annotations

from kiota_abstractions.serialization import Parsable
from msgraph.generated.models.event import Event
from msgraph.generated.models.online_meeting import OnlineMeeting
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
from msgraph.generated.users.item.online_meetings.create_or_get.create_or_get_post_request_body import (
    CreateOrGetPostRequestBody,
)
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

WARM_MODELS: tuple[type[Parsable], ...] = (
    Event, OnlineMeeting, CreateOrGetPostRequestBody, SendMailPostRequestBody, CancelPostRequestBody,
)
