"""Canary: msgraph-core still cannot read a `$batch` item body that is a JSON object (pure, offline).

Graph answers each item of a `$batch` with its body as a JSON object. msgraph-core 1.5.x's
BatchResponseItem reads `body` with kiota-serialization-json's get_bytes_value, which takes base64
strings only (microsoft/kiota-python#737): the body is dropped and response_body() fails. That is
why GraphClient._batch_chunk in integrator/providers/microsoft/client.py posts the envelope itself
and parses the raw answer, and why pyproject.toml keeps msgraph-core below 1.6.

These tests parse an envelope as Graph sends it with msgraph-core's own classes and assert the bug
is still there. When they fail, a release has fixed it: read the items with
BatchResponseContent.response_body() instead, then lift the bound and delete this file.
"""

from __future__ import annotations

import json

import pytest
from kiota_abstractions.api_client_builder import register_default_deserializer
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.generated.models.event import Event
from msgraph_core.requests.batch_response_content import BatchResponseContent
from msgraph_core.requests.batch_response_item import BatchResponseItem

FIXED = ("msgraph-core now reads $batch item bodies that are JSON objects (kiota-python#737 is fixed): "
         "the raw-envelope workaround in integrator/providers/microsoft/client.py (GraphClient._batch_chunk) "
         "can go and the msgraph-core upper bound in pyproject.toml can be lifted; then delete this canary.")

# One item of a `$batch` answer as Graph sends it: an event made, its body a JSON object.
ENVELOPE = {"responses": [{
    "id": "1", "status": 201,
    "headers": {"Content-Type": "application/json;odata.metadata=minimal;charset=utf-8"},
    "body": {"id": "AAMkAGI1AAAt", "subject": "Vertaisryhmä"},
}]}


def parsed_item() -> tuple[BatchResponseContent, BatchResponseItem]:
    # What building a GraphServiceClient does: response_body() finds its parser in this registry.
    register_default_deserializer(JsonParseNodeFactory)
    content = JsonParseNodeFactory().get_root_parse_node(
        "application/json", json.dumps(ENVELOPE).encode()).get_object_value(BatchResponseContent)
    item = content.get_response_by_id("1")
    assert isinstance(item, BatchResponseItem)
    return content, item


def test_msgraph_core_reads_the_envelope_around_the_items() -> None:
    # So that the two canaries below can only fail because item bodies are read.
    content, item = parsed_item()
    assert content.get_response_status_codes() == {"1": 201}
    assert item.content_type == "application/json;odata.metadata=minimal;charset=utf-8"


def test_msgraph_core_still_drops_a_json_object_item_body() -> None:
    _, item = parsed_item()
    assert item.body is None, FIXED


def test_msgraph_core_still_cannot_parse_a_json_object_item_body_as_its_model() -> None:
    content, _ = parsed_item()
    with pytest.raises(ValueError, match="Unable to deserialize batch response"):
        event = content.response_body("1", Event)
        pytest.fail(f"{FIXED} (it read the event {event.subject!r})" if event else FIXED)
