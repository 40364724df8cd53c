"""Serve the Graph/Entra app over TLS on 127.0.0.1 in a background thread."""

from __future__ import annotations

import threading

from werkzeug.serving import BaseWSGIServer, make_server

from integrator.sandbox.core import SandboxRequestHandler, SandboxState
from integrator.sandbox.graph.app import GraphApp, make_graph_app
from integrator.sandbox.graph.tenant import GraphTenant
from integrator.sandbox.tls import SandboxTLS, generate_tls


class GraphServer:
    """Login + Graph on one TLS port; ``tenant`` is what the contract calls ``sb.graph``."""

    def __init__(self, state: SandboxState, tls: SandboxTLS | None = None, port: int = 0) -> None:
        self.state = state
        self.tls = tls or generate_tls()
        self.app: GraphApp = make_graph_app(state)
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def tenant(self) -> GraphTenant:
        return self.app.tenant

    def start(self) -> GraphServer:
        self._server = make_server(
            "127.0.0.1",
            self._port,
            self.app,
            threaded=True,
            ssl_context=self.tls.server_context(),
            request_handler=SandboxRequestHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-graph", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server.server_port

    @property
    def login_authority(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def graph_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/v1.0"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
