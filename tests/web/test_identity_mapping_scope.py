"""A weak attendee key mapped in one group's meetings does not claim another group's records."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from integrator.store.models import MeetingAttendance, Membership
from integrator.web.context import get_store
from tests.web.world import World


def test_a_guest_name_mapped_in_group_a_leaves_group_bs_guest_of_that_name_unmatched(
        app: Flask, as_coord_a: FlaskClient, world: World) -> None:
    store = get_store(app)
    with store.session() as s:
        # K-0001 takes part in both groups; a "Vieras" joined each group's Tuesday meeting.
        s.add(Membership(group_id=world.group_b, client_id=world.client_a, start_date=date(2026, 9, 1)))
        for day, key in ((world.work_day_a, "ra"), (world.work_day_b, "rb")):
            s.add(MeetingAttendance(organisation_id=world.org_a, work_day_id=day, source="teams",
                                    record_key=f"{key}:vieras", participant_key="name:vieras",
                                    display_name="Vieras", seconds=2400))

    resp = as_coord_a.post(f"/api/v1/groups/{world.group_a}/identity-mappings",
                           json={"source": "teams", "participant_key": "name:vieras", "client_id": world.client_a})

    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"records": 1}
    with store.session() as s:
        owners = dict(s.execute(select(MeetingAttendance.record_key, MeetingAttendance.client_id)
                                .where(MeetingAttendance.participant_key == "name:vieras")).all())
    assert owners == {"ra:vieras": world.client_a, "rb:vieras": None}
