"""Loading and checking a config file.

Every problem is reported at once, with file, line and key path, so that an IT admin can fix
a file in one round. Messages never contain the value that was given: it may be a secret.

At scale (hundreds of organisations) organisations may each have a file of their own in a
directory beside the main file, named after it: config/integrator.yaml -> config/integrator.d/
*.yaml. Such a file holds one organisation's keys at its top level (what one entry under
`organisations:` holds); they follow the main file's organisations, in file-name order, and are
checked as one configuration (an organisation key used twice is refused, naming both files).
"""

from __future__ import annotations

import difflib
import os
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from integrator.config.checks import semantic_problems
from integrator.config.models import KEY_PATTERN, SecretRef, Settings
from integrator.config.parsing import MAX_CONFIG_BYTES, parse, unreadable_character
from integrator.config.problems import ConfigError, Problem, Sources, line_of

DEFAULT_CONFIG_PATH = Path("config/integrator.yaml")


def config_path(path: str | Path | None = None) -> Path:
    """The file to load: the argument, else $INTEGRATOR_CONFIG, else ./config/integrator.yaml."""
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get("INTEGRATOR_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG_PATH



def _unwrap(tp: Any) -> Any:
    """X from `X | None` and `list[X]`: the type a key path walks into."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    if origin is list:
        return _unwrap(get_args(tp)[0])
    return tp


def _model_at(loc: tuple[int | str, ...]) -> Any:
    """The model class or type a key path points at in the Settings schema (None if unknown)."""
    cur: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(cur, type) and issubclass(cur, BaseModel) and part in cur.model_fields:
            cur = _unwrap(cur.model_fields[part].annotation)
        else:
            return None
    return cur


_PLAIN = {
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list (lines starting with '- ', or [a, b])",
    "path_type": "expected a file path",
    "none_required": "expected nothing here",
    "finite_number": "expected a finite number (not .inf or .nan)",
    "int_parsing_size": "the number is too large",
}

_USE_ENV_OR_FILE = (
    "a secret must not be written into the config file; give it as "
    "{env: ENVIRONMENT_VARIABLE_NAME} or {file: /path/to/secret-file}"
)


def _explain(err: ErrorDetails) -> str:
    """pydantic's error in plain words, without the input value (it may be a secret)."""
    kind = err["type"]
    loc = tuple(err["loc"])
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        unknown = str(loc[-1])
        allowed = list(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        close = difflib.get_close_matches(unknown, allowed, n=1)
        msg = "unknown key"
        if close:
            msg += f" (did you mean '{close[0]}'?)"
        elif allowed:
            msg += f"; allowed here: {', '.join(allowed)}"
        if parent is SecretRef:
            msg += f"; {_USE_ENV_OR_FILE}"
        return msg
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if _model_at(loc) is SecretRef:
            return _USE_ENV_OR_FILE
        return "expected a mapping (indented 'key: value' lines)"
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in ("time_type", "time_parsing"):
        detail = f" ({ctx['error']})" if isinstance(ctx.get("error"), str) and "format" not in ctx["error"] else ""
        return f"expected a time of day as HH:MM, e.g. 09:30{detail}"
    if kind.startswith("date"):
        impossible = "outside expected range" in str(ctx.get("error", ""))
        return "expected a date as YYYY-MM-DD, e.g. 2026-12-24" + (" (that day does not exist)" if impossible else "")
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == KEY_PATTERN:
            return "expected a key of lower-case letters a-z, digits and '-', starting with a letter or digit"
        return f"does not have the expected form {ctx.get('pattern')}"
    bounds = {"greater_than_equal": ("at least", "ge"), "greater_than": ("greater than", "gt"),
              "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "string_too_long":
        return f"too long; at most {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s)"
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return str(err["msg"])


def organisation_dir(path: Path) -> Path:
    """The directory of organisation files beside the main file, named after it:
    config/integrator.yaml -> config/integrator.d/ (each *.yaml in it holds one organisation)."""
    return path.parent / f"{path.stem}.d"


def _read(p: Path, *, main: bool) -> tuple[str | None, list[Problem]]:
    """A config file's text, or the problem that stops it from being read."""
    file = str(p)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)  # one byte past the limit is enough to refuse it
    except FileNotFoundError:
        return None, [Problem(file, None, "", "config file not found (give a path, set INTEGRATOR_CONFIG, "
                                              "or create config/integrator.yaml from config/integrator.example.yaml)"
                              if main else "file not found")]
    except IsADirectoryError:
        return None, [Problem(file, None, "", "is a directory, expected a YAML file")]
    except OSError as e:
        return None, [Problem(file, None, "", f"cannot be read: {e.strerror}")]
    if len(raw) > MAX_CONFIG_BYTES:
        return None, [Problem(file, None, "", f"larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB; a configuration "
                                              "is a few kilobytes (is this the right file?)")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, [Problem(file, line, "", "not UTF-8 text; save the file as UTF-8")]
    unreadable = unreadable_character(text, file)
    return (None, [unreadable]) if unreadable is not None else (text, [])


def _organisation_files(main: Path) -> tuple[list[tuple[str, Any, yaml.Node | None]], list[Problem]]:
    """Each organisation file in `integrator.d/` (name order), parsed: (file, data, node)."""
    folder = organisation_dir(main)
    if not folder.exists():
        return [], []
    if not folder.is_dir():
        return [], [Problem(str(folder), None, "", "expected a directory of organisation files (*.yaml)")]
    out: list[tuple[str, Any, yaml.Node | None]] = []
    problems: list[Problem] = []
    for p in sorted(folder.glob("*.yaml")):
        file = str(p)
        text, read_problems = _read(p, main=False)
        if text is None:
            problems.extend(read_problems)
            continue
        data, node, parse_problems = parse(text, file)
        problems.extend(parse_problems)
        if parse_problems and data is None:
            continue
        if node is None:
            problems.append(Problem(file, None, "", "the file is empty; expected one organisation's settings "
                                                    "(key, name, staff, groups, ...)"))
        elif not isinstance(data, dict):
            problems.append(Problem(file, line_of(node, ()), "", "expected one organisation's settings (key, name, "
                                                                 "staff, groups, ...) at the top level"))
        elif "organisations" in data:
            problems.append(Problem(file, line_of(node, ("organisations",)), "organisations",
                                    "an organisation file holds one organisation's keys at the top level (key, "
                                    "name, ...), not an 'organisations' list"))
        else:
            out.append((file, data, node))
    return out, problems


def check_config(path: str | Path | None = None, *, check_secrets: bool = True) -> tuple[Settings | None, list[Problem]]:
    """Every problem of a config (the main file and its `integrator.d/` organisation files), by
    file and line; the Settings when there are none."""
    p = config_path(path)
    file = str(p)
    text, problems = _read(p, main=True)
    if text is None:
        return None, problems
    org_files, org_problems = _organisation_files(p)
    data, node, problems = parse(text, file)
    if node is None and not problems:
        if not org_files and not org_problems:
            problems.append(Problem(file, None, "", "the file is empty; expected settings such as 'organisations:'"))
        data = {}  # the defaults, with the organisations of their own files
    problems.extend(org_problems)
    if problems and (data is None or org_problems):
        return None, problems
    if not isinstance(data, dict):
        problems.append(Problem(file, line_of(node, ()), "", "expected a mapping of settings at the top level"))
        return None, problems
    sources = Sources(file, node)
    listed = data.get("organisations", [])
    if org_files and isinstance(listed, list):  # a main file's malformed list is reported first
        for i, (org_file, _, org_node) in enumerate(org_files, start=len(listed)):
            sources.orgs[i] = (org_file, org_node)
        data = {**data, "organisations": [*listed, *(d for _, d, _ in org_files)]}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            problems.append(sources.problem(tuple(err["loc"]), _explain(err)))
        return None, sorted(problems, key=sources.order)
    problems.extend(semantic_problems(settings, sources, check_secrets))
    problems.sort(key=sources.order)
    return (None if problems else settings), problems


def load_settings(path: str | Path | None = None, *, check_secrets: bool = True) -> Settings:
    """Load and check a config file (see `config_path`); raise ConfigError listing every problem.

    `check_secrets=False` skips checking that secret files exist and secret environment
    variables are set: for commands that never talk to a tenant (import, config apply).
    """
    settings, problems = check_config(path, check_secrets=check_secrets)
    if problems or settings is None:
        raise ConfigError(problems)
    return settings
