"""`integrator import clients`: every bad row is explained, nothing is half-written, re-import is a no-op."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from integrator.cli import cli
from integrator.clients_import import import_clients
from integrator.clients_import.reading import read_rows
from integrator.config import load_settings
from integrator.config.apply import apply_settings
from integrator.domain.types import ServiceModel, SupportLevel
from integrator.store.db import Store
from integrator.store.migrate import upgrade
from integrator.store.models import AuditEvent, Client, Membership, PeerGroup, Period, StaffUser

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "integrator.example.yaml"
GOOD = REPO / "tests" / "corpus" / "clients_good" / "raisio.csv"
BAD = sorted((REPO / "tests" / "corpus" / "clients_bad").glob("*.csv"))
PEOPLE = ("Ville Virhe", "Veera Virhe", "Äimä Öljy", "Väinö Virhe", "Aino Asiakas", "Eero Esimerkki")


def seed(store: Store) -> None:
    """The example organisations, staff and groups, and the good client file."""
    settings = load_settings(EXAMPLE, check_secrets=False)
    apply_settings(store, settings)
    result = import_clients(store, GOOD.read_bytes(), org_key="raisio", settings=settings)
    assert result.problems == [] and result.written


def snapshot(store: Store) -> list[Any]:
    """Every client, period and membership row with the columns an import may change."""
    with store.session() as s:
        return [
            sorted((c.code, c.display_name, c.email, c.phone, c.plain_language, c.digital_support,
                    c.entra_object_id, c.loan_device_note, c.updated_at) for c in s.scalars(select(Client))),
            sorted((p.client_id, p.start_date, p.end_date, p.weekdays, p.hours_per_day, p.service_model,
                    p.briefing_recorded_at, p.briefing_recorded_by_id, p.responsible_worker_id)
                   for p in s.scalars(select(Period))),
            sorted((m.group_id, m.client_id, m.start_date, m.end_date) for m in s.scalars(select(Membership))),
        ]


def run_import(db_url: str, path: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["import", "clients", str(path), "--org", "raisio", "--config", str(EXAMPLE),
                                    "--database-url", db_url, *extra])


def test_the_corpus_has_at_least_fifteen_bad_files() -> None:
    assert len(BAD) >= 15
    assert all(f.with_suffix(".expect").exists() for f in BAD)


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, seeded SQLite file per module; each corpus case works on a copy (fast)."""
    path = tmp_path_factory.mktemp("seeded") / "integrator.db"
    upgrade(f"sqlite:///{path}")
    st = Store(f"sqlite:///{path}")
    seed(st)
    st.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def seeded(seeded_file: Path, tmp_path: Path) -> Iterator[tuple[Store, str]]:
    target = tmp_path / "integrator.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{seeded_file}{suffix}").exists():
            shutil.copy(f"{seeded_file}{suffix}", f"{target}{suffix}")
    st = Store(f"sqlite:///{target}")
    yield st, f"sqlite:///{target}"
    st.dispose()


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_each_bad_file_is_explained_by_line_and_column_and_writes_nothing(
        seeded: tuple[Store, str], path: Path) -> None:
    store, db_url = seeded
    before = snapshot(store)
    assert len(before[0]) == 3  # the store has data: a bad file must leave it exactly as it was
    result = run_import(db_url, path)
    assert result.exit_code == 2, result.output
    for fragment in path.with_suffix(".expect").read_text(encoding="utf-8").splitlines():
        assert f"{path}{fragment}" in result.output or fragment in result.output, \
            f"{fragment!r} not in:\n{result.output}"
    assert all(line.startswith(f"{path}:") for line in result.output.splitlines()[:-1])
    assert result.output.splitlines()[-1].endswith("mitään ei tallennettu.")
    assert snapshot(store) == before
    # Rows are named by line and pseudonymous code only: no names, no emails.
    assert not any(name in result.output for name in PEOPLE)
    assert "@" not in result.output.replace("nimi@example.fi", "")


def test_importing_the_good_file_creates_clients_periods_and_memberships(any_store: Store) -> None:
    seed(any_store)
    with any_store.session() as s:
        aino = s.scalars(select(Client).where(Client.code == "RAI-0001")).one()
        assert (aino.display_name, aino.email, aino.plain_language) == ("Aino Asiakas", "aino@example.fi", True)
        assert aino.digital_support is SupportLevel.A_LOT
        period = aino.periods[0]
        assert period.weekdays == [2, 4] and period.hours_per_day == 4.5
        assert period.service_model is ServiceModel.LONG_TERM
        # 14:30 Finnish winter time is 12:30 UTC.
        assert period.briefing_recorded_at == datetime(2026, 1, 10, 12, 30, tzinfo=UTC)
        recorder = s.get(StaffUser, period.briefing_recorded_by_id)
        assert recorder is not None and recorder.email == "ohjaaja.tiistai@raisio.example.fi"
        membership = s.scalars(select(Membership).where(Membership.client_id == aino.id)).one()
        assert s.get(PeerGroup, membership.group_id).key == "tiistai"  # type: ignore[union-attr]
        eero = s.scalars(select(Client).where(Client.code == "RAI-0002")).one()
        assert [p.service_model for p in eero.periods] == [ServiceModel.SHORT_TERM, ServiceModel.INTERVAL]
        assert eero.periods[0].briefing_recorded_at is None  # allowed; the consent gate blocks provisioning
        assert s.scalar(select(func.count()).select_from(Client)) == 3


def test_importing_the_same_file_again_changes_nothing(any_store: Store) -> None:
    seed(any_store)
    before = snapshot(any_store)
    result = import_clients(any_store, GOOD.read_bytes(), org_key="raisio",
                            settings=load_settings(EXAMPLE, check_secrets=False))
    assert result.problems == []
    assert {k: v for k, v in result.counts.items() if v} == {
        "clients_unchanged": 3, "periods_unchanged": 3, "memberships_unchanged": 3}
    assert snapshot(any_store) == before


def test_a_bad_file_leaves_a_store_with_data_exactly_as_it_was(any_store: Store) -> None:
    seed(any_store)
    before = snapshot(any_store)
    bad = REPO / "tests" / "corpus" / "clients_bad" / "many_bad_rows.csv"
    result = import_clients(any_store, bad.read_bytes(), org_key="raisio")
    assert {p.line for p in result.problems} == {3, 5}
    assert not result.written
    assert snapshot(any_store) == before


def test_a_changed_cell_updates_only_that_client(store: Store, db_url: str, tmp_path: Path) -> None:
    seed(store)
    changed = tmp_path / "changed.csv"
    changed.write_text(GOOD.read_text(encoding="utf-8").replace("+358 40 123 4567", "+358 50 765 4321"),
                       encoding="utf-8")
    result = run_import(db_url, changed)
    assert result.exit_code == 0, result.output
    assert "clients: 0 created, 1 updated, 2 unchanged" in result.output
    assert "periods: 0 created, 0 updated, 3 unchanged" in result.output
    with store.session() as s:
        assert s.scalars(select(Client.phone).where(Client.code == "RAI-0001")).one() == "+358 50 765 4321"


def test_a_dry_run_counts_the_changes_and_writes_nothing(store: Store, db_url: str) -> None:
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    result = run_import(db_url, GOOD, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "clients: 3 created, 0 updated, 0 unchanged" in result.output
    assert "1 period(s) have no data-protection briefing recorded" in result.output
    assert "dry run: nothing was written." in result.output
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Client)) == 0


def test_the_organisation_must_be_named_when_there_are_several(store: Store, db_url: str) -> None:
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    result = CliRunner().invoke(cli, ["import", "clients", str(GOOD), "--database-url", db_url])
    assert result.exit_code == 2
    assert "give --org: the database has several organisations (naantali, raisio, raisio-tuottaja)" in result.output


def _afternoon_group(store: Store) -> None:
    with store.session() as s:
        org_id = s.scalars(select(PeerGroup.organisation_id).where(PeerGroup.key == "tiistai")).one()
        s.add(PeerGroup(organisation_id=org_id, key="ti-iltapaiva", name="Tiistai iltapäivä", weekdays=[2],
                        meeting_start=datetime(2026, 1, 1, 13).time(), meeting_end=datetime(2026, 1, 1, 14).time(),
                        meeting_provider="teams"))


def _regrouped(tmp_path: Path, group_from: str | None) -> Path:
    moved = tmp_path / "moved.csv"
    lines = GOOD.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(";tiistai;", ";ti-iltapaiva;")
    if group_from is not None:
        lines = [line + (";group_from" if i == 0 else f";{group_from}" if i == 1 else ";")
                 for i, line in enumerate(lines)]
    moved.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return moved


def test_a_changed_group_without_group_from_is_refused_naming_the_line_and_column(store: Store, db_url: str,
                                                                                   tmp_path: Path) -> None:
    seed(store)
    _afternoon_group(store)
    before = snapshot(store)

    result = run_import(db_url, _regrouped(tmp_path, None))

    assert result.exit_code == 2
    assert "moved.csv:2: sarake 'group' (asiakas RAI-0001): asiakas on ryhmässä 'tiistai' 13.1.2026 alkaen" \
        in result.output
    assert "group_from" in result.output
    assert snapshot(store) == before


def test_group_from_moves_the_client_from_that_day_and_keeps_the_days_before(store: Store, db_url: str,
                                                                             tmp_path: Path) -> None:
    seed(store)
    _afternoon_group(store)
    moved = _regrouped(tmp_path, "3.3.2026")

    result = run_import(db_url, moved)

    assert result.exit_code == 0, result.output
    assert "memberships: 1 created, 0 updated, 2 unchanged" in result.output
    with store.session() as s:
        aino = s.scalars(select(Client).where(Client.code == "RAI-0001")).one()
        spans = sorted((m.start_date, m.end_date, m.group.key) for m in aino.memberships)
        assert spans == [(date(2026, 1, 13), date(2026, 3, 2), "tiistai"),
                         (date(2026, 3, 3), date(2026, 7, 12), "ti-iltapaiva")]
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "client.moved")).one()
        assert event.actor == "import" and event.details["from"] == "tiistai"
    again = run_import(db_url, moved)
    assert again.exit_code == 0 and "memberships: 0 created, 0 updated, 3 unchanged" in again.output


def test_an_unmigrated_database_is_reported_without_quoting_any_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run_import(url, GOOD)
    assert result.exit_code == 1
    assert "database error (OperationalError); nothing was written" in result.output
    assert "integrator db upgrade" in result.output
    assert "@" not in result.output


def test_an_excel_windows_1252_file_is_imported_with_a_notice(store: Store, db_url: str) -> None:
    seed(store)
    result = run_import(db_url, REPO / "tests" / "corpus" / "clients_good" / "windows1252.csv")
    assert result.exit_code == 0, result.output
    assert "huomautus: Tiedosto ei ollut UTF-8-muodossa, joten se luettiin Windows-1252-merkistönä" in result.output
    with store.session() as s:
        assert s.scalars(select(Client.display_name).where(Client.code == "RAI-0102")).one() == "Äimä Öljy"


def test_a_file_that_is_neither_utf8_nor_windows_1252_is_refused_with_the_excel_hint() -> None:
    # 0x81 is undefined in Windows-1252: the file is some other encoding, nothing is guessed.
    _, _, problems = read_rows(b"code;display_name\nRAI-0101;\x81\n")
    assert [p.format("a.csv") for p in problems] == [
        "a.csv:2: tiedosto ei ole UTF-8-tekstiä (eikä Excelin Windows-1252-CSV:tä); odotettiin: UTF-8-merkistö: "
        "tallenna Excelissä Tallenna nimellä > Tiedostomuoto 'CSV UTF-8 (luetteloerotin)' (*.csv)"]
