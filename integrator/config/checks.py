"""What pydantic cannot see: references between keys, tenants, time zones, secrets."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrator.config.models import OrganisationConfig, SecretRef, Settings
from integrator.config.problems import Problem, Sources

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _secret_refs(settings: Settings) -> list[tuple[tuple[int | str, ...], SecretRef]]:
    refs: list[tuple[tuple[int | str, ...], SecretRef]] = []
    for i, org in enumerate(settings.organisations):
        if org.google is not None:
            refs.append((("organisations", i, "google", "service_account"), org.google.service_account))
        if org.microsoft is not None:
            for name in ("client_secret", "certificate"):
                ref = getattr(org.microsoft, name)
                if ref is not None:
                    refs.append((("organisations", i, "microsoft", name), ref))
        for j, provider in enumerate(org.sign_in.providers):
            refs.append((("organisations", i, "sign_in", "providers", j, "client_secret"), provider.client_secret))
    return refs


def semantic_problems(settings: Settings, sources: Sources, check_secrets: bool) -> list[Problem]:
    """What pydantic cannot see: references between keys (across the organisation files too),
    tenants, time zones, secrets."""
    problems: list[Problem] = []

    def add(loc: tuple[int | str, ...], message: str) -> None:
        problems.append(sources.problem(loc, message))

    def check_zone(loc: tuple[int | str, ...], name: str) -> None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            add(loc, "unknown time zone; expected an IANA name such as Europe/Helsinki")

    def check_email(loc: tuple[int | str, ...], value: str | None) -> None:
        if value is not None and not _EMAIL.match(value):
            add(loc, "expected an email address (name@example.fi)")

    check_zone(("time_zone",), settings.time_zone)
    _check_schedule_order(add, settings)
    if settings.database_url:
        _check_database_url(add, settings.database_url)

    org_seen: dict[str, int] = {}
    # A domain signs in to one organisation: the login page picks the organisation by it.
    domain_seen: dict[str, tuple[int, int]] = {}
    staff_seen: dict[str, tuple[int, int]] = {}
    org_keys = [org.key for org in settings.organisations]
    for i, org in enumerate(settings.organisations):
        o: tuple[int | str, ...] = ("organisations", i)
        if org.key in org_seen:
            add((*o, "key"), f"organisation key '{org.key}' is already used by "
                             f"{sources.where(('organisations', org_seen[org.key]))}")
        org_seen.setdefault(org.key, i)
        rules = org.rules or settings.rules
        for j, other in enumerate(org.responsible_workers_from):
            loc = (*o, "responsible_workers_from", j)
            if other == org.key:
                add(loc, "the organisation's own staff may always be responsible workers; list other organisations only")
            elif other not in org_keys:
                add(loc, f"no organisation with this key in the configuration; expected one of: "
                         f"{', '.join(k for k in org_keys if k != org.key) or '(no other organisations)'}")
            elif other in org.responsible_workers_from[:j]:
                add(loc, "the organisation is given twice")

        staff_roles: dict[str, str] = {}
        for j, person in enumerate(org.staff):
            check_email((*o, "staff", j, "email"), person.email)
            email = person.email.strip().lower()
            if email in staff_seen:
                oi, sj = staff_seen[email]
                add((*o, "staff", j, "email"),
                    f"the same email is already given at {sources.where(('organisations', oi, 'staff', sj))}; "
                    "a staff user belongs to one organisation")
            staff_seen.setdefault(email, (i, j))
            staff_roles.setdefault(email, person.role)

        if org.google is not None:
            check_email((*o, "google", "admin_subject"), org.google.admin_subject)
            check_email((*o, "google", "mail_sender"), org.google.mail_sender)
        if org.microsoft is not None:
            check_email((*o, "microsoft", "mail_sender"), org.microsoft.mail_sender)
            if org.microsoft.task_folders is not None and org.google is not None:
                # One place for the clients' task folders: two would split a client's work in two.
                add((*o, "microsoft", "task_folders"),
                    "task folders in SharePoint are for an organisation on Microsoft 365 alone; this organisation "
                    "has 'google', whose Drive folders are its task folders: remove microsoft.task_folders "
                    "(or set it to null)")
        check_email((*o, "mail", "reply_to"), org.mail.reply_to)

        if org.google is None and org.microsoft is None:
            if org.groups:
                # One problem for the organisation rather than one per group and one for the mail.
                add(o, "the organisation has groups but no tenant, so it would get nothing: no meetings, no mail, "
                       "no courses or folders; add 'google' (Google Workspace) or 'microsoft' (Microsoft 365)")
        else:
            _check_mail(add, o, org)
            for j, group in enumerate(org.groups):
                loc = (*o, "groups", j, "meeting", "provider")
                if group.meeting.provider == "teams" and org.microsoft is None:
                    add(loc, "Teams meetings need the organisation's 'microsoft' tenant; add 'microsoft' or use "
                             "provider: meet")
                if group.meeting.provider == "meet" and org.google is None:
                    add(loc, "Google Meet needs the organisation's 'google' tenant, which this organisation "
                             "does not have; use provider: teams (or add 'google')")

        if org.surveys.enabled and org.surveys.mode == "forms" and org.google is None:
            add((*o, "surveys", "mode"), "surveys in Google Forms mode need the organisation's 'google' tenant; "
                                         "add 'google' or use mode: page (the own survey page)")

        for j, provider in enumerate(org.sign_in.providers):
            for k, domain in enumerate(provider.allowed_domains):
                where = domain_seen.setdefault(domain, (i, j))
                if where[0] != i:
                    add((*o, "sign_in", "providers", j, "allowed_domains", k),
                        f"domain {domain} already signs in to another organisation, at "
                        f"{sources.where(('organisations', where[0], 'sign_in', 'providers', where[1]))}; "
                        "the login page picks the organisation by the e-mail domain")

        group_seen: dict[str, int] = {}
        for j, group in enumerate(org.groups):
            g: tuple[int | str, ...] = (*o, "groups", j)
            if group.key in group_seen:
                add((*g, "key"), f"group key '{group.key}' is already used by "
                                 f"{sources.where((*o, 'groups', group_seen[group.key]))}")
            group_seen.setdefault(group.key, j)
            role = staff_roles.get(group.coordinator.strip().lower())
            if role is None:
                add((*g, "coordinator"), f"not among organisation '{org.key}' staff; add them under staff "
                                         "with role coordinator or admin")
            elif role not in ("coordinator", "admin"):
                add((*g, "coordinator"), f"this staff user has role {role}; a group coordinator needs role "
                                         "coordinator or admin")
            if len(set(group.weekdays)) != len(group.weekdays):
                add((*g, "weekdays"), "a weekday is given twice")
            outside = sorted(set(group.weekdays) - set(rules.work_weekdays))
            if outside:
                add((*g, "weekdays"), f"weekday(s) {outside} are not work-activity days in the rules "
                                      f"(rules.work_weekdays: {rules.work_weekdays})")
            if len(set(group.weekdays)) > rules.max_days_per_week:
                add((*g, "weekdays"), f"{len(set(group.weekdays))} weekdays; the rules allow at most "
                                      f"{rules.max_days_per_week} days a week")
            if group.meeting.end > rules.day_return_deadline:
                add((*g, "meeting", "end"), f"the meeting ends at {group.meeting.end:%H:%M}, after the day's return "
                                            f"deadline (rules.day_return_deadline: {rules.day_return_deadline:%H:%M})")
            check_zone((*g, "time_zone"), group.time_zone)

    if check_secrets:
        for loc, ref in _secret_refs(settings):
            if ref.env is not None:
                if not os.environ.get(ref.env):
                    add((*loc, "env"), f"environment variable {ref.env} is not set (or empty)")
            elif ref.file is not None:
                _check_file(add, (*loc, "file"), ref.file, "secret file")
        for i, org in enumerate(settings.organisations):
            if org.microsoft is not None and org.microsoft.ca_bundle is not None:
                _check_file(add, ("organisations", i, "microsoft", "ca_bundle"), org.microsoft.ca_bundle, "CA bundle")
            for j, provider in enumerate(org.sign_in.providers):
                if provider.ca_bundle is not None:
                    _check_file(add, ("organisations", i, "sign_in", "providers", j, "ca_bundle"),
                                provider.ca_bundle, "CA bundle")
    return problems


def _check_schedule_order(add: Any, settings: Settings) -> None:
    """The scheduled weekly setup must come before the letters in the week: a letter is written
    once, with the links that exist then, so a setup after it leaves the clients' letters without
    next week's meetings and task documents."""
    setup, letter = settings.schedule.weekly_setup, settings.schedule.weekly_letter
    if setup.enabled and letter.enabled and (setup.weekday, setup.time) >= (letter.weekday, letter.time):
        add(("schedule", "weekly_setup"), f"the weekly setup (weekday {setup.weekday} {setup.time:%H:%M}) runs after "
                                          f"the weekly letters (weekday {letter.weekday} {letter.time:%H:%M}): "
                                          "next week's letters would go out without their meeting and task links; "
                                          "schedule it earlier in the week (e.g. weekday 3, 09:00)")


def _check_mail(add: Any, o: tuple[int | str, ...], org: OrganisationConfig) -> None:
    """The letters' and reminders' mailbox: a `mail.via` its tenant and sender can serve.

    Mail matters only when the organisation sends letters: when it has groups or says how. An
    organisation on Microsoft 365 alone defaults to graph (OrganisationConfig), which alone does
    not count as saying how."""
    said = "mail" in org.model_fields_set and not (
        org.google is None and org.mail.via == "graph" and org.mail.model_fields_set <= {"via"})
    if not (org.groups or said):
        return
    via = (*o, "mail", "via")  # the line of mail.via, or of the organisation when the file leaves it out
    if org.mail.via == "gmail":
        if org.google is None:
            add(via, "mail via gmail needs the organisation's 'google' tenant; add 'google' or use graph")
        elif org.google.mail_sender is None:
            add((*o, "google"), "mail via gmail needs google.mail_sender (the Workspace user letters are sent "
                                "from); add it or use mail.via: graph")
    elif org.microsoft is None:
        add(via, "mail via graph needs the organisation's 'microsoft' tenant; add 'microsoft' or use gmail")
    elif org.microsoft.mail_sender is None:
        default = " (the default for an organisation on Microsoft 365 alone)" if org.google is None else ""
        add((*o, "microsoft"), f"mail via graph{default} needs microsoft.mail_sender (the mailbox letters are "
                               "sent from)")


# Query parameters that carry a secret: libpq's password and sslpassword, pymssql's pwd,
# tokens of cloud drivers. (sslkey, passfile and the like name files, which are fine.)
_SECRET_PARAMETER = re.compile(r"password|passwd|^pwd$|secret|token", re.IGNORECASE)


def _check_database_url(add: Any, value: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    loc = ("database_url",)
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        add(loc, "not a database URL; expected e.g. sqlite:///./var/integrator.db or postgresql://user@host/name")
        return
    where = sorted(name for name in url.query if _SECRET_PARAMETER.search(name))
    if url.password is not None or where:
        # The parameter's name is said, never its value.
        names = ", ".join(f"'{name}'" for name in where)
        add(loc, "contains a password" + (f" (query parameter {names})" if where else "")
            + "; set INTEGRATOR_DATABASE_URL in the environment instead")


def _check_file(add: Any, loc: tuple[int | str, ...], path: Path, what: str) -> None:
    # Paths are used as written: relative ones are relative to the working directory.
    if not path.exists():
        add(loc, f"{what} {path} does not exist")
    elif not path.is_file():
        add(loc, f"{what} {path} is not a file")
    elif not os.access(path, os.R_OK):
        add(loc, f"{what} {path} cannot be read by this user")


