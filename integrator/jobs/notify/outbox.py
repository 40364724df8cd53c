"""The outbox: every email we send is first a row with one unique key, then a claim, then a send.

Life of a message::

    queued ──claim──> sending ──provider accepted──> sent
     │ ^                 │ 429 / connect error (provider did not take it) ──> queued (not_before),
     │ │                 │       and a 429 pauses the whole sender: the rest ─> parked (not_before)
     │ │                 │ daily limit / Retry-After > 5 min ───────────────> parked (not_before)
     │ │                 │ 5xx / timeout after the request left ────────────> uncertain
     │ │                 │ 4xx ─────────────────────────────────────────────> failed
     │ └── requeue ── uncertain / failed / cancelled (a coordinator's decision: `notify requeue`)
     └──(at claim) meeting cancelled, client left, meeting started ─────────> cancelled

The window. Gmail `messages.send` and Graph `sendMail` have no idempotency key. Between the
provider accepting a message and our commit of "sent" (milliseconds) a crash leaves the row in
SENDING. At the start of every send run (under the job lock, so no other sender is alive) such
rows become UNCERTAIN: we do NOT resend them automatically, because a second letter or reminder
is worse for a client than a coordinator's look at the Sent Items (`notify outbox --status
uncertain`, then `notify requeue KEY` or `notify cancel KEY`). A provider 5xx or a timeout after
the request left is treated the same way. Everything else is exactly once: the unique key stops
a re-run from queuing a message twice, and a claimed message is never claimed again. (A crash
between the claim's commit and the request leaving also ends UNCERTAIN: never sent twice, at
the price of a coordinator's look.) Gmail messages carry a Message-ID derived from the key, so
even a duplicate a coordinator requeues by mistake threads as one message.

Order and pacing. Reminders go before letters. Each organisation sends from one mailbox; a
sliding log (integrator.jobs.notify.pacing) keeps to the per-minute limit (Gmail 6,000 units = 60
messages, Exchange 30) in any minute, sending a minute's share at once, and a rolling 24-hour
count to the daily limit (Gmail 2,000; Exchange 10,000
recipients). Over the daily limit the rest are parked with `not_before` and resumed by a later run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from integrator.domain.types import MessageKind, OutboxStatus
from integrator.observability.redaction import redact
from integrator.providers.errors import DeliveryUncertain, NeedsReauth, Parked, ProviderError, Retriable
from integrator.store.db import Store
from integrator.store.models import AuditEvent, OutboxMessage

log = logging.getLogger(__name__)

DUE = (OutboxStatus.QUEUED, OutboxStatus.PARKED)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class NewMessage:
    key: str
    kind: MessageKind
    organisation_id: int
    to_address: str
    subject: str
    body_text: str
    body_html: str | None
    client_id: int | None = None
    work_day_id: int | None = None
    staff_user_id: int | None = None
    not_before: datetime | None = None
    meta: dict[str, Any] | None = None  # what the message is about (e.g. an alert's days); no identifying data


def enqueue(s: Session, messages: Iterable[NewMessage]) -> int:
    """Insert the messages whose key is new; returns how many were new.

    INSERT .. ON CONFLICT DO NOTHING: two runs racing on one key both succeed, one row results.
    """
    rows = [
        {"key": m.key, "kind": m.kind, "organisation_id": m.organisation_id, "to_address": m.to_address,
         "subject": m.subject, "body_text": m.body_text, "body_html": m.body_html, "client_id": m.client_id,
         "work_day_id": m.work_day_id, "staff_user_id": m.staff_user_id, "not_before": m.not_before,
         "meta": m.meta, "status": OutboxStatus.QUEUED, "attempts": 0}
        for m in messages
    ]
    if not rows:
        return 0
    keys = [r["key"] for r in rows]
    before = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.key.in_(keys))) or 0
    dialect = s.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), 500):
        s.execute(insert(OutboxMessage).on_conflict_do_nothing(index_elements=["key"]), rows[start:start + 500])
    after = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.key.in_(keys))) or 0
    return int(after - before)


def recover_in_flight(store: Store, organisation_id: int) -> list[str]:
    """Rows of the organisation left in SENDING by a run that died: maybe sent. Mark them
    UNCERTAIN; return their keys.

    Call only while holding the organisation's send lock: then no live sender owns a SENDING row
    of theirs (another organisation's sender may be mid-send in another process: its rows stay).
    """
    mine = (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.organisation_id == organisation_id)
    with store.session() as s:
        keys = list(s.scalars(select(OutboxMessage.key).where(mine)))
        if keys:
            s.execute(update(OutboxMessage).where(mine).values(
                status=OutboxStatus.UNCERTAIN,
                last_error="uncertain: the sending run stopped between claim and commit; check the "
                           "sender's Sent Items, then requeue or cancel"))
    for key in keys:
        log.warning("outbox message maybe sent", extra={"key": key})
    return keys


def due_ids(s: Session, now: datetime, organisation_id: int | None = None, limit: int | None = None) -> list[int]:
    """Due messages, most urgent first: reminders (a meeting is about to start), then the rest
    in queue order."""
    urgency = case((OutboxMessage.kind == MessageKind.REMINDER, 0), else_=1)
    q = select(OutboxMessage.id).where(
        OutboxMessage.status.in_(DUE),
        (OutboxMessage.not_before.is_(None)) | (OutboxMessage.not_before <= now),
    ).order_by(urgency, OutboxMessage.id)
    if organisation_id is not None:
        q = q.where(OutboxMessage.organisation_id == organisation_id)
    if limit is not None:
        q = q.limit(limit)
    return list(s.scalars(q))


Validate = Callable[[Session, OutboxMessage], "str | None"]


def claim(store: Store, message_id: int, now: datetime,
          validate: Validate | None = None) -> tuple[OutboxMessage | None, str | None]:
    """Check and move one due message to SENDING, in one committed transaction.

    Returns (message, None) when claimed, (None, reason) when `validate` cancelled it, and
    (None, None) when someone else took it or it is not due.
    """
    with store.session() as s:
        msg = s.get(OutboxMessage, message_id)
        if msg is None or msg.status not in DUE or (msg.not_before is not None and msg.not_before > now):
            return None, None
        why = validate(s, msg) if validate is not None else None
        values: dict[str, Any] = (
            {"status": OutboxStatus.CANCELLED, "last_error": why} if why
            else {"status": OutboxStatus.SENDING, "attempts": OutboxMessage.attempts + 1})
        result = s.execute(update(OutboxMessage).where(
            OutboxMessage.id == message_id, OutboxMessage.status.in_(DUE)).values(**values)
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0) != 1:
            return None, None
        if why:
            return None, why
        s.refresh(msg)
        return msg, None


def finish(store: Store, message_id: int, status: OutboxStatus, *, now: datetime, error: str | None = None,
           not_before: datetime | None = None, provider_message_id: str | None = None) -> None:
    with store.session() as s:
        msg = s.get(OutboxMessage, message_id)
        assert msg is not None
        msg.status = status
        # Vendor error texts may quote a recipient: what we store and print carries no address.
        msg.last_error = redact(error)[:500] if error else None
        msg.not_before = not_before
        if status == OutboxStatus.SENT:
            msg.sent_at = now
            msg.provider_message_id = provider_message_id


def sent_in_window(s: Session, organisation_id: int, now: datetime) -> tuple[int, datetime | None]:
    """(messages sent in the last 24 hours, the oldest of them) for the daily limit."""
    since = now - timedelta(days=1)
    row = s.execute(select(func.count(), func.min(OutboxMessage.sent_at)).where(
        OutboxMessage.organisation_id == organisation_id, OutboxMessage.status == OutboxStatus.SENT,
        OutboxMessage.sent_at > since)).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC
        oldest = oldest.replace(tzinfo=UTC)
    return int(row[0]), oldest


def park_rest(store: Store, organisation_id: int, until: datetime, reason: str, now: datetime) -> int:
    """Park every due message of the organisation until `until` (over the daily limit)."""
    with store.session() as s:
        result = s.execute(update(OutboxMessage).where(
            OutboxMessage.organisation_id == organisation_id, OutboxMessage.status.in_(DUE),
            (OutboxMessage.not_before.is_(None)) | (OutboxMessage.not_before <= now),
        ).values(status=OutboxStatus.PARKED, not_before=until, last_error=reason))
        return int(getattr(result, "rowcount", 0) or 0)


#: What a coordinator may send (again): `notify requeue` checks this before it asks.
REQUEUABLE = (OutboxStatus.UNCERTAIN, OutboxStatus.FAILED, OutboxStatus.CANCELLED)


def requeue(store: Store, key: str, *, actor: str = "system:cli", reason: str | None = None) -> bool:
    """A coordinator's decision: send an UNCERTAIN, FAILED or CANCELLED message (again); audited."""
    with store.session() as s:
        msg = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        if msg is None or msg.status not in REQUEUABLE:
            return False
        before = msg.status
        result = s.execute(update(OutboxMessage).where(
            OutboxMessage.id == msg.id, OutboxMessage.status.in_(REQUEUABLE),
        ).values(status=OutboxStatus.QUEUED, not_before=None, last_error=None)
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0) != 1:
            return False
        _audit(s, msg, actor, "outbox.requeue", before, OutboxStatus.QUEUED, reason)
        return True


def _audit(s: Session, msg: OutboxMessage, actor: str, action: str, before: OutboxStatus,
           after: OutboxStatus, reason: str | None) -> None:
    # The key names the message by client code or id and day; never an address.
    s.add(AuditEvent(organisation_id=msg.organisation_id, actor=actor, action=action, entity="outbox_message",
                     entity_id=str(msg.id), details={"key": msg.key, "from": before.value, "to": after.value,
                                                     "reason": reason}))


#: What may still be called off: not sent yet, or maybe sent (then only a coordinator's look
#: or a job that knows the message no longer holds cancels it, so that nobody requeues it).
CANCELLABLE = (*DUE, OutboxStatus.UNCERTAIN)


def cancel_message(s: Session, message_id: int, reason: str,
                   statuses: tuple[OutboxStatus, ...] = CANCELLABLE) -> bool:
    """Cancel one message in the caller's transaction, only from one of `statuses`: a message
    a sender has claimed meanwhile (SENDING) or sent is left as it is, and False is returned."""
    result = s.execute(update(OutboxMessage).where(
        OutboxMessage.id == message_id, OutboxMessage.status.in_(statuses),
    ).values(status=OutboxStatus.CANCELLED, last_error=reason[:500]).execution_options(synchronize_session=False))
    return getattr(result, "rowcount", 0) == 1


def cancel_key(store: Store, key: str, reason: str, *, actor: str = "system:cli") -> bool:
    """A person's decision not to send a message; audited (a job's cancel is `cancel_message`)."""
    with store.session() as s:
        msg = s.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
        if msg is None:
            return False
        before = msg.status
        if not cancel_message(s, msg.id, reason):
            return False
        _audit(s, msg, actor, "outbox.cancel", before, OutboxStatus.CANCELLED, reason)
        return True


# ---- sending -------------------------------------------------------------------------------


class Mailer(Protocol):
    """One sender mailbox. Raises Retriable (not taken), Parked (daily limit), DeliveryUncertain,
    NeedsReauth or Fatal; returns the provider's message id when it gives one."""

    def send(self, msg: OutboxMessage) -> str | None: ...


@dataclass
class SendStats:
    sent: int = 0
    requeued: int = 0
    parked: int = 0
    failed: int = 0
    uncertain: int = 0
    cancelled: int = 0
    recovered_uncertain: int = 0
    refused: int = 0  # the sender's credentials were refused: nothing more sent for that organisation

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.__dict__.items()}


class SenderPaused(Exception):  # noqa: N818 - a state, not a failure
    """The sender may not send again before `until` (daily limit, or a long Retry-After)."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


#: A Retry-After longer than this is a sender-wide pause (e.g. Gmail's daily limit answers 429
#: "Retry after <tomorrow>"), not one message's bad luck: the rest are parked too.
PAUSE_AFTER = timedelta(minutes=5)
#: Statuses that throttle the whole sending mailbox (Exchange 429; Gmail 429 and 403 rate limits).
SENDER_THROTTLED = frozenset({429, 403})


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def send_one(store: Store, mailer: Mailer, message_id: int, now: datetime, stats: SendStats,
             validate: Validate | None = None) -> str:
    """Claim, (re)validate, send and record one message. Returns the outcome's name.

    `validate(session, message)` returns a reason to cancel (e.g. "work day cancelled") or None.
    Raises SenderPaused / NeedsReauth for the caller to stop this sender.
    """
    msg, why = claim(store, message_id, now, validate)
    if why is not None:
        stats.cancelled += 1
        return "cancelled"
    if msg is None:
        return "skipped"
    try:
        provider_id = mailer.send(msg)
    except Parked as err:
        until = now + timedelta(hours=1)
        finish(store, msg.id, OutboxStatus.PARKED, now=now, error=str(err), not_before=until)
        stats.parked += 1
        raise SenderPaused(until, f"provider daily limit: {err}") from err
    except NeedsReauth as err:
        # Not sent: the token was refused before anything was accepted.
        finish(store, msg.id, OutboxStatus.QUEUED, now=now, error=str(err))
        raise
    except Retriable as err:
        if msg.attempts >= MAX_ATTEMPTS:
            finish(store, msg.id, OutboxStatus.FAILED, now=now, error=f"gave up after {msg.attempts}: {err}")
            stats.failed += 1
            return "failed"
        wait = timedelta(seconds=err.retry_after) if err.retry_after is not None else backoff(msg.attempts)
        if wait > PAUSE_AFTER:
            finish(store, msg.id, OutboxStatus.PARKED, now=now, error=str(err), not_before=now + wait)
            stats.parked += 1
            raise SenderPaused(now + wait, f"provider asked to wait {int(wait.total_seconds())} s") from err
        finish(store, msg.id, OutboxStatus.QUEUED, now=now, error=str(err), not_before=now + wait)
        stats.requeued += 1
        if err.status in SENDER_THROTTLED:
            # The limit is the mailbox's, not this message's: trying the next one now only
            # burns requests (and, at Exchange, lengthens the penalty).
            raise SenderPaused(now + wait, f"sender throttled for {int(wait.total_seconds())} s") from err
        return "requeued"
    except DeliveryUncertain as err:
        finish(store, msg.id, OutboxStatus.UNCERTAIN, now=now, error=f"uncertain: {err}")
        stats.uncertain += 1
        log.warning("outbox message maybe sent", extra={"key": msg.key, "status": err.status})
        return "uncertain"
    except ProviderError as err:
        finish(store, msg.id, OutboxStatus.FAILED, now=now, error=str(err))
        stats.failed += 1
        return "failed"
    finish(store, msg.id, OutboxStatus.SENT, now=now, provider_message_id=provider_id)
    stats.sent += 1
    return "sent"
