"""A period's start and end rounds go out once and only once: in the weekly letter of the right
week, else as a short message; one reminder when unanswered; nothing without a briefing."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from integrator.domain.surveys import token_hash
from integrator.domain.types import MessageKind
from integrator.jobs.notify.letters import queue_weekly_letters
from integrator.jobs.notify.surveys import queue_survey_messages, queue_survey_reminders, queue_surveys
from integrator.jobs.surveys.answers import invitation_for_token, save_page_answers
from integrator.store.db import Store
from integrator.store.models import OutboxMessage, SurveyInvitation
from tests.surveys.world import NOW, ORG, PAGE_URL, WEEK, build, settings

LINK = re.compile(re.escape(PAGE_URL) + r"/kysely/([A-Za-z0-9_-]+)")


def _messages(store: Store, kind: MessageKind) -> dict[str, OutboxMessage]:
    with store.session() as s:
        return {m.key: m for m in s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))}


def _invitations(store: Store) -> list[tuple[str, str]]:
    with store.session() as s:
        from integrator.store.models import Client
        return sorted(s.execute(select(Client.code, SurveyInvitation.round_key)
                                .join(Client, Client.id == SurveyInvitation.client_id)))


def test_the_letter_of_the_periods_first_and_last_week_carries_the_link_once(store: Store) -> None:
    build(store)
    cfg = settings()
    queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW)
    letters = _messages(store, MessageKind.WEEKLY_LETTER)
    # Start rounds for the new periods, the end round for K-0004; K-0005 has no briefing.
    assert _invitations(store) == [("K-0001", "start"), ("K-0002", "start"), ("K-0003", "start"),
                                   ("K-0004", "end"), ("K-0006", "start")]
    for code in ("K-0001", "K-0004", "K-0006"):
        body = letters[f"letter:{ORG}:{code}:{WEEK}"].body_text
        token = LINK.search(body)
        assert token is not None, body
        assert "Arviointikysely" in body and code.lower() not in token.group(0)
        with store.session() as s:  # only the hash is stored, and it opens the invitation
            inv = invitation_for_token(s, token.group(1), NOW)
            assert inv is not None and inv.token_hash == token_hash(token.group(1))
            assert s.scalar(select(func.count()).select_from(SurveyInvitation)
                            .where(SurveyInvitation.token_hash == token.group(1))) == 0
    plain = letters[f"letter:{ORG}:K-0003:{WEEK}"]
    assert "Kysely: Kerro, miltä työtoiminta tuntuu." in plain.body_text and LINK.search(plain.body_html or "")
    assert f"letter:{ORG}:K-0005:{WEEK}" not in letters  # no briefing: nothing at all

    # A re-run, the nightly short-message pass and the next week change nothing.
    queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW)
    assert queue_survey_messages(store, cfg, ORG, WEEK, NOW)["queued"] == 0
    queue_weekly_letters(store, cfg, ORG, "2026-W04", now=NOW)
    assert len(_invitations(store)) == 5
    assert _messages(store, MessageKind.SURVEY) == {}


def test_without_a_letter_a_short_message_goes_once(store: Store) -> None:
    build(store, work_days=False)  # no week set up: no letters
    cfg = settings()
    assert queue_weekly_letters(store, cfg, ORG, WEEK, now=NOW)["queued"] == 0
    out = queue_surveys(store, cfg, NOW)
    assert out[ORG]["queued"] == 5
    again = queue_surveys(store, cfg, NOW + timedelta(hours=1))
    assert again[ORG]["queued"] == 0
    msgs = _messages(store, MessageKind.SURVEY)
    assert sorted(k.split(":")[2] for k in msgs) == ["K-0001", "K-0002", "K-0003", "K-0004", "K-0006"]
    assert all(LINK.search(m.body_text) for m in msgs.values())
    assert "nimettöminä" in next(iter(msgs.values())).body_text  # anonymous by default, and said so


def test_one_reminder_when_unanswered_and_never_a_second(store: Store) -> None:
    build(store, work_days=False)
    cfg = settings(remind_after_days=7)
    queue_survey_messages(store, cfg, ORG, WEEK, NOW)
    with store.session() as s:  # K-0001 answers
        inv = s.scalar(select(SurveyInvitation).join(SurveyInvitation.survey_version)
                       .where(SurveyInvitation.client_id == 1))
        assert inv is not None
        save_page_answers(s, inv, {"a01": ["tarvitsin vähän tukea"]}, NOW)
    assert queue_survey_reminders(store, cfg, ORG, NOW + timedelta(days=6))["queued"] == 0
    assert queue_survey_reminders(store, cfg, ORG, NOW + timedelta(days=7))["queued"] == 4
    assert queue_survey_reminders(store, cfg, ORG, NOW + timedelta(days=14))["queued"] == 0
    reminders = _messages(store, MessageKind.SURVEY_REMINDER)
    assert "K-0001" not in {k.split(":")[2] for k in reminders}
    # The reminder's own link opens the same invitation (the first link keeps working too).
    m = next(iter(reminders.values()))
    token = LINK.search(m.body_text)
    assert token is not None and "Muistutus" in m.body_text
    with store.session() as s:
        inv = invitation_for_token(s, token.group(1), NOW + timedelta(days=8))
        assert inv is not None and inv.client_id == m.client_id


def test_a_changed_question_under_the_old_version_is_refused(store: Store) -> None:
    import pytest

    from integrator.jobs.surveys.rounds import SurveyVersionChanged

    build(store, work_days=False)
    queue_survey_messages(store, settings(), ORG, WEEK, NOW)
    from integrator.domain.surveys import PILOT_END

    end = PILOT_END.snapshot()
    end["questions"][1]["text"] = "Tulin kuulluksi…"
    changed = settings(definitions=[end])
    with pytest.raises(SurveyVersionChanged, match="new version"):
        queue_survey_messages(store, changed, ORG, "2026-W03", NOW)
