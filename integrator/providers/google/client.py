"""The one way into Google's APIs: services, the `execute` choke point, batches and paging.

Every Google call the product makes goes through a :class:`GoogleClient`, so that errors are
classified, retried and logged in exactly one place.

Building services
    ``client.service("classroom", subject="coordinator@domain")`` returns a
    ``googleapiclient`` Resource acting as ``subject`` through domain-wide delegation
    (``service_account.Credentials(...).with_subject(subject)``; the key file comes from the
    tenant's ``SecretRef``). The discovery document is the static one shipped with
    google-api-python-client; when ``tenant.api_base_url`` is set (the sandbox) its ``rootUrl``
    becomes ``f"{api_base_url}/{api}/"`` so that ordinary, batch and media calls all reach the
    sandbox (docs/dev/sandbox-contract.md). Services are cached per (thread, api, subject, scopes):
    httplib2 is not thread-safe, so each thread gets its own connection. Every Http, token
    refreshes included, comes from ``transport.google_http``: httplib2 would otherwise send a
    request again by itself when its answer is lost, writes included.

`execute(request, retry=True)`
    Runs one ``HttpRequest`` and returns its parsed response. Vendor failures become our own
    errors (integrator.providers.errors), sorted by integrator.providers.google.errors.classify.
    Retriable errors are retried by the shared :class:`RetryPolicy` (honours Retry-After,
    capped exponential backoff with jitter). Pass ``retry=False`` for a create without an
    idempotency key, and find out by listing whether it happened before trying again.

`batch(requests, retry=True)`
    Runs many requests (a mapping key -> HttpRequest, any services) in batch envelopes at the
    API's limit (integrator.providers.limits.GOOGLE_BATCH_LIMITS), retries
    only the items that failed retriably (waiting the longest Retry-After among them, else
    backoff), and returns ``{key: ItemResult}`` with either ``.response`` or ``.error`` per item.
    One item's failure never affects another. Once an item is Parked, the remaining unsent
    items of that API are returned Parked too instead of burning the rest of the day's quota.
    A NeedsReauth on the envelope (token refresh) is raised: nothing else can succeed.

`list_all(collection, items_key, **params)` / `collect(first_request, items_key)` /
`batch_list_all(requests, items_key)`
    Read every page (never just the first one); the batch form fetches first pages of many
    lists in batch envelopes, then the following pages of the lists that have more.

Also: `collection(api, "courses.courseWork", subject=...)` (cached collection objects: building
thousands of requests from ``svc.courses().courseWork()`` costs ~2 ms per access otherwise),
`api_of(request)`, `check_token(subject, scopes)` (tenant checks), `stats` (wire counters) and
``GoogleClient(..., batching=False)``: `batch()` then sends every item on its own (a baseline).

The public API of this module (GoogleClient, ItemResult, SCOPES, API_VERSIONS) is stable: other jobs build on it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import google_auth_httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from integrator.config import GoogleTenant
from integrator.observability.metrics import record_api_call
from integrator.providers.errors import NeedsReauth, Parked, ProviderError, Retriable, outcome_label
from integrator.providers.google.errors import classify
from integrator.providers.google.transport import google_http
from integrator.providers.limits import GOOGLE_BATCH_LIMITS
from integrator.providers.retry import RetryPolicy, retry_in_chunks

log = logging.getLogger(__name__)

K = TypeVar("K")

API_VERSIONS: dict[str, str] = {"classroom": "v1", "drive": "v3", "calendar": "v3", "gmail": "v1", "meet": "v2",
                                "forms": "v1"}

_CLASSROOM = "https://www.googleapis.com/auth/classroom."
#: The scopes each API's service asks for by default; the admin guide lists the same set.
SCOPES: dict[str, tuple[str, ...]] = {
    "classroom": tuple(
        _CLASSROOM + s for s in ("courses", "rosters", "profile.emails", "coursework.students", "topics")
    ),
    "drive": ("https://www.googleapis.com/auth/drive",),
    "calendar": ("https://www.googleapis.com/auth/calendar",),
    "gmail": ("https://www.googleapis.com/auth/gmail.send",),
    "meet": ("https://www.googleapis.com/auth/meetings.space.readonly",),
    # Every Forms method accepts the Drive scope (forms.v1 discovery document: create, get,
    # batchUpdate, setPublishSettings, responses.list/get), which every tenant already delegates
    # for task folders: the evaluation surveys need no new grant in the Admin console.
    "forms": ("https://www.googleapis.com/auth/drive",),
}


@dataclass
class ItemResult(Generic[K]):
    """One request's outcome in a batch: a response or an error, never both."""

    key: K
    response: Any = None
    error: ProviderError | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ClientStats:
    """Wire-level counters of one client (for job-run counts and benchmarks)."""

    requests: int = 0  # HTTP requests sent (a batch envelope counts once)
    items: int = 0  # operations sent, batch parts included
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, err: ProviderError) -> None:
        name = type(err).__name__
        self.errors[name] = self.errors.get(name, 0) + 1
        record_api_call("google", outcome_label(err))

    def ok(self, n: int = 1) -> None:
        record_api_call("google", "ok", n)


# ---- discovery -------------------------------------------------------------------------------


@cache
def _discovery_doc(api: str, version: str, base_url: str | None) -> dict[str, Any]:
    """The parsed discovery document, one per API for the process: every service built from it
    (one per acting user: 42 at 20 coordinators) shares it instead of parsing its own copy (about
    0.6 MB of Python objects each)."""
    doc: dict[str, Any] = json.loads(_discovery_json(api, version, base_url))
    return doc


_BUILD_LOCK = threading.Lock()


@cache
def _discovery_json(api: str, version: str, base_url: str | None) -> str:
    text = get_static_doc(api, version)
    if text is None:
        raise LookupError(f"no static discovery document for {api} {version}")
    if base_url is None:
        return str(text)
    doc = json.loads(text)
    # Per docs/dev/sandbox-contract.md: every call, batch included, goes to {base}/{api}/.
    doc["rootUrl"] = f"{base_url.rstrip('/')}/{api}/"
    doc["baseUrl"] = doc["rootUrl"] + doc.get("servicePath", "")
    return json.dumps(doc)


def next_page_request(request: HttpRequest, page_token: str) -> HttpRequest:
    """A copy of a list request asking for the page after `page_token`."""
    parts = urlsplit(request.uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "pageToken"]
    query.append(("pageToken", page_token))
    uri = urlunsplit(parts._replace(query=urlencode(query)))
    return HttpRequest(request.http, request.postproc, uri, method=request.method, body=request.body,
                       headers=dict(request.headers), methodId=request.methodId)


# ---- the client ------------------------------------------------------------------------------


class GoogleClient:
    """Services for one Google Workspace tenant, and the one place their calls are executed."""

    def __init__(self, tenant: GoogleTenant, *, policy: RetryPolicy | None = None, timeout_s: float | None = None,
                 batch_limits: Mapping[str, int] | None = None, key_info: Mapping[str, Any] | None = None,
                 batching: bool = True) -> None:
        self.tenant = tenant
        # batching=False sends every request of batch() on its own (a baseline for benchmarks).
        self.batching = batching
        self.policy = policy or RetryPolicy()
        self.timeout_s = timeout_s if timeout_s is not None else tenant.request_timeout_s
        self.batch_limits = {**GOOGLE_BATCH_LIMITS, **(batch_limits or {})}
        self.stats = ClientStats()
        self._key_info = dict(key_info) if key_info is not None else None
        self._base_creds: service_account.Credentials | None = None
        self._creds: dict[tuple[str, tuple[str, ...]], service_account.Credentials] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        # id(AuthorizedHttp) -> (api, batch uri): to batch requests with the service they came from
        self._batch_uris: dict[int, tuple[str, str]] = {}
        self._subjects: dict[int, str] = {}  # id(AuthorizedHttp) -> the user it acts as

    # -- credentials and services --
    def _service_account(self) -> service_account.Credentials:
        with self._lock:
            if self._base_creds is None:
                info = self._key_info if self._key_info is not None else json.loads(self.tenant.service_account.read())
                self._base_creds = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
            return self._base_creds

    def credentials(self, subject: str | None = None, scopes: Iterable[str] = ()) -> service_account.Credentials:
        """Credentials acting as `subject` (default: the tenant's admin subject) for `scopes`."""
        user = subject or self.tenant.admin_subject
        key = (user.lower(), tuple(sorted(set(scopes))))
        base = self._service_account()
        with self._lock:
            creds = self._creds.get(key)
            if creds is None:
                creds = base.with_scopes(list(key[1])).with_subject(user)
                self._creds[key] = creds
            return creds

    def service(self, api: str, *, subject: str | None = None, scopes: Iterable[str] | None = None) -> Any:
        """A googleapiclient Resource for `api` acting as `subject` (cached per thread)."""
        version = API_VERSIONS[api]
        wanted = tuple(sorted(scopes if scopes is not None else SCOPES[api]))
        user = (subject or self.tenant.admin_subject).lower()
        cache: dict[tuple[str, str, tuple[str, ...]], Any] = self._local.__dict__.setdefault("services", {})
        key = (api, user, wanted)
        svc = cache.get(key)
        if svc is None:
            creds = self.credentials(user, wanted)
            # Batch envelopes and media uploads go out through this same Http (transport.py).
            http = google_auth_httplib2.AuthorizedHttp(creds, http=google_http(self.timeout_s))
            root = _discovery_doc(api, version, self.tenant.api_base_url)
            with _BUILD_LOCK:  # building fills in the shared document's method parameters (same values)
                svc = build_from_document(root, http=http)
            with self._lock:
                self._batch_uris[id(http)] = (api, root["rootUrl"] + root.get("batchPath", "batch"))
                self._subjects[id(http)] = user
            cache[key] = svc
        return svc

    def collection(self, api: str, path: str, *, subject: str | None = None) -> Any:
        """A cached collection of a service, e.g. ``collection("classroom", "courses.courseWork")``.

        googleapiclient builds every method object again each time a collection is reached
        (``svc.courses()``: about 2 ms); building thousands of requests needs them cached.
        """
        cache: dict[tuple[str, str, str], Any] = self._local.__dict__.setdefault("collections", {})
        key = (api, (subject or self.tenant.admin_subject).lower(), path)
        found = cache.get(key)
        if found is None:
            found = self.service(api, subject=subject)
            for name in path.split("."):
                found = getattr(found, name)()
            cache[key] = found
        return found

    def check_token(self, subject: str | None = None, scopes: Iterable[str] = ()) -> None:
        """Fetch a token now (for tenant checks); raises NeedsReauth/Retriable."""
        creds = self.credentials(subject, scopes)
        try:
            creds.refresh(google_auth_httplib2.Request(google_http(self.timeout_s)))  # type: ignore[no-untyped-call]
        except Exception as exc:  # noqa: BLE001 - classify() re-raises anything that is not a vendor error
            raise classify(exc) from exc

    # -- single calls --
    def _once(self, request: HttpRequest) -> Any:
        self.stats.requests += 1
        self.stats.items += 1
        try:
            response = request.execute(num_retries=0)
        except Exception as exc:  # noqa: BLE001 - classify() re-raises anything that is not a vendor error
            err = classify(exc)
            self.stats.error(err)
            raise err from exc
        self.stats.ok()
        return response

    def execute(self, request: HttpRequest, *, retry: bool = True) -> Any:
        """Run one request through the shared retry policy; raise our error classes only."""
        if not retry:
            return self._once(request)
        return self.policy.call(lambda: self._once(request), on_retry=self._on_retry)

    def _on_retry(self, attempt: int, err: Retriable, wait: float) -> None:
        self.stats.retries += 1
        log.info("google call retrying", extra={"attempt": attempt, "status": err.status, "reason": err.reason,
                                                "wait_s": round(wait, 2)})

    def list_all(self, collection: Any, items_key: str, *, method: str = "list", **params: Any) -> list[Any]:
        """Every item of a paged list, e.g. ``list_all(svc.courses(), "courses", teacherId="me")``."""
        return self.collect(getattr(collection, method)(**params), items_key)

    def collect(self, first: HttpRequest, items_key: str) -> list[Any]:
        """Every item of a paged list, starting from the request for its first page."""
        out: list[Any] = []
        request: HttpRequest | None = first
        while request is not None:
            response = self.execute(request) or {}
            out.extend(response.get(items_key, []))
            token = response.get("nextPageToken")
            request = next_page_request(request, token) if token else None
        return out

    # -- batches --
    def _batch_target(self, request: HttpRequest) -> tuple[str, str]:
        with self._lock:
            target = self._batch_uris.get(id(request.http))
        if target is None:
            raise ValueError("batch() takes requests built from GoogleClient.service()")
        return target

    def api_of(self, request: HttpRequest) -> str:
        """The API ("classroom", "drive", ...) a request built by this client belongs to."""
        return self._batch_target(request)[0]

    def bucket_of(self, request: HttpRequest) -> tuple[str, str]:
        """(API, acting user) of a request built by this client: what Google's per-user quotas count."""
        api = self._batch_target(request)[0]
        with self._lock:
            return api, self._subjects.get(id(request.http), "")

    def batch(self, requests: Mapping[K, HttpRequest] | Iterable[tuple[K, HttpRequest]], *,
              retry: bool = True) -> dict[K, ItemResult[K]]:
        """Run requests in batch envelopes at each API's limit; per-item results, retriable items retried."""
        pairs = list(requests.items()) if isinstance(requests, Mapping) else list(requests)
        results: dict[K, ItemResult[K]] = {k: ItemResult(k) for k, _ in pairs}
        if not self.batching:
            for key, req in pairs:
                results[key].attempts += 1
                try:
                    results[key].response = self.execute(req, retry=retry)
                except NeedsReauth:
                    raise
                except ProviderError as err:
                    results[key].error = err
            return results
        # One envelope per API: each part carries its own Authorization header (the sandbox and
        # Google both honour it), so parts acting as different delegated users share envelopes.
        groups: dict[str, list[tuple[K, HttpRequest]]] = {}
        for key, req in pairs:
            groups.setdefault(self._batch_target(req)[1], []).append((key, req))
        for group in groups.values():
            self._batch_group(group, results, retry=retry)
        return results

    def _batch_group(self, pairs: list[tuple[K, HttpRequest]], results: dict[K, ItemResult[K]], *,
                     retry: bool) -> None:
        api, uri = self._batch_target(pairs[0][1])

        def park(pair: tuple[K, HttpRequest], parked: Parked) -> None:
            results[pair[0]].error = Parked(f"not sent: {parked}", vendor="google", reason=parked.reason)

        retry_in_chunks(pairs, max(1, self.batch_limits[api]), lambda chunk: self._send_chunk(uri, chunk, results),
                        lambda pair: results[pair[0]].error, policy=self.policy, retry=retry,
                        on_retry=self._on_retry, park=park)

    def _ensure_tokens(self, requests: Iterable[HttpRequest]) -> None:
        # googleapiclient refreshes only the envelope's credentials up front; a part whose
        # credentials have no token yet would go out unauthenticated and come back 401.
        seen: set[int] = set()
        for req in requests:
            creds = getattr(req.http, "credentials", None)
            if creds is None or id(creds) in seen:
                continue
            seen.add(id(creds))
            if not creds.valid:
                try:
                    creds.refresh(google_auth_httplib2.Request(google_http(self.timeout_s)))
                except Exception as exc:  # noqa: BLE001 - classify() re-raises anything that is not a vendor error
                    raise classify(exc) from exc

    def _send_chunk(self, uri: str, chunk: list[tuple[K, HttpRequest]], results: dict[K, ItemResult[K]]) -> None:
        ids = {str(i): key for i, (key, _) in enumerate(chunk)}

        def done(request_id: str, response: Any, exception: HttpError | None) -> None:
            item = results[ids[request_id]]
            if exception is None:
                item.response, item.error = response, None
                self.stats.ok()
            else:
                item.response, item.error = None, classify(exception)
                self.stats.error(item.error)

        batch = BatchHttpRequest(callback=done, batch_uri=uri)
        for i, (key, req) in enumerate(chunk):
            results[key].attempts += 1
            batch.add(req, request_id=str(i))
        self.stats.requests += 1
        self.stats.items += len(chunk)
        try:
            self._ensure_tokens(req for _, req in chunk)
            batch.execute()
        except Exception as exc:  # noqa: BLE001 - classify() re-raises anything that is not a vendor error
            err = classify(exc)
            self.stats.error(err)
            if isinstance(err, NeedsReauth):
                raise err from exc
            # The envelope failed as a whole: every item in it shares the outcome.
            for key, _ in chunk:
                results[key].response, results[key].error = None, err

    def batch_list_all(self, requests: Mapping[K, HttpRequest], items_key: str) -> dict[K, ItemResult[K]]:
        """First pages of many lists in batches, then their next pages; `.response` is the full item list."""
        results: dict[K, ItemResult[K]] = {k: ItemResult(k, response=[]) for k in requests}
        pending: dict[K, HttpRequest] = dict(requests)
        while pending:
            answers = self.batch(pending)
            pending = {}
            for key, res in answers.items():
                if res.error is not None:
                    results[key].response, results[key].error = None, res.error
                    continue
                page = res.response or {}
                results[key].response.extend(page.get(items_key, []))
                token = page.get("nextPageToken")
                if token:
                    pending[key] = next_page_request(requests[key], token)
        return results
