"""Weekly letters: next week's days, tasks and meeting links, queued in the outbox the week before.
A week without work days (a holiday or a closure day on each of the client's days) gets a short
letter saying so, under the same key: the client is never left waiting for a programme.

Key (one message each, forever): letter:<org>:<client code>:<ISO week>
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from integrator.config import Settings
from integrator.config.models import OrganisationConfig
from integrator.domain.calendar import ORGANISATION_CLOSED, work_days_for_week
from integrator.domain.types import MeetingProvider, MessageKind, VariantKind, WorkDayStatus
from integrator.domain.weeks import iso_week_of, parse_iso_week
from integrator.jobs.meetings.plan import load_groups, meeting_key, organisation_id, participants
from integrator.jobs.notify.outbox import (
    NewMessage,
    enqueue,
)
from integrator.jobs.notify.surveys import privacy_note
from integrator.jobs.rendering import render_pair
from integrator.jobs.surveys import forms as survey_forms
from integrator.jobs.surveys import rounds as survey_rounds
from integrator.jobs.surveys.forms import GoogleFactory
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


def drive_link(file_id: str) -> str:
    return f"https://drive.google.com/file/d/{file_id}/view"


def folder_link(folder_id: str) -> str:
    return f"https://drive.google.com/drive/folders/{folder_id}"


def _return_folders(s: Session, org_id: int, org_cfg: OrganisationConfig) -> dict[str, str]:
    """Client code -> link to the client's own task folder (weekly setup's "folder:<code>"),
    where work can also be returned as a file.

    The folders of an organisation on Microsoft 365 alone (SharePoint, `jobs.weekly.sharepoint`:
    kind "sp_folder") record their own address (`state["web_url"]`, as Graph's driveItem gives it)
    and are linked by it; a row without one is a Drive folder, linked only where the organisation has
    Google (a letter never carries a Google link its organisation does not have)."""
    rows = s.scalars(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind.in_(("folder", "sp_folder")),
        ExternalResource.status == "active", ExternalResource.local_key.like("folder:%")))
    out: dict[str, str] = {}
    for r in rows:
        web_url = (r.state or {}).get("web_url")
        if web_url:
            out[r.local_key.split(":", 1)[1]] = str(web_url)
        elif r.external_id and org_cfg.google is not None:
            out[r.local_key.split(":", 1)[1]] = folder_link(r.external_id)
    return out


def _task_documents(s: Session, org_id: int) -> dict[str, tuple[str, str]]:
    """"<code>:<day>:t<position>" -> (name, address) of each client's task document in their own
    SharePoint folder (weekly setup's "sp_document", `jobs.weekly.sharepoint`), as Graph's driveItem
    gave its `webUrl`. Only an organisation on Microsoft 365 alone with task folders has them."""
    rows = s.scalars(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == "sp_document",
        ExternalResource.status == "active", ExternalResource.local_key.like("document:%")))
    return {r.local_key.split(":", 1)[1]: (str(r.state.get("name") or ""), str(r.state["web_url"]))
            for r in rows if (r.state or {}).get("web_url")}


def _own_folder_entry(entry: dict[str, Any], client: Client, task: Task, day: date,
                      documents: dict[str, tuple[str, str]], folder: str | None) -> dict[str, Any]:
    """A task of a client with a SharePoint task folder: its link is the day's date-named
    document there; a document not (yet) made links the folder, never a broken address."""
    found = documents.get(f"{client.code}:{day.isoformat()}:t{task.position}")
    if found is not None:
        return {**entry, "link": found[1], "document": found[0].removesuffix(".txt") or None}
    return {**entry, "link": folder, "document": None}


def coordinator_view(staff: StaffUser | None) -> dict[str, Any]:
    if staff is None:
        return {"name": "ohjaaja", "email": "", "phone": None}
    return {"name": staff.display_name, "email": staff.email, "phone": staff.phone}


def join_urls(s: Session, org_id: int, keys: Iterable[str]) -> dict[str, str]:
    rows = s.scalars(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == "meeting",
        ExternalResource.local_key.in_(list(keys)), ExternalResource.status == "active"))
    return {r.local_key: str(r.state["join_url"]) for r in rows if r.state.get("join_url")}


def _task_entry(task: Task, client: Client, choice: VariantKind | None,
                coursework_links: dict[str, str], drive: bool) -> dict[str, Any]:
    variants = {v.kind: v for v in task.variants}
    wanted = [VariantKind.PLAIN_LANGUAGE] if client.plain_language else []
    if choice is not None:
        wanted.append(choice)
    wanted.append(VariantKind.STANDARD)
    variant = next((variants[k] for k in wanted if k in variants), None)
    kind = variant.kind.value if variant else VariantKind.STANDARD.value
    # The Classroom coursework (where the client returns the work) when weekly setup stored its
    # link; else the task's material in the material bank (a Drive file: only with Google, `drive`).
    link = coursework_links.get(f"wd{task.work_day_id}:t{task.position}:{kind}")
    if link is None and task.material_file_id and drive:
        link = drive_link(task.material_file_id)
    return {"title": variant.title if variant else task.title,
            "instructions": variant.instructions if variant else None, "link": link, "document": None}


def _entry(task: Task, client: Client, choice: VariantKind | None, coursework: dict[str, str], drive: bool,
           day: date, documents: dict[str, tuple[str, str]], folder: str | None, own_folders: bool) -> dict[str, Any]:
    entry = _task_entry(task, client, choice, coursework, drive)
    return _own_folder_entry(entry, client, task, day, documents, folder) if own_folders else entry


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
    skipped: list[dict[str, Any]] = field(default_factory=list)  # a week without work: its days and why


#: A closure day's reason as the letter says it (a holiday is named as such, in Finnish).
CLOSED_FI = "toimipiste on suljettu"


def letter_subject(week: str) -> str:
    return f"Ensi viikon työtoiminta, viikko {parse_iso_week(week)[1]}"


def queue_weekly_letters(store: Store, settings: Settings, org_key: str, week: str,
                         now: datetime | None = None, google: GoogleFactory | None = None) -> dict[str, int]:
    """One letter per client who has work days (or cancelled ones) in `week`, and a short one
    to a client whose days of the week all fall on holidays or closure days. Idempotent.

    A new letter carries the links of the client's survey rounds due in `week` (the start round
    in the period's first week, the end round in its last); `notify.surveys` sends the rest.
    In Google Forms mode the groups' forms are made first (`google`: how to reach the tenant)."""
    org_cfg = settings.organisation(org_key)
    counts = {"queued": 0, "already": 0, "no_email": 0, "without_link": 0}
    prepared = survey_forms.prepare_forms(store, org_cfg, week, now or utcnow(), google)
    with store.session() as s:
        org_id = organisation_id(s, org_key)
        groups = load_groups(s, org_id)
        by_id = {g.id: g for g in groups}
        days = list(s.scalars(select(WorkDay).where(WorkDay.group_id.in_(by_id), WorkDay.iso_week == week)
                              .options(selectinload(WorkDay.tasks).selectinload(Task.variants))
                              .order_by(WorkDay.day, WorkDay.meeting_start)))
        links = join_urls(s, org_id, [meeting_key(by_id[d.group_id].key, d.day) for d in days])
        choices = {c.client_id: c.kind for c in s.scalars(select(ClientVariantChoice))}
        coursework = _coursework_links(s, org_id, week)
        folders = _return_folders(s, org_id, org_cfg)
        own_folders = org_cfg.google is None and org_cfg.microsoft is not None \
            and org_cfg.microsoft.task_folders is not None
        documents = _task_documents(s, org_id) if own_folders else {}
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
                    "tasks": [] if cancelled else [_entry(t, client, choices.get(client.id), coursework,
                                                          org_cfg.google is not None, wd.day, documents,
                                                          folders.get(client.code) if own_folders else None,
                                                          own_folders) for t in wd.tasks],
                })
        idle = _weeks_without_work(groups, week, org_cfg.closure_days, set(drafts))
        all_drafts = sorted([*drafts.values(), *idle.values()], key=lambda d: d.client.code)
        surveys = _survey_links(s, org_key, org_id, org_cfg, groups, week, all_drafts, now)
        messages = []
        for draft in all_drafts:
            if not draft.client.email:
                counts["no_email"] += 1
                continue
            stem = "letter_selko" if draft.client.plain_language else "letter"
            if draft.skipped:  # no work day at all: the short letter says why
                stem = "letter_no_work_selko" if draft.client.plain_language else "letter_no_work"
            text, html = render_pair(org_cfg.templates_dir, stem, week=week, week_number=parse_iso_week(week)[1],
                                     days=draft.days, coordinator=coordinator_view(draft.coordinator),
                                     return_folder=folders.get(draft.client.code), skipped=draft.skipped,
                                     org_name=org_cfg.name, surveys=surveys.get(draft.client.id, []),
                                     survey_privacy=privacy_note(org_cfg.surveys.linked, draft.client.plain_language))
            messages.append(NewMessage(
                key=letter_key(org_key, draft.client.code, week), kind=MessageKind.WEEKLY_LETTER,
                organisation_id=org_id, to_address=draft.client.email, subject=letter_subject(week),
                body_text=text, body_html=html, client_id=draft.client.id))
        new = enqueue(s, messages)
    counts["queued"] = new
    counts["already"] = len(messages) - new
    if prepared["forms_failed"]:
        counts["survey_forms_failed"] = prepared["forms_failed"]
    log.info("weekly letters queued", extra={"org": org_key, "week": week, **counts})
    return counts


def letter_key(org_key: str, code: str, week: str) -> str:
    return f"letter:{org_key}:{code}:{week}"


def _survey_links(s: Session, org_key: str, org_id: int, org_cfg: OrganisationConfig, groups: list[PeerGroup],
                  week: str, drafts: list[_LetterDraft], now: datetime | None) -> dict[int, list[survey_rounds.Link]]:
    """Client id -> the survey links a new letter carries. Issued only for letters not queued
    yet (the token lives only in the message queued with it, in this transaction)."""
    cfg = org_cfg.surveys
    if not cfg.enabled:
        return {}
    wanted = {d.client.id: letter_key(org_key, d.client.code, week) for d in drafts if d.client.email}
    queued = set(s.scalars(select(OutboxMessage.key).where(OutboxMessage.key.in_(list(wanted.values())))))
    new = {cid for cid, key in wanted.items() if key not in queued}
    due = [d for d in survey_rounds.due_rounds(groups, cfg, week) if d.client.id in new]
    return survey_rounds.issue(s, org_id, cfg, due, week, now or utcnow(), forms=survey_rounds.uses_forms(org_cfg))


def _weeks_without_work(groups: list[PeerGroup], week: str, closures: Iterable[date],
                        have_letter: set[int]) -> dict[int, _LetterDraft]:
    """Clients whose every day of `week` falls on a holiday or a closure day: a short letter
    each, so that nobody waits for a week's programme that is not coming.

    Read from the calendar, not from the work day rows: a client one of whose days is a work
    day (even one not set up yet) is not told the week is off.
    """
    closed = list(closures)
    working: set[int] = set(have_letter)
    idle: dict[int, _LetterDraft] = {}
    for group in groups:
        if not group.active:
            continue
        cal = work_days_for_week(week, list(group.weekdays), closures=closed)
        for d in cal.days:
            working.update(c.id for c in participants(group, d))
        for sk in cal.skipped:
            for client in participants(group, sk.day):
                draft = idle.setdefault(client.id, _LetterDraft(client, group.coordinator))
                reason = CLOSED_FI if sk.reason == ORGANISATION_CLOSED else sk.reason
                draft.skipped.append({"date": sk.day, "reason": reason, "group_name": group.name})
    return {cid: d for cid, d in idle.items() if cid not in working}


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
