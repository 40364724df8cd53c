"""Which days of the re-evaluation window the nightly sync evaluates again: only those whose
evaluation could come out different from the one the register already holds.

A day's evaluation (`evaluate.evaluate`) reads its stored evidence, what is not evidence (the
rules, the work day's calendar and zone, who is expected, the coordinator's decisions) and the
sync's clock. So a day is evaluated again when
- evidence of it was stored or moved by this run's harvest (`changed`: the harvest knows), or
  its evidence changed in a way the digest sees (rows added, removed, or tied to another client:
  a mapping made in the web UI), or
- the digest of the rest of its inputs (`read_inputs`) differs from the one stamped on the
  work day at its last evaluation (rules, calendar, period, membership, a decision recorded), or
- what the clock decides changed since then (`clock_flags`): its return deadline
  passed (a day still pending becomes absent tonight, not a week later) or its window closes
  (a day still without final evidence is flagged for the coordinator), or
- it was never evaluated in full (its meeting ended since; a day from before stamps were kept).
A day whose inputs and clock flags are all as at its last evaluation would come out the same:
it is left as it is. The work day's stamp is written in the evaluation's transaction, so a
crash leaves the stamps with the register they describe.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrator.config import Rules
from integrator.domain.attendance import return_deadline
from integrator.jobs.attendance.markers import REPORT_KIND, is_final_report
from integrator.reports.expected import expected_pairs
from integrator.store.models import (
    AttendanceDay,
    ExternalResource,
    MeetingAttendance,
    PeerGroup,
    Submission,
    WorkDay,
)


@dataclass
class WindowInputs:
    """The digests of the window's work days and who is expected on them (read once)."""

    digests: dict[int, str] = field(default_factory=dict)
    expected: set[tuple[int, int]] = field(default_factory=set)  # (client id, work day id)
    zones: dict[int, ZoneInfo] = field(default_factory=dict)  # group id -> its zone
    rules: str = ""
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)  # what each digest is of

    def digest(self, wd_ids: Iterable[int]) -> None:
        for wd in wd_ids:
            text = self.rules + json.dumps(self.parts[wd], sort_keys=True, default=str)
            self.digests[wd] = hashlib.sha256(text.encode()).hexdigest()


def clock_flags(day: date, rules: Rules, zone: ZoneInfo, clock: datetime) -> tuple[bool, bool]:
    """What the clock alone decides of a work day's evaluation: (its return deadline has passed,
    this is its last look). The last look goes by the group's local date, as the sync's window
    (`nightly.context.local_today`): the UTC date is yesterday's until 02:00 (03:00 in summer),
    and a day then left the window unflagged."""
    last_look = clock.astimezone(zone).date() - timedelta(days=rules.reevaluate_days)
    return clock >= return_deadline(day, rules, zone.key), day <= last_look


def rules_digest(rules: Rules) -> str:
    return json.dumps(rules.model_dump(mode="json"), sort_keys=True, default=str)


def _evidence_totals(session: Session, model: type[Submission] | type[MeetingAttendance],
                     wd_ids: Sequence[int]) -> dict[int, tuple[int, int, int]]:
    """Per work day: how many rows tied to a client, the newest id, the sum of the client ids
    (a record tied to another client changes it)."""
    rows = session.execute(
        select(model.work_day_id, func.count(model.id), func.max(model.id), func.sum(model.client_id))
        .where(model.work_day_id.in_(wd_ids), model.client_id.is_not(None))
        .group_by(model.work_day_id)).all()
    return {int(wd): (int(n), int(top or 0), int(total or 0)) for wd, n, top, total in rows if wd is not None}


def read_inputs(session: Session, org_id: int, work_days: Sequence[WorkDay], rules: Rules) -> WindowInputs:
    """The digest of each work day's inputs besides its evidence's contents, in column reads."""
    out = WindowInputs(rules=rules_digest(rules))
    if not work_days:
        return out
    wd_ids = [w.id for w in work_days]
    out.zones = {gid: ZoneInfo(tz) for gid, tz in session.execute(
        select(PeerGroup.id, PeerGroup.time_zone).where(PeerGroup.id.in_({w.group_id for w in work_days}))).all()}
    out.parts = {
        w.id: {"day": w.day.isoformat(), "start": w.meeting_start.isoformat(), "end": w.meeting_end.isoformat(),
               "zone": out.zones[w.group_id].key, "expected": [], "rows": [], "reports": []} for w in work_days}
    for p in expected_pairs(session, work_days):
        out.expected.add((p.client_id, p.work_day_id))
        out.parts[p.work_day_id]["expected"].append((p.client_id, p.absence_possible))
    for name, model in (("returns", Submission), ("meetings", MeetingAttendance)):
        for wd, totals in _evidence_totals(session, model, wd_ids).items():
            out.parts[wd][name] = totals
    for key in session.scalars(select(ExternalResource.local_key).where(
            ExternalResource.organisation_id == org_id, ExternalResource.kind == REPORT_KIND)).all():
        if is_final_report(key) and int(key.split(":")[1]) in out.parts:
            out.parts[int(key.split(":")[1])]["reports"].append(key)
    for part in out.parts.values():
        part["expected"].sort()
        part["reports"].sort()
    read_rows(session, out, wd_ids)
    return out


def read_rows(session: Session, inputs: WindowInputs, wd_ids: Sequence[int]) -> None:
    """(Re)read which attendance rows these days have, with the coordinator's decisions, and
    digest them again: after an evaluation, its own writes are the next night's inputs."""
    if not wd_ids:
        return
    rows: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for wd, client, override in session.execute(
            select(AttendanceDay.work_day_id, AttendanceDay.client_id, AttendanceDay.override_status)
            .where(AttendanceDay.work_day_id.in_(wd_ids))).all():
        rows[wd].append((client, override.value if override is not None else ""))
    for wd in wd_ids:
        inputs.parts[wd]["rows"] = sorted(rows[wd])
    inputs.digest(wd_ids)


def days_to_evaluate(work_days: Sequence[WorkDay], inputs: WindowInputs, rules: Rules, now: datetime,
                     changed: Iterable[int]) -> list[WorkDay]:
    """The days whose evaluation could differ from the register's (see the module's doc)."""
    touched = set(changed)
    out = []
    for w in work_days:
        at = w.evaluated_at
        if (w.id in touched or at is None or at > now or w.evaluated_inputs != inputs.digests[w.id]
                or clock_flags(w.day, rules, inputs.zones[w.group_id], at)
                != clock_flags(w.day, rules, inputs.zones[w.group_id], now)):
            out.append(w)
    return out


def stamp(work_days: Sequence[WorkDay], inputs: WindowInputs, now: datetime) -> None:
    """Record on each work day that it was evaluated in full at `now` with these inputs."""
    for w in work_days:
        w.evaluated_at = now
        w.evaluated_inputs = inputs.digests[w.id]


def window_register(session: Session, work_days: Sequence[WorkDay], inputs: WindowInputs, rules: Rules,
                    now: datetime, evaluated: Iterable[int]) -> tuple[dict[str, int], int]:
    """The window's days by computed status (the days the evaluation counts: those of clients
    expected), and how many of the days not evaluated now still wait for a coordinator's
    decision (flagged at their last look, which is still tonight)."""
    by_status: dict[str, int] = defaultdict(int)
    if not work_days:
        return {}, 0
    for client, wd, status in session.execute(
            select(AttendanceDay.client_id, AttendanceDay.work_day_id, AttendanceDay.computed_status)
            .where(AttendanceDay.work_day_id.in_([w.id for w in work_days]))).all():
        if (client, wd) in inputs.expected:
            by_status[status.value] += 1
    done = set(evaluated)
    last_look = [w.id for w in work_days if w.id not in done
                 and clock_flags(w.day, rules, inputs.zones[w.group_id], now)[1]]
    waiting = 0
    if last_look:
        for row in session.scalars(select(AttendanceDay).where(AttendanceDay.work_day_id.in_(last_look))).all():
            if ((row.client_id, row.work_day_id) in inputs.expected and row.override_status is None
                    and (row.evidence or {}).get("needs_decision") is True):
                waiting += 1
    return dict(by_status), waiting
