"""Google Forms rounds: the group's form made before its link is needed, and its answers harvested.

One form per group, round (a group round: per week) and survey version, owned by the group's
coordinator (the tenant's admin_subject for a group without one), made through
`providers.google.forms.find_or_create_form` with a marker derived from our keys: meaningless
(a hash), stable, so a re-run or a run after a lost answer finds the form instead of making a
second. Its id and responder link are kept in an ExternalResource (kind "survey_form").

Made by the job that sends the round (the weekly letters, the nightly short messages), in a
transaction of its own before the message's: a form that could not be made leaves its round
uninvited (the letter goes without the survey link) and the next nightly pass tries again and
sends the link as a short message.

Harvested by the nightly sync after the attendance (a failure here never holds an alert back):
each form with an invitation in the last `ANSWER_DAYS`, its new responses stored once (unique
on the response id), an edited response replacing the stored one, the form's cursor saved in
the same transaction as the answers it covers. A form's answer names nobody: group level only,
and no reminder (who has not answered is unknown).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrator.config.models import OrganisationConfig
from integrator.domain import surveys as rules
from integrator.jobs.meetings.plan import load_groups, organisation_id
from integrator.jobs.surveys.rounds import due_rounds, ensure_version, form_key, uses_forms
from integrator.providers.errors import ProviderError
from integrator.store.db import Store
from integrator.store.models import (
    ExternalResource,
    PeerGroup,
    SurveyInvitation,
    SurveyResponse,
    SurveyVersion,
    SyncCursor,
)
from integrator.store.types import utcnow

log = logging.getLogger(__name__)

KIND = "survey_form"
#: A sync reads again this much before its cursor (responses stamped in the same moment as the
#: last one read, clocks a little apart); what it has stored already it only counts.
OVERLAP = timedelta(minutes=5)
DESCRIPTION = ("Vastaat nimettömänä: lomake ei kysy nimeäsi eikä sähköpostiosoitettasi. Ohjaaja näkee vain "
               "koko ryhmän tulokset, eikä yhtään lukua näytetä alle viiden vastaajan joukosta.")

#: How a job reaches the organisation's Google tenant (tests and the demo pass their own).
GoogleFactory = Callable[[Any], Any]


def default_google(tenant: Any) -> Any:
    # The Google SDK loads only when a Forms round needs it (letters and the web app never pay it).
    from integrator.providers.google.client import GoogleClient

    return GoogleClient(tenant)


def forms_api() -> Any:
    """The Google Forms provider, loaded when first needed (as default_google)."""
    from integrator.providers.google import forms as google_forms

    return google_forms


def marker_for(org_key: str, key: str) -> str:
    """The form's marker: from our keys, meaningless outside (no group, client or person)."""
    return "kysely-" + hashlib.sha256(f"{org_key}:{key}".encode()).hexdigest()[:20]


def _owner(org_cfg: OrganisationConfig, group: PeerGroup) -> str:
    if group.coordinator is not None and group.coordinator.email:
        return str(group.coordinator.email)
    assert org_cfg.google is not None
    return str(org_cfg.google.admin_subject)


def ensure_form(s: Session, gc: Any, org_key: str, org_id: int, owner: str, group: PeerGroup, round_key: str,
                version: SurveyVersion, *, sign_in_required: bool = False) -> str:
    """The group's form for the round and version (made once, found again after a crash or a
    lost answer by its marker); returns its responder link."""
    key = form_key(group.key, round_key, version.survey_key, version.version)
    row = s.scalar(select(ExternalResource).where(ExternalResource.organisation_id == org_id,
                                                  ExternalResource.kind == KIND, ExternalResource.local_key == key))
    if row is not None and row.external_id and row.status == "active":
        return str(row.state["responder_uri"])
    api = forms_api()
    definition = rules.definition_from_snapshot(version.definition)
    items = [api.FormItem(question_id=q.id, title=f"{q.intro} {q.text}" if q.intro else q.text, kind=q.kind,
                          options=q.options, low=q.low, high=q.high, low_label=q.low_label, high_label=q.high_label,
                          required=q.required, paragraph=q.kind == "text") for q in definition.questions]
    ref = api.find_or_create_form(gc, owner, marker_for(org_key, key), f"{group.name}: {definition.title}", items,
                                  description=DESCRIPTION, sign_in_required=sign_in_required)
    state = {"responder_uri": ref.responder_uri, "owner": owner, "group_id": group.id, "round_key": round_key,
             "survey_version_id": version.id}
    if row is None:
        s.add(ExternalResource(organisation_id=org_id, kind=KIND, local_key=key, external_id=ref.form_id,
                               state=state))
    else:
        row.external_id, row.state, row.status = ref.form_id, state, "active"
    s.flush()
    return str(ref.responder_uri)


def prepare_forms(store: Store, org_cfg: OrganisationConfig, week: str, now: datetime,
                  google: GoogleFactory | None = None) -> dict[str, int]:
    """The forms of the rounds due in `week` that are not invited yet, each made in its own
    transaction. Idempotent: a form already made costs no request. A form that fails is
    counted (and logged); its round waits for the next pass."""
    counts = {"forms_ready": 0, "forms_made": 0, "forms_failed": 0}
    if not uses_forms(org_cfg):
        return counts
    cfg = org_cfg.surveys
    with store.session() as s:
        org_id = organisation_id(s, org_cfg.key)
        due = due_rounds(load_groups(s, org_id), cfg, week)
        invited = {(p, r) for p, r in s.execute(select(SurveyInvitation.period_id, SurveyInvitation.round_key).where(
            SurveyInvitation.period_id.in_({d.period.id for d in due})))}
        wanted = sorted({(d.group.id, d.round_key, d.round_kind) for d in due if (d.period.id, d.round_key) not in invited})
        versions = {k: ensure_version(s, org_id, cfg.definition(k)).id for k in {w[2] for w in wanted}}
    gc = None
    for group_id, round_key, kind in wanted:
        with store.session() as s:
            group, version = s.get(PeerGroup, group_id), s.get(SurveyVersion, versions[kind])
            assert group is not None and version is not None
            key = form_key(group.key, round_key, version.survey_key, version.version)
            made = s.scalar(select(ExternalResource.id).where(
                ExternalResource.organisation_id == org_id, ExternalResource.kind == KIND,
                ExternalResource.local_key == key, ExternalResource.status == "active",
                ExternalResource.external_id.is_not(None)))
            if made is not None:
                counts["forms_ready"] += 1
                continue
            gc = gc or (google or default_google)(org_cfg.google)
            try:
                ensure_form(s, gc, org_cfg.key, org_id, _owner(org_cfg, group), group, round_key, version,
                            sign_in_required=cfg.forms_sign_in)
            except ProviderError as err:
                counts["forms_failed"] += 1
                log.warning("survey form not made; its round waits for the next pass",
                            extra={"org": org_cfg.key, "form": key, "error": type(err).__name__})
                continue
            counts["forms_made"] += 1
            counts["forms_ready"] += 1
    log.info("survey forms prepared", extra={"org": org_cfg.key, "week": week, **counts})
    return counts


def harvest_forms(store: Store, gc: Any, org_id: int, now: datetime | None = None) -> dict[str, int]:
    """Each recent survey form's new responses, stored once; an edited one replaces the stored
    answers. One transaction per form (answers and cursor together); a form that cannot be
    read is counted in "failed" and the others are still read."""
    now = now or utcnow()
    counts = {"forms": 0, "stored": 0, "replaced": 0, "already": 0, "failed": 0}
    api = forms_api()
    with store.session() as s:
        recent = {(g, r, v) for g, r, v in s.execute(select(
            SurveyInvitation.group_id, SurveyInvitation.round_key, SurveyInvitation.survey_version_id).where(
            SurveyInvitation.organisation_id == org_id, SurveyInvitation.mode == "forms",
            SurveyInvitation.created_at >= now - timedelta(days=rules.ANSWER_DAYS)))}
        forms = [(r.id, str(r.external_id), dict(r.state or {})) for r in s.scalars(select(ExternalResource).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == KIND,
            ExternalResource.status == "active", ExternalResource.external_id.is_not(None)))]
    for _, form_id, state in forms:
        if (int(state["group_id"]), str(state["round_key"]), int(state["survey_version_id"])) not in recent:
            continue  # no round open on it: nobody has the link any more
        counts["forms"] += 1
        try:
            _harvest_one(store, gc, org_id, form_id, state, counts, api)
        except ProviderError as err:
            counts["failed"] += 1
            log.warning("survey form not read", extra={"form_id": form_id, "error": type(err).__name__})
    log.info("survey forms harvested", extra={"org_id": org_id, **counts})
    return counts


def _harvest_one(store: Store, gc: Any, org_id: int, form_id: str, state: dict[str, Any], counts: dict[str, int],
                 api: Any) -> None:
    with store.session() as s:
        cursor = s.scalar(select(SyncCursor).where(SyncCursor.organisation_id == org_id, SyncCursor.source == KIND,
                                                   SyncCursor.partition == form_id))
        last = datetime.fromisoformat(cursor.value) if cursor is not None else None
        latest = last
        for ans in api.list_responses(gc, str(state["owner"]), form_id, last - OVERLAP if last else None):
            row = s.scalar(select(SurveyResponse).where(SurveyResponse.organisation_id == org_id,
                                                        SurveyResponse.external_id == ans.response_id))
            answers = {k: list(v) for k, v in ans.answers.items()}
            if row is None:
                s.add(SurveyResponse(organisation_id=org_id, group_id=int(state["group_id"]),
                                     survey_version_id=int(state["survey_version_id"]),
                                     round_key=str(state["round_key"]), external_id=ans.response_id,
                                     answers=answers, submitted_at=ans.submitted_at))
                s.flush()  # a response listed twice in one read is one row
                counts["stored"] += 1
            elif ans.submitted_at > row.submitted_at:  # edited in Forms since we read it
                row.answers, row.submitted_at = answers, ans.submitted_at
                counts["replaced"] += 1
            else:
                counts["already"] += 1
            latest = ans.submitted_at if latest is None or ans.submitted_at > latest else latest
        if latest is not None and latest != last:
            if cursor is None:
                s.add(SyncCursor(organisation_id=org_id, source=KIND, partition=form_id, value=latest.isoformat(),
                                 updated_at=utcnow()))
            else:
                cursor.value, cursor.updated_at = latest.isoformat(), utcnow()
