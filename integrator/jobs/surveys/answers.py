"""The own page's answers: by the link's token; answering again replaces. (Google Forms' answers
are harvested by the nightly sync: jobs.surveys.forms.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from integrator.domain import surveys as rules
from integrator.store.models import (
    SurveyInvitation,
    SurveyResponse,
)
from integrator.store.types import utcnow


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
