"""The conformance suites run on the same sandbox fixtures as tests/sandbox."""

from tests.sandbox.conftest import google, sandbox  # noqa: F401
