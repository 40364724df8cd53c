"""Send runs: every sending run records one JobRun (kind "notify_send") per organisation.

A message that may or may not have been delivered (UNCERTAIN: a provider 5xx, a timeout after
the request left, a run that died mid-send) is never resent automatically: someone must look
at the sender's Sent Items, then requeue or cancel it. Those people are the coordinators of the
client's group and the organisation's admins, so each such message becomes an error item of
kind "uncertain" on its organisation's run, naming the message key (client codes and ids,
never an address), the group and the client code. The web shows an item that names its owner
to that group's coordinator only (integrator.web.access.RunScope). A FAILED message (refused by
the provider, or out of attempts) is listed the same way, as kind "fatal".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.domain.types import JobStatus, MessageKind, OutboxStatus
from integrator.jobs.notify.outbox import SendStats
from integrator.jobs.runs import RunRecorder
from integrator.store.db import Store
from integrator.store.models import Client, Membership, OutboxMessage, PeerGroup, WorkDay

KIND = "notify_send"
REFUSED = "the sender's credentials were refused; nothing more was sent for this organisation"


@dataclass(frozen=True)
class Trigger:
    """Who started the sending: `trigger` names the command or scheduled job ("send", "run",
    "reminders", "weekly_letters"), `triggered_by` is "cli" or "scheduler"."""

    trigger: str = "send"
    triggered_by: str = "cli"


def by_organisation(store: Store, keys: Iterable[str]) -> dict[int, list[int]]:
    """Message ids of the given keys, per organisation id (the recovered in-flight messages)."""
    wanted = list(keys)
    out: dict[int, list[int]] = defaultdict(list)
    if wanted:
        with store.session() as s:
            for org_id, message_id in s.execute(select(OutboxMessage.organisation_id, OutboxMessage.id)
                                                .where(OutboxMessage.key.in_(wanted))):
                out[org_id].append(message_id)
    return dict(out)


def _group_key(s: Session, msg: OutboxMessage, today: date) -> str | None:
    """The group whose coordinator answers for the message: a reminder's work day's group,
    otherwise the client's membership on `today` (else the latest one, e.g. a letter about the
    week a new client starts). A client in two groups at once (rare) is shown under one."""
    if msg.kind == MessageKind.REMINDER and msg.work_day_id is not None:
        wd = s.get(WorkDay, msg.work_day_id)
        if wd is not None:
            return s.scalar(select(PeerGroup.key).where(PeerGroup.id == wd.group_id))
    if msg.client_id is None:
        return None
    rows = s.execute(select(Membership, PeerGroup.key).join(PeerGroup, Membership.group_id == PeerGroup.id)
                     .where(Membership.client_id == msg.client_id)).all()
    if not rows:
        return None

    def rank(row: Any) -> tuple[bool, date, str]:
        m = row[0]
        current = m.start_date <= today and (m.end_date is None or m.end_date >= today)
        return current, m.start_date, row[1]

    return str(max(rows, key=rank)[1])


@dataclass
class SendRun:
    """One organisation's part of a sending run."""

    store: Store
    recorder: RunRecorder
    total: int

    @classmethod
    def start(cls, store: Store, org_id: int, trigger: Trigger, *, due: int, recovered: int) -> SendRun:
        recorder = RunRecorder.start(store, KIND, organisation_id=org_id, params={"trigger": trigger.trigger},
                                     triggered_by=trigger.triggered_by)
        run = cls(store, recorder, due + recovered)
        recorder.progress(0, run.total)
        return run

    def progress(self, done: int) -> None:
        self.total = max(self.total, done)
        self.recorder.progress(done, self.total)

    def finish(self, stats: SendStats, message_ids: Iterable[int], *, today: date, requests: int = 0,
               crash: BaseException | None = None) -> JobStatus:
        """Counts, then one item per message left for a person to decide on, then the status."""
        ids = sorted(set(message_ids))
        self.recorder.counts = {**stats.as_dict(), "requests": requests}
        with self.store.session() as s:
            left = s.scalars(select(OutboxMessage).where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status.in_((OutboxStatus.UNCERTAIN, OutboxStatus.FAILED)))
                .order_by(OutboxMessage.id)).all() if ids else []
            for msg in left:
                code = s.scalar(select(Client.code).where(Client.id == msg.client_id)) if msg.client_id else None
                kind = "uncertain" if msg.status == OutboxStatus.UNCERTAIN else "fatal"
                self.recorder.error(msg.key, msg.last_error or msg.status.value, kind=kind,
                                    group=_group_key(s, msg, today), client=code)
        if stats.refused:
            self.recorder.error("credentials", REFUSED, kind="needs_reauth")
        if crash is not None:
            kind = "config" if isinstance(crash, LookupError) else "crash"
            self.recorder.error("run", f"{type(crash).__name__}: {crash}"[:300], kind=kind)
        self.recorder.progress(len(ids), max(self.total, len(ids)), flush=False)
        return self.recorder.finish(JobStatus.FAILED if crash is not None else None)
