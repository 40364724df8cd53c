"""JSON logs, one object a line, with a last-line-of-defence filter that redacts anything
email-shaped or token-shaped. Code logs pseudonymous client codes and ids; this filter is only
the safety net for a message or exception text that slipped something through.

Everyone logs with `logging.getLogger(__name__)`; `setup_logging()` is called by the CLI and
the server, never at import time.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from integrator.observability.redaction import redact

# Attributes every LogRecord has; anything else came in through `extra=` and goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = _redact_value(value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class RedactingFilter(logging.Filter):
    """For handlers we do not format ourselves (e.g. waitress's own): scrub the message in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at emit time.

    A handler that captured sys.stderr once keeps writing to a closed stream after a test
    runner or a daemoniser swaps it; looking it up per record avoids that.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def setup_logging(level: str | int = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Route the root logger to one JSON handler on stderr (or `stream`); idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_integrator", False):
            root.removeHandler(h)
    handler: logging.StreamHandler[TextIO] = (
        logging.StreamHandler(stream) if stream is not None else _CurrentStderrHandler()
    )
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    handler._integrator = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # Third-party request logs can carry URLs with addresses in them; keep them at warning.
    for noisy in ("googleapiclient.discovery_cache", "urllib3", "httpx", "azure", "msal", "kiota", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
