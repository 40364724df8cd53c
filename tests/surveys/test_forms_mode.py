"""Google Forms mode on the sandbox, end to end: the job that sends a round makes the group's form
first (once, also after a lost answer), the link goes in the letter (or a short message), the
nightly sync harvests the answers once, and the results match hand figures (nothing under 5).

Counts are HTTP requests on the wire as the sandbox logged them (token requests left out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from integrator.config import Settings
from integrator.domain.surveys import PILOT_END, PILOT_START
from integrator.domain.types import MessageKind
from integrator.jobs.nightly.run import Providers, run_nightly_sync
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.surveys import queue_survey_messages, queue_survey_reminders, queue_surveys
from integrator.jobs.surveys.forms import KIND, harvest_forms
from integrator.providers.google.client import GoogleClient
from integrator.providers.retry import RetryPolicy
from integrator.reports import surveys as results
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    ExternalResource,
    OutboxMessage,
    PeerGroup,
    SurveyInvitation,
    SurveyResponse,
    SyncCursor,
)
from tests.surveys.world import NOW, ORG, PAGE_URL, WEEK, build

DOMAIN = "sandbox.example.fi"
ADMIN = f"admin@{DOMAIN}"
ONCE = RetryPolicy(max_attempts=1, sleep=lambda s: None)
FORM_LINK = re.compile(r"https?://\S+/viewform")
START_LEVELS = PILOT_START.question("a01").options
END_LEVELS = PILOT_END.question("a01").options
LIKERT = PILOT_END.question("a05").options


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(page_size=2, with_graph=False) as sb:  # small pages: every page must be read
        yield sb


@pytest.fixture
def sb(server: Sandbox) -> Iterator[Sandbox]:
    server.reset()
    server.state.clock.set(NOW)
    for email, name in ((ADMIN, "Admin"), (f"ohjaaja-a@{DOMAIN}", "Ohjaaja A"), (f"ohjaaja-b@{DOMAIN}", "Ohjaaja B")):
        server.google.add_user(email, name, admin=email == ADMIN)
    yield server
    server.state.faults.clear()


def forms_settings(sb: Sandbox, tmp_path: Path) -> Settings:
    key = tmp_path / "google-key.json"
    key.write_text(json.dumps(sb.google.service_account_info()))
    return Settings.model_validate({"organisations": [{
        "key": ORG, "name": "Raision kaupunki",
        "google": {"domain": DOMAIN, "service_account": {"file": str(key)}, "admin_subject": ADMIN,
                   "api_base_url": sb.google_url},
        "surveys": {"enabled": True, "page_url": PAGE_URL, "mode": "forms"}}]})


def google(tenant: Any) -> GoogleClient:
    return GoogleClient(tenant, policy=ONCE)


def calls(sb: Sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in sb.state.log.entries:
        if entry.api != "oauth":
            counts[f"{entry.api} {entry.operation}"] = counts.get(f"{entry.api} {entry.operation}", 0) + 1
    return counts


def _messages(store: Store, kind: MessageKind) -> dict[str, str]:
    """Client code -> the message's text."""
    with store.session() as s:
        return {m.key.split(":")[2]: m.body_text for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))}


def _forms(store: Store) -> dict[str, str]:
    """Form key without the prefix (group:round:survey:version) -> form id."""
    with store.session() as s:
        return {r.local_key.removeprefix("survey_form:"): str(r.external_id)
                for r in s.scalars(select(ExternalResource).where(ExternalResource.kind == KIND))}


def test_a_round_sent_twice_makes_one_form_per_group_and_one_message_per_client(
        sb: Sandbox, store: Store, tmp_path: Path) -> None:
    build(store, staff_domain=DOMAIN)
    cfg = forms_settings(sb, tmp_path)
    sb.state.log.reset()
    queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW, google=google)
    forms = _forms(store)
    # Tuesday's start and end rounds, Thursday's start round: three forms, 5 requests each
    # (files.list, create, one batchUpdate with every item, setPublishSettings, permissions.create).
    assert sorted(forms) == ["tiistai:end:loppu:v1", "tiistai:start:alku:v1", "torstai:start:alku:v1"]
    assert calls(sb) == {"drive files.list": 3, "forms forms.create": 3, "forms forms.batchUpdate": 3,
                         "forms forms.setPublishSettings": 3, "drive permissions.create": 3}
    for key, form_id in forms.items():
        form = sb.google.forms.forms[form_id]
        owner = "ohjaaja-a" if key.startswith("tiistai") else "ohjaaja-b"
        assert sb.google.drive.files[form_id].owner == f"{owner}@{DOMAIN}"
        assert form.published and form.accepting and form.settings["emailCollectionType"] == "DO_NOT_COLLECT"
        assert "tiistai" not in form.info["documentTitle"].split(" ", 1)[0]  # the marker says nothing
    assert [i["questionItem"]["question"]["questionId"] for i in sb.google.forms.forms[forms["tiistai:end:loppu:v1"]].items] \
        == [q.id for q in PILOT_END.questions]

    letters = _messages(store, MessageKind.WEEKLY_LETTER)
    links = {code: FORM_LINK.findall(text) for code, text in letters.items()}
    start_link = FORM_LINK.search(letters["K-0001"])
    assert start_link is not None and links["K-0002"] == links["K-0001"] == [start_link.group(0)]
    assert links["K-0004"] != links["K-0001"] and len(links["K-0004"]) == 1 and links["K-0006"] not in (links["K-0001"],)
    assert all("/kysely/" not in text for text in letters.values())  # no own-page link
    assert "K-0005" not in letters  # no briefing: nothing
    with store.session() as s:
        assert set(s.scalars(select(SurveyInvitation.mode))) == {"forms"}
        assert s.scalar(select(func.count()).select_from(SurveyInvitation)) == 5

    # Sent again (a re-run of the letters, the nightly short-message pass): nothing new, no request.
    sb.state.log.reset()
    queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW, google=google)
    assert queue_surveys(store, cfg, NOW + timedelta(hours=20), google=google)[ORG]["queued"] == 0
    assert calls(sb) == {} and len(sb.google.forms.forms) == 3
    assert len(_messages(store, MessageKind.WEEKLY_LETTER)) == 5 and _messages(store, MessageKind.SURVEY) == {}
    # A form names nobody: who has not answered is unknown, so no reminder.
    assert queue_survey_reminders(store, cfg, ORG, NOW + timedelta(days=30))["queued"] == 0


def test_without_letters_the_short_messages_carry_the_form_once(sb: Sandbox, store: Store, tmp_path: Path) -> None:
    build(store, work_days=False, staff_domain=DOMAIN)
    cfg = forms_settings(sb, tmp_path)
    assert queue_surveys(store, cfg, NOW, google=google)[ORG]["queued"] == 5
    assert queue_surveys(store, cfg, NOW + timedelta(hours=1), google=google)[ORG]["queued"] == 0
    msgs = _messages(store, MessageKind.SURVEY)
    assert sorted(msgs) == ["K-0001", "K-0002", "K-0003", "K-0004", "K-0006"]
    assert all(FORM_LINK.search(t) for t in msgs.values()) and len(sb.google.forms.forms) == 3


def test_a_lost_answer_on_create_then_the_next_pass_makes_one_form(sb: Sandbox, store: Store, tmp_path: Path) -> None:
    build(store, staff_domain=DOMAIN)
    cfg = forms_settings(sb, tmp_path)
    # The first form made (Tuesday's end round) is created, but its answer never arrives.
    sb.state.faults.lose_answer(vendor="google", path_glob="/forms/v1/forms", http_method="POST", count=1)
    out = queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW, google=google)
    assert out["queued"] == 5 and out["survey_forms_failed"] == 1
    assert len(sb.google.forms.forms) == 3 and "tiistai:end:loppu:v1" not in _forms(store)
    letters = _messages(store, MessageKind.WEEKLY_LETTER)
    assert not FORM_LINK.search(letters["K-0004"])  # its letter went without the link...
    assert FORM_LINK.search(letters["K-0001"]) and FORM_LINK.search(letters["K-0006"])
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyInvitation)) == 4

    # ...and the nightly pass finds the half-made form by its marker, completes it and sends it.
    sb.state.log.reset()
    assert queue_survey_messages(store, cfg, ORG, WEEK, NOW + timedelta(hours=20), google=google)["queued"] == 1
    assert "forms forms.create" not in calls(sb)
    assert len(sb.google.forms.forms) == 3
    end_form = sb.google.forms.forms[_forms(store)["tiistai:end:loppu:v1"]]
    assert end_form.published and len(end_form.items) == len(PILOT_END.questions)
    short = _messages(store, MessageKind.SURVEY)
    assert list(short) == ["K-0004"] and FORM_LINK.search(short["K-0004"])
    assert queue_survey_messages(store, cfg, ORG, WEEK, NOW + timedelta(hours=44), google=google)["queued"] == 0


def _answer(sb: Sandbox, store: Store) -> None:
    """The scripted answers (test_results' hand figures): Tuesday's start and end rounds five
    each, Thursday's start round four (suppressed)."""
    forms = _forms(store)
    at = NOW + timedelta(days=1)
    n = 0

    def submit(form: str, answers: dict[str, list[str]]) -> None:
        nonlocal n
        n += 1
        sb.google.submit_response(forms[form], answers, at=at + timedelta(hours=n))

    for i in (0, 0, 1, 1, 2):
        submit("tiistai:start:alku:v1", {"a01": [START_LEVELS[i]]})
    heard, sharing, atmosphere = ["1", "1", "2", "5", "3"], ["5", "4", "4", "3", "5"], ["1", "2", "1", "1", "5"]
    likert = [LIKERT[0], LIKERT[0], LIKERT[0], LIKERT[3], LIKERT[5]]
    for i, level in enumerate((1, 2, 2, 3, 3)):
        answers = {"a01": [END_LEVELS[level]], "a02": [heard[i]], "a03": [sharing[i]], "a04": [atmosphere[i]],
                   "a05": [likert[i]]}
        if i < 2:
            answers["a08"] = [f"Hyvää on vertaistuki {i}"]
        submit("tiistai:end:loppu:v1", answers)
    for i in range(4):
        submit("torstai:start:alku:v1", {"a01": [START_LEVELS[i]]})


def _nightly(store: Store, cfg: Settings, days: float) -> Any:
    (result,) = run_nightly_sync(store, cfg, org_key=ORG, now=NOW + timedelta(days=days),
                                 providers=Providers(google=lambda org: google(org.google)))
    return result


def test_answers_are_harvested_once_by_the_nightly_sync_and_match_hand_figures(
        sb: Sandbox, store: Store, tmp_path: Path) -> None:
    build(store, staff_domain=DOMAIN)
    cfg = forms_settings(sb, tmp_path)
    queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW, google=google)
    _answer(sb, store)

    sb.state.log.reset()
    first = _nightly(store, cfg, 2)
    assert first.counts["survey_answers_stored"] == 14
    # Pages of two in this sandbox: 5 + 5 + 4 answers are 3 + 3 + 2 responses.list calls.
    assert calls(sb).get("forms forms.responses.list") == 8
    sb.state.log.reset()
    second = _nightly(store, cfg, 3)
    assert second.counts["survey_answers_stored"] == 0 and second.counts["survey_answers_replaced"] == 0
    assert calls(sb).get("forms forms.responses.list") == 3  # one per form: only the last moments read again
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 14
        assert s.scalar(select(func.count()).select_from(SyncCursor).where(SyncCursor.source == KIND)) == 3
        assert set(s.scalars(select(SurveyResponse.invitation_id))) == {None}  # group level: names nobody

        groups = list(s.scalars(select(PeerGroup).order_by(PeerGroup.key)))
        tue, thu = results.build(s, groups, date(2026, 1, 1), date(2026, 12, 31))
    assert tue.answers == {"start": 5, "end": 5} and tue.shift is not None
    assert (tue.shift.before, tue.shift.n_before) == ({1: 2, 2: 2, 3: 1, 4: 0}, 5)
    assert (tue.shift.after, tue.shift.n_after) == ({1: 0, 2: 1, 3: 2, 4: 2}, 5)
    by_id = {qr.question.id: qr.summary for qr in tue.questions}
    assert by_id["a02"].mean == 3.6 and by_id["a03"].mean == 4.2 and by_id["a04"].mean == 4.0  # reversed scales
    assert by_id["a05"].n == 4 and by_id["a05"].mean is None and not by_id["a05"].shown  # 4 scored: suppressed
    assert [a.text for a in tue.open_answers] == ["Hyvää on vertaistuki 0", "Hyvää on vertaistuki 1"]
    assert thu.answers == {"start": 4} and not any(qr.summary.shown for qr in thu.questions)

    # A response edited in Forms comes again with the same id: it replaces, never duplicates.
    (form,) = [sb.google.forms.forms[f] for k, f in _forms(store).items() if k.startswith("torstai")]
    edited = form.responses[0]
    edited.answers, edited.submitted = {"a01": [START_LEVELS[3]]}, NOW + timedelta(days=3, hours=12)
    third = _nightly(store, cfg, 4)
    assert third.counts["survey_answers_stored"] == 0 and third.counts["survey_answers_replaced"] == 1
    with store.session() as s:
        row = s.scalar(select(SurveyResponse).where(SurveyResponse.external_id == edited.response_id))
        assert row is not None and row.answers == {"a01": [START_LEVELS[3]]}
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 14


def test_harvest_reads_only_forms_with_a_recent_round(sb: Sandbox, store: Store, tmp_path: Path) -> None:
    build(store, staff_domain=DOMAIN)
    cfg = forms_settings(sb, tmp_path)
    queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW, google=google)
    sb.state.log.reset()
    counts = harvest_forms(store, google(cfg.organisations[0].google), 1, NOW + timedelta(days=61))
    assert counts["forms"] == 0 and calls(sb) == {}


def test_forms_mode_is_never_linked() -> None:
    with pytest.raises(ValidationError, match="linked answers need mode: page"):
        Settings.model_validate({"organisations": [{"key": ORG, "name": "R", "surveys": {
            "enabled": True, "page_url": PAGE_URL, "mode": "forms", "linked": True}}]})
    # (Forms without a 'google' tenant: `config check`, tests/corpus/config_bad/surveys_forms_without_google.)
