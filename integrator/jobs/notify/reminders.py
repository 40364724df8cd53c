"""Meeting reminders, queued at the configured offsets before each meeting.

Key (one message each, forever): reminder:<org>:<client code>:<work day id>:<minutes before>

Reminders are checked again at send time (see sender): a reminder for a meeting that was
cancelled, or for a client who has left the group, after it was queued is cancelled instead of sent.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select

from integrator.config import Settings
from integrator.domain.types import MessageKind, WorkDayStatus
from integrator.jobs.meetings.plan import load_groups, meeting_key, organisation_id, participants
from integrator.jobs.notify.letters import PROVIDER_NAMES, coordinator_view, join_urls
from integrator.jobs.notify.outbox import (
    NewMessage,
    enqueue,
)
from integrator.jobs.rendering import fi_time, render_pair
from integrator.store.db import Store
from integrator.store.models import (
    PeerGroup,
    WorkDay,
)

log = logging.getLogger(__name__)


def reminder_subject(wd: WorkDay, tz: str) -> str:
    return f"Muistutus: ryhmätapaaminen klo {fi_time(wd.meeting_start, tz)}"


def _due_offset(offsets: list[int], start: datetime, now: datetime) -> int | None:
    """The reminder due now: the smallest offset whose moment has passed (a late run sends one
    reminder, not a burst of all the missed ones)."""
    due = [o for o in offsets if start - timedelta(minutes=o) <= now < start]
    return min(due) if due else None


def queue_due_reminders(store: Store, settings: Settings, now: datetime,
                        org_keys: Collection[str] | None = None) -> dict[str, int]:
    """Queue the reminders due at `now` for every organisation (or those in `org_keys`: a
    worker's task for one organisation). Idempotent by key."""
    offsets = settings.schedule.reminder_offsets_minutes
    counts = {"queued": 0, "already": 0, "no_link": 0, "no_email": 0}
    if not offsets:
        return counts
    horizon = now + timedelta(minutes=max(offsets))
    for org_cfg in settings.organisations:
        if org_keys is not None and org_cfg.key not in org_keys:
            continue
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
            links = join_urls(s, org_id, [meeting_key(groups[wd.group_id].key, wd.day) for wd, _ in due])
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
                        coordinator=coordinator_view(group.coordinator))
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
