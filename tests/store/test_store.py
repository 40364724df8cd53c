"""The store on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from integrator.domain.types import AttendanceStatus, MeetingProvider, ServiceModel, StaffRole
from integrator.store.db import Store
from integrator.store.models import (
    AttendanceDay,
    Base,
    Client,
    Organisation,
    PeerGroup,
    Period,
    StaffUser,
    WorkDay,
)


def _seed(store: Store) -> dict[str, int]:
    with store.session() as s:
        org = Organisation(key="raisio", name="Raision kaupunki")
        s.add(org)
        s.flush()
        coord = StaffUser(organisation_id=org.id, email="ohjaaja@example.fi", display_name="Ohjaaja",
                          role=StaffRole.COORDINATOR)
        client = Client(organisation_id=org.id, code="K-0001", display_name="Asiakas Yksi")
        s.add_all([coord, client])
        s.flush()
        group = PeerGroup(organisation_id=org.id, key="tiistai", name="Tiistairyhmä", coordinator_id=coord.id,
                          weekdays=[2], meeting_start=time(10, 0), meeting_end=time(11, 30),
                          meeting_provider=MeetingProvider.TEAMS)
        s.add(group)
        s.flush()
        day = WorkDay(group_id=group.id, day=date(2026, 12, 1), iso_week="2026-W49",
                      meeting_start=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
                      meeting_end=datetime(2026, 12, 1, 9, 30, tzinfo=UTC))
        s.add(day)
        s.flush()
        return {"org": org.id, "client": client.id, "group": group.id, "day": day.id, "coord": coord.id}


def test_migrations_create_exactly_the_models_schema(any_store: Store) -> None:
    with any_store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations disagree; run scripts/make_migration.sh: {diff}"


def test_instants_come_back_as_aware_utc(any_store: Store) -> None:
    ids = _seed(any_store)
    helsinki = timezone(timedelta(hours=2))
    with any_store.session() as s:
        s.add(Period(client_id=ids["client"], service_model=ServiceModel.LONG_TERM, start_date=date(2026, 9, 1),
                     end_date=date(2027, 2, 28), weekdays=[2, 4], hours_per_day=4.0,
                     briefing_recorded_at=datetime(2026, 8, 28, 12, 0, tzinfo=helsinki)))
    with any_store.session() as s:
        period = s.scalars(select(Period)).one()
        assert period.briefing_recorded_at == datetime(2026, 8, 28, 10, 0, tzinfo=UTC)
        assert period.briefing_recorded_at.tzinfo is UTC
        assert period.weekdays == [2, 4]


def test_naive_datetimes_are_refused_rather_than_guessed(any_store: Store) -> None:
    ids = _seed(any_store)
    with pytest.raises(Exception, match="naive datetime"), any_store.session() as s:
        s.add(WorkDay(group_id=ids["group"], day=date(2026, 12, 3), iso_week="2026-W49",
                      meeting_start=datetime(2026, 12, 3, 10, 0), meeting_end=datetime(2026, 12, 3, 11, 0)))


def test_one_client_code_per_organisation(any_store: Store) -> None:
    ids = _seed(any_store)
    with pytest.raises(IntegrityError), any_store.session() as s:
        s.add(Client(organisation_id=ids["org"], code="K-0001", display_name="Toinen"))
    with any_store.session() as s:
        assert s.scalar(select(Client.display_name).where(Client.code == "K-0001")) == "Asiakas Yksi"


def test_one_attendance_row_per_client_and_work_day(any_store: Store) -> None:
    ids = _seed(any_store)
    with any_store.session() as s:
        s.add(AttendanceDay(client_id=ids["client"], work_day_id=ids["day"],
                            computed_status=AttendanceStatus.ABSENT))
    with pytest.raises(IntegrityError), any_store.session() as s:
        s.add(AttendanceDay(client_id=ids["client"], work_day_id=ids["day"],
                            computed_status=AttendanceStatus.PRESENT))


def test_coordinator_override_wins_over_the_computed_status(any_store: Store) -> None:
    ids = _seed(any_store)
    with any_store.session() as s:
        s.add(AttendanceDay(client_id=ids["client"], work_day_id=ids["day"],
                            computed_status=AttendanceStatus.ABSENT, override_status=AttendanceStatus.EXCUSED,
                            override_reason="sairausloma", override_by_id=ids["coord"],
                            override_at=datetime.now(UTC)))
    with any_store.session() as s:
        row = s.scalars(select(AttendanceDay)).one()
        assert row.status is AttendanceStatus.EXCUSED
        assert row.computed_status is AttendanceStatus.ABSENT


def test_a_failed_unit_of_work_leaves_nothing_behind(any_store: Store) -> None:
    with pytest.raises(RuntimeError), any_store.session() as s:
        s.add(Organisation(key="kesken", name="Kesken"))
        s.flush()
        raise RuntimeError("crash mid-way")
    with any_store.session() as s:
        assert s.scalars(select(Organisation)).all() == []


def test_sqlite_store_runs_in_wal_mode(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_database_error_does_not_quote_the_row_it_refused(any_store: Store) -> None:
    ids = _seed(any_store)
    with pytest.raises(IntegrityError) as err, any_store.session() as s:
        s.add(Client(organisation_id=ids["org"], code="K-0001", display_name="Salainen Nimi",
                     email="salainen@example.fi"))
    assert "Salainen" not in str(err.value) and "salainen@example.fi" not in str(err.value)
