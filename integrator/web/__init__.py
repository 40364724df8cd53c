"""The web service: JSON API and coordinator UI. `init_app` wires everything into the app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from jinja2 import FileSystemLoader

from integrator.web import context, errors, security


def init_app(app: Flask) -> None:
    from integrator.web import api, auth, openapi, ui
    from integrator.web.metrics_view import bp as metrics_bp

    here = Path(__file__).parent
    # The package's app is Flask("integrator"); the web's templates and assets live here.
    app.jinja_loader = FileSystemLoader(str(here / "templates"))
    app.static_folder = str(here / "static")
    context.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    security.init_csrf(app)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        # Unauthenticated by design: load balancers probe it. It reveals nothing but liveness.
        return jsonify(status="ok")

    app.register_blueprint(auth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(metrics_bp)
