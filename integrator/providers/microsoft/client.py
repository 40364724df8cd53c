"""The Graph client: credential, GraphServiceClient, and the one place vendor errors are mapped.

The msgraph SDK is async; our jobs are not. A `GraphClient` owns one private event loop and
runs each SDK coroutine on it, so the httpx connection pool stays bound to a single loop.

Kiota's RetryHandler is switched off for every request: it retries POSTs on 503/504, which
for `sendMail` can send a letter twice, and it ignores our retry budget. Retries happen in
`integrator.providers.retry.RetryPolicy`, and only where the caller says the call is safe
to repeat (`retry=True`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity import CertificateCredential, ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.serialization import Parsable
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption, UrlReplaceHandlerOption
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

from integrator.config import MicrosoftTenant
from integrator.observability.metrics import record_api_call
from integrator.providers.errors import Fatal, NeedsReauth, ProviderError, Retriable, outcome_label
from integrator.providers.limits import GRAPH_BATCH_LIMIT
from integrator.providers.retry import RetryPolicy, parse_retry_after, retry_in_chunks

log = logging.getLogger(__name__)

T = TypeVar("T")
L = TypeVar("L")  # an item of a list read by batch_lists
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
_RETRIABLE_STATUS = {429, 500, 502, 503, 504}
# Entra's answers that mean "not now", not "not you": throttling (HTTP 429) and passing outages of
# the token endpoint. azure-identity drops the HTTP status of a token answer and keeps only its
# error description, so the codes are all there is to tell them from a refused secret.
# https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
TRANSIENT_TOKEN_ERRORS = ("AADSTS50196",  # LoopDetected: the client asked too often (throttled)
                          "AADSTS90006",  # ExternalServerRetryableError
                          "AADSTS90024",  # RequestBudgetExceededError
                          "AADSTS90033",  # MsodsServiceUnavailable / too many requests
                          "temporarily_unavailable", "Too many requests")


def build_credential(tenant: MicrosoftTenant) -> TokenCredential:
    """ClientSecretCredential or CertificateCredential; sandbox mode adds authority and CA."""
    kwargs: dict[str, Any] = {}
    if tenant.authority:
        # The sandbox (or a sovereign cloud) serves its own Entra endpoint; instance discovery
        # would ask login.microsoftonline.com about it, which the sandbox is not.
        kwargs["authority"] = tenant.authority
        kwargs["disable_instance_discovery"] = True
    if tenant.ca_bundle:
        kwargs["connection_verify"] = str(tenant.ca_bundle)
    if tenant.client_secret is not None:
        secret = tenant.client_secret.read().strip()
        return ClientSecretCredential(tenant.tenant_id, tenant.client_id, secret, **kwargs)
    assert tenant.certificate is not None
    pem = tenant.certificate.read().encode()
    return CertificateCredential(tenant.tenant_id, tenant.client_id, certificate_data=pem, **kwargs)


def _http_client(tenant: MicrosoftTenant, timeout_s: float) -> httpx.AsyncClient:
    verify: ssl.SSLContext | bool = True
    if tenant.ca_bundle:
        verify = ssl.create_default_context(cafile=str(tenant.ca_bundle))
    client = httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(timeout_s))
    client.base_url = httpx.URL(tenant.graph_base_url or GRAPH_BASE_URL)
    options = {
        UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
            enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}),
        RetryHandlerOption.get_key(): RetryHandlerOption(delay=0, max_retries=0, should_retry=False),
    }
    wrapped: httpx.AsyncClient = GraphClientFactory.create_with_default_middleware(
        client=client, options=options)  # type: ignore[arg-type]
    return wrapped


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name) if hasattr(headers, "get") else None
        if value is None and hasattr(headers, "get"):
            value = headers.get(name.lower())
    except (KeyError, TypeError):
        return None
    if isinstance(value, set | list | tuple):
        value = next(iter(value), None)
    return str(value) if value is not None else None


def _odata_code(err: APIError) -> str | None:
    inner = getattr(err, "error", None)
    code = getattr(inner, "code", None)
    return str(code) if code else None


def error_for_status(op: str, status: int | None, code: str | None, message: str,
                     retry_after: str | None = None) -> ProviderError:
    """A Graph error answer -> Retriable / NeedsReauth / Fatal: the one status table, for a call
    (the SDK's APIError) and for a `$batch` item (its own status, headers and body) alike."""
    text = f"{op}: {code or 'error'} ({status}): {message}".strip()
    if status in _RETRIABLE_STATUS:
        return Retriable(text, vendor="graph", status=status, reason=code, retry_after=parse_retry_after(retry_after))
    if status == 401:
        return NeedsReauth(text, vendor="graph", status=status, reason=code)
    return Fatal(text, vendor="graph", status=status, reason=code)


def map_error(exc: BaseException, op: str) -> ProviderError:
    """Vendor and transport errors -> Retriable / Fatal / NeedsReauth (the choke point)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, APIError):
        return error_for_status(op, exc.response_status_code, _odata_code(exc), exc.primary_message or "",
                                _header(exc.response_headers, "Retry-After"))
    if isinstance(exc, ClientAuthenticationError):
        if any(code.lower() in exc.message.lower() for code in TRANSIENT_TOKEN_ERRORS):
            # Throttled or briefly down: the secret is fine; telling an admin to renew it would
            # send them after the wrong problem (and a renewed secret is throttled just the same).
            return Retriable(f"{op}: token endpoint throttled or unavailable: {exc.message}", vendor="graph",
                             status=429, reason="token_throttled")
        # Token endpoint said no: wrong secret, expired certificate, unknown app or tenant.
        return NeedsReauth(f"{op}: token request refused: {exc.message}", vendor="graph")
    if isinstance(exc, ServiceRequestError):
        return Retriable(f"{op}: token endpoint unreachable: {exc.message}", vendor="graph",
                         reason="token_unreachable")
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # Nothing reached the server: always safe to try again.
        return Retriable(f"{op}: connection failed: {exc}", vendor="graph", reason="connect")
    if isinstance(exc, httpx.TransportError):
        # The request may have been received (read timeout, dropped connection).
        return Retriable(f"{op}: transport error: {type(exc).__name__}", vendor="graph", reason="transport")
    return Fatal(f"{op}: unexpected {type(exc).__name__}: {exc}", vendor="graph")


class GraphClient:
    """One tenant's Graph access for a job run. Close it (or use `with`) when done."""

    def __init__(self, tenant: MicrosoftTenant, *, policy: RetryPolicy | None = None,
                 timeout_s: float | None = None) -> None:
        self.tenant = tenant
        self.policy = policy or RetryPolicy()
        self.credential = build_credential(tenant)
        self._loop = asyncio.new_event_loop()
        self._http = _http_client(tenant, timeout_s if timeout_s is not None else tenant.request_timeout_s)
        auth = AzureIdentityAuthenticationProvider(self.credential, scopes=[GRAPH_SCOPE])
        adapter = GraphRequestAdapter(auth, client=self._http)
        # Must be set before GraphServiceClient builds its request builders (DESIGN.md).
        adapter.base_url = tenant.graph_base_url or GRAPH_BASE_URL
        self.sdk = GraphServiceClient(request_adapter=adapter)
        self.requests = 0  # HTTP calls attempted through `call` (for benchmarks and logs)

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.run_until_complete(self._http.aclose())
        self._loop.close()
        close = getattr(self.credential, "close", None)
        if callable(close):
            close()

    def run(self, coro: Awaitable[T]) -> T:
        """Run one coroutine on this client's loop, without error mapping (for helpers)."""
        return self._loop.run_until_complete(coro)  # type: ignore[arg-type]

    def call(self, op: str, fn: Callable[[GraphServiceClient], Awaitable[T]], *, retry: bool = True) -> T:
        """Run `fn(sdk)` once per attempt; map every failure to our error classes.

        `retry=False` for calls that must not be repeated blindly (sendMail): the caller
        decides what a Retriable means for it (see `providers.errors.never_reached`).

        Every attempt is counted in the `graph` API-call metrics by its outcome.
        """
        return self._call(op, fn, retry=retry, envelope=False)

    def _call(self, op: str, fn: Callable[[GraphServiceClient], Awaitable[T]], *, retry: bool,
              envelope: bool) -> T:
        """`call`; an `envelope` ($batch) is counted only when it fails as a whole, because
        its items are counted one by one from their own statuses (as the Google client does)."""

        def once() -> T:
            self.requests += 1
            try:
                result = self._loop.run_until_complete(fn(self.sdk))  # type: ignore[arg-type]
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                mapped = map_error(exc, op)
                record_api_call("graph", outcome_label(mapped))
                if mapped is exc:
                    raise
                raise mapped from exc
            if not envelope:
                record_api_call("graph", "ok")
            return result

        if not retry:
            return once()

        def on_retry(n: int, err: Retriable, wait: float) -> None:
            log.info("graph retry", extra={"op": op, "attempt": n, "status": err.status, "wait_s": round(wait, 2)})

        return self.policy.call(once, on_retry=on_retry)

    def call_many(self, op: str, calls: Sequence[tuple[str, Callable[[GraphServiceClient], Awaitable[T]], bool]],
                  *, limit: int) -> dict[str, T | ProviderError]:
        """Run `(key, fn, retry)` calls at most `limit` at a time on this client's loop; each
        answer or mapped error by key (a NeedsReauth among them is raised after all have ended).

        For writes Graph cannot take in `$batch` (file content) or that must not wait on each
        other's round trip. Each call is retried as `call` would (Retry-After honoured, the same
        budget), without blocking the others: a throttled call waits while the rest go on.
        SharePoint throttles per app and tenant, so `limit` stays small.
        """
        gate = asyncio.Semaphore(max(1, limit))

        async def wait(seconds: float) -> None:
            # An injected sleep (a test's clock) is honoured as in `call`; the real one must not
            # block the loop, or one throttled call would stall every other.
            if self.policy.sleep is time.sleep:
                await asyncio.sleep(seconds)
            else:
                self.policy.sleep(seconds)

        async def one(fn: Callable[[GraphServiceClient], Awaitable[T]], retry: bool) -> T | ProviderError:
            attempt = 1
            while True:
                async with gate:
                    self.requests += 1
                    try:
                        result = await fn(self.sdk)
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except BaseException as exc:  # noqa: BLE001 - every failure is mapped, as in `call`
                        mapped = map_error(exc, op)
                        record_api_call("graph", outcome_label(mapped))
                    else:
                        record_api_call("graph", "ok")
                        return result
                if not retry or not isinstance(mapped, Retriable) or self.policy.gives_up(attempt, mapped):
                    return mapped
                delay = self.policy.delay(attempt, mapped)
                log.info("graph retry", extra={"op": op, "attempt": attempt, "status": mapped.status,
                                               "wait_s": round(delay, 2)})
                await wait(delay)
                attempt += 1

        async def every() -> list[T | ProviderError]:
            return list(await asyncio.gather(*(one(fn, retry) for _key, fn, retry in calls)))

        answers = dict(zip((key for key, _fn, _retry in calls), self._loop.run_until_complete(every()), strict=True))
        reauth = next((a for a in answers.values() if isinstance(a, NeedsReauth)), None)
        if reauth is not None:
            raise reauth
        return answers

    def batch(self, op: str, items: Sequence[BatchItem]) -> dict[str, BatchResult]:
        """Run `items` as Graph `$batch` envelopes of at most 20, retrying only the items that
        failed retriably (rebuilt from per-item statuses; msgraph-core's
        `new_batch_with_failed_requests()` crashes). Only for requests safe to repeat.

        Requests are added one at a time: `BatchRequestContent` built from a list of exactly 20
        raises ValueError in msgraph-core 1.5.2.
        """
        results = {item.key: BatchResult(item.key) for item in items}
        retry_in_chunks(items, GRAPH_BATCH_LIMIT, lambda chunk: self._batch_chunk(op, chunk, results),
                        lambda item: results[item.key].error, policy=self.policy)
        return results

    def batch_lists(self, op: str, builders: Mapping[str, Callable[[Any], Any]], from_json: Callable[[Any], L],
                    from_sdk: Callable[[Any], L]) -> dict[str, list[L] | ProviderError]:
        """Many lists at once: each list's first page in `$batch` envelopes, its items read from
        the JSON (`from_json`: no SDK models on the hot path), the rare further pages (an
        @odata.nextLink) one by one through the SDK (`from_sdk`). `builders[key](sdk)` is the
        list's request builder. A first page that failed is that key's error."""
        items = [BatchItem(key, build(self.sdk).to_get_request_information()) for key, build in builders.items()]
        out: dict[str, list[L] | ProviderError] = {}
        for key, res in (self.batch(op, items).items() if items else []):
            if res.error is not None:
                out[key] = res.error
                continue
            first: dict[str, Any] = res.value or {}
            found = [from_json(v) for v in first.get("value") or []]
            link = first.get("@odata.nextLink")
            while link:
                page = self.call(op, lambda sdk, build=builders[key], link=link:  # type: ignore[misc]
                                 build(sdk).with_url(link).get())
                found.extend(from_sdk(v) for v in (page.value if page is not None else None) or [])
                link = page.odata_next_link if page is not None else None
            out[key] = found
        return out

    def _batch_chunk(self, op: str, chunk: Sequence[BatchItem], results: dict[str, BatchResult]) -> None:
        content = BatchRequestContent()
        ids: dict[str, BatchItem] = {}
        for n, item in enumerate(chunk, 1):
            ids[str(n)] = item
            content.add_request(str(n), BatchRequestItem(request_information=item.request, id=str(n)))

        async def post(sdk: GraphServiceClient) -> bytes:
            # msgraph-core 1.5.2 reads item bodies only as base64 strings, but Graph answers JSON
            # objects: send the envelope ourselves and parse the raw answer.
            info = await sdk.batch.to_post_request_information(content)
            raw: Any = await sdk.request_adapter.send_primitive_async(info, "bytes", None)  # type: ignore[func-returns-value]
            return bytes(raw or b"")

        try:
            raw = self._call(f"{op} $batch", post, retry=True, envelope=True)
        except ProviderError as err:
            if isinstance(err, NeedsReauth):
                raise
            for item in chunk:
                results[item.key] = BatchResult(item.key, error=err)
            return
        try:
            answers = {str(r.get("id")): r for r in json.loads(raw or b"{}").get("responses", [])}
        except (ValueError, AttributeError):
            answers = {}
        for rid, item in ids.items():
            results[item.key] = _item_result(op, item, answers.get(rid))
            record_api_call("graph", outcome_label(results[item.key].error))

    def access_token_claims(self) -> dict[str, Any]:
        """The app-only token's claims (roles = granted application permissions)."""
        token = self.credential.get_token(GRAPH_SCOPE).token
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
        return claims


@dataclass
class BatchItem:
    """One request of a `$batch`: our key, the SDK's RequestInformation, and the model to parse
    (None: the answer's JSON object as it came; a reader takes the few fields it needs, without
    building SDK models - a third of the nightly sync's CPU went into them)."""

    key: str
    request: RequestInformation
    parse_as: type[Parsable] | None = None


@dataclass
class BatchResult:
    key: str
    status: int | None = None
    value: Any = None
    error: ProviderError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _item_result(op: str, item: BatchItem, resp: dict[str, Any] | None) -> BatchResult:
    """One `$batch` answer -> its BatchResult (value parsed, or our error class)."""
    if resp is None or not isinstance(resp.get("status"), int):
        return BatchResult(item.key, error=Retriable(f"{op}: no answer in $batch", vendor="graph"))
    status = int(resp["status"])
    body = json.dumps(resp.get("body") or {}).encode()
    if not 200 <= status < 300:
        return BatchResult(item.key, status=status, error=_item_error(op, status, resp.get("headers"), body))
    value: Any = resp.get("body")  # no model named: the JSON object itself (the nightly hot path)
    if item.parse_as is not None and resp.get("body"):
        node = JsonParseNodeFactory().get_root_parse_node("application/json", body)
        value = node.get_object_value(item.parse_as)  # type: ignore[arg-type]
    return BatchResult(item.key, status=status, value=value)


def _item_error(op: str, status: int, headers: dict[str, Any] | None, body: bytes) -> ProviderError:
    code, message = None, ""
    try:
        err = json.loads(body or b"{}").get("error") or {}
        code, message = err.get("code"), err.get("message", "")
    except (ValueError, AttributeError):
        pass
    return error_for_status(op, status, code, str(message), _header(headers, "Retry-After"))

