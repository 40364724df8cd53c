"""What the fuzzer sent and got, for the run's summary (tests/fuzz/conftest.py prints it)."""

from __future__ import annotations

from collections import Counter


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.chained = 0  # of which inside chains of linked operations
        self.scenarios = 0
        self.seconds = 0.0
        self.operations: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.chained_by_operation: Counter[str] = Counter()

    def record(self, label: str, status: int, *, chained: bool = False) -> None:
        self.cases += 1
        self.chained += chained
        self.chained_by_operation[label] += chained
        self.operations[label] += 1
        self.statuses[status] += 1

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        fewest = min(self.operations.items(), key=lambda item: (item[1], item[0]))
        return (f"{self.cases} cases over {len(self.operations)} operations ({self.chained} of them in "
                f"{self.scenarios} chains of linked operations) in {self.seconds:.0f} s; "
                f"fewest cases: {fewest[1]} ({fewest[0]}); "
                f"server errors: {sum(n for code, n in self.statuses.items() if code >= 500)}; "
                f"statuses {{{statuses}}}")


TALLY = Tally()
