"""integrator: remote rehabilitative work activity on Google Workspace and Microsoft Teams."""

from __future__ import annotations

from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app factory. No side effects at import time; everything happens here."""
    from integrator.web import init_app

    app = Flask(__name__, instance_relative_config=False)
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
