"""A problem in a config file, located by file, line and key path."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file; `line` is 1-based, None when unknown."""

    file: str
    line: int | None
    key_path: str
    message: str

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"

    def __str__(self) -> str:
        return self.format()


class ConfigError(Exception):
    """A config file that cannot be used; `problems` lists everything found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))




def key_path(loc: tuple[int | str, ...]) -> str:
    """('organisations', 0, 'groups', 1, 'meeting') -> 'organisations[0].groups[1].meeting'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Line of the deepest node on `loc` that exists (the key's line for mapping entries)."""
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == part:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line




@dataclass
class Sources:
    """Where each part of the settings was written: the main file, and the organisations that
    come from files of their own (`integrator.d/*.yaml`), by their index in `organisations`.

    A problem at ('organisations', i, ...) of such an organisation is reported in its file, at
    the key path inside it.
    """

    file: str
    node: yaml.Node | None
    orgs: dict[int, tuple[str, yaml.Node | None]] = field(default_factory=dict)

    def _split(self, loc: tuple[int | str, ...]) -> tuple[str, yaml.Node | None, tuple[int | str, ...]]:
        if len(loc) >= 2 and loc[0] == "organisations" and isinstance(loc[1], int) and loc[1] in self.orgs:
            file, node = self.orgs[loc[1]]
            return file, node, loc[2:]
        return self.file, self.node, loc

    def problem(self, loc: tuple[int | str, ...], message: str) -> Problem:
        file, node, rest = self._split(loc)
        return Problem(file, line_of(node, rest), key_path(rest), message)

    def where(self, loc: tuple[int | str, ...]) -> str:
        """A place named in a message about another one: the key path in the main file, the
        file (and key path in it) for an organisation of its own file."""
        file, node, rest = self._split(loc)
        if file == self.file:
            return key_path(rest)
        return f"{file}:{line_of(node, rest)}" + (f" ({key_path(rest)})" if rest else "")

    def order(self, problem: Problem) -> tuple[int, int]:
        """Sort key: the main file first, then the organisation files in name order, by line."""
        files = [self.file, *sorted({f for f, _ in self.orgs.values()})]
        return (files.index(problem.file) if problem.file in files else len(files), problem.line or 0)
