"""The web service: JSON API and coordinator UI. `init_app` wires everything into the app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from jinja2 import FileSystemLoader

from integrator.web import (
    api,
    auth,
    client_pages,
    context,
    errors,
    formats,
    openapi,
    security,
    sign_in,
    surveys,
    ui,
    validation,
)
from integrator.web.audit_pages import bp as audit_bp
from integrator.web.metrics_view import bp as metrics_bp
from integrator.web.org_pages import bp as organisations_bp
from integrator.web.outbox_pages import bp as outbox_bp
from integrator.web.register_ui import bp as register_bp
from integrator.web.staff_pages import bp as staff_bp
from integrator.web.status_pages import bp as status_bp


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app factory. No side effects at import time; everything happens here."""
    # Named after the package, as before the web moved here: sessions and logs keep their names.
    app = Flask("integrator", instance_relative_config=False)
    app.config.from_mapping(
        SECRET_KEY=None,
        DATABASE_URL=None,
        CONFIG_FILE=None,
    )
    app.config.from_prefixed_env("INTEGRATOR")
    if test_config:
        app.config.update(test_config)
    init_app(app)
    return app


def init_app(app: Flask) -> None:
    here = Path(__file__).parent
    # The package's app is Flask("integrator"); the web's templates and assets live here.
    app.jinja_loader = FileSystemLoader(str(here / "templates"))
    app.static_folder = str(here / "static")
    context.init_app(app)
    validation.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    formats.init_app(app)
    auth.init_app(app)
    sign_in.init_app(app)
    security.init_csrf(app)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        # Unauthenticated by design: load balancers probe it. It reveals nothing but liveness.
        return jsonify(status="ok")

    app.register_blueprint(auth.bp)
    app.register_blueprint(sign_in.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(surveys.bp)
    app.register_blueprint(client_pages.bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(register_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(organisations_bp)
    app.register_blueprint(status_bp)
