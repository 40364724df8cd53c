"""Shared sandbox machinery: clock, faults, request log, quotas, sent mail.

Both halves of the sandbox tenant (Google in ``sandbox.google``, Microsoft in ``sandbox.graph``)
receive one :class:`SandboxState` and route every request through it, so a test can steer time,
inject failures and count wire traffic in one place regardless of vendor.
"""

from __future__ import annotations

import fnmatch
import random
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from werkzeug.serving import WSGIRequestHandler

Vendor = Literal["google", "graph"]
EntryKind = Literal["wire", "batch", "part"]
#: "status": the request is refused with ``status`` before it is applied. "lose_answer": the
#: request is applied, then its answer never arrives (a proxy or a server dying between commit
#: and reply, a network cut): the client cannot know whether it happened.
FaultMode = Literal["status", "lose_answer"]
FAULT_MODES: tuple[FaultMode, ...] = ("status", "lose_answer")
#: How an answer is lost. "close": the server shuts the connection down cleanly where the status
#: line should be (end of stream). "reset": the connection is reset (TCP RST: ECONNRESET on
#: the client). "timeout": the server keeps the connection open and silent until the client
#: gives up waiting (its read timeout) and closes it, or ``hold_s`` passes.
LostHow = Literal["close", "reset", "timeout"]
LOST_HOWS: tuple[LostHow, ...] = ("close", "reset", "timeout")
#: The WSGI environ key an app sets (to the firing :class:`Fault`) to have
#: :class:`SandboxRequestHandler` lose the answer.
LOSE_ANSWER = "integrator.sandbox.lose_answer"

#: Where the sandbox clock starts unless told otherwise: a Monday morning in Finland (07:00 UTC).
DEFAULT_START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


class SandboxClock:
    """The tenant's notion of "now"; it only moves when a test or the admin API moves it."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime")
        self._start = start.astimezone(UTC)
        self._now = self._start
        self._lock = threading.Lock()

    @property
    def start(self) -> datetime:
        return self._start

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, dt: datetime) -> None:
        if dt.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime")
        with self._lock:
            self._now = dt.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now

    def reset(self) -> None:
        with self._lock:
            self._now = self._start


@dataclass
class Fault:
    """One injected failure rule. ``count`` limits how many times it fires (None: unlimited)."""

    vendor: str = "*"
    path_glob: str = "*"
    http_method: str = "*"
    rate: float = 1.0
    status: int = 503
    reason: str | None = None
    retry_after: int | None = None
    count: int | None = None
    fired: int = 0
    mode: FaultMode = "status"
    how: LostHow = "close"
    hold_s: float = 120.0

    def matches(self, vendor: str, path: str, http_method: str) -> bool:
        return (
            self.vendor in ("*", vendor)
            and fnmatch.fnmatchcase(path, self.path_glob)
            and self.http_method in ("*", http_method.upper())
            and (self.count is None or self.fired < self.count)
        )


class Faults:
    """Error injection, decided per request (and per batch item) with the sandbox's seeded RNG."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        #: (vendor, HTTP method, path, how) of every request whose answer was lost, in order.
        self._lost: list[tuple[str, str, str, LostHow]] = []

    def inject(
        self,
        vendor: str = "*",
        path_glob: str = "*",
        http_method: str = "*",
        rate: float = 0.1,
        status: int = 429,
        reason: str | None = None,
        retry_after: int | None = None,
        count: int | None = None,
        mode: FaultMode | Literal["lost_answer"] = "status",
        how: LostHow = "close",
        hold_s: float = 120.0,
    ) -> Fault:
        if vendor not in ("google", "graph", "*"):
            raise ValueError(f"unknown vendor {vendor!r}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if mode == "lost_answer":
            mode = "lose_answer"  # the name the issue uses for it
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r} (expected one of {', '.join(FAULT_MODES)})")
        if how not in LOST_HOWS:
            raise ValueError(f"unknown way to lose an answer {how!r} (expected one of {', '.join(LOST_HOWS)})")
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        rule = Fault(vendor, path_glob, http_method.upper(), rate, status, reason, retry_after, count, mode=mode,
                     how=how, hold_s=hold_s)
        with self._lock:
            self._rules.append(rule)
        return rule

    def lose_answer(
        self,
        vendor: str = "*",
        path_glob: str = "*",
        http_method: str = "*",
        rate: float = 1.0,
        count: int | None = None,
        how: LostHow = "close",
        hold_s: float = 120.0,
    ) -> Fault:
        """Apply matching wire requests, then lose their answers (``how``: see :data:`LostHow`).

        Only whole HTTP requests lose answers (a batch envelope, not one of its parts): that is
        what a dropped connection does. The request log records the request as served.
        """
        return self.inject(vendor, path_glob, http_method, rate, status=0, count=count, mode="lose_answer",
                           how=how, hold_s=hold_s)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._lost.clear()

    @property
    def lost(self) -> list[tuple[str, str, str, LostHow]]:
        """The requests applied whose answers were lost: (vendor, HTTP method, path, how)."""
        with self._lock:
            return list(self._lost)

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def pick(self, vendor: str, path: str, http_method: str, mode: FaultMode = "status") -> Fault | None:
        """Return the rule of `mode` that fires for this request, if any (first matching rule wins).

        Refusals are picked before a request is handled, lost answers after it was applied.
        """
        with self._lock:
            for rule in self._rules:
                if rule.mode != mode:
                    continue
                if rule.matches(vendor, path, http_method) and self._rng.random() < rule.rate:
                    rule.fired += 1
                    if mode == "lose_answer":
                        self._lost.append((vendor, http_method.upper(), path, rule.how))
                    return rule
        return None


@dataclass(frozen=True)
class LogEntry:
    """One request seen by the sandbox.

    ``kind`` is "wire" for an ordinary HTTP request, "batch" for a batch envelope (one wire
    request) and "part" for an operation inside a batch.
    """

    vendor: str
    api: str
    operation: str
    http_method: str
    path: str
    status: int
    at: datetime
    kind: EntryKind = "wire"
    user: str | None = None

    @property
    def key(self) -> str:
        return f"{self.vendor} {self.api} {self.operation}"


class RequestLog:
    """Everything the sandbox served; benchmarks count wire requests with :meth:`total`."""

    def __init__(self) -> None:
        self._entries: list[LogEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> dict[str, int]:
        """Operations by "vendor api operation" (batch parts counted, envelopes as "... batch")."""
        return dict(Counter(e.key for e in self.entries))

    def total(self) -> int:
        """HTTP requests on the wire: a batch counts once, however many parts it carries."""
        return sum(1 for e in self.entries if e.kind != "part")

    def api_requests(self) -> int:
        """HTTP requests to the APIs on the wire (a batch once), sign-in and token endpoints left out."""
        return sum(1 for e in self.entries if e.kind != "part" and e.api not in ("oauth", "oidc", "login"))

    def token_fetches(self) -> int:
        """Access tokens handed out: Google's token endpoint and Entra's (both vendors' OAuth)."""
        return sum(1 for e in self.entries if e.operation == "token" and e.api in ("oauth", "login"))

    def items(self) -> list[LogEntry]:
        """Individual operations, batch parts included, envelopes excluded."""
        return [e for e in self.entries if e.kind != "batch"]

    def writes(self) -> list[LogEntry]:
        return [e for e in self.items() if e.http_method.upper() != "GET"]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Quotas:
    """Published per-user limits (2026). Set a field to None to switch that limit off."""

    classroom_per_user_per_min: int | None = 1200
    classroom_per_project_per_min: int | None = 3000
    calendar_per_user_per_min: int | None = 600
    calendar_per_project_per_min: int | None = 10000
    drive_per_user_per_min: int | None = 12000
    gmail_units_per_user_per_min: int | None = 6000
    gmail_messages_per_user_per_day: int | None = 2000
    meet_per_user_per_min: int | None = 6000
    # Forms: read / expensive read (responses.list) / write, per user and per project
    # (developers.google.com/workspace/forms/api/limits).
    forms_read_per_user_per_min: int | None = 390
    forms_read_per_project_per_min: int | None = 975
    forms_expensive_read_per_user_per_min: int | None = 180
    forms_expensive_read_per_project_per_min: int | None = 450
    forms_write_per_user_per_min: int | None = 150
    forms_write_per_project_per_min: int | None = 375
    graph_per_mailbox_per_10min: int | None = 10000
    exchange_messages_per_min: int | None = 30
    _used: dict[tuple[str, int], int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(
        self, key: str, limit: int | None, window: timedelta, now: datetime, units: int = 1
    ) -> float | None:
        """Spend ``units`` against ``key`` in the current fixed window of length ``window``.

        Returns None when allowed, otherwise the seconds until the window resets (a fitting
        Retry-After). Nothing is spent when the request is refused, as with the real services.
        """
        if limit is None:
            return None
        span = window.total_seconds()
        epoch = now.timestamp()
        slot = int(epoch // span)
        with self._lock:
            used = self._used.get((key, slot), 0)
            if used + units > limit:
                return max(1.0, (slot + 1) * span - epoch)
            self._used[(key, slot)] = used + units
        return None

    def take_all(
        self, limits: list[tuple[str, int | None]], window: timedelta, now: datetime, units: int = 1
    ) -> float | None:
        """Like :meth:`take` for several counters at once (e.g. per user and per project): all or none."""
        span = window.total_seconds()
        epoch = now.timestamp()
        slot = int(epoch // span)
        with self._lock:
            for key, limit in limits:
                if limit is not None and self._used.get((key, slot), 0) + units > limit:
                    return max(1.0, (slot + 1) * span - epoch)
            for key, limit in limits:
                if limit is not None:
                    self._used[(key, slot)] = self._used.get((key, slot), 0) + units
        return None

    def used(self, key: str, window: timedelta, now: datetime) -> int:
        slot = int(now.timestamp() // window.total_seconds())
        with self._lock:
            return self._used.get((key, slot), 0)

    def reset_usage(self) -> None:
        with self._lock:
            self._used.clear()


@dataclass(frozen=True)
class SentMail:
    vendor: str
    sender: str
    to: list[str]
    subject: str
    text: str
    html: str
    message_id: str
    at: datetime


class SandboxState:
    """The one object both vendor halves share. Hold ``lock`` while touching tenant data."""

    def __init__(
        self,
        latency_ms: int = 0,
        seed: int = 0,
        page_size: int = 5,
        start: datetime = DEFAULT_START,
    ) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = SandboxClock(start)
        # A separate stream, so that injected faults and generated ids do not shift each other.
        self.fault_rng = random.Random(f"faults-{seed}")
        self.faults = Faults(self.fault_rng)
        self.log = RequestLog()
        self.quotas = Quotas()
        self.latency_ms = latency_ms
        self.page_size = page_size
        self.sent_mail: list[SentMail] = []

    def simulate_latency(self) -> None:
        """Sleep for the configured per-request latency (wall clock, not the sandbox clock)."""
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000.0)

    def random_id(self, length: int = 16, alphabet: str = "0123456789abcdefghijklmnopqrstuv") -> str:
        with self.lock:
            return "".join(self.rng.choice(alphabet) for _ in range(length))

    def record_mail(self, mail: SentMail) -> None:
        with self.lock:
            self.sent_mail.append(mail)

    def reset(self) -> None:
        """Forget traffic, faults, usage and mail; tenants reset their own data."""
        with self.lock:
            self.rng.seed(self.seed)
            self.fault_rng.seed(f"faults-{self.seed}")
            self.clock.reset()
            self.faults.clear()
            self.log.reset()
            self.quotas.reset_usage()
            self.sent_mail.clear()


class SandboxRequestHandler(WSGIRequestHandler):
    """The sandbox servers' request handler: no access log, and the lost-answer fault.

    When the app has set ``environ[LOSE_ANSWER]`` to the firing fault (the request was applied),
    the first byte of the answer is never written. ``how="close"``: the socket is shut down, so
    the client reads a clean end of stream where the status line should be
    (``http.client.RemoteDisconnected``; over TLS an end without close_notify, as a dying server
    or proxy leaves it). ``"reset"``: the connection is reset (``ConnectionResetError``).
    ``"timeout"``: nothing is written until the client closes the connection after its read
    timeout (or ``hold_s`` passes), then the socket is closed.
    """

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        return None

    def send_response(self, code: int, message: str | None = None) -> None:
        environ = getattr(self, "environ", None)
        fault = environ.pop(LOSE_ANSWER, None) if environ is not None else None
        if fault is not None:
            self.close_connection = True
            how, hold_s = (fault.how, fault.hold_s) if isinstance(fault, Fault) else ("close", 0.0)
            try:
                if how == "timeout":
                    _wait_for_the_client_to_give_up(self.connection, hold_s)
                if how == "reset":
                    # Linger on, zero seconds: close() sends RST instead of FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client went first: its answer is lost all the same
            # werkzeug treats a ConnectionError while answering as a dropped connection: quietly.
            raise ConnectionAbortedError(f"sandbox fault: answer lost ({how}) after the request was applied")
        super().send_response(code, message)


def _wait_for_the_client_to_give_up(sock: socket.socket, hold_s: float) -> None:
    """Block until the client closes its end (the socket turns readable: end of stream, or a
    TLS close_notify), or `hold_s` passes: a server that never answers."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        selector.select(timeout=hold_s)
