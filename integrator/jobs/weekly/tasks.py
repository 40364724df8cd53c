"""A group's week in the store: work days from the domain calendar, and the day's tasks.

Where the tasks come from, in this order:
1. ``--tasks FILE``: a YAML file for the week (format below). Its entries replace the tasks of
   every future work day they match, in file order.
2. Task rows a coordinator made in the web UI (Task + TaskVariant rows of the WorkDay).
3. Otherwise one default day task, so that every work day has a place to return work.

Task file::

    week: 2026-W49                  # optional; a file for another week is refused
    tasks:
      - groups: [ti-ryhma]          # optional; default: every group
        days: [tuesday]             # optional; weekday names/numbers or ISO dates; default: every work day
        title: Päiväkirja
        instructions: Kirjoita lyhyesti, mitä teit tänään.
        material: Päiväkirjapohja   # optional: a file name in the material bank folder
        material_file_id: null      # optional: or a Drive file id
        variants:                   # optional: plain_language, easier, harder
          plain_language: {title: Päiväkirja, instructions: Kirjoita 3 lausetta päivästäsi.}

Changing a group's weekday moves its future work days (the WorkDay row gets the new date,
its tasks go with it), so the coursework made for it is moved rather than duplicated.

"Future" means the day's meeting has not begun at `now` (the job's clock, injectable so that tests
and the sandbox clock drive it). A work day whose meeting has begun or is over is history:
attendance and evidence hang on its date and window, so it is never re-timed, moved, cancelled or
given other tasks; the change that would have touched it is reported instead (``frozen``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from integrator.domain.attendance import return_deadline
from integrator.domain.calendar import (
    ORGANISATION_CLOSED,
    SkippedDay,
    finnish_holidays,
    meeting_window,
    work_days_for_week,
)
from integrator.domain.rules import AttendanceRules
from integrator.domain.types import VariantKind, WorkDayStatus
from integrator.domain.weeks import parse_weekday
from integrator.store.models import Assignment, AttendanceDay, PeerGroup, Task, TaskVariant, WorkDay

DEFAULT_TITLE = "Päivän tehtävä"
DEFAULT_INSTRUCTIONS = (
    "Tämän päivän tehtävät ja ohjeet käydään läpi ryhmätapaamisessa. "
    "Palauta työsi tähän tehtävään: kirjoitus, kuva, video tai muu tapa käy."
)
DEFAULT_PLAIN = "Tee päivän tehtävä. Palauta työ tähän. Voit palauttaa tekstin, kuvan tai videon."
# Without a place to return work (an organisation on Microsoft 365 alone, until its task folders
# exist) the default task does not tell the client to return it "here".
DEFAULT_INSTRUCTIONS_NO_RETURN = "Tämän päivän tehtävät ja ohjeet käydään läpi ryhmätapaamisessa."
DEFAULT_PLAIN_NO_RETURN = "Tee päivän tehtävä. Ohjaaja kertoo siitä tapaamisessa."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariantText(_Strict):
    title: str
    instructions: str


class TaskEntry(_Strict):
    groups: list[str] = Field(default_factory=list)
    days: list[Any] = Field(default_factory=list)
    title: str
    instructions: str = ""
    material: str | None = None
    material_file_id: str | None = None
    variants: dict[VariantKind, VariantText] = Field(default_factory=dict)

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in v:
            if isinstance(item, date):
                out.append(item)
            else:
                out.append(parse_weekday(item))
        return out

    def matches(self, group_key: str, day: date) -> bool:
        if self.groups and group_key not in self.groups:
            return False
        if not self.days:
            return True
        return any(d == day if isinstance(d, date) else d == day.isoweekday() for d in self.days)


class TaskFile(_Strict):
    week: str | None = None
    tasks: list[TaskEntry] = Field(default_factory=list)


def load_task_file(path: Path, week: str) -> TaskFile:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    parsed = TaskFile.model_validate(data)
    if parsed.week is not None and parsed.week != week:
        raise ValueError(f"the task file is for week {parsed.week}, not {week}")
    return parsed


def choose_variant(plain_language: bool, choice: VariantKind | None, available: Iterable[VariantKind]) -> VariantKind:
    """Plain language if the client needs it, else the coordinator's choice, else standard;
    a variant the task does not have falls back to standard."""
    have = set(available)
    wanted = VariantKind.PLAIN_LANGUAGE if plain_language else (choice or VariantKind.STANDARD)
    return wanted if wanted in have else VariantKind.STANDARD


@dataclass
class WeekDays:
    """What materialising a group's week did: the days that take place and the changes."""

    days: list[WorkDay] = field(default_factory=list)
    skipped: list[SkippedDay] = field(default_factory=list)
    moved: list[tuple[date, date]] = field(default_factory=list)
    cancelled: list[tuple[date, str]] = field(default_factory=list)
    frozen: list[tuple[date, str]] = field(default_factory=list)  # day, the change not made and why (Finnish)


def _set_times(wd: WorkDay, group: PeerGroup) -> None:
    start, end = meeting_window(wd.day, group.meeting_start, group.meeting_end, group.time_zone)
    if wd.meeting_start != start:
        wd.meeting_start = start
    if wd.meeting_end != end:
        wd.meeting_end = end


WEEKDAY_CHANGED = "weekday changed"
STARTED = "päivä on jo alkanut"
DECIDED = ("päivälle on kirjattu ohjaajan päätös: päivää ei siirretä eikä peruta; poista päätös "
           "läsnäolorekisteristä ja aja valmistelu uudelleen")


def started(wd: WorkDay, now: datetime) -> bool:
    """The day's meeting has begun (or is over): the day is history and is not changed any more."""
    return wd.meeting_start <= now


def _ours(reason: str | None, year: int) -> bool:
    """A cancellation this job made (and may undo), not a coordinator's decision."""
    return reason in {WEEKDAY_CHANGED, ORGANISATION_CLOSED, *finnish_holidays([year]).values()}


def materialise_week(s: Session, group: PeerGroup, week: str, closures: Iterable[date], now: datetime) -> WeekDays:
    """Bring the group's WorkDay rows for `week` in line with the calendar.

    Only days whose meeting is still ahead at `now` change; a change that would touch a day
    that has begun is listed in `frozen` instead.
    """
    cal = work_days_for_week(week, list(group.weekdays), closures=closures)
    result = WeekDays(skipped=list(cal.skipped))
    rows = s.scalars(select(WorkDay).where(WorkDay.group_id == group.id, WorkDay.iso_week == week)).all()
    existing = {wd.day: wd for wd in rows}
    wanted = set(cal.days)
    skipped = {sk.day: sk.reason for sk in cal.skipped}
    for d in cal.days:
        wd = existing.get(d)
        if wd is None:
            continue
        revive = wd.status != WorkDayStatus.PLANNED and _ours(wd.cancelled_reason, d.year)
        window = meeting_window(d, group.meeting_start, group.meeting_end, group.time_zone)
        retime = (wd.meeting_start, wd.meeting_end) != window
        if started(wd, now):
            if revive:
                result.frozen.append((d, f"{STARTED}: peruttua päivää ei palauteta"))
            elif retime and wd.status == WorkDayStatus.PLANNED:
                result.frozen.append((d, f"{STARTED}: tapaamisen aikaa ei muuteta"))
            continue
        if revive:
            wd.status, wd.cancelled_reason = WorkDayStatus.PLANNED, None
        _set_times(wd, group)
    # A future day that is no longer wanted moves to a wanted day without a row (its tasks and
    # coursework go with it); with no such day it is cancelled, with the reason. A wanted day
    # whose meeting time has already come gets no new row: that meeting did not take place.
    stale = sorted((wd for wd in rows if wd.day not in wanted and wd.status == WorkDayStatus.PLANNED),
                   key=lambda w: w.day)
    free = [d for d in cal.days if d not in existing
            and meeting_window(d, group.meeting_start, group.meeting_end, group.time_zone)[0] > now]
    # A coordinator's decision in advance (EXCUSED for a doctor's appointment, PRESENT at the workshop)
    # belongs to its date: moved, it would excuse or pay another day; cancelled, a paid day would stop
    # counting without anyone deciding it. Such a day stays until the decision is removed.
    decided = set(s.scalars(select(AttendanceDay.work_day_id).where(
        AttendanceDay.work_day_id.in_([wd.id for wd in stale]), AttendanceDay.override_status.is_not(None)))) \
        if stale else set()
    for wd in stale:
        if started(wd, now):
            result.frozen.append((wd.day, f"{STARTED}: päivää ei siirretä eikä peruta"))
        elif wd.id in decided:
            result.frozen.append((wd.day, DECIDED))
        elif free and wd.day not in skipped:
            old, wd.day = wd.day, free.pop(0)
            _set_times(wd, group)
            result.moved.append((old, wd.day))
        else:
            reason = skipped.get(wd.day, WEEKDAY_CHANGED)
            wd.status, wd.cancelled_reason = WorkDayStatus.CANCELLED, reason
            result.cancelled.append((wd.day, reason))
    for d in free:
        start, end = meeting_window(d, group.meeting_start, group.meeting_end, group.time_zone)
        s.add(WorkDay(group_id=group.id, day=d, iso_week=week, status=WorkDayStatus.PLANNED,
                      meeting_start=start, meeting_end=end))
    s.flush()
    result.days = sorted(s.scalars(select(WorkDay).where(WorkDay.group_id == group.id, WorkDay.iso_week == week,
                                                         WorkDay.status == WorkDayStatus.PLANNED)),
                         key=lambda w: w.day)
    return result


def _upsert_variant(s: Session, task: Task, kind: VariantKind, title: str, instructions: str) -> None:
    found = next((v for v in task.variants if v.kind == kind), None)
    if found is None:
        s.add(TaskVariant(task=task, kind=kind, title=title, instructions=instructions))
    else:
        if found.title != title:
            found.title = title
        if found.instructions != instructions:
            found.instructions = instructions


def ensure_tasks(s: Session, wd: WorkDay, group_key: str, task_file: TaskFile | None,
                 bank: dict[str, str] | None = None, *, returned_in_task: bool = True) -> list[Task]:
    """The work day's tasks, from the task file, the UI's rows or the default, in position order.
    `returned_in_task`: the client returns the work in the task itself (Classroom); else the
    default task says nothing of returning it."""
    entries = [e for e in task_file.tasks if e.matches(group_key, wd.day)] if task_file else []
    tasks = sorted(wd.tasks, key=lambda t: t.position)
    if entries:
        by_pos = {t.position: t for t in tasks}
        for pos, entry in enumerate(entries, start=1):
            task = by_pos.get(pos)
            material = entry.material_file_id or ((bank or {}).get(entry.material) if entry.material else None)
            if task is None:
                task = Task(work_day=wd, position=pos, title=entry.title, material_file_id=material)
                s.add(task)
            else:
                if task.title != entry.title:
                    task.title = entry.title
                if task.material_file_id != material:
                    task.material_file_id = material
            _upsert_variant(s, task, VariantKind.STANDARD, entry.title, entry.instructions)
            for kind, text in entry.variants.items():
                if kind != VariantKind.STANDARD:
                    _upsert_variant(s, task, kind, text.title, text.instructions)
        for task in tasks:
            if task.position > len(entries):
                s.execute(delete(Assignment).where(Assignment.task_id == task.id))
                for v in list(task.variants):
                    s.delete(v)
                wd.tasks.remove(task)
                s.delete(task)
    elif not tasks:
        task = Task(work_day=wd, position=1, title=DEFAULT_TITLE)
        s.add(task)
        _upsert_variant(s, task, VariantKind.STANDARD, DEFAULT_TITLE,
                        DEFAULT_INSTRUCTIONS if returned_in_task else DEFAULT_INSTRUCTIONS_NO_RETURN)
        _upsert_variant(s, task, VariantKind.PLAIN_LANGUAGE, DEFAULT_TITLE,
                        DEFAULT_PLAIN if returned_in_task else DEFAULT_PLAIN_NO_RETURN)
    s.flush()
    return sorted(wd.tasks, key=lambda t: t.position)


def morning_and_end(day: date, tz: str, rules: AttendanceRules, morning: time = time(8, 0)
                    ) -> tuple[datetime, datetime]:
    """When a day's coursework is published (the morning) and due (the day's return deadline,
    `rules.day_return_deadline`: the same instant the day's attendance waits for), as UTC."""
    published, _ = meeting_window(day, morning, time(23, 59), tz)
    return min(published, due := return_deadline(day, rules, tz)), due
