"""Answers: the own page's (by the link's token; answering again replaces) and Google Forms'
(harvested by the nightly sync, once per response, with a cursor per form)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from integrator.domain import surveys as rules
from integrator.jobs.surveys.rounds import form_key
from integrator.providers.google import forms as google_forms
from integrator.store.models import (
    ExternalResource,
    SurveyInvitation,
    SurveyResponse,
    SurveyVersion,
    SyncCursor,
)
from integrator.store.types import utcnow

log = logging.getLogger(__name__)


def invitation_for_token(s: Session, token: str, now: datetime | None = None) -> SurveyInvitation | None:
    """The own-page invitation a link's token belongs to, while it accepts answers; else None."""
    if not token or len(token) > 100:
        return None
    h = rules.token_hash(token)
    inv = s.scalar(select(SurveyInvitation).where(
        SurveyInvitation.mode == "page",
        or_(SurveyInvitation.token_hash == h, SurveyInvitation.reminder_token_hash == h)))
    if inv is None or (now or utcnow()) - inv.created_at > timedelta(days=rules.ANSWER_DAYS):
        return None
    return inv


def definition_of(inv: SurveyInvitation) -> rules.SurveyDefinition:
    return rules.definition_from_snapshot(inv.survey_version.definition)


def save_page_answers(s: Session, inv: SurveyInvitation, answers: dict[str, list[str]], now: datetime) -> bool:
    """Store the answers of an invitation, replacing any earlier ones. True when it replaced."""
    row = s.scalar(select(SurveyResponse).where(SurveyResponse.invitation_id == inv.id))
    replaced = row is not None
    if row is None:
        row = SurveyResponse(organisation_id=inv.organisation_id, group_id=inv.group_id,
                             survey_version_id=inv.survey_version_id, round_key=inv.round_key,
                             invitation_id=inv.id, answers=answers, submitted_at=now)
        s.add(row)
    else:
        row.answers, row.submitted_at = answers, now
    s.flush()
    return replaced


# ---- Google Forms -------------------------------------------------------------------------

def forms_api() -> Any:
    """The Google Forms provider (one seam, so that a test can see which calls a round makes)."""
    return google_forms


def harvest_forms(s: Session, gc: Any, org_id: int, owner: str, now: datetime) -> dict[str, int]:
    """Each survey form's new responses, stored once (unique on the response id), the form's
    cursor moved only after them. Group level: a form's response names nobody."""
    api = forms_api()
    counts = {"forms": 0, "stored": 0, "already": 0}
    forms = list(s.scalars(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == "survey_form",
        ExternalResource.status == "active")))
    for form in forms:
        counts["forms"] += 1
        state = form.state or {}
        cursor = s.scalar(select(SyncCursor).where(SyncCursor.organisation_id == org_id,
                                                   SyncCursor.source == "survey_form",
                                                   SyncCursor.partition == form.external_id))
        after = datetime.fromisoformat(cursor.value) if cursor is not None else None
        latest = after
        for ans in api.list_responses(gc, owner, str(form.external_id), after):
            exists = s.scalar(select(SurveyResponse.id).where(SurveyResponse.organisation_id == org_id,
                                                              SurveyResponse.external_id == ans.response_id))
            if exists is not None:
                counts["already"] += 1
            else:
                s.add(SurveyResponse(organisation_id=org_id, group_id=int(state["group_id"]),
                                     survey_version_id=int(state["survey_version_id"]),
                                     round_key=str(state["round_key"]), external_id=ans.response_id,
                                     answers={k: list(v) for k, v in ans.answers.items()},
                                     submitted_at=ans.submitted_at))
                counts["stored"] += 1
            latest = ans.submitted_at if latest is None or ans.submitted_at > latest else latest
        s.flush()
        if latest is not None:
            if cursor is None:
                s.add(SyncCursor(organisation_id=org_id, source="survey_form", partition=str(form.external_id),
                                 value=latest.isoformat()))
            else:
                cursor.value = latest.isoformat()
    log.info("survey forms harvested", extra={"org_id": org_id, **counts})
    return counts


def ensure_form(s: Session, gc: Any, org_id: int, owner: str, group_id: int, group_key: str, group_name: str,
                round_key: str, version: SurveyVersion) -> str:
    """The group's form for the round and version (created once, found again after a crash by
    its marker); returns its responder link."""
    api = forms_api()
    definition = rules.definition_from_snapshot(version.definition)
    key = form_key(group_key, round_key, version.survey_key, version.version)
    row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == org_id,
                                                  ExternalResource.kind == "survey_form",
                                                  ExternalResource.local_key == key))
    if row is not None and row.external_id:
        return str(row.state["responder_uri"])
    items = [api.FormItem(question_id=q.id, title=(f"{q.intro} {q.text}" if q.intro else q.text), kind=q.kind,
                          options=q.options, low=q.low, high=q.high, low_label=q.low_label,
                          high_label=q.high_label, required=q.required) for q in definition.questions]
    ref = api.find_or_create_form(gc, owner, key, f"{group_name}: {definition.title}", items)
    state = {"responder_uri": ref.responder_uri, "group_id": group_id, "round_key": round_key,
             "survey_version_id": version.id}
    if row is None:
        s.add(ExternalResource(organisation_id=org_id, kind="survey_form", local_key=key,
                               external_id=ref.form_id, state=state))
    else:
        row.external_id, row.state, row.status = ref.form_id, state, "active"
    s.flush()
    return str(ref.responder_uri)
