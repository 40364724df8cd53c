"""The web's doors into the jobs and reports other modules own; their errors become HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import abort

from integrator.config import ConfigError
from integrator.domain.types import AttendanceStatus
from integrator.jobs.attendance.corrections import Actor, CorrectionError, Outcome, correct_day, revert_day
from integrator.jobs.locks import JobAlreadyRunning
from integrator.providers.errors import NeedsReauth, ProviderError
from integrator.reports.export import to_csv, to_xlsx
from integrator.reports.register import build_month
from integrator.store.db import Store
from integrator.web import context
from integrator.web.background import ApplyFailed
from integrator.web.context import get_settings

if TYPE_CHECKING:
    from integrator.config import Rules

log = logging.getLogger(__name__)
T = TypeVar("T")

CORRECTABLE_STATUSES = frozenset({AttendanceStatus.PRESENT.value, AttendanceStatus.ABSENT.value,
                                  AttendanceStatus.EXCUSED.value})


def correction(fn: Callable[[], T]) -> T:
    """Runs a correction; a refused one answers with the field it is about and why (Finnish): 400
    for a bad reason, 409 when the day cannot take the decision (no such work day of the client,
    not expected, an absence in advance): the request is well-formed, the day's state refuses it."""
    try:
        return fn()
    except CorrectionError as err:
        abort(400 if err.field == "reason" else 409, description=f"{err.field}: {err}" if err.field else str(err))


def correct(store: Store, attendance_day_id: int, status: AttendanceStatus, reason: str, staff_id: int) -> Outcome:
    outcome = correction(lambda: correct_day(store, attendance_day_id, status, reason, Actor.staff(staff_id),
                                             today=context.today()))
    log.info("attendance corrected", extra={"attendance_day_id": attendance_day_id, "status": status.value,
                                            "changed": outcome.changed})
    return outcome


def revert(store: Store, attendance_day_id: int, reason: str, staff_id: int) -> Outcome:
    outcome = correction(lambda: revert_day(store, attendance_day_id, reason, Actor.staff(staff_id)))
    log.info("attendance correction reverted", extra={"attendance_day_id": attendance_day_id,
                                                      "changed": outcome.changed})
    return outcome


def call_job(fn: Callable[[Any], T]) -> T:
    """Runs a job function with the settings; 'cannot run now' answers 409 with the job's words."""
    try:
        settings = get_settings()
    except LookupError as err:
        abort(409, description=str(err))
    try:
        return fn(settings)
    except JobAlreadyRunning as err:
        abort(409, description=str(err))
    except ApplyFailed as err:
        # The job's own failure message (lock held, tenant unreachable...)
        abort(409, description=str(err))
    except NeedsReauth as err:
        abort(502, description=f"the tenant refused our credentials or delegation; an admin must fix them: {err}")
    except ProviderError as err:
        abort(502, description=f"the tenant did not answer as expected; try again later: {err}")
    except (KeyError, ValueError) as err:
        abort(400, description=str(err))


class RulesUnavailable(RuntimeError):
    """The organisation's rules (its daily compensation rate) cannot be read: no register."""
    FI = ("Organisaation sääntöjä (mm. kulukorvauksen päivähinta) ei voitu lukea asetuksista, joten "
          "läsnäolorekisteriä ei muodostettu. Pyydä ylläpitäjää korjaamaan asetukset.")
    EN = ("The organisation's rules (e.g. the daily compensation rate) could not be read from the "
          "configuration, so no register was produced. Ask an admin to fix the configuration.")

    def __init__(self, reason: str) -> None:
        super().__init__(f"{self.FI} / {self.EN} ({reason})")
        self.reason = reason


def register_rules(org_key: str) -> Rules:
    """The organisation's configured rules; RulesUnavailable when they cannot be read.

    A register is money: one computed at a default rate (the law's historical 9 €) when the
    organisation pays another would be wrong without anyone noticing, so there is no fallback.
    """

    try:
        return get_settings().rules_for(org_key)
    except (LookupError, ConfigError, OSError) as err:  # KeyError (org not in the file) is a LookupError
        log.warning("register refused: the organisation's rules are unavailable",
                    extra={"org": org_key, "reason": type(err).__name__})
        raise RulesUnavailable(str(err)) from err


def register_file(store: Store, org_key: str, group_key: str, year: int, month: int,
                  fmt: str) -> tuple[bytes, str]:
    """The month's register file and its mimetype; RulesUnavailable when the rate is not known."""
    rules = register_rules(org_key)
    register = build_month(store, org_key, f"{year:04d}-{month:02d}", group_key=group_key, rules=rules,
                                  today=context.today())
    if fmt == "xlsx":
        return to_xlsx(register), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return to_csv(register).encode("utf-8"), "text/csv; charset=utf-8"
