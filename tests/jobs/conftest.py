"""The event-order property's figures, at the end of the run."""

from __future__ import annotations

import pytest

from tests.jobs.order_world import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if TALLY.seconds:
        terminalreporter.write_line(TALLY.summary())
