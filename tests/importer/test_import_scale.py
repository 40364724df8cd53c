"""The client import at scale: statements do not grow with the rows, and the bulk writes are right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from integrator.clients_import import import_clients
from integrator.config import load_settings
from integrator.config.apply import apply_settings
from integrator.store.db import Store
from integrator.store.models import Client, Membership, Period

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "config" / "integrator.example.yaml"
HEADER = "code;display_name;email;group;service_model;period_start;period_end;weekdays;briefing_recorded_at;" \
         "briefing_recorded_by;responsible_worker"


def client_file(rows: int, *, phone_suffix: str = "") -> bytes:
    lines = [HEADER]
    for i in range(rows):
        lines.append(f"RAI-{i:05d};Asiakas {i}{phone_suffix};asiakas{i}@example.fi;tiistai;pitkä;13.1.2026;12.7.2026;"
                     "ti,to;10.1.2026;ohjaaja.tiistai@raisio.example.fi;sosiaaliohjaaja@raisio.example.fi")
    return ("\n".join(lines) + "\n").encode()


def statements(store: Store, raw: bytes) -> tuple[int, dict[str, int]]:
    settings = load_settings(EXAMPLE, check_secrets=False)
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        result = import_clients(store, raw, org_key="raisio", settings=settings)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert result.problems == [] and result.written
    return len(seen), result.counts


def test_importing_ten_times_the_rows_takes_hardly_more_statements(store: Store, tmp_path: Path) -> None:
    # One query and one flush per row made a 10,000-row file take half a minute; reads come in
    # chunks of 500 codes and writes in bulk, so 400 rows need about as many statements as 40.
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    small, _ = statements(store, client_file(40))
    large, counts = statements(store, client_file(400))
    assert counts["clients_created"] == 360 and counts["clients_unchanged"] == 40
    assert large <= small + 5, (small, large)
    again, counts = statements(store, client_file(400, phone_suffix=" B"))
    assert counts["clients_updated"] == 400 and counts["periods_unchanged"] == 400
    assert again <= small + 5, (small, again)


def test_bulk_writes_store_every_column_and_touch_only_changed_clients(store: Store) -> None:
    apply_settings(store, load_settings(EXAMPLE, check_secrets=False))
    statements(store, client_file(3))
    with store.session() as s:
        before = {c.code: c.updated_at for c in s.scalars(select(Client))}
    changed = client_file(3).replace(b"Asiakas 1;", b"Asiakas Yksi;")
    _, counts = statements(store, changed)
    assert counts["clients_updated"] == 1 and counts["clients_unchanged"] == 2
    with store.session() as s:
        clients = {c.code: c for c in s.scalars(select(Client))}
        assert clients["RAI-00001"].display_name == "Asiakas Yksi"
        assert [code for code, c in clients.items() if c.updated_at != before[code]] == ["RAI-00001"]
        period = s.scalars(select(Period).where(Period.client_id == clients["RAI-00002"].id)).one()
        assert (period.weekdays, period.hours_per_day, period.end_date.isoformat()) == ([2, 4], 4.0, "2026-07-12")
        assert period.briefing_recorded_by_id is not None and period.responsible_worker_id is not None
        assert s.scalars(select(Membership.end_date).where(Membership.client_id == clients["RAI-00002"].id)).one() \
            == period.end_date
