"""``Sandbox``: start the Google (http) and Microsoft (https) halves on 127.0.0.1 around one state."""

from __future__ import annotations

import threading
from datetime import datetime
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from integrator.sandbox.core import DEFAULT_START, SandboxRequestHandler, SandboxState, SentMail
from integrator.sandbox.google import GoogleTenant
from integrator.sandbox.google.app import GoogleApp


class Sandbox:
    """The local tenant of docs/dev/sandbox-contract.md. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        latency_ms: int = 0,
        seed: int = 0,
        page_size: int = 5,
        start_time: datetime = DEFAULT_START,
        google_port: int = 0,
        graph_port: int = 0,
        with_graph: bool = True,
    ) -> None:
        self.state = SandboxState(latency_ms=latency_ms, seed=seed, page_size=page_size, start=start_time)
        self.google = GoogleTenant(self.state)
        self._google_app = GoogleApp(self.google)
        self._google_app.sandbox = self
        self._google_port = google_port
        self._graph_port = graph_port
        self._with_graph = with_graph
        self._google_server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._graph_server: Any = None

    # ---- lifecycle ----
    def start(self) -> Sandbox:
        self._google_server = make_server(
            "127.0.0.1", self._google_port, self._google_app, threaded=True, request_handler=SandboxRequestHandler
        )
        self.google.base_url = f"http://127.0.0.1:{self._google_server.server_port}"
        thread = threading.Thread(
            target=self._google_server.serve_forever, name="sandbox-google", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        if self._with_graph:
            self._graph_server = _start_graph(self.state, self._graph_port)
        return self

    def stop(self) -> None:
        if self._google_server is not None:
            self._google_server.shutdown()
            self._google_server.server_close()
            self._google_server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._graph_server is not None:
            self._graph_server.stop()
            self._graph_server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- contract ----
    @property
    def google_url(self) -> str:
        if self._google_server is None:
            raise RuntimeError("the sandbox is not running")
        return self.google.base_url

    @property
    def graph(self) -> Any:
        return self._require_graph().tenant

    @property
    def graph_url(self) -> str:
        return str(self._require_graph().graph_url)

    @property
    def login_authority(self) -> str:
        return str(self._require_graph().login_authority)

    @property
    def ca_cert_path(self) -> str:
        return str(self._require_graph().tls.ca_cert_path)

    @property
    def has_graph(self) -> bool:
        return self._graph_server is not None

    def _require_graph(self) -> Any:
        if self._graph_server is None:
            raise RuntimeError("the Graph half of the sandbox is not running")
        return self._graph_server

    def reset(self) -> None:
        """Empty tenant, clock back to its start, no faults, empty log and mailbox."""
        with self.state.lock:
            self.state.reset()
            self.google.reset()
            if self._graph_server is not None:
                self._graph_server.tenant.reset()

    def sent_mail(self) -> list[SentMail]:
        with self.state.lock:
            return list(self.state.sent_mail)


def _start_graph(state: SandboxState, port: int) -> Any:
    """Start the Microsoft half if it is installed (it is built separately in sandbox.graph)."""
    try:
        from integrator.sandbox.graph.serve import GraphServer
    except ImportError:
        return None
    return GraphServer(state, port=port).start()
