"""Plan, then apply: a job computes the actions that turn what exists into what should exist.

An `Action` names the resource by our own stable key and by pseudonymous codes only, so
a plan can be printed, logged, stored in a JobRun and shown in the browser safely.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Op = Literal["create", "update", "remove", "skip"]


@dataclass(frozen=True)
class Action:
    op: Op
    resource: str  # course, topic, enrolment, invitation, folder, week_folder, permission, coursework, event, ...
    key: str  # our stable local key, e.g. "course:g-tue" or "folder:K-0042"
    group: str | None = None  # group key
    client: str | None = None  # client code (pseudonym), never a name or email
    reason: str = ""  # why, in words a coordinator understands (e.g. "period ended 2026-11-30")
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        who = f" [{self.client}]" if self.client else ""
        why = f" – {self.reason}" if self.reason else ""
        return f"{self.op:<6} {self.resource:<12} {self.key}{who}{why}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    # Things deliberately not done, each with its reason: consent missing, holiday skipped...
    notes: list[Action] = field(default_factory=list)

    def add(self, action: Action) -> None:
        (self.notes if action.op == "skip" else self.actions).append(action)

    def extend(self, other: Plan) -> None:
        self.actions.extend(other.actions)
        self.notes.extend(other.notes)

    @property
    def writes(self) -> list[Action]:
        return self.actions

    def counts(self) -> dict[str, int]:
        c: Counter[str] = Counter(f"{a.op}:{a.resource}" for a in self.actions)
        c.update(f"skip:{a.resource}" for a in self.notes)
        return dict(sorted(c.items()))

    def by_group(self) -> dict[str, list[Action]]:
        out: dict[str, list[Action]] = defaultdict(list)
        for a in [*self.actions, *self.notes]:
            out[a.group or "(organisation)"].append(a)
        return dict(out)

    def render(self) -> str:
        """The dry-run text: grouped by group, then client, one line per action."""
        if not self.actions and not self.notes:
            return "Nothing to do: everything is already as planned."
        lines: list[str] = []
        for group, actions in sorted(self.by_group().items()):
            lines.append(f"Group {group}:")
            for a in sorted(actions, key=lambda a: (a.client or "", a.resource, a.key)):
                lines.append(f"  {a.describe()}")
        summary = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        lines.append(f"Total: {summary}")
        return "\n".join(lines)

    def to_json(self) -> list[dict[str, Any]]:
        return [a.to_json() for a in [*self.actions, *self.notes]]
