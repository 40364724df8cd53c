"""Settings and tenant configuration: load, validate, explain errors.

The YAML file names secrets only by file path or environment variable; an inline secret
is a configuration error, so that a config file can be shared with support safely.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

WEEKDAYS = {
    "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7,
    "ma": 1, "ti": 2, "ke": 3, "to": 4, "pe": 5, "la": 6, "su": 7,
}


def parse_weekday(value: Any) -> int:
    """ISO weekday number from 1..7 or an English/Finnish name ("tuesday", "ti")."""
    if isinstance(value, bool):
        raise ValueError("expected a weekday name (monday..sunday, ma..su) or a number 1-7")
    if isinstance(value, int):
        if 1 <= value <= 7:
            return value
        raise ValueError(f"weekday number must be 1-7, got {value}")
    if isinstance(value, str) and value.strip().lower() in WEEKDAYS:
        return WEEKDAYS[value.strip().lower()]
    raise ValueError(f"expected a weekday name (monday..sunday, ma..su) or a number 1-7, got {value!r}")


def time_of_day(value: Any) -> Any:
    """Reject numbers where a time of day is expected.

    pydantic reads a number as seconds after midnight, so `start: 600` would silently mean
    00:10; a time must be written as text ("09:30").
    """
    if isinstance(value, bool | int | float):
        raise ValueError("expected a time of day as HH:MM, e.g. 09:30")
    return value


class Strict(BaseModel):
    # Unknown keys are typos until proven otherwise: reject them with their path.
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """A secret given by file path or environment variable, never inline."""

    file: Path | None = None
    env: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.file is None) == (self.env is None):
            raise ValueError("give exactly one of 'file' (a path) or 'env' (an environment variable name)")
        return self

    def read(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise LookupError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        return self.file.read_text(encoding="utf-8")

    def describe(self) -> str:
        return f"env:{self.env}" if self.env else f"file:{self.file}"


class Rules(Strict):
    """The legal frame and local practice. Every number configurable (law changes)."""

    period_min_months: int = Field(3, ge=1)
    period_max_months: int = Field(24, ge=1)
    min_days_per_week: int = Field(1, ge=1, le=7)
    max_days_per_week: int = Field(4, ge=1, le=7)
    min_hours_per_day: float = Field(4.0, gt=0, le=24)
    attendance_min_minutes: int = Field(30, ge=1)  # 0 would make a 0-minute day an attended one
    task_return_counts_as_present: bool = True
    # ISO weekdays on which work-activity days may fall (1 = Monday); groups must meet on these.
    work_weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    absence_alert_streak: int = Field(2, ge=1)
    daily_compensation_eur: float = Field(9.0, ge=0)
    reevaluate_days: int = Field(7, ge=1)

    @field_validator("work_weekdays", mode="before")
    @classmethod
    def _work_weekdays(cls, v: Any) -> list[int]:
        if not isinstance(v, list):
            raise ValueError("expected a list of weekdays, e.g. [monday, tuesday] or [1, 2]")
        return sorted({parse_weekday(x) for x in v})

    @model_validator(mode="after")
    def _ranges(self) -> Rules:
        if self.period_min_months > self.period_max_months:
            raise ValueError("period_min_months must not exceed period_max_months")
        if self.min_days_per_week > self.max_days_per_week:
            raise ValueError("min_days_per_week must not exceed max_days_per_week")
        return self


# The field below is named `time`; inside that class body the name would shadow the type.
_TimeOfDay = time


class WeeklyAt(Strict):
    weekday: int = 4
    time: _TimeOfDay = _TimeOfDay(12, 0)
    enabled: bool = True

    @field_validator("weekday", mode="before")
    @classmethod
    def _wd(cls, v: Any) -> int:
        return parse_weekday(v)

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        return time_of_day(v)


class Schedule(Strict):
    nightly_sync: time = time(2, 0)
    reminders_every_minutes: int = Field(5, ge=1, le=60)
    reminder_offsets_minutes: list[int] = Field(default_factory=lambda: [60])
    weekly_letter: WeeklyAt = WeeklyAt()
    weekly_setup: WeeklyAt = WeeklyAt(weekday=5, time=time(9, 0), enabled=False)

    @field_validator("nightly_sync", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        return time_of_day(v)

    @field_validator("reminder_offsets_minutes")
    @classmethod
    def _offsets(cls, v: list[int]) -> list[int]:
        if any(o <= 0 or o > 24 * 60 for o in v):
            raise ValueError("reminder offsets are minutes before the meeting, 1-1440")
        return sorted(set(v), reverse=True)


class GoogleTenant(Strict):
    domain: str
    service_account: SecretRef  # the JSON key file of the service account
    admin_subject: str  # the Workspace user the service account acts as (domain-wide delegation)
    mail_sender: str | None = None  # Workspace user that sends letters through Gmail
    shared_drive_id: str | None = None  # None: folders live in the coordinator's My Drive
    material_bank_folder_id: str | None = None
    # Sandbox/test only: replaces every discovery document's rootUrl (see docs/SANDBOX_CONTRACT.md).
    api_base_url: str | None = None


class MicrosoftTenant(Strict):
    tenant_id: str
    client_id: str
    client_secret: SecretRef | None = None
    certificate: SecretRef | None = None  # PEM with private key
    mail_sender: str | None = None  # mailbox (UPN) for sendMail
    # Sandbox/test only
    authority: str | None = None
    graph_base_url: str | None = None
    ca_bundle: Path | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> MicrosoftTenant:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give exactly one of 'client_secret' or 'certificate'")
        return self


class Meeting(Strict):
    start: time
    end: time
    provider: Literal["teams", "meet"] = "teams"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, v: Any) -> Any:
        return time_of_day(v)

    @model_validator(mode="after")
    def _order(self) -> Meeting:
        if self.end <= self.start:
            raise ValueError("meeting end must be after its start")
        return self


class GroupConfig(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    name: str
    coordinator: str  # staff email
    weekdays: list[int] = Field(min_length=1)
    meeting: Meeting
    time_zone: str = "Europe/Helsinki"

    @field_validator("weekdays", mode="before")
    @classmethod
    def _weekdays(cls, v: Any) -> list[int]:
        if not isinstance(v, list):
            raise ValueError("expected a list of weekdays, e.g. [tuesday] or [2]")
        return [parse_weekday(x) for x in v]


class StaffConfig(Strict):
    email: str
    name: str
    role: Literal["admin", "coordinator", "social_worker"]


class MailConfig(Strict):
    via: Literal["gmail", "graph"] = "gmail"
    reply_to: str | None = None
    per_minute: int | None = Field(None, ge=1)  # None: the vendor limit (Gmail 60, Exchange 30)
    per_day: int | None = Field(None, ge=1)  # None: the vendor limit (Gmail 2000, Exchange 10000)


class OrganisationConfig(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$")
    name: str
    kind: Literal["municipality", "provider"] = "provider"
    google: GoogleTenant | None = None
    microsoft: MicrosoftTenant | None = None
    mail: MailConfig = MailConfig()
    rules: Rules | None = None  # overrides the global rules for this organisation
    closure_days: list[date] = Field(default_factory=list)
    staff: list[StaffConfig] = Field(default_factory=list)
    groups: list[GroupConfig] = Field(default_factory=list)
    templates_dir: Path | None = None  # letter/reminder templates overriding integrator/jobs/templates


class Settings(Strict):
    database_url: str | None = None  # INTEGRATOR_DATABASE_URL wins when set
    time_zone: str = "Europe/Helsinki"
    rules: Rules = Rules()
    schedule: Schedule = Schedule()
    organisations: list[OrganisationConfig] = Field(default_factory=list)

    def organisation(self, key: str) -> OrganisationConfig:
        for org in self.organisations:
            if org.key == key:
                return org
        raise KeyError(f"no organisation with key {key!r} in the config")

    def rules_for(self, org_key: str) -> Rules:
        return self.organisation(org_key).rules or self.rules


# ---------------------------------------------------------------------------------------------
# Loading and checking a config file.
#
# Every problem is reported at once, with file, line and key path, so that an IT admin can fix
# a file in one round. Messages never contain the value that was given: it may be a secret.
# ---------------------------------------------------------------------------------------------

DEFAULT_CONFIG_PATH = Path("config/integrator.yaml")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,40}$"


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


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers.

    YAML 1.1 reads `10:30` as the integer 630: a meeting time would silently become a number.
    Here `10:30` stays text, as in YAML 1.2.
    """


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$"
        r"|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
    ),
    list("-+0123456789."),
)


def config_path(path: str | Path | None = None) -> Path:
    """The file to load: the argument, else $INTEGRATOR_CONFIG, else ./config/integrator.yaml."""
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get("INTEGRATOR_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG_PATH


def key_path(loc: tuple[int | str, ...]) -> str:
    """('organisations', 0, 'groups', 1, 'meeting') -> 'organisations[0].groups[1].meeting'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
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


def _duplicate_keys(node: yaml.Node, loc: tuple[int | str, ...] = ()) -> list[tuple[tuple[int | str, ...], int]]:
    """Keys given twice in one mapping: YAML keeps the last silently, which hides typos."""
    found: list[tuple[tuple[int | str, ...], int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else "?"
            if name in seen:
                found.append(((*loc, name), k.start_mark.line + 1))
            seen.add(name)
            found.extend(_duplicate_keys(v, (*loc, name)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found.extend(_duplicate_keys(item, (*loc, i)))
    return found


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
        return "expected a date as YYYY-MM-DD, e.g. 2026-12-24"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == _KEY_PATTERN:
            return "expected a key of lower-case letters a-z, digits and '-', starting with a letter or digit"
        return f"does not have the expected form {ctx.get('pattern')}"
    bounds = {"greater_than_equal": ("at least", "ge"), "greater_than": ("greater than", "gt"),
              "less_than_equal": ("at most", "le"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"allows at most {ctx.get('max_length')} item(s)"
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return str(err["msg"])


def _parse(text: str, file: str) -> tuple[Any, yaml.Node | None, list[Problem]]:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        # Never str(e): it quotes the offending line, which may hold a secret.
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else None
        words = e.problem or "invalid YAML"
        if e.context:
            started = e.context_mark.line + 1 if e.context_mark is not None else None
            words += f" ({e.context} that starts on line {started})" if started and started != line \
                else f" ({e.context})"
        return None, None, [Problem(file, line, "", f"YAML syntax error: {words}")]
    except yaml.YAMLError:
        return None, None, [Problem(file, None, "", "YAML syntax error")]
    finally:
        loader.dispose()
    problems = [Problem(file, line, key_path(loc), "key given twice; remove one (YAML would keep the last)")
                for loc, line in _duplicate_keys(node)] if node is not None else []
    return data, node, problems


def _secret_refs(settings: Settings) -> list[tuple[tuple[int | str, ...], SecretRef]]:
    refs: list[tuple[tuple[int | str, ...], SecretRef]] = []
    for i, org in enumerate(settings.organisations):
        if org.google is not None:
            refs.append((("organisations", i, "google", "service_account"), org.google.service_account))
        if org.microsoft is not None:
            for name in ("client_secret", "certificate"):
                ref = getattr(org.microsoft, name)
                if ref is not None:
                    refs.append((("organisations", i, "microsoft", name), ref))
    return refs


def _semantic_problems(settings: Settings, node: yaml.Node | None, file: str,
                       check_secrets: bool) -> list[Problem]:
    """What pydantic cannot see: references between keys, tenants, time zones, secrets."""
    problems: list[Problem] = []

    def add(loc: tuple[int | str, ...], message: str) -> None:
        problems.append(Problem(file, _line_of(node, loc), key_path(loc), message))

    def check_zone(loc: tuple[int | str, ...], name: str) -> None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            add(loc, "unknown time zone; expected an IANA name such as Europe/Helsinki")

    def check_email(loc: tuple[int | str, ...], value: str | None) -> None:
        if value is not None and not _EMAIL.match(value):
            add(loc, "expected an email address (name@example.fi)")

    check_zone(("time_zone",), settings.time_zone)
    if settings.database_url and "@" in settings.database_url:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            has_password = make_url(settings.database_url).password is not None
        except ArgumentError:
            has_password = False
        if has_password:
            add(("database_url",), "contains a password; set INTEGRATOR_DATABASE_URL in the environment instead")

    org_seen: dict[str, int] = {}
    staff_seen: dict[str, tuple[int, int]] = {}
    for i, org in enumerate(settings.organisations):
        o: tuple[int | str, ...] = ("organisations", i)
        if org.key in org_seen:
            add((*o, "key"), f"organisation key '{org.key}' is already used by organisations[{org_seen[org.key]}]")
        org_seen.setdefault(org.key, i)
        rules = org.rules or settings.rules

        staff_roles: dict[str, str] = {}
        for j, person in enumerate(org.staff):
            check_email((*o, "staff", j, "email"), person.email)
            email = person.email.strip().lower()
            if email in staff_seen:
                oi, sj = staff_seen[email]
                add((*o, "staff", j, "email"),
                    f"the same email is already given at organisations[{oi}].staff[{sj}]; "
                    "a staff user belongs to one organisation")
            staff_seen.setdefault(email, (i, j))
            staff_roles.setdefault(email, person.role)

        if org.google is not None:
            check_email((*o, "google", "admin_subject"), org.google.admin_subject)
            check_email((*o, "google", "mail_sender"), org.google.mail_sender)
        if org.microsoft is not None:
            check_email((*o, "microsoft", "mail_sender"), org.microsoft.mail_sender)
        check_email((*o, "mail", "reply_to"), org.mail.reply_to)

        # Mail matters only when the organisation sends letters: when it has groups or says how.
        if org.groups or "mail" in org.model_fields_set:
            explicit = "mail" in org.model_fields_set and "via" in org.mail.model_fields_set
            loc = (*o, "mail", "via") if explicit else o
            if org.mail.via == "gmail" and org.google is None:
                add(loc, "mail is sent via gmail (the default) but the organisation has no 'google' tenant; "
                         "add 'google' or set mail.via: graph" if not explicit else
                         "mail via gmail needs the organisation's 'google' tenant; add 'google' or use graph")
            if org.mail.via == "graph":
                if org.microsoft is None:
                    add(loc, "mail via graph needs the organisation's 'microsoft' tenant; add 'microsoft' or use gmail")
                elif org.microsoft.mail_sender is None:
                    add((*o, "microsoft"), "mail via graph needs microsoft.mail_sender (the mailbox letters are sent from)")

        group_seen: dict[str, int] = {}
        for j, group in enumerate(org.groups):
            g: tuple[int | str, ...] = (*o, "groups", j)
            if group.key in group_seen:
                add((*g, "key"), f"group key '{group.key}' is already used by {key_path((*o, 'groups', group_seen[group.key]))}")
            group_seen.setdefault(group.key, j)
            role = staff_roles.get(group.coordinator.strip().lower())
            if role is None:
                add((*g, "coordinator"), f"not among organisation '{org.key}' staff; add them under staff "
                                         "with role coordinator or admin")
            elif role not in ("coordinator", "admin"):
                add((*g, "coordinator"), f"this staff user has role {role}; a group coordinator needs role "
                                         "coordinator or admin")
            if len(set(group.weekdays)) != len(group.weekdays):
                add((*g, "weekdays"), "a weekday is given twice")
            outside = sorted(set(group.weekdays) - set(rules.work_weekdays))
            if outside:
                add((*g, "weekdays"), f"weekday(s) {outside} are not work-activity days in the rules "
                                      f"(rules.work_weekdays: {rules.work_weekdays})")
            if len(set(group.weekdays)) > rules.max_days_per_week:
                add((*g, "weekdays"), f"{len(set(group.weekdays))} weekdays; the rules allow at most "
                                      f"{rules.max_days_per_week} days a week")
            if group.meeting.provider == "teams" and org.microsoft is None:
                add((*g, "meeting", "provider"), "Teams meetings need the organisation's 'microsoft' tenant; "
                                                 "add 'microsoft' or use provider: meet")
            if group.meeting.provider == "meet" and org.google is None:
                add((*g, "meeting", "provider"), "Google Meet needs the organisation's 'google' tenant; "
                                                 "add 'google' or use provider: teams")
            check_zone((*g, "time_zone"), group.time_zone)

    if check_secrets:
        for loc, ref in _secret_refs(settings):
            if ref.env is not None:
                if not os.environ.get(ref.env):
                    add((*loc, "env"), f"environment variable {ref.env} is not set (or empty)")
            elif ref.file is not None:
                _check_file(add, (*loc, "file"), ref.file, "secret file")
        for i, org in enumerate(settings.organisations):
            if org.microsoft is not None and org.microsoft.ca_bundle is not None:
                _check_file(add, ("organisations", i, "microsoft", "ca_bundle"), org.microsoft.ca_bundle, "CA bundle")
    return problems


def _check_file(add: Any, loc: tuple[int | str, ...], path: Path, what: str) -> None:
    # Paths are used as written: relative ones are relative to the working directory.
    if not path.exists():
        add(loc, f"{what} {path} does not exist")
    elif not path.is_file():
        add(loc, f"{what} {path} is not a file")
    elif not os.access(path, os.R_OK):
        add(loc, f"{what} {path} cannot be read by this user")


def check_config(path: str | Path | None = None, *, check_secrets: bool = True) -> tuple[Settings | None, list[Problem]]:
    """Every problem of a config file, in file order; the Settings when there are none."""
    p = config_path(path)
    file = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return None, [Problem(file, None, "", "config file not found (give a path, set INTEGRATOR_CONFIG, "
                                              "or create config/integrator.yaml from config/integrator.example.yaml)")]
    except IsADirectoryError:
        return None, [Problem(file, None, "", "is a directory, expected a YAML file")]
    except OSError as e:
        return None, [Problem(file, None, "", f"cannot be read: {e.strerror}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        return None, [Problem(file, line, "", "not UTF-8 text; save the file as UTF-8")]

    data, node, problems = _parse(text, file)
    if node is None and not problems:
        problems.append(Problem(file, None, "", "the file is empty; expected settings such as 'organisations:'"))
    if problems and data is None:
        return None, problems
    if not isinstance(data, dict):
        problems.append(Problem(file, _line_of(node, ()), "", "expected a mapping of settings at the top level"))
        return None, problems
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(file, _line_of(node, loc), key_path(loc), _explain(err)))
        return None, sorted(problems, key=lambda q: (q.line or 0))
    problems.extend(_semantic_problems(settings, node, file, check_secrets))
    problems.sort(key=lambda q: (q.line or 0))
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
