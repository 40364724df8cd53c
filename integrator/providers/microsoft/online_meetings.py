"""Resolve a Teams event's online meeting (its id is what attendance reports hang on).

App-only access to `/users/{id}/onlineMeetings` needs OnlineMeetings.Read(Write).All *and* a
Teams application access policy granted to the organiser; without the policy Graph answers
403, which `integrator tenant check` explains.
"""

from __future__ import annotations

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.online_meeting_collection_response import OnlineMeetingCollectionResponse
from msgraph.generated.users.item.online_meetings.online_meetings_request_builder import (
    OnlineMeetingsRequestBuilder,
)

from integrator.providers.errors import ProviderError
from integrator.providers.microsoft.client import BatchItem, GraphClient

Query = OnlineMeetingsRequestBuilder.OnlineMeetingsRequestBuilderGetQueryParameters


def join_url_filter(join_url: str) -> str:
    # OData string literal: a single quote is escaped by doubling it.
    return "JoinWebUrl eq '{}'".format(join_url.replace("'", "''"))


def find_by_join_url(client: GraphClient, organizer_id: str, join_url: str) -> str | None:
    """The onlineMeeting id behind `join_url`, or None when Graph does not know it (yet)."""
    config = RequestConfiguration(query_parameters=Query(filter=join_url_filter(join_url)))
    result = client.call(
        "onlineMeetings.list",
        lambda sdk: sdk.users.by_user_id(organizer_id).online_meetings.get(request_configuration=config),
    )
    for meeting in (result.value if result and result.value else []):
        if meeting.id:
            return str(meeting.id)
    return None


def find_many_by_join_url(client: GraphClient, items: list[tuple[str, str, str]]
                          ) -> dict[str, str | None | ProviderError]:
    """(key, organiser object id, join URL) -> onlineMeeting id (None: not found) or error, in `$batch`."""
    batch = []
    for key, organizer_id, join_url in items:
        config = RequestConfiguration(query_parameters=Query(filter=join_url_filter(join_url)))
        request = client.sdk.users.by_user_id(organizer_id).online_meetings.to_get_request_information(config)
        batch.append(BatchItem(key, request, OnlineMeetingCollectionResponse))
    out: dict[str, str | None | ProviderError] = {}
    for key, result in client.batch("onlineMeetings.list", batch).items():
        if result.error is not None:
            out[key] = result.error
            continue
        found = [m.id for m in (result.value.value or []) if m.id] if result.value is not None else []
        out[key] = str(found[0]) if found else None
    return out
