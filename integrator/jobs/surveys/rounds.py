"""Which survey rounds are due in a week, and the invitations that carry their links.

A client gets a start round in the first week of each period and an end round in its last week
(and a group round in the configured weeks), in the group they take part in that week, and only
with a recorded data-protection briefing (domain.consent). Each (period, round) is invited once,
ever: `SurveyInvitation` is unique on it, so a re-run issues nothing new.

Own page: the link carries a random token; only its hash is stored, so the token exists only in
the message that is queued in the same transaction. Google Forms (`mode: forms` with a Google
tenant): the group's form for the round and version (one link for the whole group, answers
group-level), made beforehand by jobs.surveys.forms.prepare_forms; a round whose form is not
made yet is not invited now (the next pass invites it).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config.models import OrganisationConfig, SurveysConfig
from integrator.domain import surveys as rules
from integrator.domain.consent import has_consent
from integrator.domain.participation import member_on
from integrator.domain.weeks import days_of
from integrator.store.models import (
    Client,
    ExternalResource,
    PeerGroup,
    Period,
    SurveyInvitation,
    SurveyVersion,
)

log = logging.getLogger(__name__)

#: The own survey page's path under the configured page_url.
PAGE_PATH = "/kysely/"


class SurveyVersionChanged(ValueError):
    """The config changed a survey's questions without giving it a new version."""


def ensure_version(s: Session, org_id: int, definition: rules.SurveyDefinition) -> SurveyVersion:
    row = s.scalar(select(SurveyVersion).where(
        SurveyVersion.organisation_id == org_id, SurveyVersion.survey_key == definition.key,
        SurveyVersion.version == definition.version))
    fp = definition.fingerprint()
    if row is None:
        row = SurveyVersion(organisation_id=org_id, survey_key=definition.key, version=definition.version,
                            round=definition.round, fingerprint=fp, definition=definition.snapshot())
        s.add(row)
        s.flush()
    elif row.fingerprint != fp:
        raise SurveyVersionChanged(
            f"survey {definition.key!r} version {definition.version} has changed questions: answers stay with "
            f"the version they answered, so give the changed survey a new version (version: "
            f"{definition.version + 1})")
    return row


@dataclass(frozen=True)
class Due:
    client: Client
    period: Period
    group: PeerGroup
    round_key: str  # start | end | group:<week>

    @property
    def round_kind(self) -> str:
        return self.round_key.split(":", 1)[0]


def due_rounds(groups: Iterable[PeerGroup], cfg: SurveysConfig, week: str) -> list[Due]:
    """The rounds due in `week`, one per (period, round). Load memberships, clients and periods."""
    if not cfg.enabled:
        return []
    days = days_of(week)
    out: dict[tuple[int, str], Due] = {}
    for group in groups:
        if not group.active:
            continue
        for m in group.memberships:
            if not any(member_on(m, d) for d in days):
                continue
            for p in m.client.periods:
                if not has_consent(p.briefing_recorded_at):
                    continue  # nothing before the data-protection briefing
                in_week = [d for d in days if p.start_date <= d <= p.end_date and member_on(m, d)]
                if not in_week:
                    continue
                keys = [k for k in (rules.START, rules.END) if rules.round_week(k, p.start_date, p.end_date) == week]
                if week in cfg.group_round_weeks:
                    keys.append(f"{rules.GROUP}:{week}")
                for k in keys:
                    out.setdefault((p.id, k), Due(m.client, p, group, k))
    return sorted(out.values(), key=lambda d: (d.client.code, d.round_key))


@dataclass(frozen=True)
class Link:
    round_key: str
    title: str
    url: str


def form_link(s: Session, org_id: int, group: PeerGroup, round_key: str, version: SurveyVersion) -> str | None:
    """The responder link of the group's Google Form for this round and version, once created."""
    row = s.scalar(select(ExternalResource).where(
        ExternalResource.organisation_id == org_id, ExternalResource.kind == "survey_form",
        ExternalResource.local_key == form_key(group.key, round_key, version.survey_key, version.version),
        ExternalResource.status == "active"))
    uri = (row.state or {}).get("responder_uri") if row is not None else None
    return str(uri) if uri else None


def uses_forms(org_cfg: OrganisationConfig) -> bool:
    """The organisation's rounds go out as Google Forms (else on the own page)."""
    return org_cfg.surveys.enabled and org_cfg.surveys.mode == "forms" and org_cfg.google is not None


def form_key(group_key: str, round_key: str, survey_key: str, version: int) -> str:
    """One form per group, round (a group round: per week) and version."""
    return f"survey_form:{group_key}:{round_key}:{survey_key}:v{version}"


def issue(s: Session, org_id: int, cfg: SurveysConfig, due: Iterable[Due], week: str,
          now: datetime, *, forms: bool = False) -> dict[int, list[Link]]:
    """Invite each due (period, round) not invited yet; client id -> the new links.

    `forms` (uses_forms): the link is the group's form; a round whose form is not made yet is
    left uninvited, for the next pass.

    Must run in the transaction that queues the message carrying the links: the own page's
    token is not stored, so a link not sent now is never sent.
    """
    out: dict[int, list[Link]] = {}
    due = list(due)
    if not due:
        return out
    done = {(r[0], r[1]) for r in s.execute(select(SurveyInvitation.period_id, SurveyInvitation.round_key).where(
        SurveyInvitation.period_id.in_({d.period.id for d in due})))}
    versions = {k: ensure_version(s, org_id, cfg.definition(k)) for k in {d.round_kind for d in due}}
    for d in due:
        if (d.period.id, d.round_key) in done:
            continue
        version = versions[d.round_kind]
        inv = SurveyInvitation(organisation_id=org_id, client_id=d.client.id, period_id=d.period.id,
                               group_id=d.group.id, round_key=d.round_key, survey_version_id=version.id,
                               mode="page", linked=cfg.linked, week=week, created_at=now)
        url = form_link(s, org_id, d.group, d.round_key, version) if forms else None
        if forms and url is None:
            log.info("survey round waits for its form", extra={"round": d.round_key, "group": d.group.key})
            continue
        if url is not None:
            inv.mode, inv.linked = "forms", False  # a form carries no identity: group level only
        else:
            token = secrets.token_urlsafe(24)
            inv.token_hash = rules.token_hash(token)
            url = page_url(cfg, token)
        s.add(inv)
        out.setdefault(d.client.id, []).append(Link(d.round_key, str(version.definition["title"]), url))
    s.flush()
    return out


def page_url(cfg: SurveysConfig, token: str) -> str:
    assert cfg.page_url is not None  # the config requires it when surveys are enabled
    return cfg.page_url.rstrip("/") + PAGE_PATH + token


def reissue_for_reminder(inv: SurveyInvitation, cfg: SurveysConfig, now: datetime) -> str:
    """A second token for the one reminder (the first one's token is not stored); both work."""
    token = secrets.token_urlsafe(24)
    inv.reminder_token_hash = rules.token_hash(token)
    inv.reminded_at = now
    return page_url(cfg, token)
