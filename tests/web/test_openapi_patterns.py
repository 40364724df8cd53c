"""The document's patterns for weeks and months accept exactly what the server accepts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from integrator.domain import weeks
from integrator.web.openapi import document
from tests.web.world import World

EDGE_YEARS = [0, 1, 9, 10, 99, 100, 999, 1000, 1999, 2000, 2004, 2015, 2020, 2026, 2027, 2032, 2099, 2100, 2400,
              8999, 9000, 9899, 9900, 9989, 9990, 9997, 9998, 9999]
SAMPLE_YEARS = sorted(set(EDGE_YEARS) | set(range(0, 10_000, 7)))
ODD = ["", "2026-W1", "2026-W001", "2026-w01", "2026W01", " 2026-W01", "2026-W01 ", "2026-W01\n", "12026-W01",
       "２０２６-W01", "٢٠٢٦-W01", "2026-W٠١", "2026-1", "2026-001", "2026/11", "-2026-11", "+2026-W01", "2026-11\n",
       "0000-W00", "0000-00", "2026-W00", "2026-00", "2026-13", "2026-W54", "2026-W99"]


def _accepts(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


def _matches(pattern: str, text: str) -> bool:
    # JSON Schema patterns are ECMA 262: "$" is the end of the text, never before a final newline.
    return re.search(pattern, text) is not None and not text.endswith("\n")


def _disagreements(pattern: str, parse: Any, texts: list[str]) -> list[str]:
    return [t for t in texts if _matches(pattern, t) != _accepts(parse, t)]


def test_the_week_pattern_accepts_exactly_the_weeks_the_server_accepts() -> None:
    texts = [f"{y:04d}-W{w:02d}" for y in SAMPLE_YEARS for w in range(56)] + ODD
    assert _disagreements(weeks.WEEK_PATTERN, weeks.parse_iso_week, texts) == []
    # The fuzzer's finds: both shapes matched the old patterns and the server refused them.
    assert not _matches(weeks.WEEK_PATTERN, "0000-W00")
    assert _matches(weeks.WEEK_PATTERN, "2026-W53") and not _matches(weeks.WEEK_PATTERN, "2027-W53")


def test_the_month_pattern_accepts_exactly_the_months_the_server_accepts() -> None:
    texts = [f"{y:04d}-{m:02d}" for y in SAMPLE_YEARS for m in range(14)] + ODD
    assert _disagreements(weeks.MONTH_PATTERN, weeks.parse_month, texts) == []
    assert not _matches(weeks.MONTH_PATTERN, "0000-00")


def test_the_document_uses_these_patterns() -> None:
    doc = document()
    params = {p["name"]: p["schema"] for item in doc["paths"].values() for op in item.values()
              for p in op.get("parameters", [])}
    assert params["week"]["pattern"] == weeks.WEEK_PATTERN
    assert params["month"]["pattern"] == weeks.MONTH_PATTERN
    assert doc["components"]["schemas"]["SetupRequest"]["properties"]["week"]["pattern"] == weeks.WEEK_PATTERN


@pytest.mark.parametrize(("week", "status"), [("0000-W00", 400), ("2027-W53", 400), ("2026-W53", 200),
                                              ("0001-W01", 200), ("9998-W52", 200)])
def test_the_server_answers_as_the_pattern_says(as_coord_a: FlaskClient, world: World, week: str,
                                                status: int) -> None:
    assert _matches(weeks.WEEK_PATTERN, week) == (status == 200)
    assert as_coord_a.get(f"/api/v1/groups/{world.group_a}/work-days?week={week}").status_code == status
    assert as_coord_a.get(f"/api/v1/groups/{world.group_a}/attendance?week={week}").status_code == status
