"""The HTTP transport of every Google call: a request goes on the wire at most once.

Why. ``httplib2.Http._conn_request`` sends a request again by itself when the connection ends
where the status line should be (``http.client.BadStatusLine``, ``RemoteDisconnected``):
"the connection just went stale, so retry regardless of the number of RETRIES set", for any
method. So a write the server applied before closing the connection without an answer (a
dying frontend, a proxy's idle cut) arrived twice although our code passed ``retry=False``:
every coursework of a Classroom batch twice, a Gmail message delivered twice. No httplib2
setting stops it: ``httplib2.RETRIES`` is a module global (process-wide), the stale-line path
resets its own counter whatever it says, and ``RETRIES = 0`` breaks the loop altogether
(``UnboundLocalError``). Hence a subclass, per instance, in this one module.

How. :class:`SingleSendHttp` hands httplib2's loop a connection (:class:`_SendOnce`) that
puts the request on the wire at most once per call: a lost answer (the connection closed or
reset where the answer should be, or a read timeout) raises :class:`AnswerLost`
(an ``HttpLib2Error``, which neither httplib2's loop nor googleapiclient's ``_retry_request``
catches), and a second send is refused with the same error, whatever httplib2's loop or
``RETRIES`` would do. ``providers.google.errors.classify`` makes it a ``Retriable`` with no
status: our ``RetryPolicy`` repeats it where the caller allowed repeating (reads, creates with
an id), and where it did not, the caller decides: Gmail's send becomes ``DeliveryUncertain``
(the outbox's UNCERTAIN window), a coursework create stays ``pending`` and is looked for by its
marker before anything is created again. A connection that could not be made at all raises
:class:`NotSent` instead (a ``Retriable`` with reason "connect"): nothing left, so nothing needs
looking for (``providers.errors.never_reached``).

What it covers: every request of a service built by ``GoogleClient.service`` goes through the
``AuthorizedHttp`` wrapping this Http, and so does the token refresh it makes (google-auth's
``Request`` over the same Http). A batch (``BatchHttpRequest.execute``) sends its envelope
through the http of its first request, ours; a media upload (multipart or resumable, every
chunk) is ``http.request`` on the request's http too. ``GoogleClient`` builds every Http it uses
with :func:`google_http`, the token checks included.

What a retry loop was good for, kept without it: a kept-alive connection the server closed
while idle would make the next request fail on its first byte; httplib2 re-sent, we reconnect
before sending instead (a readable idle socket has been closed or is out of step), so nothing
needs re-sending. The race left (a close at the very moment we send) is an ordinary
``AnswerLost``.

Re-sends that stay: google-auth's ``AuthorizedHttp`` sends again after a 401 (once, with a
refreshed token), and googleapiclient's batch sends its 401 parts again: a 401 is an answer,
the request was refused, not applied.
"""

from __future__ import annotations

import http.client
import selectors
import socket
from typing import Any

import httplib2


class AnswerLost(httplib2.HttpLib2Error):  # type: ignore[misc]  # httplib2 is untyped
    """The request went out and no answer came back; it may have been applied: not sent again."""


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle kept-alive connection has something to read: the server's close (or
    bytes nobody asked for). Either way it must not carry the next request."""
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(timeout=0))
    except (OSError, ValueError):
        return True  # closed under us: a new connection it is


class NotSent(httplib2.HttpLib2Error):  # type: ignore[misc]  # httplib2 is untyped
    """No connection could be made for the request: nothing of it reached the server."""


class _SendOnce:
    """One request's view of an httplib2 connection: at most one send, and no reading twice."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._sent = False
        self._failure: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)  # sock, connect, close, host: the connection's own

    def connect(self) -> None:
        try:
            self._conn.connect()
        except OSError as exc:
            if self._sent:
                raise  # a reconnect after the request went out: httplib2's loop and AnswerLost decide
            self._conn.close()
            # Refused, unreachable, a connect timeout, a failed TLS handshake: safe to send again,
            # and a create without an idempotency key needs no lookup first (errors.never_reached).
            raise NotSent(f"no connection ({type(exc).__name__}: {exc}); the request was not sent") from exc

    def request(self, method: str, url: str, body: Any = None, headers: Any = None) -> None:
        if self._sent:
            # httplib2's loop wants to send again after a failure mid-send: not ours to decide.
            raise AnswerLost(f"{method} not sent again after {type(self._failure).__name__}: "
                             "it may have reached the server") from self._failure
        self._sent = True
        try:
            self._conn.request(method, url, body, headers)
        except BaseException as exc:
            self._failure = exc
            raise

    def getresponse(self) -> Any:
        try:
            return self._conn.getresponse()
        except (http.client.BadStatusLine, http.client.ResponseNotReady, OSError) as exc:
            # RemoteDisconnected is a BadStatusLine: the request left, its answer did not come.
            # A reset (ConnectionResetError) and a read timeout (socket.timeout) say the same.
            # The connection is closed either way: after a timeout http.client would refuse the
            # next request on it (CannotSendRequest), which must not look like a lost answer.
            self._conn.close()
            raise AnswerLost(f"no answer ({type(exc).__name__}); "
                             "the request may have been applied and is not sent again") from exc


class SingleSendHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 is untyped
    """``httplib2.Http`` whose every request goes on the wire at most once (see the module)."""

    def _conn_request(self, conn: Any, request_uri: str, method: str, body: Any, headers: Any) -> Any:
        if conn.sock is not None and _dropped(conn.sock):
            conn.close()  # nothing of this request was sent on it: a fresh connection is safe
        return super()._conn_request(_SendOnce(conn), request_uri, method, body, headers)


def google_http(timeout_s: float) -> httplib2.Http:
    """The Http every Google call of ours goes through (services, batches, token refreshes)."""
    return SingleSendHttp(timeout=timeout_s)
