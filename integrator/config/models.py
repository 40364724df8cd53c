"""The configuration's models (pydantic): rules, schedule, tenants, organisations and groups.

The YAML file names secrets only by file path or environment variable; an inline secret
is a configuration error, so that a config file can be shared with support safely.
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from integrator.domain import surveys as survey_rules
from integrator.domain.weeks import parse_iso_week, parse_weekday

# Organisation and group keys: they appear in URLs, lock names and external ids.
KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,40}$"


def time_of_day(value: Any) -> Any:
    """Reject numbers where a time of day is expected.

    pydantic reads a number as seconds after midnight, so `start: 600` would silently mean
    00:10; a time must be written as text ("09:30").
    """
    if isinstance(value, bool | int | float):
        raise ValueError("expected a time of day as HH:MM, e.g. 09:30")
    return value


# Longest text anywhere in the file (URLs, paths, ids); names and emails have the lengths the
# store keeps (Organisation.name, StaffUser.display_name: 200; StaffUser.email: 320).
MAX_TEXT = 2000
Name = Annotated[str, Field(max_length=200)]


class Strict(BaseModel):
    # Unknown keys are typos until proven otherwise: reject them with their path. No number is
    # infinite or NaN (`.inf` compensation would make every register sum infinite), and no text
    # is longer than MAX_TEXT (a 1 MB name was accepted).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, str_max_length=MAX_TEXT)


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

    # Upper bounds far above any law's numbers: what lies beyond them is a typing error, and
    # would overflow the date arithmetic of the period checks and the nightly recomputation.
    period_min_months: int = Field(3, ge=1, le=120)
    period_max_months: int = Field(24, ge=1, le=120)
    min_days_per_week: int = Field(1, ge=1, le=7)
    max_days_per_week: int = Field(4, ge=1, le=7)
    min_hours_per_day: float = Field(4.0, gt=0, le=24)
    attendance_min_minutes: int = Field(30, ge=1, le=24 * 60)  # 0 would make a 0-minute day an attended one
    task_return_counts_as_present: bool = True
    # ISO weekdays on which work-activity days may fall (1 = Monday); groups must meet on these.
    work_weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    absence_alert_streak: int = Field(2, ge=1, le=365)
    daily_compensation_eur: float = Field(9.0, ge=0, le=1000)
    reevaluate_days: int = Field(7, ge=1, le=366)
    # The day's return deadline, local time of the group's time zone: the coursework is due then,
    # and a day is not an absence before it (domain.attendance.return_deadline).
    day_return_deadline: time = time(23, 59)

    @field_validator("day_return_deadline", mode="before")
    @classmethod
    def _deadline(cls, v: Any) -> Any:
        if isinstance(v, time):
            return v
        # ":00" seconds: the form a dumped configuration (model_dump) writes it back in.
        if not isinstance(v, str) or not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d(:00)?", v.strip()):
            raise ValueError(f"expected the day's return deadline as HH:MM local time, e.g. \"23:59\"; got {v!r}")
        hours, minutes = v.strip().split(":")[:2]
        return time(int(hours), int(minutes))

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
    # Next week's setup runs before next week's letters (the day before, by default): a letter is
    # written once, with the meeting and task links that exist when it is queued.
    weekly_setup: WeeklyAt = WeeklyAt(weekday=3, time=time(9, 0), enabled=False)
    # Organisations sending at once (each from its own mailbox, paced to its own limits): the
    # threads mostly wait on the pacing, so a handful covers many organisations.
    send_threads: int = Field(8, ge=1, le=64)

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


class JobsConfig(Strict):
    """Which engine runs the scheduled jobs (docs/admin-guide.md, "Jobs across machines")."""

    # embedded: `integrator serve` runs them in-process (APScheduler), one SQLite installation.
    # procrastinate: `integrator worker` processes run them from a PostgreSQL queue, on any number
    # of machines; `serve` then runs no job threads and only enqueues.
    engine: Literal["embedded", "procrastinate"] = "embedded"
    concurrency: int = Field(4, ge=1, le=64)  # jobs one worker runs at once (--concurrency wins)
    # A worker writes a heartbeat every heartbeat_seconds; the jobs of one silent for
    # stalled_after_seconds are handed to another worker, checked every stalled_check_seconds.
    heartbeat_seconds: float = Field(10.0, gt=0, le=600)
    stalled_after_seconds: float = Field(60.0, gt=0, le=3600)
    stalled_check_seconds: int = Field(60, ge=1, le=3600)

    @model_validator(mode="after")
    def _heartbeat_inside_the_timeout(self) -> JobsConfig:
        if self.stalled_after_seconds < 2 * self.heartbeat_seconds:
            raise ValueError("stalled_after_seconds must be at least twice heartbeat_seconds "
                             "(a live worker would be taken for a dead one)")
        if self.stalled_check_seconds < 60 and 60 % self.stalled_check_seconds:
            raise ValueError("stalled_check_seconds under a minute must divide 60 (e.g. 5, 10, 30)")
        if self.stalled_check_seconds >= 60 and self.stalled_check_seconds % 60:
            raise ValueError("stalled_check_seconds of a minute or more must be whole minutes (60, 120, ...)")
        return self


def sandbox_url(value: Any) -> Any:
    """A sandbox/test-only URL must point at this machine, where the sandbox runs.

    The sandbox binds only the loopback interface (its TLS certificate names localhost,
    127.0.0.1 and ::1). Any other host would receive every request of the tenant: the clients'
    data and, for the login authority, the tenant's credentials. No flag allows it: a national
    cloud or a proxy would be a feature of its own, not a test override.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("expected a URL such as http://127.0.0.1:8080")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError("expected an http(s) URL of the local sandbox, such as http://127.0.0.1:8080")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError("sandbox/test only: must point at this machine (localhost, 127.0.0.1 or ::1), where "
                         "the sandbox runs; another host would receive the tenant's data and credentials. "
                         "Remove the key to use the real service")
    return value


class GoogleTenant(Strict):
    domain: str = Field(max_length=253)
    service_account: SecretRef  # the JSON key file of the service account
    admin_subject: str = Field(max_length=320)  # the Workspace user the service account acts as
    mail_sender: str | None = Field(None, max_length=320)  # Workspace user that sends letters through Gmail
    shared_drive_id: str | None = None  # None: folders live in the coordinator's My Drive
    material_bank_folder_id: str | None = None
    # How long one request waits for its answer; a write left without one is treated as lost
    # (looked for again, or an UNCERTAIN letter), never simply sent again.
    request_timeout_s: float = Field(60.0, gt=0, le=600)
    # Sandbox/test only: replaces every discovery document's rootUrl (see docs/dev/sandbox-contract.md).
    api_base_url: str | None = None

    @field_validator("api_base_url", mode="before")
    @classmethod
    def _sandbox(cls, v: Any) -> Any:
        return sandbox_url(v)


class TaskFolders(Strict):
    """Where a Microsoft-only organisation's client task folders live: a SharePoint document library
    (a site's drive) or a service account's OneDrive, as a Graph drive id. One folder per client,
    named by the client code, under `parent_folder_id` (default: the drive's root)."""

    drive_id: str = Field(min_length=1, max_length=200)
    parent_folder_id: str | None = Field(None, max_length=200)
    site_id: str | None = Field(None, max_length=300)  # for `tenant check`: the Sites.Selected grant
    # Clients usually have personal addresses: Graph's invite then sends the sharing letter
    # (external sharing as the tenant allows); false when the weekly letter alone carries the link.
    send_invitation: bool = True
    # Drive writes (folders, invites, documents) in flight at once in the weekly setup. SharePoint
    # throttles per app and tenant (429/503 with Retry-After, honoured per request): keep it small.
    write_concurrency: int = Field(4, ge=1, le=16)


class MicrosoftTenant(Strict):
    tenant_id: str
    client_id: str
    client_secret: SecretRef | None = None
    certificate: SecretRef | None = None  # PEM with private key
    mail_sender: str | None = Field(None, max_length=320)  # mailbox (UPN) for sendMail
    request_timeout_s: float = Field(60.0, gt=0, le=600)  # as GoogleTenant's
    task_folders: TaskFolders | None = None  # SharePoint/OneDrive task folders (issue 18)
    # Sandbox/test only
    authority: str | None = None
    graph_base_url: str | None = None
    ca_bundle: Path | None = None

    @field_validator("authority", "graph_base_url", mode="before")
    @classmethod
    def _sandbox(cls, v: Any) -> Any:
        return sandbox_url(v)

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
    key: str = Field(pattern=KEY_PATTERN)
    name: Name
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
    email: str = Field(max_length=320)
    name: Name
    role: Literal["admin", "coordinator", "social_worker"]


class MailConfig(Strict):
    via: Literal["gmail", "graph"] = "gmail"
    reply_to: str | None = Field(None, max_length=320)
    per_minute: int | None = Field(None, ge=1)  # None: the vendor limit (Gmail 60, Exchange 30)
    per_day: int | None = Field(None, ge=1)  # None: the vendor limit (Gmail 2000, Exchange 10000)


class SurveyQuestion(Strict):
    """One question of a survey definition (domain.surveys.Question)."""

    id: str = Field(pattern=r"^[0-9a-f]{1,8}$")  # hex, at most 8 characters: also the Forms questionId
    kind: Literal["choice", "scale", "text"]
    text: str
    plain: str = ""
    options: list[str] = Field(default_factory=list)
    plain_options: list[str] = Field(default_factory=list)
    low: int = Field(1, ge=0, le=1)
    high: int = Field(5, ge=2, le=10)
    low_label: str = ""
    high_label: str = ""
    plain_low_label: str = ""
    plain_high_label: str = ""
    better: Literal["high", "low", "first", "last"] = "high"
    unscored: list[str] = Field(default_factory=list)
    measure: str = ""
    intro: str = ""
    plain_intro: str = ""
    required: bool = False

    @model_validator(mode="after")
    def _shape(self) -> SurveyQuestion:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError(f"question {self.id}: a choice needs at least two options")
        if self.plain_options and len(self.plain_options) != len(self.options):
            raise ValueError(f"question {self.id}: plain_options must match options one to one")
        if any(u not in self.options for u in self.unscored):
            raise ValueError(f"question {self.id}: every 'unscored' option must be one of the options")
        if self.kind == "scale" and self.better not in ("high", "low"):
            raise ValueError(f"question {self.id}: a scale's better end is 'high' or 'low'")
        if self.kind == "choice" and self.better not in ("first", "last"):
            raise ValueError(f"question {self.id}: a choice's better end is 'first' or 'last'")
        return self


class SurveyDefinitionConfig(Strict):
    """A survey, versioned: a changed question needs a new version (the store keeps each one)."""

    key: str = Field(pattern=KEY_PATTERN)
    version: int = Field(ge=1, le=10000)
    round: Literal["start", "end", "group"]
    title: Name
    questions: list[SurveyQuestion] = Field(min_length=1, max_length=60)

    @field_validator("questions")
    @classmethod
    def _unique(cls, v: list[SurveyQuestion]) -> list[SurveyQuestion]:
        ids = [q.id for q in v]
        if len(ids) != len(set(ids)):
            raise ValueError("question ids must be unique within a survey")
        return v

    def to_domain(self) -> survey_rules.SurveyDefinition:
        qs = tuple(survey_rules.Question(**{**q.model_dump(), "options": tuple(q.options),
                                             "plain_options": tuple(q.plain_options),
                                             "unscored": tuple(q.unscored)}) for q in self.questions)
        return survey_rules.SurveyDefinition(self.key, self.version, self.round, self.title, qs)


class SurveysConfig(Strict):
    """Evaluation surveys (the pilot's questions by default): a start and an end round per period."""

    enabled: bool = False
    # "page": the product's own survey page, a per-client link (no login).
    # "forms": one Google Form per group, round and version, owned by the group's coordinator;
    # needs the organisation's 'google' tenant (config check). Answers name nobody: group level
    # only, and no reminder (who has not answered is unknown).
    mode: Literal["page", "forms"] = "page"
    # Forms only: responders must sign in with an account of the organisation's domain. Default:
    # anyone with the link answers, no Google account needed.
    forms_sign_in: bool = False
    # False: anonymous, group-level results only. True: answers linked to the client (pseudonymously),
    # so that the coordinator sees each client's before -> after change. Own page only.
    linked: bool = False
    # The product's public address, where the own survey page is served (links in letters).
    page_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    remind_after_days: int = Field(7, ge=1, le=60)
    # An optional group round: the ISO weeks it goes out in (e.g. ["2026-W20"]).
    group_round_weeks: list[str] = Field(default_factory=list)
    # Surveys replacing the pilot's (domain.surveys.PILOT_SURVEYS) for their round; a group round
    # needs one. At most one per round.
    definitions: list[SurveyDefinitionConfig] = Field(default_factory=list)

    @field_validator("group_round_weeks")
    @classmethod
    def _weeks(cls, v: list[str]) -> list[str]:
        for w in v:
            try:
                parse_iso_week(w)
            except ValueError as err:
                raise ValueError(f"expected ISO weeks such as 2026-W20; got {w!r}") from err
        return v

    @model_validator(mode="after")
    def _complete(self) -> SurveysConfig:
        if self.enabled and not self.page_url:
            raise ValueError("surveys need 'page_url', the product's public address (the own survey page "
                             "is also the fallback of the Forms mode)")
        if self.linked and self.mode == "forms":
            raise ValueError("linked answers need mode: page (a Google Form's answer names nobody)")
        rounds = [d.round for d in self.definitions]
        for kind in ("start", "end", "group"):
            if rounds.count(kind) > 1:
                raise ValueError(f"give at most one survey definition for the {kind!r} round")
        if self.group_round_weeks and "group" not in rounds:
            raise ValueError("group_round_weeks need a survey definition with round: group")
        return self

    def definition(self, round_kind: str) -> survey_rules.SurveyDefinition:
        for d in self.definitions:
            if d.round == round_kind:
                return d.to_domain()
        for pilot in survey_rules.PILOT_SURVEYS:
            if pilot.round == round_kind:
                return pilot
        raise KeyError(round_kind)


ENTRA_ISSUER = re.compile(r"^https://login\.microsoftonline\.com/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/v2\.0$")
GOOGLE_ISSUER = "https://accounts.google.com"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class SignInProvider(Strict):
    """The organisation's identity provider for staff sign-in (OpenID Connect, code flow + PKCE)."""

    kind: Literal["entra", "google"]
    # Entra: https://login.microsoftonline.com/<tenant id>/v2.0 (one tenant: 'common' or
    # 'organizations' would let any tenant's users present our domains). Google: https://accounts.google.com.
    issuer: str
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: SecretRef
    # The e-mail domains whose people may sign in through this provider (lower case, no '@').
    allowed_domains: list[str] = Field(min_length=1)
    # Sandbox/test only: where the discovery document is read (default: the issuer's
    # /.well-known/openid-configuration), and the CA of the sandbox's TLS certificate.
    metadata_url: str | None = None
    ca_bundle: Path | None = None

    @field_validator("metadata_url", mode="before")
    @classmethod
    def _sandbox(cls, v: Any) -> Any:
        return sandbox_url(v)

    @field_validator("allowed_domains", mode="before")
    @classmethod
    def _domains(cls, v: Any) -> Any:
        if not isinstance(v, list):
            raise ValueError("expected a list of e-mail domains, e.g. [raisio.fi]")
        out = []
        for d in v:
            if not isinstance(d, str) or not _DOMAIN.match(d.strip().lower()):
                raise ValueError(f"expected e-mail domains such as raisio.fi (no '@'); got {d!r}")
            out.append(d.strip().lower())
        return out

    @model_validator(mode="after")
    def _issuer(self) -> SignInProvider:
        if self.kind == "entra" and not ENTRA_ISSUER.match(self.issuer):
            raise ValueError("an entra issuer is https://login.microsoftonline.com/<directory (tenant) id>/v2.0, "
                             "with the tenant's id (a GUID), not 'common' or 'organizations'")
        if self.kind == "google" and self.issuer != GOOGLE_ISSUER:
            raise ValueError(f"a google issuer is {GOOGLE_ISSUER}")
        return self

    @property
    def discovery_url(self) -> str:
        return self.metadata_url or f"{self.issuer}/.well-known/openid-configuration"

    @property
    def tenant_id(self) -> str | None:
        """Entra's directory (tenant) id, from the issuer; None for Google."""
        return self.issuer.split("/")[3] if self.kind == "entra" else None


class SignIn(Strict):
    """How the organisation's staff sign in: its identity providers, and whether passwords still work."""

    providers: list[SignInProvider] = Field(default_factory=list)
    # False: the organisation's coordinators and admins sign in through a provider only. A
    # system administrator (role admin without an organisation) keeps the password: break-glass.
    local_passwords: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> SignIn:
        kinds = [p.kind for p in self.providers]
        if len(set(kinds)) != len(kinds):
            raise ValueError("give at most one provider of each kind (entra, google)")
        if not self.local_passwords and not self.providers:
            raise ValueError("local_passwords: false needs a provider; otherwise nobody of the organisation "
                             "could sign in")
        return self

    def provider(self, kind: str) -> SignInProvider | None:
        return next((p for p in self.providers if p.kind == kind), None)


class OrganisationConfig(Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: Name
    kind: Literal["municipality", "provider"] = "provider"
    google: GoogleTenant | None = None
    microsoft: MicrosoftTenant | None = None
    mail: MailConfig = MailConfig()
    rules: Rules | None = None  # overrides the global rules for this organisation
    closure_days: list[date] = Field(default_factory=list)
    staff: list[StaffConfig] = Field(default_factory=list)
    # Keys of other organisations whose staff may be responsible workers of this organisation's
    # clients (a municipality's social workers for its service provider's clients). Without it
    # only the organisation's own staff may be; they receive the clients' absence alerts.
    responsible_workers_from: list[str] = Field(default_factory=list)
    groups: list[GroupConfig] = Field(default_factory=list)
    templates_dir: Path | None = None  # letter/reminder templates overriding integrator/jobs/templates
    surveys: SurveysConfig = SurveysConfig()
    sign_in: SignIn = SignIn()

    @model_validator(mode="before")
    @classmethod
    def _mail_by_tenant(cls, data: Any) -> Any:
        """Mail goes through the organisation's own tenant when the file does not say: an
        organisation on Microsoft 365 alone sends via Graph (Gmail, the general default, it has
        not). Resolved here so that every reader of `mail.via` sees the same answer."""
        if not isinstance(data, dict) or data.get("google") is not None or data.get("microsoft") is None:
            return data
        mail = data.get("mail")
        if mail is None:
            return {**data, "mail": {"via": "graph"}}
        if isinstance(mail, dict) and "via" not in mail:
            return {**data, "mail": {**mail, "via": "graph"}}
        return data


class Settings(Strict):
    database_url: str | None = None  # INTEGRATOR_DATABASE_URL wins when set
    time_zone: str = "Europe/Helsinki"
    rules: Rules = Rules()
    schedule: Schedule = Schedule()
    jobs: JobsConfig = JobsConfig()
    organisations: list[OrganisationConfig] = Field(default_factory=list)

    def organisation(self, key: str) -> OrganisationConfig:
        for org in self.organisations:
            if org.key == key:
                return org
        raise KeyError(f"no organisation with key {key!r} in the config")

    def rules_for(self, org_key: str) -> Rules:
        return self.organisation(org_key).rules or self.rules

