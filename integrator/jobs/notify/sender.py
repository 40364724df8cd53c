"""Sending the outbox: each organisation's mailer (Gmail or Graph), paced to its limits; a queued
message is checked again just before it goes (a cancelled meeting, a client who left).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config import OrganisationConfig, Settings
from integrator.domain.types import MessageKind, OutboxStatus, WorkDayStatus
from integrator.jobs.locks import JobAlreadyRunning, Lease, LeaseLost, job_lock
from integrator.jobs.meetings.plan import load_groups, organisation_id, participants, takes_part
from integrator.jobs.notify.outbox import (
    Mailer,
    SenderPaused,
    SendStats,
    due_ids,
    park_rest,
    recover_in_flight,
    send_one,
    sent_in_window,
)
from integrator.jobs.notify.pacing import MailboxPace, PacedStop, Yielding, recent_sends
from integrator.jobs.notify.send_runs import SendRun, Trigger, by_organisation
from integrator.providers.errors import NeedsReauth
from integrator.providers.limits import MAIL_SENDING_LIMITS
from integrator.store.db import Store
from integrator.store.models import (
    Organisation,
    OutboxMessage,
    PeerGroup,
    WorkDay,
)
from integrator.store.types import utcnow

log = logging.getLogger(__name__)

SEND_LOCK = "notify:send"


class GmailMailer:
    """Sends through Gmail. The vendor SDKs are imported when a mailer is built, never at module
    import: an organisation on Gmail never loads msgraph (over a second), nor one on Graph Google's."""

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
    """Sends through Graph sendMail (SDK imported on use, as in GmailMailer)."""

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
    """Send-time checks, cached per organisation's run: is the meeting still on, is the client still in?"""

    def __init__(self, store: Store, now: Callable[[], datetime], org_id: int) -> None:
        self.store = store
        self.now = now
        self.org_id = org_id
        self._groups: dict[int, PeerGroup] = {}
        self._weeks: dict[str, set[int]] = {}

    def _letter_clients(self, s: Session, week: str) -> set[int]:
        if week not in self._weeks:
            ids: set[int] = set()
            for wd in s.scalars(select(WorkDay).join(PeerGroup).where(
                    WorkDay.iso_week == week, PeerGroup.organisation_id == self.org_id)):
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


def sending_limits(org_cfg: OrganisationConfig) -> tuple[int, int]:
    """(per minute, per day) of the organisation's sending mailbox: its config or the vendor's."""
    per_minute, per_day = MAIL_SENDING_LIMITS[org_cfg.mail.via]
    return org_cfg.mail.per_minute or per_minute, org_cfg.mail.per_day or per_day


@dataclass(frozen=True)
class _Pacing:
    """How a run waits for its mailboxes: sleeping on its clock, or (`yielding`) stopping."""

    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    yielding: Yielding | None
    carried: Mapping[str, Sequence[float]]


def send_lock(org_key: str) -> str:
    """The lock of one organisation's sender: organisations send at once, each from its own mailbox
    and within its own limits; two processes never send for the same organisation."""
    return f"{SEND_LOCK}:{org_key}"


def send_outbox(store: Store, settings: Settings, now: datetime | None = None, *,
                clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep,
                monotonic: Callable[[], float] = time.monotonic,
                mailers: dict[str, Mailer] | None = None, trigger: Trigger | None = None,
                org_keys: Iterable[str] | None = None, parallel: int | None = None,
                yielding: Yielding | None = None,
                carried: Mapping[str, Sequence[float]] | None = None) -> dict[str, int]:
    """Send every due message, paced per sender; returns counts (sent, parked, uncertain...).

    `now` fixes the run's notion of time (tests, the sandbox); `clock` lets it move (a long,
    paced run); default: the wall clock. Every organisation with something to send (or a
    message recovered as uncertain) gets its JobRun, whoever started the run (`trigger`): the
    CLI, `notify run` or the scheduler.

    Each organisation sends under its own lock (`send_lock`), in up to `parallel` threads
    (default `settings.schedule.send_threads`): Thursday's letters of 300 organisations take as
    long as the largest one's mailbox allows, not the sum. An organisation whose sender is busy
    in another process is skipped (counted as `busy`): that sender sends its queue; one whose lease
    was taken over mid-run stops before its next message (`lease_lost`).

    Each mailbox is paced to its per-minute limit (integrator.jobs.notify.pacing). With
    `yielding`, a sender that would wait longer than `yielding.max_wait_s` stops instead and is
    listed in `yielding.stopped` (counted as `paced`): a worker's job frees its slot and defers
    its continuation, which passes the mailbox's log back as `carried` (ages by organisation).
    """
    current: Callable[[], datetime] = clock or ((lambda: now) if now is not None else utcnow)  # type: ignore[assignment,return-value]
    wanted = set(org_keys) if org_keys is not None else None
    orgs = [o for o in settings.organisations if wanted is None or o.key in wanted]
    totals: Counter[str] = Counter({k: 0 for k in (*SendStats().as_dict(), "requests", "busy",
                                                   "lease_lost", "recovered_uncertain", "paced")})
    pacing = _Pacing(sleep, monotonic, yielding, carried or {})
    if wanted is None:
        totals["recovered_uncertain"] += len(_recover_unconfigured(store, settings))

    def one(org_cfg: OrganisationConfig) -> dict[str, int]:
        try:
            with job_lock(store, send_lock(org_cfg.key)) as lease:
                return _send_locked(store, org_cfg, trigger or Trigger(), mailers, current, pacing, lease)
        except LeaseLost:
            # Another sender took this organisation over (our lease lapsed): it sends the rest, and
            # this run stopped before claiming another message. The other organisations go on.
            log.warning("sender lost its lease", extra={"org": org_cfg.key})
            return {"lease_lost": 1}
        except JobAlreadyRunning:
            return {"busy": 1}

    threads = max(1, min(parallel or settings.schedule.send_threads, len(orgs)))
    if threads == 1:
        for org_cfg in orgs:
            totals.update(one(org_cfg))
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sender") as pool:
            for counts in pool.map(one, orgs):  # re-raises the first organisation's crash, as before
                totals.update(counts)
    out = dict(totals)
    log.info("outbox sent", extra=out)
    return out


def _recover_unconfigured(store: Store, settings: Settings) -> list[str]:
    """Messages left SENDING by an organisation no longer in the config: no sender of theirs can be
    running now (none is started for them), so they are uncertain."""
    with store.session() as s:
        configured = set(s.scalars(select(Organisation.id).where(
            Organisation.key.in_([o.key for o in settings.organisations]))))
        others = set(s.scalars(select(OutboxMessage.organisation_id).where(
            OutboxMessage.status == OutboxStatus.SENDING).distinct())) - configured
    return [key for org_id in sorted(others) for key in recover_in_flight(store, org_id)]


def _send_locked(store: Store, org_cfg: OrganisationConfig, trigger: Trigger, mailers: dict[str, Mailer] | None,
                 current: Callable[[], datetime], pacing: _Pacing, lease: Lease) -> dict[str, int]:
    """One organisation's sending, under its lock: what a run of theirs left SENDING is uncertain
    (no live sender of theirs owns it now), then the due messages."""
    with store.session() as s:
        try:
            org_id = organisation_id(s, org_cfg.key)
        except LookupError:
            return {}
    back = by_organisation(store, recover_in_flight(store, org_id)).get(org_id, [])
    with store.session() as s:
        due = len(due_ids(s, current(), org_id))
        carried = pacing.carried.get(org_cfg.key)
        per_minute = sending_limits(org_cfg)[0]
        ages = carried if carried is not None else recent_sends(s, org_id, current(), per_minute)
    if not due and not back:
        return {}
    pace = MailboxPace(per_minute, pacing.monotonic, pacing.sleep, ages)
    if pacing.yielding is not None and not back and (wait := pace.wait_s()) > pacing.yielding.max_wait_s:
        # The mailbox sent its minute's share (e.g. a reminders run between two bursts of the
        # letters): no run to record; the continuation sends.
        pacing.yielding.stopped.append(PacedStop(org_cfg.key, wait, pace.ages()))
        return {"paced": 1}
    counts = _run_org(store, org_cfg, org_id, due, back, trigger, mailers, current, pacing, pace,
                      _Validator(store, current, org_id), lease)
    return {**counts, "recovered_uncertain": len(back)}


def _run_org(store: Store, org_cfg: OrganisationConfig, org_id: int, due: int, recovered: list[int],
             trigger: Trigger, mailers: dict[str, Mailer] | None, current: Callable[[], datetime],
             pacing: _Pacing, pace: MailboxPace, validate: _Validator, lease: Lease) -> dict[str, int]:
    """One organisation's sending, recorded as its JobRun."""
    stats = SendStats(recovered_uncertain=len(recovered))
    run = SendRun.start(store, org_id, trigger, due=due, recovered=len(recovered))
    tried: set[int] = set()
    requests = 0
    stop: PacedStop | None = None
    try:
        if due:
            own = mailers is None or org_cfg.key not in mailers
            mailer: Any = build_mailer(org_cfg) if own else mailers[org_cfg.key]  # type: ignore[index]
            try:
                stop = _send_org(store, org_cfg, org_id, mailer, current, pacing, pace, stats, validate, tried,
                                 lambda: run.progress(len(recovered) + len(tried)), lease)
            finally:
                if own:
                    requests = int(getattr(mailer, "requests", lambda: 0)())
                    mailer.close()
    except Exception as err:
        # Recorded on the organisation's run (a missing mail_sender, a crash), then raised as before.
        run.finish(stats, [*recovered, *tried], today=current().date(), requests=requests, crash=err)
        raise
    run.finish(stats, [*recovered, *tried], today=current().date(), requests=requests)
    if stop is not None and pacing.yielding is not None:
        pacing.yielding.stopped.append(stop)
    return {**stats.as_dict(), "requests": requests, "paced": int(stop is not None)}


def _send_org(store: Store, org_cfg: OrganisationConfig, org_id: int, mailer: Mailer,
              current: Callable[[], datetime], pacing: _Pacing, pace: MailboxPace, stats: SendStats,
              validate: _Validator, tried: set[int], progress: Callable[[], None],
              lease: Lease) -> PacedStop | None:
    """One sender's due messages, reminders first, re-reading the queue as it goes: a paced
    run of 1,000 letters takes half an hour at Exchange's 30/min, and a reminder queued
    meanwhile must not wait behind them.

    The send lock's lease is checked before each message is claimed (after the pacing wait):
    a sender whose lease was taken over stops there (LeaseLost), so two senders never work
    the queue at once and a message is never claimed by a run that no longer holds the lock.

    A yielding run stops (returns a PacedStop) where it would wait longer than its limit."""
    per_day = sending_limits(org_cfg)[1]
    with store.session() as s:
        sent_today, oldest = sent_in_window(s, org_id, current())
    while True:
        with store.session() as s:
            batch = [i for i in due_ids(s, current(), org_id, limit=len(tried) + 20) if i not in tried]
        if not batch:
            return None
        progress()
        for message_id in batch[:20]:
            lease.check()
            if sent_today >= per_day:
                until = (oldest or current()) + timedelta(days=1)
                stats.parked += park_rest(store, org_id, until, f"daily limit {per_day} reached", current())
                log.warning("daily sending limit reached", extra={"org": org_cfg.key, "limit": per_day})
                return None
            wait = pace.wait_s()
            if pacing.yielding is not None and wait > pacing.yielding.max_wait_s:
                return PacedStop(org_cfg.key, wait, pace.ages())  # this message is for the continuation
            tried.add(message_id)
            pace.acquire()
            lease.check()  # the pacing wait may have been long
            at = current()
            try:
                outcome = send_one(store, mailer, message_id, at, stats, validate)
            except SenderPaused as pause:
                stats.parked += park_rest(store, org_id, pause.until, pause.reason[:200], at)
                level = logging.WARNING if pause.until - at > timedelta(minutes=5) else logging.INFO
                log.log(level, "sender paused", extra={"org": org_cfg.key, "until": pause.until.isoformat()})
                return None
            except NeedsReauth as err:
                log.error("sender refused", extra={"org": org_cfg.key, "error": str(err)[:200]})
                stats.refused += 1
                return None
            if outcome not in ("cancelled", "skipped"):
                pace.record()  # it reached the provider (as late as we know: a safe side of the log)
            if outcome == "sent":
                sent_today += 1
                oldest = oldest or at


def counts_by_status(store: Store) -> dict[str, int]:
    from sqlalchemy import func

    with store.session() as s:
        rows = s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status.value if hasattr(status, "value") else status): int(n) for status, n in rows}


