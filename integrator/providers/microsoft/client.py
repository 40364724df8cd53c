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
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity import CertificateCredential, ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.middleware.options import RetryHandlerOption, UrlReplaceHandlerOption
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

from integrator.config import MicrosoftTenant
from integrator.providers.errors import Fatal, NeedsReauth, ProviderError, Retriable
from integrator.providers.retry import RetryPolicy

log = logging.getLogger(__name__)

T = TypeVar("T")
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
_RETRIABLE_STATUS = {429, 500, 502, 503, 504}


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


def map_error(exc: BaseException, op: str) -> ProviderError:
    """Vendor and transport errors -> Retriable / Fatal / NeedsReauth (the choke point)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, APIError):
        status = exc.response_status_code
        code = _odata_code(exc)
        message = f"{op}: {code or 'error'} ({status}): {exc.primary_message or ''}".strip()
        if status in _RETRIABLE_STATUS:
            ra = _header(exc.response_headers, "Retry-After")
            retry_after = float(ra) if ra and ra.replace(".", "", 1).isdigit() else None
            return Retriable(message, vendor="graph", status=status, reason=code, retry_after=retry_after)
        if status == 401:
            return NeedsReauth(message, vendor="graph", status=status, reason=code)
        return Fatal(message, vendor="graph", status=status, reason=code)
    if isinstance(exc, ClientAuthenticationError):
        # Token endpoint said no: wrong secret, expired certificate, unknown app or tenant.
        return NeedsReauth(f"{op}: token request refused: {exc.message}", vendor="graph")
    if isinstance(exc, ServiceRequestError):
        return Retriable(f"{op}: token endpoint unreachable: {exc.message}", vendor="graph")
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
                 timeout_s: float = 60.0) -> None:
        self.tenant = tenant
        self.policy = policy or RetryPolicy()
        self.credential = build_credential(tenant)
        self._loop = asyncio.new_event_loop()
        self._http = _http_client(tenant, timeout_s)
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
        decides what a Retriable means for it (see `never_reached`).
        """

        def once() -> T:
            self.requests += 1
            try:
                return self._loop.run_until_complete(fn(self.sdk))  # type: ignore[arg-type]
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                mapped = map_error(exc, op)
                if mapped is exc:
                    raise
                raise mapped from exc

        if not retry:
            return once()

        def on_retry(n: int, err: Retriable, wait: float) -> None:
            log.info("graph retry", extra={"op": op, "attempt": n, "status": err.status, "wait_s": round(wait, 2)})

        return self.policy.call(once, on_retry=on_retry)

    def access_token_claims(self) -> dict[str, Any]:
        """The app-only token's claims (roles = granted application permissions)."""
        token = self.credential.get_token(GRAPH_SCOPE).token
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
        return claims


def never_reached(err: Retriable) -> bool:
    """429 and connect failures mean the service did not act on the request."""
    return err.status == 429 or err.reason == "connect"
