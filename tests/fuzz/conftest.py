"""The fuzz run's summary line, and its `slow` variants kept for when they are asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.tally import TALLY

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Opt-in: the 200-example runs take minutes. `-m slow` (any marker expression naming slow) runs them.
    if "slow" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the 200-example fuzz runs only when asked: scripts/test -m slow tests/fuzz")
    for item in items:
        if item.get_closest_marker("slow") and HERE in item.path.parents:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if TALLY.cases:
        terminalreporter.write_line(f"API fuzz: {TALLY.summary()}")
        if config.option.verbose > 0:
            for label, n in sorted(TALLY.operations.items()):
                terminalreporter.write_line(f"  {n:6d}  {label} ({TALLY.chained_by_operation[label]} in chains)")
