"""Absence alerts follow the truth: the product's nightly sync and sender on the sandbox tenant.

Group "tiistai" meets Tue+Thu on Teams, 10-11 Helsinki time; its work days and their evidence
(Teams reports in, meeting records, returns) are written straight into the store, as the
harvest would have written them; the nightly sync (`run_nightly_sync`, with `since` as
`nightly-sync --since`) evaluates and alerts, and the sender sends through the sandbox's Graph.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from integrator.clients_import.writing import import_clients
from integrator.domain.calendar import meeting_window
from integrator.domain.types import AttendanceStatus, MeetingProvider, MessageKind, OutboxStatus, StaffRole
from integrator.domain.weeks import iso_week_of
from integrator.jobs.attendance.corrections import Actor, correct
from integrator.jobs.attendance.evaluate import REPORT_KIND, report_key
from integrator.jobs.nightly.run import run_nightly_sync
from integrator.jobs.notify.sender import send_outbox
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    AuditEvent,
    Client,
    ExternalResource,
    MeetingAttendance,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
    Submission,
    WorkDay,
)
from integrator.store.models import OutboxMessage as Msg
from tests.jobs import notify_world as nw
from tests.jobs.notify_world import ORG, GroupSpec, World, at

sandbox_server, sb = nw.sandbox_server, nw.sb  # fixtures

THU_8, TUE_13, THU_15, TUE_20 = date(2026, 1, 8), date(2026, 1, 13), date(2026, 1, 15), date(2026, 1, 20)
TUE_30_12 = date(2025, 12, 30)
WORKER = "sosiaaliohjaaja@sandbox.example.fi"


class Register:
    """The world's group, its work days and its evidence, in the store."""

    def __init__(self, world: World) -> None:
        self.w = world
        with world.store.session() as s:
            org = s.scalars(select(Organisation).where(Organisation.key == ORG)).one()
            worker = StaffUser(organisation_id=org.id, email=WORKER, display_name="Sari Sosiaali",
                               role=StaffRole.SOCIAL_WORKER)
            s.add(worker)
            s.flush()
            for p in s.scalars(select(Period)):
                p.responsible_worker_id = worker.id
            self.org_id = org.id
            self.group_id = s.scalars(select(PeerGroup.id).where(PeerGroup.key == "tiistai")).one()

    def work_day(self, day: date) -> int:
        with self.w.store.session() as s:
            found = s.scalar(select(WorkDay.id).where(WorkDay.group_id == self.group_id, WorkDay.day == day))
            if found is not None:
                return found
            begins, ends = meeting_window(day, nw.TWO_GROUPS[0].start, nw.TWO_GROUPS[0].end)
            wd = WorkDay(group_id=self.group_id, day=day, iso_week=iso_week_of(day), meeting_start=begins,
                         meeting_end=ends)
            s.add(wd)
            s.flush()
            return wd.id

    def report_in(self, *days: date) -> None:
        """The Teams report of these days is in (so a client without a trace is absent)."""
        for day in days:
            wd = self.work_day(day)
            with self.w.store.session() as s:
                s.add(ExternalResource(organisation_id=self.org_id, kind=REPORT_KIND,
                                       local_key=report_key(wd, "teams", f"r{wd}"), external_id=f"r{wd}"))

    def client_id(self, code: str) -> int:
        with self.w.store.session() as s:
            return s.scalars(select(Client.id).where(Client.code == code)).one()

    def attended(self, code: str, day: date, minutes: int) -> None:
        wd = self.work_day(day)
        start = at(day, 10)
        with self.w.store.session() as s:
            s.add(MeetingAttendance(
                organisation_id=self.org_id, work_day_id=wd, source="teams", record_key=f"r{wd}:{code}",
                participant_key=f"email:{code.lower()}@asiakas.example.fi", display_name=None, via_phone=False,
                intervals=[[start.isoformat(), (start + timedelta(minutes=minutes)).isoformat()]],
                seconds=minutes * 60, client_id=self.client_id(code)))

    def returned(self, code: str, day: date) -> None:
        """The day's task turned in on time (seen by a later harvest)."""
        wd = self.work_day(day)
        with self.w.store.session() as s:
            s.add(Submission(organisation_id=self.org_id, client_id=self.client_id(code), work_day_id=wd,
                             source="classroom", external_id=f"classroom:{code}:{day}", state="TURNED_IN",
                             returned_at=at(day, 13), late=False))

    def decide(self, code: str, day: date, status: str, reason: str = "ohjaajan tieto") -> None:
        correct(self.w.store, self.client_id(code), day, status, reason, Actor("cli:test"),
                work_day_id=self.work_day(day), today=day + timedelta(days=30), allow_unexpected=True)

    def sync(self, night: date, since: date | None = None) -> Any:
        (result,) = run_nightly_sync(self.w.store, self.w.settings, org_key=ORG, now=at(night, 2), since=since)
        assert result.errors == [], result.errors
        return result

    def send(self, night: date) -> dict[str, int]:
        return send_outbox(self.w.store, self.w.settings, at(night, 8))

    def messages(self, kind: MessageKind) -> list[Msg]:
        with self.w.store.session() as s:
            return list(s.scalars(select(Msg).where(Msg.kind == kind).order_by(Msg.id)))

    def statuses(self, code: str) -> dict[date, AttendanceStatus]:
        with self.w.store.session() as s:
            return {d: a.status for a, d in s.execute(
                select(AttendanceDay, WorkDay.day).join(WorkDay, AttendanceDay.work_day_id == WorkDay.id)
                .where(AttendanceDay.client_id == self.client_id(code)))}

    def audit(self, action: str) -> list[dict[str, Any]]:
        with self.w.store.session() as s:
            return [e.details for e in s.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                  .order_by(AuditEvent.id))]


@pytest.fixture
def reg(sb: Sandbox, store: Store, db_url: str, tmp_path: Path) -> Register:
    world = World.build(sb, store, db_url, tmp_path,
                        groups=[GroupSpec("tiistai", [2, 4], MeetingProvider.TEAMS, 2)])
    r = Register(world)
    # K-0001 leaves no trace on Tue 13.1 and Thu 15.1: two absences in a row; K-0002 attends.
    r.report_in(TUE_13, THU_15)
    for day in (TUE_13, THU_15):
        r.attended("K-0002", day, 50)
    return r


def queued_alert(reg: Register) -> Msg:
    reg.sync(date(2026, 1, 16))
    (alert,) = reg.messages(MessageKind.ABSENCE_ALERT)
    assert alert.status is OutboxStatus.QUEUED and alert.to_address == WORKER
    return alert


def test_an_alert_keeps_the_days_and_groups_it_tells_of(reg: Register) -> None:
    assert queued_alert(reg).meta == {"days": ["2026-01-13", "2026-01-15"], "group_keys": ["tiistai"],
                                      "groups": ["Ryhmä tiistai"]}


def test_an_alert_whose_day_turns_present_before_it_goes_is_cancelled_audited_and_never_sent(reg: Register) -> None:
    alert = queued_alert(reg)
    reg.returned("K-0001", THU_15)  # a return the next harvest found: Thursday was attended

    result = reg.sync(date(2026, 1, 17))
    sent = reg.send(date(2026, 1, 17))

    (after,) = reg.messages(MessageKind.ABSENCE_ALERT)
    assert after.status is OutboxStatus.CANCELLED and result.counts["alerts_withdrawn"] == 1
    assert reg.audit("alert.withdrawn") == [{"client": "K-0001", "days": ["2026-01-13", "2026-01-15"],
                                             "why": {"2026-01-15": "present"}, "from": "queued",
                                             "correction": None}]
    assert sent["sent"] == 0 and reg.w.sb.sent_mail() == []
    assert reg.messages(MessageKind.ABSENCE_ALERT_CORRECTION) == [] and after.id == alert.id


def test_a_coordinators_decision_withdraws_a_queued_alert_at_once_not_at_the_next_night(reg: Register) -> None:
    queued_alert(reg)
    reg.decide("K-0001", THU_15, "excused", "Lääkärikäynti, sovittu etukäteen")

    # No sync in between: the morning's sending run finds nothing to send.
    sent = reg.send(date(2026, 1, 16))

    (alert,) = reg.messages(MessageKind.ABSENCE_ALERT)
    assert alert.status is OutboxStatus.CANCELLED and sent["sent"] == 0 and reg.w.sb.sent_mail() == []
    (event,) = reg.audit("alert.withdrawn")
    assert event["why"] == {"2026-01-15": "excused"} and event["from"] == "queued"


def test_an_alert_already_sent_is_followed_by_one_correction_with_code_group_and_dates_only(reg: Register) -> None:
    queued_alert(reg)
    assert reg.send(date(2026, 1, 16))["sent"] == 1
    reg.decide("K-0001", TUE_13, "present", "Osallistui puhelimitse, terveydellinen syy")

    for night in (date(2026, 1, 17), date(2026, 1, 18)):  # the second night changes nothing
        reg.sync(night)
        reg.send(night)

    (alert,) = reg.messages(MessageKind.ABSENCE_ALERT)
    (correction,) = reg.messages(MessageKind.ABSENCE_ALERT_CORRECTION)
    assert alert.status is OutboxStatus.SENT and correction.status is OutboxStatus.SENT
    assert correction.key == f"absence_alert_correction:{alert.id}" and correction.to_address == WORKER
    assert correction.body_text == ("Korjaus: asiakas K-0001 (ryhmä Ryhmä tiistai) ei ollutkaan poissa 13.1.2026; "
                                    "aiempi ilmoitus poissaoloista 13.–15.1.2026 ei pidä enää paikkaansa.\n")
    mail = reg.w.sb.sent_mail()
    assert [m.to[0] for m in mail] == [WORKER, WORKER]
    assert mail[1].subject == "Korjaus poissaoloilmoitukseen: asiakas K-0001"
    for text in (mail[1].subject, correction.body_text):  # no name, no reason
        assert "Asiakas 1" not in text and "puhelimitse" not in text and "terveydellinen" not in text
    assert [(d["from"], d["correction"]) for d in reg.audit("alert.withdrawn")] == [("sent", correction.key)]


def test_a_streak_whose_first_day_moves_earlier_is_not_alerted_twice(reg: Register) -> None:
    reg.work_day(THU_8)  # Thursday 8.1: its Teams report is late, so the day is pending
    queued_alert(reg)

    reg.report_in(THU_8)  # the report arrives: 8.1 is an absence too, the streak now starts on it
    reg.sync(date(2026, 1, 17), since=THU_8)
    reg.report_in(TUE_20)  # and it grows: Tuesday 20.1 is absent as well
    reg.sync(date(2026, 1, 21))

    assert reg.statuses("K-0001") == {THU_8: AttendanceStatus.ABSENT, TUE_13: AttendanceStatus.ABSENT,
                                      THU_15: AttendanceStatus.ABSENT, TUE_20: AttendanceStatus.ABSENT}
    (alert,) = reg.messages(MessageKind.ABSENCE_ALERT)
    assert alert.status is OutboxStatus.QUEUED and alert.key == f"absence_alert:{reg.client_id('K-0001')}:2026-01-13"


IMPORT_HEADER = ("code;display_name;email;group;service_model;period_start;period_end;weekdays;"
                 "briefing_recorded_at;briefing_recorded_by;responsible_worker")
WED_14 = date(2026, 1, 14)


def imported_three_weeks_late(reg: Register) -> None:
    """K-0100 is imported on Wed 14.1 with a period that began on Tue 23.12, three weeks earlier;
    the Teams reports of 30.12, 8.1, 13.1 and 15.1 are in, and K-0100 returned the task of 30.12."""
    raw = (f"{IMPORT_HEADER}\nK-0100;Uusi Asiakas;k-0100@asiakas.example.fi;tiistai;long_term;23.12.2025;"
           f"22.6.2026;ti,to;23.12.2025;{reg.w.coordinator};{WORKER}\n").encode()
    result = import_clients(reg.w.store, raw, org_key=ORG, settings=reg.w.settings, today=WED_14)
    assert result.problems == [] and result.counts["memberships_created"] == 1
    reg.report_in(TUE_30_12, THU_8)
    reg.returned("K-0100", TUE_30_12)


def test_a_client_imported_with_a_past_period_start_is_not_absent_before_the_import(reg: Register) -> None:
    imported_three_weeks_late(reg)

    result = reg.sync(date(2026, 1, 16), since=date(2025, 12, 23))

    # 30.12 was attended (a return) and is still paid; 8.1 and 13.1 were never invited: no
    # day at all; 15.1, after the import, is an absence, but one absence alerts nobody.
    assert reg.statuses("K-0100") == {TUE_30_12: AttendanceStatus.PRESENT, THU_15: AttendanceStatus.ABSENT}
    assert [a for a in reg.messages(MessageKind.ABSENCE_ALERT) if a.client_id == reg.client_id("K-0100")] == []
    assert result.alerts is not None and result.alerts.queued == 1  # K-0001's, who was there all along


def test_a_coordinators_absence_before_the_import_still_counts(reg: Register) -> None:
    imported_three_weeks_late(reg)
    reg.decide("K-0100", TUE_13, "absent", "ei osallistunut")

    reg.sync(date(2026, 1, 16), since=date(2025, 12, 23))

    assert reg.statuses("K-0100") == {TUE_30_12: AttendanceStatus.PRESENT, TUE_13: AttendanceStatus.ABSENT,
                                      THU_15: AttendanceStatus.ABSENT}
    k100 = [a for a in reg.messages(MessageKind.ABSENCE_ALERT) if a.client_id == reg.client_id("K-0100")]
    assert [(a.to_address, a.body_text) for a in k100] == [(WORKER, (
        "Asiakas K-0100 (ryhmä Ryhmä tiistai) on ollut poissa etäkuntouttavasta työtoiminnasta "
        "2 peräkkäisenä toimintapäivänä: 13.1.2026, 15.1.2026.\n"))]


def test_the_import_records_when_a_new_membership_began_and_leaves_old_ones_as_they_were(reg: Register) -> None:
    from integrator.store.models import Membership

    imported_three_weeks_late(reg)
    raw = (f"{IMPORT_HEADER}\nK-0100;Uusi Asiakas;k-0100@asiakas.example.fi;tiistai;long_term;23.12.2025;"
           f"22.6.2026;ti,to;23.12.2025;{reg.w.coordinator};{WORKER}\n").encode()
    import_clients(reg.w.store, raw, org_key=ORG, settings=reg.w.settings, today=date(2026, 2, 2))
    with reg.w.store.session() as s:
        recorded = dict(s.execute(select(Client.code, Membership.recorded_on)
                                  .join(Membership, Membership.client_id == Client.id)).all())
    assert recorded == {"K-0001": None, "K-0002": None, "K-0100": WED_14}


def test_an_alert_from_before_days_were_kept_still_stops_a_second_alert_and_is_withdrawn_by_its_first_day(
        reg: Register) -> None:
    from integrator.jobs.notify.outbox import NewMessage, enqueue

    with reg.w.store.session() as s:
        enqueue(s, [NewMessage(key=f"absence_alert:{reg.client_id('K-0001')}:2026-01-13",
                               kind=MessageKind.ABSENCE_ALERT, organisation_id=reg.org_id, to_address=WORKER,
                               subject="Toistuvia poissaoloja: asiakas K-0001", body_text="...", body_html=None,
                               client_id=reg.client_id("K-0001"))])
    reg.work_day(THU_8)
    reg.report_in(THU_8)
    reg.sync(date(2026, 1, 16), since=THU_8)  # the streak is 8.1-15.1 now: it overlaps the old alert
    assert [a.status for a in reg.messages(MessageKind.ABSENCE_ALERT)] == [OutboxStatus.QUEUED]

    reg.decide("K-0001", TUE_13, "excused", "sovittu etukäteen")
    reg.sync(date(2026, 1, 17))
    assert reg.audit("alert.withdrawn")[0]["why"] == {"2026-01-13": "excused"}


def test_a_withdrawn_alert_whose_days_turn_absent_again_alerts_again_and_an_uncertain_one_is_corrected(
        reg: Register) -> None:
    first = queued_alert(reg)
    reg.decide("K-0001", THU_15, "present", "merkitty väärin")
    reg.sync(date(2026, 1, 17))
    reg.decide("K-0001", THU_15, "absent", "merkitty väärin, korjattu")
    reg.sync(date(2026, 1, 18))

    old, again = reg.messages(MessageKind.ABSENCE_ALERT)
    assert (old.id, old.status, again.status) == (first.id, OutboxStatus.CANCELLED, OutboxStatus.QUEUED)
    assert again.key == f"{first.key}:2"

    with reg.w.store.session() as s:  # the sender stopped mid-send: maybe sent
        row = s.get(Msg, again.id)
        assert row is not None
        row.status = OutboxStatus.UNCERTAIN
    reg.decide("K-0001", TUE_13, "excused", "sovittu etukäteen")
    reg.sync(date(2026, 1, 19))
    assert [a.status for a in reg.messages(MessageKind.ABSENCE_ALERT)] == [OutboxStatus.CANCELLED] * 2
    (correction,) = reg.messages(MessageKind.ABSENCE_ALERT_CORRECTION)
    assert correction.key == f"absence_alert_correction:{again.id}" and "13.1.2026;" in correction.body_text
