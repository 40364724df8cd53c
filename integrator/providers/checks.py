"""The result of one tenant check, shared by the Google and Microsoft checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CheckStatus = Literal["ok", "fail", "warn", "skip"]


@dataclass(frozen=True)
class CheckResult:
    """`name` like "microsoft.token"; `hint` says what an IT admin does to fix a failure."""

    name: str
    status: CheckStatus
    detail: str
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skip", "warn")
