"""Survey links by e-mail: the round's link goes in the weekly letter of its week (letters.py);
a client whose letter went out without it (or who gets no letter) gets a short message, and an
unanswered own-page round gets one reminder.

Keys (one message each, forever):
  survey:<org>:<client code>:<period id>:<round>           the short message
  survey_reminder:<org>:<client code>:<period id>:<round>  the one reminder

Google Forms mode: the group's form is made first (jobs.surveys.forms); a round whose form could
not be made now is sent by a later pass. A Forms round gets no reminder: its answers name
nobody, so "unanswered" is unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from integrator.config import Settings
from integrator.config.models import OrganisationConfig
from integrator.domain.types import MessageKind
from integrator.domain.weeks import iso_week_of
from integrator.jobs.meetings.plan import load_groups, organisation_id
from integrator.jobs.notify.outbox import NewMessage, enqueue
from integrator.jobs.rendering import render_pair
from integrator.jobs.surveys import forms, rounds
from integrator.jobs.surveys.forms import GoogleFactory
from integrator.store.db import Store
from integrator.store.models import Client, PeerGroup, StaffUser, SurveyInvitation, SurveyResponse

log = logging.getLogger(__name__)


def privacy_note(linked: bool, plain: bool) -> str:
    """What the client is told about who sees the answers (as the invitation records it)."""
    if linked:
        return ("Ohjaajasi näkee vastauksesi. Näin näette yhdessä, miten asiat muuttuvat." if plain else
                "Ohjaajasi näkee vastauksesi, jotta voitte yhdessä seurata muutosta jakson aikana. "
                "Vastauksia ei näytetä muille.")
    return ("Vastaat nimettömänä. Ohjaaja näkee vain koko ryhmän tulokset." if plain else
            "Vastaukset käsitellään nimettöminä: ohjaaja näkee vain koko ryhmän yhteiset tulokset, "
            "eikä yhtään lukua näytetä alle viiden vastaajan joukosta.")


def subject(reminder: bool) -> str:
    return "Muistutus: arviointikysely" if reminder else "Arviointikysely: kerro kokemuksesi"


def _coordinator(staff: StaffUser | None) -> dict[str, object]:
    if staff is None:
        return {"name": "ohjaaja", "email": "", "phone": None}
    return {"name": staff.display_name, "email": staff.email, "phone": staff.phone}


def _message(org_cfg: OrganisationConfig, org_id: int, key: str, client: Client, group: PeerGroup, title: str,
             url: str, *, linked: bool, reminder: bool) -> NewMessage:
    stem = "survey_selko" if client.plain_language else "survey"
    text, html = render_pair(org_cfg.templates_dir, stem, title=title, url=url, reminder=reminder,
                             survey_privacy=privacy_note(linked, client.plain_language),
                             coordinator=_coordinator(group.coordinator), org_name=org_cfg.name)
    assert client.email is not None
    return NewMessage(key=key, kind=MessageKind.SURVEY_REMINDER if reminder else MessageKind.SURVEY,
                      organisation_id=org_id, to_address=client.email, subject=subject(reminder),
                      body_text=text, body_html=html, client_id=client.id)


def queue_survey_messages(store: Store, settings: Settings, org_key: str, week: str, now: datetime,
                          google: GoogleFactory | None = None) -> dict[str, int]:
    """A short message for each round due in `week` that no letter carried. Idempotent."""
    org_cfg = settings.organisation(org_key)
    counts = {"queued": 0, "no_email": 0}
    if not org_cfg.surveys.enabled:
        return counts
    counts["forms_failed"] = forms.prepare_forms(store, org_cfg, week, now, google)["forms_failed"]
    with store.session() as s:
        org_id = organisation_id(s, org_key)
        all_due = rounds.due_rounds(load_groups(s, org_id), org_cfg.surveys, week)
        due = [d for d in all_due if d.client.email]
        counts["no_email"] = len(all_due) - len(due)
        links = rounds.issue(s, org_id, org_cfg.surveys, due, week, now, forms=rounds.uses_forms(org_cfg))
        messages = []
        for d in due:
            for link in links.get(d.client.id, []):
                if link.round_key != d.round_key:
                    continue
                messages.append(_message(org_cfg, org_id, f"survey:{org_key}:{d.client.code}:{d.period.id}:{d.round_key}",
                                         d.client, d.group, link.title, link.url, linked=org_cfg.surveys.linked,
                                         reminder=False))
        counts["queued"] = enqueue(s, messages)
    log.info("survey messages queued", extra={"org": org_key, "week": week, **counts})
    return counts


def queue_survey_reminders(store: Store, settings: Settings, org_key: str, now: datetime) -> dict[str, int]:
    """One reminder for each own-page invitation unanswered `remind_after_days` after it went
    out; never a second one (reminded_at, and the key in the outbox)."""
    org_cfg = settings.organisation(org_key)
    counts = {"queued": 0}
    cfg = org_cfg.surveys
    if not cfg.enabled:
        return counts
    with store.session() as s:
        org_id = organisation_id(s, org_key)
        answered = select(SurveyResponse.invitation_id).where(SurveyResponse.invitation_id.is_not(None))
        invs = list(s.scalars(select(SurveyInvitation).where(
            SurveyInvitation.organisation_id == org_id, SurveyInvitation.mode == "page",
            SurveyInvitation.reminded_at.is_(None),
            SurveyInvitation.created_at <= now - timedelta(days=cfg.remind_after_days),
            SurveyInvitation.id.not_in(answered)).options(selectinload(SurveyInvitation.survey_version))))
        messages = _reminders(s, org_cfg, org_id, org_key, invs, now)
        counts["queued"] = enqueue(s, messages)
    log.info("survey reminders queued", extra={"org": org_key, **counts})
    return counts


def _reminders(s: Session, org_cfg: OrganisationConfig, org_id: int, org_key: str, invs: list[SurveyInvitation],
               now: datetime) -> list[NewMessage]:
    out = []
    for inv in invs:
        client = s.get(Client, inv.client_id)
        group = s.get(PeerGroup, inv.group_id)
        if client is None or group is None or not client.email:
            continue
        url = rounds.reissue_for_reminder(inv, org_cfg.surveys, now)
        out.append(_message(org_cfg, org_id, f"survey_reminder:{org_key}:{client.code}:{inv.period_id}:{inv.round_key}",
                            client, group, str(inv.survey_version.definition["title"]), url, linked=inv.linked,
                            reminder=True))
    return out


def queue_surveys(store: Store, settings: Settings, now: datetime,
                  google: GoogleFactory | None = None,
                  org_keys: Collection[str] | None = None) -> dict[str, dict[str, int]]:
    """What the nightly schedule runs: each organisation's (or those in `org_keys`) short
    messages for this week's rounds that no letter carried, and the reminders that are due.
    Idempotent."""
    week = iso_week_of(now.astimezone(ZoneInfo(settings.time_zone)).date())
    out: dict[str, dict[str, int]] = {}
    for org in settings.organisations:
        if org.surveys.enabled and (org_keys is None or org.key in org_keys):
            out[org.key] = {**queue_survey_messages(store, settings, org.key, week, now, google),
                            "reminders": queue_survey_reminders(store, settings, org.key, now)["queued"]}
    return out
