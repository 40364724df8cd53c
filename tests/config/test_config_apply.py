"""`integrator config apply`: organisations, staff and groups follow the config, idempotently."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from integrator.cli import cli
from integrator.config import load_settings
from integrator.config.apply import apply_settings
from integrator.domain.types import MeetingProvider, StaffRole
from integrator.store.db import Store
from integrator.store.models import Organisation, PeerGroup, StaffUser

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "integrator.example.yaml"


def _rows(store: Store) -> tuple[int, int, int]:
    with store.session() as s:
        return (s.scalar(select(func.count()).select_from(Organisation)) or 0,
                s.scalar(select(func.count()).select_from(StaffUser)) or 0,
                s.scalar(select(func.count()).select_from(PeerGroup)) or 0)


def test_applying_the_example_creates_organisations_staff_and_groups(any_store: Store) -> None:
    counts = apply_settings(any_store, load_settings(EXAMPLE, check_secrets=False))
    assert counts["organisations_created"] == 3
    assert counts["staff_created"] == 5
    assert counts["groups_created"] == 3
    with any_store.session() as s:
        tuesday = s.scalars(select(PeerGroup).where(PeerGroup.key == "tiistai")).one()
        assert tuesday.organisation.key == "raisio"
        assert tuesday.weekdays == [2]
        assert (tuesday.meeting_start, tuesday.meeting_end) == (time(10, 0), time(11, 0))
        assert tuesday.meeting_provider is MeetingProvider.TEAMS
        assert tuesday.coordinator is not None and tuesday.coordinator.role is StaffRole.COORDINATOR
        thursday = s.scalars(select(PeerGroup).where(PeerGroup.key == "torstai")).one()
        assert thursday.organisation.key == "raisio-tuottaja"
        assert thursday.meeting_provider is MeetingProvider.MEET


def test_applying_the_same_config_twice_changes_nothing(any_store: Store) -> None:
    settings = load_settings(EXAMPLE, check_secrets=False)
    apply_settings(any_store, settings)
    before = _rows(any_store)
    report: list[str] = []
    counts = apply_settings(any_store, settings, report)
    assert report == []
    assert {k: v for k, v in counts.items() if v} == {
        "organisations_unchanged": 3, "staff_unchanged": 5, "groups_unchanged": 3}
    assert _rows(any_store) == before


def test_a_group_removed_from_the_config_is_deactivated_not_deleted(any_store: Store, tmp_path: Path) -> None:
    apply_settings(any_store, load_settings(EXAMPLE, check_secrets=False))
    text = EXAMPLE.read_text(encoding="utf-8")
    without_thursday = text[: text.index("    groups:\n      - key: torstai")]
    path = tmp_path / "c.yaml"
    path.write_text(without_thursday, encoding="utf-8")
    report: list[str] = []
    counts = apply_settings(any_store, load_settings(path, check_secrets=False), report)
    assert counts["groups_deactivated"] == 1
    assert report == ["group raisio-tuottaja/torstai: deactivated (no longer in the config)"]
    with any_store.session() as s:
        thursday = s.scalars(select(PeerGroup).where(PeerGroup.key == "torstai")).one()
        assert thursday.active is False
    # Back in the config: the same row becomes active again.
    counts = apply_settings(any_store, load_settings(EXAMPLE, check_secrets=False))
    assert counts["groups_updated"] == 1 and counts["groups_created"] == 0
    with any_store.session() as s:
        assert s.scalars(select(PeerGroup.active).where(PeerGroup.key == "torstai")).one() is True


def test_a_changed_meeting_time_updates_the_group_in_place(any_store: Store, tmp_path: Path) -> None:
    apply_settings(any_store, load_settings(EXAMPLE, check_secrets=False))
    path = tmp_path / "c.yaml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace('start: "10:00"', 'start: "09:30"'),
                    encoding="utf-8")
    report: list[str] = []
    counts = apply_settings(any_store, load_settings(path, check_secrets=False), report)
    assert counts["groups_updated"] == 1
    assert report == ["group raisio/tiistai: updated (meeting_start)"]
    with any_store.session() as s:
        assert s.scalars(select(PeerGroup.meeting_start).where(PeerGroup.key == "tiistai")).one() == time(9, 30)


def test_config_apply_command_prints_changes_without_emails(store: Store, db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["config", "apply", str(EXAMPLE), "--database-url", db_url])
    assert first.exit_code == 0, first.output
    assert "organisation raisio: created" in first.output
    assert "group raisio/tiistai: created" in first.output
    assert "@" not in first.output
    second = runner.invoke(cli, ["config", "apply", str(EXAMPLE), "--database-url", db_url])
    assert second.exit_code == 0
    assert "nothing to change" in second.output


@pytest.mark.parametrize("name", ["coordinator_not_staff", "inline_client_secret"])
def test_config_apply_refuses_a_bad_file_and_writes_nothing(store: Store, db_url: str, name: str) -> None:
    bad = Path(__file__).resolve().parents[1] / "corpus" / "config_bad" / f"{name}.yaml"
    result = CliRunner().invoke(cli, ["config", "apply", str(bad), "--database-url", db_url])
    assert result.exit_code == 2
    assert f"{bad}:" in result.output
    assert _rows(store) == (0, 0, 0)


def test_config_apply_on_an_unmigrated_database_says_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(cli, ["config", "apply", str(EXAMPLE), "--database-url", url])
    assert result.exit_code == 1
    assert "Run `integrator db upgrade`" in result.output
    assert "@" not in result.output
