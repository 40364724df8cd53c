"""The web service: JSON API and coordinator UI. `init_app` wires everything into the app."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        # Unauthenticated by design: load balancers probe it. It reveals nothing but liveness.
        return jsonify(status="ok")
