"""The tenant check as a job: run every Google and Microsoft check of one organisation and record
the result as a JobRun (kind "tenant_check"), so the web's status page shows the last result, its
time and the history, and the CLI's `integrator tenant check` and the page run the same checks.

The run's `counts` are the checks per status ({"ok": 9, "fail": 1, ...}); each failing check is an
error item (its name, the vendor's text, kind "tenant_check") and its fix hints are in `params`
("hints": name -> {"en", "fi"}), since an error item has no field for them; a "warn" check (the
run still succeeds) is in `params` "warnings": name -> {"detail", "en", "fi"}. Staff addresses in
names and hints keep their local part only ("ohjaaja@…", as the Google checks already name them):
job runs never hold an address (`RunRecorder.error` redacts what is left).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from integrator.config import OrganisationConfig, Settings
from integrator.domain.types import JobStatus
from integrator.jobs.runs import RunRecorder
from integrator.providers.checks import CheckResult
from integrator.providers.google.check import run_checks as google_checks
from integrator.providers.google.probe import run_probes as google_probes
from integrator.providers.microsoft.check import run_checks as microsoft_checks
from integrator.providers.microsoft.probe import run_probes as microsoft_probes
from integrator.store.db import Store
from integrator.store.models import AuditEvent, JobRun, Organisation

KIND = "tenant_check"
_ADDRESS = re.compile(r"([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+)@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def all_checks(org_cfg: OrganisationConfig, *, deep: bool = False) -> list[CheckResult]:
    """The read-only checks; `deep`: then the probes, which make and delete what the product makes."""
    checks = [*google_checks(org_cfg), *microsoft_checks(org_cfg)]
    return [*checks, *google_probes(org_cfg), *microsoft_probes(org_cfg)] if deep else checks


def mask_addresses(text: str) -> str:
    """'ohjaaja@kunta.fi' -> 'ohjaaja@…': the admin still sees whose setting it is."""
    return _ADDRESS.sub(lambda m: f"{m.group(1)}@…", text)


@dataclass(frozen=True)
class TenantCheck:
    run_id: int
    status: JobStatus
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]


def run_tenant_check(store: Store | None, settings: Settings, org_key: str, *, triggered_by: str = "cli",
                     actor: str | None = None, deep: bool = False) -> TenantCheck:
    """Runs the checks (they only read the tenants; with `deep` also the probes, which clean up after
    themselves) and records them; `actor` ("staff:<id>"): the
    person who asked, written to the audit log. KeyError when the organisation is not configured.

    `store` None: nothing is recorded (the CLI before the database exists: checking the tenant
    is the first thing an admin does, before `integrator db upgrade`)."""
    org_cfg = settings.organisation(org_key)
    if store is None:
        checked = all_checks(org_cfg, deep=deep)
        failed = any(r.status == "fail" for r in checked)
        return TenantCheck(0, JobStatus.FAILED if failed else JobStatus.SUCCEEDED, checked)
    with store.session() as s:
        org_id = s.scalar(select(Organisation.id).where(Organisation.key == org_key))
    recorder = RunRecorder.start(store, KIND, organisation_id=org_id, params={"org": org_key, "deep": deep},
                                 triggered_by=triggered_by)
    results: list[CheckResult] = []
    try:
        results = all_checks(org_cfg, deep=deep)
    except Exception as err:
        recorder.error("run", f"{type(err).__name__}: {err}"[:300], kind="crash")
        recorder.finish(JobStatus.FAILED)
        raise
    hints: dict[str, dict[str, str]] = {}
    warnings: dict[str, dict[str, str]] = {}
    for r in results:
        recorder.count(r.status)
        name = mask_addresses(r.name)
        if r.status == "fail":
            recorder.error(name, mask_addresses(r.detail), kind=KIND)
            hints[name] = {"en": mask_addresses(r.hint), "fi": mask_addresses(r.hint_fi)}
        elif r.status == "warn":
            # Not a failure (e.g. a setting the app may not read: checked by hand), but the admin's to do.
            warnings[name] = {"detail": mask_addresses(r.detail), "en": mask_addresses(r.hint),
                              "fi": mask_addresses(r.hint_fi)}
    with store.session() as s:
        run = s.get(JobRun, recorder.run_id)
        assert run is not None
        run.params = {"org": org_key, "hints": hints, "warnings": warnings,
                      "checks": [mask_addresses(r.name) for r in results]}
        if actor is not None:
            s.add(AuditEvent(organisation_id=org_id, actor=actor, action="tenant.check", entity="organisation",
                             entity_id=str(org_id) if org_id is not None else org_key,
                             details={"run": recorder.run_id, "failed": len(hints), "checks": len(results)}))
    status = recorder.finish(JobStatus.FAILED if hints else JobStatus.SUCCEEDED)
    return TenantCheck(recorder.run_id, status, results)
