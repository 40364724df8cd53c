"""The web app served by waitress on loopback for the browser tests, and stopped cleanly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def served_app(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL.

    waitress's loop polls its sockets in its own thread; closing the server from the test's
    thread can make that poll fail on a socket just closed (a race seen on a loaded machine).
    Such an error after the stop was asked for is the stop itself, not a failure."""
    import waitress.server

    server: Any = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4)
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except Exception:
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        server.close()
        thread.join(2)
