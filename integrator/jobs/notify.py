"""Weekly letters and meeting reminders: queued in the outbox under unique keys, then sent.

Keys (one message each, forever):
    letter:<org>:<client code>:<ISO week>
    reminder:<org>:<client code>:<work day id>:<minutes before>

Reminders are checked again at send time: a reminder for a meeting that was cancelled, or for
a client who has left the group, after it was queued is cancelled instead of sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from integrator.config import OrganisationConfig, Settings
from integrator.domain.types import MeetingProvider, MessageKind, VariantKind, WorkDayStatus
from integrator.domain.weeks import iso_week_of, parse_iso_week
from integrator.jobs.meetings import load_groups, meeting_key, organisation_id, participants, takes_part
from integrator.jobs.outbox import (
    VENDOR_LIMITS,
    Mailer,
    NewMessage,
    SenderPaused,
    SendStats,
    due_ids,
    enqueue,
    park_rest,
    recover_in_flight,
    send_one,
    sent_in_window,
)
from integrator.jobs.rendering import fi_time, render_pair
from integrator.jobs.runs import job_lock
from integrator.providers.errors import NeedsReauth
from integrator.providers.retry import RateLimiter
from integrator.store.db import Store
from integrator.store.models import (
    Client,
    ClientVariantChoice,
    ExternalResource,
    OutboxMessage,
    PeerGroup,
    StaffUser,
    Task,
    WorkDay,
)
from integrator.store.types import utcnow

log = logging.getLogger(__name__)

PROVIDER_NAMES = {MeetingProvider.TEAMS: "Teams", MeetingProvider.MEET: "Google Meet"}
SEND_LOCK = "notify:send"


def drive_link(file_id: str) -> str:
    return f"https://drive.google.com/file/d/{file_id}/view"


def _coordinator(staff: StaffUser | None) -> dict[str, Any]:
    if staff is None:
        return {"name": "ohjaaja", "email": "", "phone": None}
    return {"name": staff.display_name, "email": staff.email, "phone": staff.phone}


def _join_urls(s: Session, org_id: int, keys: Iterable[str]) -> dict[str, str]:
    rows = s.scalars(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == "meeting",
        ExternalResource.local_key.in_(list(keys)), ExternalResource.status == "active"))
    return {r.local_key: str(r.state["join_url"]) for r in rows if r.state.get("join_url")}


def _task_entry(task: Task, client: Client, choice: VariantKind | None,
                coursework_links: dict[str, str]) -> dict[str, Any]:
    variants = {v.kind: v for v in task.variants}
    wanted = [VariantKind.PLAIN_LANGUAGE] if client.plain_language else []
    if choice is not None:
        wanted.append(choice)
    wanted.append(VariantKind.STANDARD)
    variant = next((variants[k] for k in wanted if k in variants), None)
    kind = variant.kind.value if variant else VariantKind.STANDARD.value
    # The Classroom coursework (where the client returns the work) when weekly setup stored its
    # link; else the task's material in the material bank.
    link = coursework_links.get(f"wd{task.work_day_id}:t{task.position}:{kind}")
    if link is None and task.material_file_id:
        link = drive_link(task.material_file_id)
    return {"title": variant.title if variant else task.title,
            "instructions": variant.instructions if variant else None, "link": link}


def _coursework_links(s: Session, org_id: int, week: str) -> dict[str, str]:
    """"wd<id>:t<pos>:<variant>" -> link, from weekly setup's coursework resources."""
    out: dict[str, str] = {}
    rows = s.scalars(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == "coursework",
        ExternalResource.status == "active", ExternalResource.local_key.like(f"coursework:%:{week}:%")))
    for r in rows:
        link = (r.state or {}).get("alternateLink") or (r.state or {}).get("link")
        parts = r.local_key.split(":")
        if link and len(parts) >= 6:
            out[":".join(parts[3:6])] = str(link)
    return out


# ---- weekly letters ------------------------------------------------------------------------


@dataclass
class _LetterDraft:
    client: Client
    coordinator: StaffUser | None
    days: list[dict[str, Any]] = field(default_factory=list)


def letter_subject(week: str) -> str:
    return f"Ensi viikon työtoiminta, viikko {parse_iso_week(week)[1]}"


def queue_weekly_letters(store: Store, settings: Settings, org_key: str, week: str) -> dict[str, int]:
    """One letter per client who has work days (or cancelled ones) in `week`. Idempotent."""
    org_cfg = settings.organisation(org_key)
    counts = {"queued": 0, "already": 0, "no_email": 0, "without_link": 0}
    with store.session() as s:
        org_id = organisation_id(s, org_key)
        groups = load_groups(s, org_id)
        by_id = {g.id: g for g in groups}
        days = list(s.scalars(select(WorkDay).where(WorkDay.group_id.in_(by_id), WorkDay.iso_week == week)
                              .options(selectinload(WorkDay.tasks).selectinload(Task.variants))
                              .order_by(WorkDay.day, WorkDay.meeting_start)))
        links = _join_urls(s, org_id, [meeting_key(by_id[d.group_id].key, d.day) for d in days])
        choices = {c.client_id: c.kind for c in s.scalars(select(ClientVariantChoice))}
        coursework = _coursework_links(s, org_id, week)
        drafts: dict[int, _LetterDraft] = {}
        for wd in days:
            group = by_id[wd.group_id]
            for client in _all_takers(group, wd.day):
                draft = drafts.setdefault(client.id, _LetterDraft(client, group.coordinator))
                cancelled = wd.status == WorkDayStatus.CANCELLED or not group.active
                link = links.get(meeting_key(group.key, wd.day))
                if not cancelled and link is None:
                    counts["without_link"] += 1
                draft.days.append({
                    "date": wd.day, "start": wd.meeting_start, "end": wd.meeting_end, "tz": group.time_zone,
                    "group_name": group.name, "provider": PROVIDER_NAMES[group.meeting_provider],
                    "join_url": link, "cancelled": cancelled, "cancelled_reason": wd.cancelled_reason,
                    "instructions": wd.instructions,
                    "tasks": [] if cancelled else [_task_entry(t, client, choices.get(client.id), coursework)
                                                 for t in wd.tasks],
                })
        messages = []
        for draft in sorted(drafts.values(), key=lambda d: d.client.code):
            if not draft.client.email:
                counts["no_email"] += 1
                continue
            stem = "letter_selko" if draft.client.plain_language else "letter"
            text, html = render_pair(org_cfg.templates_dir, stem, week=week, week_number=parse_iso_week(week)[1],
                                     days=draft.days, coordinator=_coordinator(draft.coordinator),
                                     org_name=org_cfg.name)
            messages.append(NewMessage(
                key=f"letter:{org_key}:{draft.client.code}:{week}", kind=MessageKind.WEEKLY_LETTER,
                organisation_id=org_id, to_address=draft.client.email, subject=letter_subject(week),
                body_text=text, body_html=html, client_id=draft.client.id))
        new = enqueue(s, messages)
    counts["queued"] = new
    counts["already"] = len(messages) - new
    log.info("weekly letters queued", extra={"org": org_key, "week": week, **counts})
    return counts


def _all_takers(group: PeerGroup, day: date) -> list[Client]:
    """Participants, also on a cancelled day (they are told there is no activity)."""
    return participants(group, day)


def letter_week_due(settings: Settings, now: datetime) -> str | None:
    """The week whose letters are due at `now`: next week, once the configured moment
    (default Thursday 12:00 Europe/Helsinki) of this week has passed."""
    at = settings.schedule.weekly_letter
    if not at.enabled:
        return None
    local = now.astimezone(ZoneInfo(settings.time_zone))
    monday = local.date() - timedelta(days=local.weekday())
    moment = datetime.combine(monday + timedelta(days=at.weekday - 1), at.time, tzinfo=local.tzinfo)
    if local < moment:
        return None
    return iso_week_of(monday + timedelta(days=7))


# ---- reminders -----------------------------------------------------------------------------


def reminder_subject(wd: WorkDay, tz: str) -> str:
    return f"Muistutus: ryhmätapaaminen klo {fi_time(wd.meeting_start, tz)}"


def _due_offset(offsets: list[int], start: datetime, now: datetime) -> int | None:
    """The reminder due now: the smallest offset whose moment has passed (a late run sends one
    reminder, not a burst of all the missed ones)."""
    due = [o for o in offsets if start - timedelta(minutes=o) <= now < start]
    return min(due) if due else None


def queue_due_reminders(store: Store, settings: Settings, now: datetime) -> dict[str, int]:
    """Queue the reminders due at `now` for every organisation. Idempotent by key."""
    offsets = settings.schedule.reminder_offsets_minutes
    counts = {"queued": 0, "already": 0, "no_link": 0, "no_email": 0}
    if not offsets:
        return counts
    horizon = now + timedelta(minutes=max(offsets))
    for org_cfg in settings.organisations:
        with store.session() as s:
            try:
                org_id = organisation_id(s, org_cfg.key)
            except LookupError:
                continue
            days = list(s.scalars(select(WorkDay).join(PeerGroup).where(
                PeerGroup.organisation_id == org_id, PeerGroup.active.is_(True),
                WorkDay.status == WorkDayStatus.PLANNED,
                WorkDay.meeting_start > now, WorkDay.meeting_start <= horizon)))
            due = [(wd, o) for wd in days if (o := _due_offset(offsets, wd.meeting_start, now)) is not None]
            if not due:
                continue
            groups = {g.id: g for g in load_groups(s, org_id)}
            links = _join_urls(s, org_id, [meeting_key(groups[wd.group_id].key, wd.day) for wd, _ in due])
            messages = []
            for wd, offset in due:
                group = groups[wd.group_id]
                link = links.get(meeting_key(group.key, wd.day))
                people = participants(group, wd.day)
                if link is None:
                    counts["no_link"] += len(people)
                    log.warning("reminder without meeting", extra={"group": group.key, "day": wd.day.isoformat()})
                    continue
                for client in people:
                    if not client.email:
                        counts["no_email"] += 1
                        continue
                    text, html = render_pair(
                        org_cfg.templates_dir, "reminder", group_name=group.name, date=wd.day,
                        start=wd.meeting_start, end=wd.meeting_end, tz=group.time_zone, join_url=link,
                        provider=PROVIDER_NAMES[group.meeting_provider], minutes=offset,
                        coordinator=_coordinator(group.coordinator))
                    messages.append(NewMessage(
                        key=f"reminder:{org_cfg.key}:{client.code}:{wd.id}:{offset}", kind=MessageKind.REMINDER,
                        organisation_id=org_id, to_address=client.email, subject=reminder_subject(wd, group.time_zone),
                        body_text=text, body_html=html, client_id=client.id, work_day_id=wd.id))
            new = enqueue(s, messages)
            counts["queued"] += new
            counts["already"] += len(messages) - new
    log.info("reminders queued", extra=counts)
    return counts


# ---- sending -------------------------------------------------------------------------------


class GmailMailer:
    def __init__(self, org_cfg: OrganisationConfig) -> None:
        from integrator.providers.google.client import GoogleClient

        if org_cfg.google is None or not org_cfg.google.mail_sender:
            raise LookupError(f"{org_cfg.key}: mail.via is gmail but google.mail_sender is not set")
        self.sender = org_cfg.google.mail_sender
        self.reply_to = org_cfg.mail.reply_to
        self.from_name = org_cfg.name
        self.client = GoogleClient(org_cfg.google)

    def send(self, msg: OutboxMessage) -> str | None:
        from integrator.providers.google.gmail import send_gmail

        return send_gmail(self.client, self.sender, msg.to_address, msg.subject, msg.body_html, msg.body_text,
                          reply_to=self.reply_to, outbox_key=msg.key, from_name=self.from_name)

    def requests(self) -> int:
        return self.client.stats.requests

    def close(self) -> None:
        return None


class GraphMailer:
    def __init__(self, org_cfg: OrganisationConfig) -> None:
        from integrator.providers.microsoft.client import GraphClient

        if org_cfg.microsoft is None or not org_cfg.microsoft.mail_sender:
            raise LookupError(f"{org_cfg.key}: mail.via is graph but microsoft.mail_sender is not set")
        self.sender = org_cfg.microsoft.mail_sender
        self.reply_to = org_cfg.mail.reply_to
        self.client = GraphClient(org_cfg.microsoft)

    def send(self, msg: OutboxMessage) -> str | None:
        from integrator.providers.microsoft.mail import send_mail

        send_mail(self.client, self.sender, msg.to_address, msg.subject, msg.body_html or msg.body_text,
                  msg.body_text, reply_to=self.reply_to, outbox_key=msg.key)
        return None

    def requests(self) -> int:
        return self.client.requests

    def close(self) -> None:
        self.client.close()


def build_mailer(org_cfg: OrganisationConfig) -> Any:
    return GraphMailer(org_cfg) if org_cfg.mail.via == "graph" else GmailMailer(org_cfg)


class _Validator:
    """Send-time checks, cached per run: is the meeting still on, is the client still in?"""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now
        self._groups: dict[int, PeerGroup] = {}
        self._weeks: dict[str, set[int]] = {}

    def _letter_clients(self, s: Session, week: str) -> set[int]:
        if week not in self._weeks:
            ids: set[int] = set()
            for wd in s.scalars(select(WorkDay).where(WorkDay.iso_week == week)):
                group = self._group(s, wd.group_id)
                ids.update(m.client_id for m in group.memberships if takes_part(m.client, m, wd.day))
            self._weeks[week] = ids
        return self._weeks[week]

    def _group(self, s: Session, group_id: int) -> PeerGroup:
        if group_id not in self._groups:
            g = s.get(PeerGroup, group_id)
            assert g is not None
            self._groups[group_id] = load_groups(s, g.organisation_id, g.key)[0]
        return self._groups[group_id]

    def __call__(self, s: Session, msg: OutboxMessage) -> str | None:
        if msg.client_id is None:
            return None
        if msg.kind == MessageKind.REMINDER and msg.work_day_id is not None:
            wd = s.get(WorkDay, msg.work_day_id)
            if wd is None or wd.status != WorkDayStatus.PLANNED:
                return "work day cancelled"
            if wd.meeting_start <= self.now():
                return "meeting already started"
            group = self._group(s, wd.group_id)
            if not group.active or msg.client_id not in {c.id for c in participants(group, wd.day)}:
                return "client no longer in the group on that day"
        elif msg.kind == MessageKind.WEEKLY_LETTER:
            week = msg.key.rsplit(":", 1)[-1]
            if msg.client_id not in self._letter_clients(s, week):
                return f"client has no work days in {week} any more"
        return None


def _limits(org_cfg: OrganisationConfig) -> tuple[int, int]:
    per_minute, per_day = VENDOR_LIMITS[org_cfg.mail.via]
    return org_cfg.mail.per_minute or per_minute, org_cfg.mail.per_day or per_day


def send_outbox(store: Store, settings: Settings, now: datetime | None = None, *,
                clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep,
                monotonic: Callable[[], float] = time.monotonic,
                mailers: dict[str, Mailer] | None = None) -> dict[str, int]:
    """Send every due message, paced per sender; returns counts (sent, parked, uncertain...).

    `now` fixes the run's notion of time (tests, the sandbox); `clock` lets it move (a long,
    paced run); default: the wall clock.
    """
    current: Callable[[], datetime] = clock or ((lambda: now) if now is not None else utcnow)  # type: ignore[assignment,return-value]
    stats = SendStats()
    requests = 0
    with job_lock(store, SEND_LOCK):
        stats.recovered_uncertain = len(recover_in_flight(store))
        validate = _Validator(store, current)
        for org_cfg in settings.organisations:
            with store.session() as s:
                try:
                    org_id = organisation_id(s, org_cfg.key)
                except LookupError:
                    continue
                if not due_ids(s, current(), org_id, limit=1):
                    continue
            own = mailers is None or org_cfg.key not in mailers
            mailer: Any = build_mailer(org_cfg) if own else mailers[org_cfg.key]  # type: ignore[index]
            try:
                _send_org(store, org_cfg, org_id, mailer, current, sleep, monotonic, stats, validate)
            finally:
                if own:
                    requests += int(getattr(mailer, "requests", lambda: 0)())
                    mailer.close()
    out = stats.as_dict()
    out["requests"] = requests
    log.info("outbox sent", extra=out)
    return out


def _send_org(store: Store, org_cfg: OrganisationConfig, org_id: int, mailer: Mailer,
              current: Callable[[], datetime], sleep: Callable[[float], None], monotonic: Callable[[], float],
              stats: SendStats, validate: _Validator) -> None:
    """One sender's due messages, reminders first, re-reading the queue as it goes: a paced
    run of 1,000 letters takes half an hour at Exchange's 30/min, and a reminder queued
    meanwhile must not wait behind them."""
    per_minute, per_day = _limits(org_cfg)
    # A bucket of one, refilled every 60/per_minute s: never more than per_minute in any
    # minute, whatever window the provider counts in (a full bucket would allow twice that).
    limiter = RateLimiter(1, 60.0 / per_minute, clock=monotonic, sleep=sleep)
    with store.session() as s:
        sent_today, oldest = sent_in_window(s, org_id, current())
    tried: set[int] = set()
    while True:
        with store.session() as s:
            batch = [i for i in due_ids(s, current(), org_id, limit=len(tried) + 20) if i not in tried]
        if not batch:
            return
        for message_id in batch[:20]:
            tried.add(message_id)
            if sent_today >= per_day:
                until = (oldest or current()) + timedelta(days=1)
                stats.parked += park_rest(store, org_id, until, f"daily limit {per_day} reached", current())
                log.warning("daily sending limit reached", extra={"org": org_cfg.key, "limit": per_day})
                return
            limiter.acquire()
            at = current()
            try:
                outcome = send_one(store, mailer, message_id, at, stats, validate)
            except SenderPaused as pause:
                stats.parked += park_rest(store, org_id, pause.until, pause.reason[:200], at)
                level = logging.WARNING if pause.until - at > timedelta(minutes=5) else logging.INFO
                log.log(level, "sender paused", extra={"org": org_cfg.key, "until": pause.until.isoformat()})
                return
            except NeedsReauth as err:
                log.error("sender refused", extra={"org": org_cfg.key, "error": str(err)[:200]})
                stats.refused += 1
                return
            if outcome == "sent":
                sent_today += 1
                oldest = oldest or at


def counts_by_status(store: Store) -> dict[str, int]:
    from sqlalchemy import func

    with store.session() as s:
        rows = s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status.value if hasattr(status, "value") else status): int(n) for status, n in rows}

