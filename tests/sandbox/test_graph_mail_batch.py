"""sendMail with Exchange's send rate, JSON batching, faults and latency, via the real SDK."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import RetryHandlerOption
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph import GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.requests.batch_response_content import BatchResponseContent

from tests.sandbox.graph_fixtures import GRAPH_SCOPE, GraphSandbox

pytestmark = pytest.mark.anyio

NO_RETRY = RequestConfiguration(options=[RetryHandlerOption(max_retries=0, should_retry=False)])


def letter(to: str, subject: str = "Tervetuloa etäkuntouttavaan työtoimintaan") -> SendMailPostRequestBody:
    return SendMailPostRequestBody(
        message=Message(
            subject=subject,
            body=ItemBody(content_type=BodyType.Html, content="<p>Hei,</p><p>ryhmäsi alkaa maanantaina.</p>"),
            to_recipients=[Recipient(email_address=EmailAddress(address=to))],
        ),
        save_to_sent_items=False,
    )


async def test_sent_letter_is_stored_for_the_sandbox(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    await graph_client.users.by_user_id(organiser).send_mail.post(letter("asiakas1@example.fi"))
    [mail] = ms.state.sent_mail
    assert mail.vendor == "graph" and mail.sender == "ohjaaja@sandbox.example.fi"
    assert mail.to == ["asiakas1@example.fi"]
    assert mail.subject == "Tervetuloa etäkuntouttavaan työtoimintaan"
    assert mail.text == "Hei, ryhmäsi alkaa maanantaina."
    assert mail.html.startswith("<p>Hei,</p>")
    assert mail.at == ms.state.clock.now()


async def test_the_thirty_first_letter_in_a_minute_is_throttled_until_the_minute_turns(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    send_mail = graph_client.users.by_user_id(organiser).send_mail
    for i in range(30):
        await send_mail.post(letter(f"asiakas{i}@example.fi"), NO_RETRY)
    with pytest.raises(ODataError) as raised:
        await send_mail.post(letter("asiakas30@example.fi"), NO_RETRY)
    assert raised.value.response_status_code == 429
    assert raised.value.response_headers is not None
    assert 1 <= int(raised.value.response_headers["retry-after"]) <= 60
    assert len(ms.state.sent_mail) == 30
    ms.state.clock.advance(timedelta(minutes=1))
    await send_mail.post(letter("asiakas30@example.fi"), NO_RETRY)
    assert len(ms.state.sent_mail) == 31


async def test_batch_answers_each_item_with_its_own_status_body_and_headers(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    user = graph_client.users.by_user_id(organiser)
    content = BatchRequestContent()
    create = BatchRequestItem(user.events.to_post_request_information(Event(
        subject="Erä", start=DateTimeTimeZone(date_time="2026-01-05T09:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2026-01-05T10:00:00", time_zone="UTC"))))
    missing = BatchRequestItem(user.events.by_event_id("AAMkAnotthere").to_get_request_information())
    mail = BatchRequestItem(user.send_mail.to_post_request_information(letter("asiakas1@example.fi")))
    for item in (create, missing, mail):
        content.add_request(None, item)  # one at a time: msgraph-core rejects a 20-item list
    result = await graph_client.batch.post(content)
    assert isinstance(result, BatchResponseContent)
    assert result.get_response_status_codes() == {create.id: 201, missing.id: 404, mail.id: 202}
    assert len(ms.state.sent_mail) == 1
    assert ms.state.log.total() == 3  # OIDC metadata + token + one batch on the wire
    assert [e.operation for e in ms.state.log.items() if e.api != "login"] == ["create", "get", "sendMail"]


async def test_batch_item_bodies_are_json_objects_as_graph_sends_them(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    """msgraph-core 1.5.2 reads item bodies only when base64 strings, so BatchResponseContent
    .response_body() fails on Graph's JSON object bodies; read the raw envelope instead."""
    user = graph_client.users.by_user_id(organiser)
    content = BatchRequestContent()
    create = BatchRequestItem(user.events.to_post_request_information(Event(
        subject="Erä", start=DateTimeTimeZone(date_time="2026-01-05T09:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2026-01-05T10:00:00", time_zone="UTC"))))
    missing = BatchRequestItem(user.events.by_event_id("AAMkAnotthere").to_get_request_information())
    for item in (create, missing):
        content.add_request(None, item)
    info = await graph_client.batch.to_post_request_information(content)
    raw = await graph_client.request_adapter.send_primitive_async(info, "bytes", None)
    answers = {r["id"]: r for r in json.loads(raw)["responses"]}
    created = JsonParseNodeFactory().get_root_parse_node(
        "application/json", json.dumps(answers[create.id]["body"]).encode()
    ).get_object_value(Event)
    assert created.subject == "Erä" and created.id in ms.graph.events
    assert answers[create.id]["headers"]["Content-Type"].startswith("application/json")
    assert answers[missing.id]["body"]["error"]["code"] == "ErrorItemNotFound"


async def test_batch_items_must_be_relative_to_the_version_root_as_on_graph(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    content = BatchRequestContent()
    relative = BatchRequestItem(graph_client.users.by_user_id(organiser).to_get_request_information())
    absolute = BatchRequestItem(graph_client.users.by_user_id(organiser).to_get_request_information())
    absolute.url = f"{ms.graph_url}{absolute.url}"
    versioned = BatchRequestItem(graph_client.users.by_user_id(organiser).to_get_request_information())
    versioned.url = f"/v1.0{versioned.url}"
    for item in (relative, absolute, versioned):
        content.add_request(None, item)
    result = await graph_client.batch.post(content)
    assert isinstance(result, BatchResponseContent)
    assert relative.url == f"/users/{organiser}"  # what the SDK builds before the adapter sets a base URL
    assert result.get_response_status_codes() == {relative.id: 200, absolute.id: 400, versioned.id: 400}


async def test_batch_of_more_than_twenty_requests_is_rejected(
    ms: GraphSandbox, credential: object, organiser: str
) -> None:
    token = credential.get_token(GRAPH_SCOPE).token  # type: ignore[attr-defined]
    requests = [{"id": str(i), "method": "GET", "url": f"/users/{organiser}"} for i in range(21)]
    with httpx.Client(verify=ms.tls_context(), base_url=ms.graph_url) as http:
        too_many = http.post(
            "/$batch", json={"requests": requests}, headers={"Authorization": f"Bearer {token}"}
        )
        twenty = http.post(
            "/$batch", json={"requests": requests[:20]}, headers={"Authorization": f"Bearer {token}"}
        )
    assert too_many.status_code == 400
    assert too_many.json()["error"]["code"] == "BadRequest"
    assert too_many.json()["error"]["message"] == "Number of requests inside batch exceeds the limit."
    assert twenty.status_code == 200
    assert [r["status"] for r in twenty.json()["responses"]] == [200] * 20


async def test_batch_item_whose_dependency_failed_is_not_run(
    ms: GraphSandbox, credential: object, organiser: str
) -> None:
    token = credential.get_token(GRAPH_SCOPE).token  # type: ignore[attr-defined]
    requests = [
        {"id": "1", "method": "GET", "url": "/users/nobody@sandbox.example.fi"},
        {
            "id": "2",
            "method": "POST",
            "url": f"/users/{organiser}/sendMail",
            "dependsOn": ["1"],
            "headers": {"Content-Type": "application/json"},
            "body": {
                "message": {"subject": "x", "toRecipients": [{"emailAddress": {"address": "a@example.fi"}}]}
            },
        },
    ]
    with httpx.Client(verify=ms.tls_context(), base_url=ms.graph_url) as http:
        answer = http.post(
            "/$batch", json={"requests": requests}, headers={"Authorization": f"Bearer {token}"}
        )
    assert [(r["id"], r["status"]) for r in answer.json()["responses"]] == [("1", 404), ("2", 424)]
    assert ms.state.sent_mail == []


async def test_outlook_refuses_more_than_four_parallel_batch_items_for_one_mailbox(
    ms: GraphSandbox, credential: object, organiser: str
) -> None:
    token = credential.get_token(GRAPH_SCOPE).token  # type: ignore[attr-defined]
    letter_body = {"message": {"subject": "x", "toRecipients": [{"emailAddress": {"address": "a@example.fi"}}]}}
    parallel = [{"id": str(i), "method": "POST", "url": f"/users/{organiser}/sendMail",
                 "headers": {"Content-Type": "application/json"}, "body": letter_body} for i in range(6)]
    chained = [dict(item, id=f"c{i}", dependsOn=[f"c{i - 1}"] if i else []) for i, item in enumerate(parallel)]
    with httpx.Client(verify=ms.tls_context(), base_url=ms.graph_url) as http:
        first = http.post("/$batch", json={"requests": parallel}, headers={"Authorization": f"Bearer {token}"})
        second = http.post("/$batch", json={"requests": chained}, headers={"Authorization": f"Bearer {token}"})
    answers = first.json()["responses"]
    assert [r["status"] for r in answers] == [202, 202, 202, 202, 429, 429]
    assert answers[-1]["headers"]["Retry-After"] == "1"
    assert answers[-1]["body"]["error"]["code"] == "ApplicationThrottled"
    assert [r["status"] for r in second.json()["responses"]] == [202] * 6  # dependsOn: one at a time
    assert len(ms.state.sent_mail) == 10


async def test_injected_server_error_surfaces_as_graphs_error(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    ms.state.faults.inject(vendor="graph", path_glob="*/events", rate=1.0, status=500, count=1)
    with pytest.raises(ODataError) as raised:
        await graph_client.users.by_user_id(organiser).events.get()
    assert raised.value.response_status_code == 500
    assert raised.value.error is not None and raised.value.error.code == "generalException"
    assert await graph_client.users.by_user_id(organiser).events.get() is not None


async def test_injected_throttling_is_retried_by_the_sdk_after_retry_after(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    ms.state.faults.inject(
        vendor="graph", path_glob="/v1.0/users/*", rate=1.0, status=429, retry_after=1, count=1
    )
    started = time.monotonic()
    user = await graph_client.users.by_user_id(organiser).get()
    assert user is not None and user.id == organiser
    assert time.monotonic() - started >= 1.0
    assert [e.status for e in ms.state.log.entries if e.api == "users"] == [429, 200]
    assert all(e.vendor == "graph" for e in ms.state.log.entries)


async def test_latency_is_added_to_every_wire_request(
    ms: GraphSandbox, graph_client: GraphServiceClient, organiser: str
) -> None:
    await graph_client.users.by_user_id(organiser).get()  # token fetched outside the timing
    ms.state.latency_ms = 200
    started = time.monotonic()
    await graph_client.users.by_user_id(organiser).get()
    assert time.monotonic() - started >= 0.2
