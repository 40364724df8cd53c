"""The store: what the product knows, in the domain's words.

Keep fields minimal. Identifying data (names, emails, phones) lives only on `Client`
and `StaffUser`; everything else refers to clients by id or by pseudonymous code.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from integrator.domain.attendance import effective_status
from integrator.domain.types import (
    AttendanceStatus,
    JobStatus,
    MeetingProvider,
    MessageKind,
    OrgKind,
    OutboxStatus,
    ServiceModel,
    StaffRole,
    SupportLevel,
    VariantKind,
    WorkDayStatus,
)
from integrator.store.types import UTCDateTime, utcnow

# Stable constraint names so that Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the value (lower-case words), not the member name, and no native PG enum:
    # adding a value later must not need an ALTER TYPE migration.
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Organisation(Base):
    """A municipality or a service provider; each has its own tenant settings in config."""

    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind), default=OrgKind.PROVIDER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    groups: Mapped[list[PeerGroup]] = relationship(back_populates="organisation")


class StaffUser(Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffIdentity(Base):
    """A staff user's account at an organisation's identity provider (OpenID Connect): the
    provider's issuer and its stable subject for the person (Entra: `oid`, Google: `sub`).
    Recorded at the first sign-in, which matched the staff user by a verified e-mail; later
    sign-ins match by this pair, so a renamed address still finds the same person."""

    __tablename__ = "staff_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"), UniqueConstraint("staff_user_id", "issuer"))
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))  # looked up by its unique pair
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]


class ApiToken(Base):
    """Tokens for automation; only a hash is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class StaffSession(Base):
    """A login in a browser. The cookie carries a random id, we keep only its hash: logging out,
    a password change or a deactivation ends the session here, whatever copy of the cookie exists."""

    __tablename__ = "staff_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    id_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Client(Base):
    """An asiakas. `code` is the pseudonym used in logs, folder names and URLs."""

    __tablename__ = "client"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    code: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    google_user_id: Mapped[str | None] = mapped_column(String(64))
    entra_object_id: Mapped[str | None] = mapped_column(String(64))
    plain_language: Mapped[bool] = mapped_column(Boolean, default=False)
    digital_support: Mapped[SupportLevel | None] = mapped_column(_enum(SupportLevel))
    loan_device_note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    periods: Mapped[list[Period]] = relationship(back_populates="client", order_by="Period.start_date")
    memberships: Mapped[list[Membership]] = relationship(back_populates="client")


class Period(Base):
    """A jakso: 3-24 months, 1-4 fixed weekdays a week, at least 4 hours a day."""

    __tablename__ = "period"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    service_model: Mapped[ServiceModel] = mapped_column(_enum(ServiceModel))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    # ISO weekday numbers (1 = Monday) of the remote work days, e.g. [2, 4]
    weekdays: Mapped[list[Any]] = mapped_column(JSON)
    hours_per_day: Mapped[float] = mapped_column(Float, default=4.0)
    briefing_recorded_at: Mapped[datetime | None]
    briefing_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    responsible_worker_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An early end (keskeytys) moves `end_date` forward and keeps the planned end here, so that
    # it can be undone; the reason is a code (e.g. "health", "work", "moved"), never free text.
    planned_end_date: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(200))  # "staff:<id>" or "cli"

    client: Mapped[Client] = relationship(back_populates="periods")
    responsible_worker: Mapped[StaffUser | None] = relationship(foreign_keys=[responsible_worker_id])


class PeerGroup(Base):
    """A vertaisryhmä, formed by work-activity day (e.g. the Tuesday group)."""

    __tablename__ = "peer_group"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    weekdays: Mapped[list[Any]] = mapped_column(JSON)  # ISO weekday numbers
    meeting_start: Mapped[time] = mapped_column(Time)
    meeting_end: Mapped[time] = mapped_column(Time)
    meeting_provider: Mapped[MeetingProvider] = mapped_column(_enum(MeetingProvider))
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Helsinki")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    organisation: Mapped[Organisation] = relationship(back_populates="groups")
    coordinator: Mapped[StaffUser | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="group")


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "client_id", "start_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    # The Finnish calendar day the membership was recorded in the product. A day before it was
    # never provisioned or invited, so it is never an absence (unless a coordinator marks it).
    # NULL for rows from before this was kept: no such limit.
    recorded_on: Mapped[date | None] = mapped_column(Date)

    group: Mapped[PeerGroup] = relationship(back_populates="memberships")
    client: Mapped[Client] = relationship(back_populates="memberships")


class WorkDay(Base):
    """A työtoimintapäivä of a group: tasks, a peer-group meeting and a return."""

    __tablename__ = "work_day"
    __table_args__ = (UniqueConstraint("group_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id"))
    day: Mapped[date] = mapped_column(Date)
    iso_week: Mapped[str] = mapped_column(String(8))  # e.g. 2026-W49
    status: Mapped[WorkDayStatus] = mapped_column(_enum(WorkDayStatus), default=WorkDayStatus.PLANNED)
    cancelled_reason: Mapped[str | None] = mapped_column(String(200))
    meeting_start: Mapped[datetime]
    meeting_end: Mapped[datetime]
    instructions: Mapped[str | None] = mapped_column(Text)
    # The sync's clock when all of the day's attendance was last evaluated, and a digest of what
    # that read besides the stored evidence (jobs.attendance.incremental): a night with nothing
    # new re-evaluates only the days whose inputs changed or whose deadline or window passed.
    # NULL: never evaluated in full (a new day, or one from before this was kept).
    evaluated_at: Mapped[datetime | None]
    evaluated_inputs: Mapped[str | None] = mapped_column(String(64))

    group: Mapped[PeerGroup] = relationship()
    tasks: Mapped[list[Task]] = relationship(back_populates="work_day", order_by="Task.position")


class Task(Base):
    __tablename__ = "task"
    id: Mapped[int] = mapped_column(primary_key=True)
    work_day_id: Mapped[int] = mapped_column(ForeignKey("work_day.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    material_file_id: Mapped[str | None] = mapped_column(String(128))  # material-bank Drive file

    work_day: Mapped[WorkDay] = relationship(back_populates="tasks")
    variants: Mapped[list[TaskVariant]] = relationship(back_populates="task")


class TaskVariant(Base):
    __tablename__ = "task_variant"
    __table_args__ = (UniqueConstraint("task_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    kind: Mapped[VariantKind] = mapped_column(_enum(VariantKind))
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)

    task: Mapped[Task] = relationship(back_populates="variants")


class ClientVariantChoice(Base):
    """Differentiation: which variant a client gets by default (plain language follows the client flag)."""

    __tablename__ = "client_variant_choice"
    __table_args__ = (UniqueConstraint("client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    kind: Mapped[VariantKind] = mapped_column(_enum(VariantKind))


class Assignment(Base):
    """Which variant of a task a client is given; `course_work_id` once posted."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("task_id", "client_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("task_variant.id"))


class ExternalResource(Base):
    """Something we created in a tenant: the store's memory of the outside world.

    `local_key` is our stable key (e.g. ``course:g-tue``); a plan diffs the desired state
    against these rows, so a re-run creates nothing twice and a crash resumes cleanly.
    """

    __tablename__ = "external_resource"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "local_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    local_key: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # last applied shape / fingerprint
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | removed | pending
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Submission(Base):
    """A return (palautus) seen in Classroom or Drive; raw evidence, stored when seen."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"))
    work_day_id: Mapped[int | None] = mapped_column(ForeignKey("work_day.id"))
    source: Mapped[str] = mapped_column(String(20))  # classroom | drive
    external_id: Mapped[str] = mapped_column(String(300))
    state: Mapped[str | None] = mapped_column(String(40))
    returned_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    mime_type: Mapped[str | None] = mapped_column(String(120))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingAttendance(Base):
    """One attendee's record in a Teams attendance report or a Meet conference record."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("source", "record_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    work_day_id: Mapped[int | None] = mapped_column(ForeignKey("work_day.id"))
    source: Mapped[str] = mapped_column(String(20))  # teams | meet
    record_key: Mapped[str] = mapped_column(String(300))  # report id + record id
    participant_key: Mapped[str] = mapped_column(String(300))  # stable id, else email, else name
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(200))
    via_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    first_join: Mapped[datetime | None]
    last_leave: Mapped[datetime | None]
    intervals: Mapped[list[Any]] = mapped_column(JSON, default=list)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityMapping(Base):
    """A coordinator's one-time mapping of an unmatched attendee to a client; reused."""

    __tablename__ = "identity_mapping"
    __table_args__ = (UniqueConstraint("organisation_id", "source", "participant_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    source: Mapped[str] = mapped_column(String(20))
    participant_key: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    mapped_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    mapped_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttendanceDay(Base):
    """The register row: one client, one work day. Money: explainable and auditable."""

    __tablename__ = "attendance_day"
    __table_args__ = (UniqueConstraint("client_id", "work_day_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    work_day_id: Mapped[int] = mapped_column(ForeignKey("work_day.id"))
    computed_status: Mapped[AttendanceStatus] = mapped_column(_enum(AttendanceStatus))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A coordinator's decision wins over the computed status and is never overwritten by the sync.
    override_status: Mapped[AttendanceStatus | None] = mapped_column(_enum(AttendanceStatus))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    override_at: Mapped[datetime | None]

    @property
    def status(self) -> AttendanceStatus:
        return effective_status(self.computed_status, self.override_status)


class OutboxMessage(Base):
    """One email we intend to send, under one key: a re-run never sends it twice."""

    __tablename__ = "outbox_message"
    __table_args__ = (UniqueConstraint("key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    key: Mapped[str] = mapped_column(String(200))  # e.g. reminder:<client>:<work day>:60
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id"))
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    work_day_id: Mapped[int | None] = mapped_column(ForeignKey("work_day.id"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.QUEUED)
    not_before: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # What the message is about, for the jobs that follow it up (e.g. an absence alert's days,
    # so that a changed day withdraws or corrects it). Never identifying data.
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class JobRun(Base):
    __tablename__ = "job_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(40))  # weekly_setup | nightly_sync | notify | ...
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), default=JobStatus.RUNNING)
    triggered_by: Mapped[str] = mapped_column(String(100), default="cli")
    holder: Mapped[str | None] = mapped_column(String(200))  # host:pid, to tell an interrupted run
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    plan: Mapped[list[Any]] = mapped_column(JSON, default=list)


class JobLock(Base):
    """Keeps two runs of the same job for one organisation apart, across processes."""

    __tablename__ = "job_lock"
    __table_args__ = (UniqueConstraint("name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))  # <job kind>:<org key>
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class SyncCursor(Base):
    """One cursor per source and partition, saved only after the writes it covers."""

    __tablename__ = "sync_cursor"
    __table_args__ = (UniqueConstraint("organisation_id", "source", "partition"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    source: Mapped[str] = mapped_column(String(40))
    partition: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    actor: Mapped[str] = mapped_column(String(200))  # staff id as "staff:<id>", or "system:<job>"
    action: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SurveyVersion(Base):
    """A survey definition as it was asked: answers stay with the version they answered, and a
    changed question under an old version number is refused (the fingerprint differs)."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("organisation_id", "survey_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    survey_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    round: Mapped[str] = mapped_column(String(20))  # start | end | group
    fingerprint: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # domain.surveys snapshot
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyInvitation(Base):
    """One client's round (their period's start or end, or a group round): the link was sent once.

    Own page: `token_hash` is the SHA-256 of the link's token (the token itself is never stored);
    a reminder carries a second token (`reminder_token_hash`) for the same invitation.
    """

    __tablename__ = "survey_invitation"
    __table_args__ = (UniqueConstraint("period_id", "round_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"))
    period_id: Mapped[int] = mapped_column(ForeignKey("period.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id"))
    round_key: Mapped[str] = mapped_column(String(40))  # start | end | group:<ISO week>
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    mode: Mapped[str] = mapped_column(String(10))  # page | forms
    linked: Mapped[bool] = mapped_column(Boolean, default=False)  # as the client was told
    week: Mapped[str] = mapped_column(String(8))  # the ISO week it went out in
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]

    survey_version: Mapped[SurveyVersion] = relationship()


class SurveyResponse(Base):
    """One answer set, pseudonymous: own-page answers by invitation (answering again replaces
    them), Google Forms answers by the form's response id (group level only)."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("invitation_id"), UniqueConstraint("organisation_id", "external_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id"))
    survey_version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    round_key: Mapped[str] = mapped_column(String(40))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("survey_invitation.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))  # Forms responseId
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)  # question id -> [values]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
