"""Observability: JSON logs with redaction, and Prometheus metrics."""
