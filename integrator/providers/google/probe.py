"""`integrator tenant check --deep`, Google side: reversible probes that make what the product
makes, with exactly its permissions, and remove it again.

- classroom: the admin subject creates a draft (PROVISIONED) course with a `p:` alias for a
  coordinator, reads it back by the alias, deletes it;
- drive: a folder in the shared drive (or the admin's My Drive), shared with a coordinator as
  the weekly setup shares client folders, then deleted;
- meet (when a group meets on Meet): a calendar event with a Meet link (conferenceData
  createRequest) on the coordinator's calendar, then deleted;
- gmail (when letters go through Gmail): one test message from the sender to the admin subject.

Each thing is named `integrator-probe-<random>`; a leftover of an interrupted run is removed
first. Nothing is left behind after a pass or a failure (`providers.checks.run_probe`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

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
from integrator.providers.google.check import DWD_HINT, GUIDE
from integrator.providers.google.client import SCOPES, GoogleClient
from integrator.providers.google.gmail import send_gmail
from integrator.providers.retry import RetryPolicy

Undo = list[Callable[[], object]]
FOLDER = "application/vnd.google-apps.folder"
ADMIN_HINT = ("{admin} (admin_subject) must be a Workspace super admin, or hold an admin role with the "
              "Classroom privilege 'Manage Classroom', to create classes for the coordinators: Admin console > "
              "Account > Admin roles. Classroom must be on for its organisational unit (Apps > Google Workspace > "
              "Classroom), and its 'Teacher permissions' must allow the coordinators to create classes.")
DRIVE_HINT = ("Add {admin} to the shared drive {drive} as Manager (Drive > Shared drives > Manage members); "
              "a Content manager cannot delete, a Contributor cannot share.")
MEET_HINT = ("The coordinator {who} needs Google Calendar and Meet on (Admin console > Apps > Google Workspace "
             "> Calendar / Google Meet: 'Meet video calling' on for their organisational unit), and the "
             "Calendar API enabled in the Cloud project.")
GMAIL_HINT = ("The sender {sender} must be an active {domain} user with Gmail on; Gmail API enabled in the "
              "Cloud project.")


def _gone(err: ProviderError) -> bool:
    return isinstance(err, Fatal) and err.status in (404, 410)


def _undo(gc: GoogleClient, request: Any) -> Callable[[], object]:
    """An undo that accepts 'already gone' (a leftover removed twice is still removed)."""
    def run() -> object:
        try:
            return gc.execute(request, retry=True)
        except ProviderError as err:
            if _gone(err):
                return None
            raise
    return run


def _classroom(gc: GoogleClient, admin: str, owner: str, undo: Undo) -> str:
    courses = gc.service("classroom", subject=admin).courses()
    hint = ADMIN_HINT.format(admin=admin)
    listed: Any = step("list draft courses", lambda: gc.execute(courses.list(
        teacherId=owner, courseStates=["PROVISIONED"], pageSize=100)), hint)
    stale = [c["id"] for c in listed.get("courses", []) if str(c.get("name", "")).startswith(PROBE_PREFIX)]
    for course_id in stale:
        undo.append(_undo(gc, courses.delete(id=course_id)))
    name = probe_name()
    alias = f"p:{name}"
    created: Any = step("create a draft course", lambda: gc.execute(courses.create(body={
        "id": alias, "name": name, "section": "tenant check", "ownerId": owner, "courseState": "PROVISIONED"}),
        retry=False), hint)
    undo.append(_undo(gc, courses.delete(id=created["id"])))
    found: Any = step("read it by its alias", lambda: gc.execute(courses.get(id=alias)), hint)
    if found.get("id") != created["id"]:
        raise ProbeStep("read it by its alias", f"{alias} names another course", hint)
    gone = f"; removed {len(stale)} leftover(s)" if stale else ""
    return f"draft course {alias} for {owner.split('@')[0]}@… created, found by its alias, deleted{gone}"


def _drive(gc: GoogleClient, org_cfg: OrganisationConfig, admin: str, share_with: str, undo: Undo) -> str:
    google = org_cfg.google
    assert google is not None
    drive_id = google.shared_drive_id
    files = gc.service("drive", subject=admin).files()
    perms = gc.service("drive", subject=admin).permissions()
    hint = DRIVE_HINT.format(admin=admin, drive=drive_id) if drive_id else (
        f"{admin} needs Drive on (Admin console > Apps > Google Workspace > Drive and Docs).")
    parent = drive_id or "root"
    where: dict[str, Any] = {"corpora": "drive", "driveId": drive_id, "includeItemsFromAllDrives": True} if drive_id else {}
    listed: Any = step("list leftovers", lambda: gc.execute(files.list(
        q=f"name contains '{PROBE_PREFIX}' and '{parent}' in parents and trashed = false",
        fields="files(id,name)", supportsAllDrives=True, **where)), hint)
    stale = [f["id"] for f in listed.get("files", []) if str(f.get("name", "")).startswith(PROBE_PREFIX)]
    for file_id in stale:
        undo.append(_undo(gc, files.delete(fileId=file_id, supportsAllDrives=True)))
    name = probe_name()
    folder: Any = step("create a folder", lambda: gc.execute(files.create(
        body={"name": name, "mimeType": FOLDER, "parents": [parent]}, fields="id", supportsAllDrives=True),
        retry=False), hint)
    undo.append(_undo(gc, files.delete(fileId=folder["id"], supportsAllDrives=True)))
    step("share it", lambda: gc.execute(perms.create(
        fileId=folder["id"], body={"type": "user", "role": "writer", "emailAddress": share_with},
        sendNotificationEmail=False, supportsAllDrives=True), retry=False), hint)
    place = f"shared drive {drive_id}" if drive_id else f"{admin.split('@')[0]}@…'s My Drive"
    gone = f"; removed {len(stale)} leftover(s)" if stale else ""
    return f"folder {name} created in {place}, shared with {share_with.split('@')[0]}@…, deleted{gone}"


def _meet(gc: GoogleClient, organizer: str, undo: Undo) -> str:
    events = gc.service("calendar", subject=organizer).events()
    hint = MEET_HINT.format(who=organizer)
    end = PROBE_START + timedelta(minutes=PROBE_MINUTES)
    listed: Any = step("list leftovers", lambda: gc.execute(events.list(
        calendarId="primary", timeMin=PROBE_START.isoformat(), timeMax=end.isoformat(), maxResults=50)), hint)
    stale = [e["id"] for e in listed.get("items", []) if str(e.get("summary", "")).startswith(PROBE_PREFIX)]
    for event_id in stale:
        undo.append(_undo(gc, events.delete(calendarId="primary", eventId=event_id, sendUpdates="none")))
    name = probe_name()
    event_id = name.removeprefix(PROBE_PREFIX) + "probe0"  # base32hex (a-v, 0-9), as Calendar wants
    body = {"id": event_id, "summary": name,
            "start": {"dateTime": PROBE_START.isoformat(), "timeZone": "UTC"},
            "end": {"dateTime": end.isoformat(), "timeZone": "UTC"},
            "conferenceData": {"createRequest": {"requestId": name, "conferenceSolutionKey": {"type": "hangoutsMeet"}}}}
    made: Any = step("create an event with Meet", lambda: gc.execute(events.insert(
        calendarId="primary", body=body, conferenceDataVersion=1, sendUpdates="none"), retry=False), hint)
    undo.append(_undo(gc, events.delete(calendarId="primary", eventId=made["id"], sendUpdates="none")))
    video = [e for e in (made.get("conferenceData") or {}).get("entryPoints", []) if e.get("entryPointType") == "video"]
    if not video:
        raise ProbeStep("create an event with Meet", "the event has no Meet link (conferenceData)", hint)
    gone = f"; removed {len(stale)} leftover(s)" if stale else ""
    return f"event {name} with a Meet link on {organizer.split('@')[0]}@…'s calendar created and deleted{gone}"


def _gmail(gc: GoogleClient, org_cfg: OrganisationConfig, sender: str, to: str) -> str:
    name = probe_name()
    google = org_cfg.google
    assert google is not None
    step("send a test message", lambda: send_gmail(
        gc, sender, to, f"{name}: integrator tenant check",
        None, "A test message of `integrator tenant check --deep`. Nothing to do.", outbox_key=name),
        GMAIL_HINT.format(sender=sender, domain=google.domain))
    return f"test message {name} sent from {sender.split('@')[0]}@… to {to.split('@')[0]}@…"


def run_probes(org_cfg: OrganisationConfig, *, client: GoogleClient | None = None) -> list[CheckResult]:
    """The Google probes this organisation's configuration needs; never raises for a tenant problem."""
    google = org_cfg.google
    if google is None:
        return [CheckResult("google.probe", "skip", "no Google Workspace configured")]
    try:
        client_id = str(json.loads(google.service_account.read()).get("client_id", "?"))
    except (LookupError, OSError, ValueError) as exc:
        return [CheckResult("google.probe", "fail", f"cannot read the service-account key: {exc}",
                            "Run `integrator tenant check` without --deep first: google.key says what to fix.")]
    gc = client or GoogleClient(google, policy=RetryPolicy(max_attempts=3, base_delay_s=0.2))
    admin = google.admin_subject
    coordinators = sorted({g.coordinator for g in org_cfg.groups}) or [admin]

    def dwd(api: str) -> Callable[[ProviderError], str]:
        scopes = ", ".join(SCOPES[api])
        return lambda err: (DWD_HINT.format(client_id=client_id) + f" Scopes of this probe: {scopes}. "
                            f"Also check that the acting user exists and is active. See {GUIDE}.")

    results = [
        run_probe("google.probe classroom", lambda undo: _classroom(gc, admin, coordinators[0], undo), dwd("classroom")),
        run_probe("google.probe drive", lambda undo: _drive(gc, org_cfg, admin, coordinators[0], undo), dwd("drive")),
    ]
    meet = sorted({g.coordinator for g in org_cfg.groups if g.meeting.provider == "meet"})
    if meet:
        results.append(run_probe(f"google.probe meet:{meet[0]}", lambda undo: _meet(gc, meet[0], undo),
                                 dwd("calendar")))
    if org_cfg.mail.via == "gmail":
        sender = google.mail_sender
        if not sender:
            results.append(CheckResult("google.probe gmail", "fail", "mail.via is gmail but google.mail_sender is "
                                       "not set", "Set google.mail_sender to the Workspace user letters come from."))
        else:
            results.append(run_probe("google.probe gmail", lambda undo: _gmail(gc, org_cfg, sender, admin),
                                     dwd("gmail")))
    return results
