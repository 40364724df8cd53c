"""`integrator tenant check --deep`, Microsoft side: reversible probes with exactly the calls
(and so the permissions and policies) the product's meetings and letters use.

- meeting (per Teams organiser): a Teams event on the organiser's calendar (Calendars.ReadWrite),
  its online meeting found by the join URL (OnlineMeetings.Read.All and the Teams application
  access policy), its attendance reports read (OnlineMeetingArtifact.Read.All: none yet), the
  event deleted;
- mail (when letters go through Graph): one test message from the sender mailbox to itself.

Each thing is named `integrator-probe-<random>`; a leftover of an interrupted run is found on the
probe's fixed day (`PROBE_START`) and deleted first. Nothing is left behind after a pass or a
failure (`providers.checks.run_probe`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)

from integrator.config import OrganisationConfig
from integrator.providers.checks import (
    PROBE_MINUTES,
    PROBE_PREFIX,
    PROBE_START,
    CheckResult,
    ProbeStep,
    probe_name,
    run_probe,
    step,
)
from integrator.providers.errors import Fatal, ProviderError
from integrator.providers.meetings import MeetingSpec
from integrator.providers.microsoft.attendance import list_reports
from integrator.providers.microsoft.check import GUIDE, POLICY_HINT
from integrator.providers.microsoft.client import GraphClient
from integrator.providers.microsoft.events import create_teams_event, user_object_id
from integrator.providers.microsoft.mail import send_mail
from integrator.providers.microsoft.online_meetings import find_by_join_url
from integrator.providers.retry import RetryPolicy

Undo = list[Callable[[], object]]
CREDENTIALS_HINT = ("Check tenant_id and client_id, and that the client secret or certificate is the current one "
              "(Entra admin center > App registrations > Certificates & secrets; secrets expire).")
CONSENT = ("Entra admin center > App registrations > the app > API permissions > Add a permission > Microsoft "
           "Graph > Application permissions: add {perm}; then 'Grant admin consent'.")
CALENDAR_HINT = (CONSENT.format(perm="Calendars.ReadWrite") + " The organiser {who} needs an Exchange Online "
                 "mailbox; an Exchange application access policy, if you use one, must include it.")
ARTIFACT_HINT = CONSENT.format(perm="OnlineMeetingArtifact.Read.All") + " The Teams application access policy " \
                "must cover the organiser {who} too (see " + GUIDE + ")."
MAIL_HINT = (CONSENT.format(perm="Mail.Send") + " The sender {who} must be a mailbox (a shared mailbox needs no "
             "licence); an Exchange application access policy, if you use one, must include it.")


def _gone(err: ProviderError) -> bool:
    return isinstance(err, Fatal) and err.status == 404


def _delete_event(client: GraphClient, upn: str, event_id: str) -> Callable[[], object]:
    def run() -> object:
        try:
            return client.call("events.delete",
                               lambda sdk: sdk.users.by_user_id(upn).events.by_event_id(event_id).delete())
        except ProviderError as err:
            if _gone(err):
                return None
            raise
    return run


def _leftovers(client: GraphClient, upn: str, hint: str) -> list[str]:
    end = PROBE_START + timedelta(minutes=PROBE_MINUTES)
    query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time=PROBE_START.isoformat(), end_date_time=end.isoformat(), select=["id", "subject"], top=50)
    page: Any = step("list leftovers", lambda: client.call("calendarView", lambda sdk: sdk.users.by_user_id(upn)
                                                           .calendar_view.get(RequestConfiguration(
                                                               query_parameters=query))), hint)
    return [str(e.id) for e in (page.value if page and page.value else [])
            if e.id and (e.subject or "").startswith(PROBE_PREFIX)]


def _meeting(client: GraphClient, app_id: str, upn: str, undo: Undo) -> str:
    calendar = CALENDAR_HINT.format(who=upn)
    oid = str(step("find the organiser", lambda: user_object_id(client, upn),
                   "The organiser must be a licensed user in this tenant; check the coordinator's email. "
                   + CONSENT.format(perm="User.Read.All")))
    stale = _leftovers(client, upn, calendar)
    for event_id in stale:
        undo.append(_delete_event(client, upn, event_id))
    name = probe_name()
    spec = MeetingSpec(upn, name, "<p>integrator tenant check</p>", PROBE_START,
                       PROBE_START + timedelta(minutes=PROBE_MINUTES), (), 0, "UTC")
    ref: Any = step("create a Teams event", lambda: create_teams_event(client, spec, name), calendar)
    undo.append(_delete_event(client, upn, ref.event_id))
    if not ref.join_url:
        raise ProbeStep("create a Teams event", "the event has no Teams meeting (join URL)",
                        "Teams must be the organiser's online meeting provider (Teams admin center > Meetings > "
                        "Meeting policies) and the organiser needs a Teams licence.")
    policy = POLICY_HINT.format(app=app_id, user=upn)
    meeting_id = step("find its online meeting", lambda: find_by_join_url(client, oid, ref.join_url), policy)
    if not meeting_id:
        raise ProbeStep("find its online meeting", "no online meeting behind the join URL", policy)
    reports: Any = step("read its attendance reports",
                        lambda: list_reports(client, oid, str(meeting_id)), ARTIFACT_HINT.format(who=upn))
    gone = f"; removed {len(stale)} leftover(s)" if stale else ""
    return (f"Teams event {name} created, its meeting found, {len(reports)} attendance report(s) read, "
            f"deleted{gone}")


def _mail(client: GraphClient, sender: str) -> str:
    name = probe_name()
    step("send a test message", lambda: send_mail(client, sender, sender, f"{name}: integrator tenant check",
                                                  "<p>A test message of <code>integrator tenant check --deep</code>. "
                                                  "Nothing to do.</p>", outbox_key=name),
         MAIL_HINT.format(who=sender))
    return f"test message {name} sent from {sender.split('@')[0]}@… to itself"


def run_probes(org_cfg: OrganisationConfig) -> list[CheckResult]:
    """The Microsoft probes this organisation's configuration needs; never raises for a tenant problem."""
    ms = org_cfg.microsoft
    teams = sorted({g.coordinator.lower() for g in org_cfg.groups if g.meeting.provider == "teams"})
    if ms is None:
        return [CheckResult("microsoft.probe", "skip", "no Microsoft tenant configured")]
    try:
        client = GraphClient(ms, policy=RetryPolicy(max_attempts=3, base_delay_s=0.2))
    except (LookupError, OSError, ValueError) as exc:
        return [CheckResult("microsoft.probe", "fail", f"cannot build the credential: {exc}",
                            "Check the client_secret / certificate reference (file or env) in the config.")]
    results: list[CheckResult] = []
    with client:
        for upn in teams:
            results.append(run_probe(f"microsoft.probe meeting:{upn}",
                                     lambda undo, upn=upn: _meeting(client, ms.client_id, upn, undo),  # type: ignore[misc]
                                     lambda err: CREDENTIALS_HINT))
        if org_cfg.mail.via == "graph":
            sender = ms.mail_sender
            if not sender:
                results.append(CheckResult("microsoft.probe mail", "fail", "mail.via is graph but "
                                           "microsoft.mail_sender is not set",
                                           "Set microsoft.mail_sender to the mailbox letters are sent from."))
            else:
                results.append(run_probe("microsoft.probe mail", lambda undo: _mail(client, sender),
                                         lambda err: CREDENTIALS_HINT))
    return results or [CheckResult("microsoft.probe", "skip", "no Teams meetings or Graph mail configured")]
