"""`integrator clients move|end`: a preview first, the change only with --yes."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from integrator.cli import cli
from integrator.sandbox.launcher import Sandbox
from integrator.store.db import Store
from integrator.store.models import AuditEvent, Membership, Period

from . import lifecycle_world as lw
from . import weekly_world as ww
from .weekly_world import NOW, WeeklyWorld

weekly_sandbox, sbx = ww.weekly_sandbox, ww.sbx  # fixtures

K1 = "k-0001@sandbox.example.fi"


def clients(world: WeeklyWorld, db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["clients", *args, "--config", str(world.config_path), "--database-url", db_url,
                                      "--now", NOW.isoformat()])
    return result.exit_code, result.output


def test_move_previews_then_moves_with_yes(sbx: Sandbox, store: Store, db_url: str, tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)

    code, out = clients(world, db_url, "move", "K-0001", "--to", "ryhma-2", "--from", "27.11.2026")

    assert code == 0, out
    assert "ryhmä ryhma-1 -> ryhma-2 alkaen pe 27.11.2026" in out and "--yes" in out and "@" not in out
    with store.session() as s:
        assert len(s.scalars(select(Membership)).all()) == 4

    code, out = clients(world, db_url, "move", "K-0001", "--to", "ryhma-2", "--from", "27.11.2026", "--yes")

    assert code == 0, out
    assert "Tehty." in out
    assert K1 in lw.course(world, "ryhma-2") and K1 not in lw.course(world, "ryhma-1")
    with store.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "client.moved")).one().actor == "cli"


def test_end_and_undo_from_the_command_line(sbx: Sandbox, store: Store, db_url: str, tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)

    code, out = clients(world, db_url, "end", "K-0001", "--on", "26.11.2026", "--reason", "health", "--yes")

    assert code == 0, out
    assert "jakso päättyy keskeytykseen to 26.11.2026 (syy: terveys)" in out
    assert K1 not in lw.course(world, "ryhma-1")
    code, out = clients(world, db_url, "end", "K-0001", "--on", "26.11.2026", "--reason", "health", "--yes")
    assert code == 0 and "Sama keskeytys on jo kirjattu" in out

    code, out = clients(world, db_url, "end", "K-0001", "--undo", "--yes")

    assert code == 0, out
    assert K1 in lw.course(world, "ryhma-1")
    with store.session() as s:
        assert s.scalars(select(Period.planned_end_date).join(Period.client)).all()[0] is None


def test_bad_input_names_the_field_and_writes_nothing(sbx: Sandbox, store: Store, db_url: str,
                                                      tmp_path: Path) -> None:
    world = lw.build(sbx, store, tmp_path)

    code, out = clients(world, db_url, "end", "K-0001", "--on", "31.2.2026", "--reason", "health", "--yes")
    assert code == 2 and "--on" in out
    code, out = clients(world, db_url, "end", "K-0001", "--on", "1.10.2026", "--reason", "vapaa", "--yes")
    assert code == 2 and "--reason" in out
    code, out = clients(world, db_url, "move", "K-0009", "--to", "ryhma-2", "--from", "27.11.2026", "--yes")
    assert code == 2 and "code: asiakasta 'K-0009' ei ole" in out
    with store.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action.in_(("client.moved", "period.ended")))).all() == []
