"""The store part of an organisation's week, the same for every organisation whatever its tenants.

The work days come from the calendar and the rules, each day gets its tasks (the task file, the
coordinator's rows or the default task) and every taking-part client the variant meant for them
(Assignment rows). Nothing here talks to a tenant: the Google part of the weekly setup
(`jobs.weekly.setup.plan_org`) diffs Classroom and Drive against this week, and the meetings
plan (Teams or Meet, `jobs.meetings`), the letters, the reminders and the nightly sync all read
its WorkDay rows. An organisation on Microsoft 365 alone gets exactly this part, then its Teams
meetings.

The rows are written in the caller's store: a dry run passes the rolled-back view
(`jobs.weekly.setup.rolled_back`), so that a preview leaves the store's week as it was. A second
run over the same facts writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from integrator.config import OrganisationConfig, Settings
from integrator.config.apply import apply_to_session
from integrator.jobs.plan import Action, Plan
from integrator.jobs.weekly.state import OrgWeek, day_notes, load_week
from integrator.jobs.weekly.tasks import TaskFile
from integrator.store.db import Store

#: The plan's note for an organisation without Google Workspace: what it does not get, and that
#: the rest of its week is set up (a coordinator reads it in the plan).
NO_GOOGLE = ("ei Google Workspacea: Classroom-kursseja ja Drive-kansioita ei tehdä; työpäivät, tehtävät "
             "ja tapaamiset valmistellaan")


def materialise_org_week(store: Store, settings: Settings, org_cfg: OrganisationConfig, week: str, now: datetime,
                         task_file: TaskFile | None = None, bank: dict[str, str] | None = None) -> OrgWeek:
    """Sync the config into the store, then materialise the organisation's week there: work days,
    tasks, variants and assignments. `bank`: the material bank's file name -> id (Google only)."""
    with store.session() as s:
        apply_to_session(s, settings)
        return load_week(s, org_cfg, week, now, task_file, bank, rules=settings.rules_for(org_cfg.key))


def store_week_plan(ow: OrgWeek, org_cfg: OrganisationConfig, group_keys: Collection[str] | None = None) -> Plan:
    """The week of an organisation without Google, as a plan: notes only (the store's rows are
    written while planning, as for every organisation; the tenant work is the meetings plan's)."""
    plan = Plan()
    plan.add(Action("skip", "organisation", f"organisation:{org_cfg.key}", reason=NO_GOOGLE))
    for gw in ow.groups:
        if group_keys is None or gw.key in group_keys:
            for n in day_notes(gw):
                plan.add(Action("skip", n.kind, n.key, group=n.group, reason=str(n.fp.get("reason", ""))))
    return plan
