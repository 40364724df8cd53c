"""Weekly letters and reminders on the sandbox: one message per client and purpose, ever."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from integrator.domain.types import OutboxStatus, WorkDayStatus
from integrator.jobs.meetings.apply import apply_meetings
from integrator.jobs.meetings.plan import plan_meetings
from integrator.jobs.notify.letters import letter_week_due, queue_weekly_letters
from integrator.jobs.notify.reminders import queue_due_reminders
from integrator.jobs.notify.sender import send_outbox
from integrator.jobs.runs import RunRecorder
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import Membership, OutboxMessage, WorkDay
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import LETTER_DAY, ORG, TWO_GROUPS, WEEK, World, at, monday

sandbox_server, sb, world = nw.sandbox_server, nw.sb, nw.world  # fixtures

TUESDAY = monday() + timedelta(days=1)


def make_meetings(world: World) -> None:
    recorder = RunRecorder.start(world.store, "meetings", organisation_id=None, params={})
    apply_meetings(world.store, world.settings, ORG, plan_meetings(world.store, world.settings, ORG, WEEK), recorder)
    assert recorder.errors == []


def outbox(world: World) -> list[OutboxMessage]:
    with world.store.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.key)))


def test_letters_are_due_on_thursday_noon_for_next_week(world: World) -> None:
    assert letter_week_due(world.settings, LETTER_DAY - timedelta(minutes=1)) is None
    assert letter_week_due(world.settings, LETTER_DAY) == WEEK


def test_each_client_gets_one_letter_with_days_times_links_and_contact(world: World) -> None:
    make_meetings(world)

    counts = queue_weekly_letters(world.store, world.settings, ORG, WEEK)
    sent = send_outbox(world.store, world.settings, LETTER_DAY)

    assert counts["queued"] == 7 and sent["sent"] == 7
    mail = world.sb.sent_mail()
    assert sorted(m.to[0] for m in mail) == sorted(c.email for c in world.clients())
    first = next(m for m in mail if m.to[0] == "k-0001@asiakas.example.fi")
    assert first.subject == "Ensi viikon työtoiminta, viikko 3"
    assert "Tiistai 13.1." in first.html and "Torstai 15.1." in first.html
    assert "klo 10.00–11.00" in first.html
    assert "https://teams.microsoft.com/l/meetup-join/" in first.html
    assert "https://drive.google.com/file/d/file123/view" in first.html
    assert "ohjaaja@sandbox.example.fi" in first.html and "040 123 4567" in first.html
    assert all("Asiakas" not in m.subject for m in mail), "no names in subjects"


def test_plain_language_clients_get_the_selkokieli_letter(world: World) -> None:
    make_meetings(world)
    queue_weekly_letters(world.store, world.settings, ORG, WEEK)
    send_outbox(world.store, world.settings, LETTER_DAY)

    selko = next(m for m in world.sb.sent_mail() if m.to[0] == "k-0005@asiakas.example.fi")
    standard = next(m for m in world.sb.sent_mail() if m.to[0] == "k-0006@asiakas.example.fi")
    assert "Tapaaminen alkaa kello 10.00." in selko.html and "Kirjoita 5 lausetta." in selko.html
    assert "Tapaaminen alkaa kello" not in standard.html and "Kirjoita puoli sivua." in standard.html
    assert "https://meet.google.com/" in selko.html


def test_queuing_and_sending_again_sends_nothing_new(world: World) -> None:
    make_meetings(world)
    queue_weekly_letters(world.store, world.settings, ORG, WEEK)
    send_outbox(world.store, world.settings, LETTER_DAY)

    again = queue_weekly_letters(world.store, world.settings, ORG, WEEK)
    second = send_outbox(world.store, world.settings, LETTER_DAY)

    assert again == {"queued": 0, "already": 7, "no_email": 0, "without_link": 0}
    assert second["sent"] == 0
    assert len(world.sb.sent_mail()) == 7


def test_letters_go_through_gmail_with_text_and_html(sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> None:
    w = World.build(sb, store, db_url, tmp_path, groups=TWO_GROUPS, mail_via="gmail")
    make_meetings(w)
    queue_weekly_letters(w.store, w.settings, ORG, WEEK)

    send_outbox(w.store, w.settings, LETTER_DAY)

    mail = w.sb.sent_mail()
    assert len(mail) == 7 and {m.vendor for m in mail} == {"google"}
    assert all(m.sender == w.sender for m in mail)
    assert "Tiistai 13.1." in mail[0].text or "Keskiviikko 14.1." in mail[0].text
    assert "<h2" in mail[0].html


def test_an_organisation_can_override_a_template(sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    (own / "letter.html.j2").write_text("<p>Oma kirje viikolle {{ week_number }}</p>\n")
    w = World.build(sb, store, db_url, tmp_path, groups=TWO_GROUPS, templates_dir=own)
    make_meetings(w)
    queue_weekly_letters(w.store, w.settings, ORG, WEEK)
    send_outbox(w.store, w.settings, LETTER_DAY)

    standard = next(m for m in w.sb.sent_mail() if m.to[0] == "k-0001@asiakas.example.fi")
    assert standard.html == "<p>Oma kirje viikolle 3</p>\n"


def test_reminders_go_an_hour_before_each_meeting_once(world: World) -> None:
    make_meetings(world)
    early = queue_due_reminders(world.store, world.settings, at(TUESDAY, 8, 59))
    due = queue_due_reminders(world.store, world.settings, at(TUESDAY, 9, 0))
    again = queue_due_reminders(world.store, world.settings, at(TUESDAY, 9, 30))
    send_outbox(world.store, world.settings, at(TUESDAY, 9, 30))

    assert early["queued"] == 0 and due["queued"] == 4 and again["queued"] == 0
    mail = world.sb.sent_mail()
    assert len(mail) == 4
    assert mail[0].subject == "Muistutus: ryhmätapaaminen klo 10.00"
    assert "https://teams.microsoft.com/l/meetup-join/" in mail[0].html


def test_no_reminder_for_a_cancelled_meeting_or_a_client_who_left(world: World) -> None:
    make_meetings(world)
    queue_due_reminders(world.store, world.settings, at(TUESDAY, 9, 0))  # queued before the changes
    with world.store.session() as s:
        wd = s.scalar(select(WorkDay).where(WorkDay.day == TUESDAY))
        assert wd is not None
        wd.status = WorkDayStatus.CANCELLED
        m = s.scalar(select(Membership).order_by(Membership.id.desc()))  # a Wednesday (Meet) client
        assert m is not None
        m.end_date = m.start_date
    make_meetings(world)

    sent = send_outbox(world.store, world.settings, at(TUESDAY, 9, 1))
    wednesday = queue_due_reminders(world.store, world.settings, at(TUESDAY + timedelta(days=1), 9, 0))
    sent_wed = send_outbox(world.store, world.settings, at(TUESDAY + timedelta(days=1), 9, 1))

    assert sent["sent"] == 0 and sent["cancelled"] == 4
    assert wednesday["queued"] == 2 and sent_wed["sent"] == 2
    assert [m.to[0] for m in world.sb.sent_mail()] == ["k-0005@asiakas.example.fi", "k-0006@asiakas.example.fi"]
    assert Counter(m.status for m in outbox(world)) == {OutboxStatus.CANCELLED: 4, OutboxStatus.SENT: 2}


def test_letters_and_reminders_once_on_sqlite_and_postgresql(sb: Sandbox, any_store: Store, tmp_path: Path) -> None:
    w = World.build(sb, any_store, any_store.url, tmp_path, groups=TWO_GROUPS)
    make_meetings(w)
    for _ in range(2):
        queue_weekly_letters(w.store, w.settings, ORG, WEEK)
        send_outbox(w.store, w.settings, LETTER_DAY)
        queue_due_reminders(w.store, w.settings, at(TUESDAY, 9, 0))
        send_outbox(w.store, w.settings, at(TUESDAY, 9, 1))

    assert len(w.sb.sent_mail()) == 7 + 4
    assert Counter(m.status for m in outbox(w)) == {OutboxStatus.SENT: 11}
