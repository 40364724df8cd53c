"""The Microsoft tenant's data and the Python setup/simulation API (``sb.graph``).

Handlers and setup methods share ``state.lock``; every stored resource keeps its Graph JSON
(camelCase, as Graph returns it) next to the few typed fields the emulator reasons with.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from integrator.sandbox.core import SandboxState
from integrator.sandbox.graph.drive_store import DriveStore
from integrator.sandbox.signin import SignInBook

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

#: Application permissions (Entra app roles) an app gets unless told otherwise: what we use.
DEFAULT_PERMISSIONS = frozenset(
    {
        "User.Read.All",
        "Calendars.ReadWrite",
        "OnlineMeetings.ReadWrite.All",
        "OnlineMeetingArtifact.Read.All",
        "Mail.Send",
    }
)

Json = dict[str, Any]

#: sharepointSettings.sharingCapability, narrowest first (sharepointsettings.md / sharingCapabilities).
SHARING_CAPABILITIES = ("disabled", "existingExternalUserSharingOnly", "externalUserSharingOnly",
                        "externalUserAndGuestSharing")


def default_sharepoint_settings() -> Json:
    """A new tenant's settings, in the documented shape (sharepointsettings-get.md's example, with
    SharePoint's defaults: sharing with anyone allowed, no domain restriction)."""
    return {
        "allowedDomainGuidsForSyncApp": [],
        "availableManagedPathsForSiteCreation": ["/sites/", "/teams/"],
        "deletedUserPersonalSiteRetentionPeriodInDays": 30,
        "excludedFileExtensionsForSyncApp": [],
        "idleSessionSignOut": {"isEnabled": False, "warnAfterInSeconds": 0, "signOutAfterInSeconds": 0},
        "imageTaggingOption": "basic",
        "isCommentingOnSitePagesEnabled": True,
        "isFileActivityNotificationEnabled": True,
        "isLegacyAuthProtocolsEnabled": True,
        "isLoopEnabled": True,
        "isMacSyncAppEnabled": True,
        "isRequireAcceptingUserToMatchInvitedUserEnabled": True,
        "isResharingByExternalUsersEnabled": False,
        "isSharePointMobileNotificationEnabled": True,
        "isSharePointNewsfeedEnabled": True,
        "isSiteCreationEnabled": True,
        "isSiteCreationUIEnabled": True,
        "isSitePagesCreationEnabled": True,
        "isSitesStorageLimitAutomatic": True,
        "isSyncButtonHiddenOnPersonalSite": False,
        "isUnmanagedSyncAppForTenantRestricted": False,
        "personalSiteDefaultStorageLimitInMB": 1048576,
        "sharingAllowedDomainList": [],
        "sharingBlockedDomainList": [],
        "sharingCapability": "externalUserAndGuestSharing",
        "sharingDomainRestrictionMode": "none",
        "siteCreationDefaultManagedPath": "/sites/",
        "siteCreationDefaultStorageLimitInMB": 26214400,
        "tenantDefaultTimezone": "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
    }


def _lower_escapes(text: str) -> str:
    """Teams writes percent-escapes in lower case (19%3ameeting_...%40thread.v2)."""
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


@dataclass
class RegisteredApp:
    client_id: str
    secret: str
    permissions: frozenset[str]
    certificates: list[x509.Certificate] = field(default_factory=list)
    #: Web redirect URIs (Authentication > Web in the app registration): where sign-in codes go.
    redirect_uris: set[str] = field(default_factory=set)


@dataclass
class StoredEvent:
    id: str
    owner_id: str
    start: datetime
    end: datetime
    data: Json
    transaction_id: str | None = None


@dataclass
class Meeting:
    id: str
    organizer_id: str
    join_url: str
    start: datetime
    end: datetime
    data: Json
    external_id: str | None = None


@dataclass
class AttendanceInterval:
    """One join..leave of one participant (``sb.graph.join_meeting``)."""

    meeting_id: str
    identity_id: str
    display_name: str
    email: str | None
    role: str
    join: datetime
    leave: datetime
    kind: str = "user"  # "user" (tenant member), "guest" (joined by email/name) or "phone" (dial-in)


class GraphTenant:
    """One Entra tenant with its users, app registrations, calendars, Teams meetings and mail."""

    domain = "sandbox.example.fi"

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_kid = secrets.token_hex(8)
        self.token_lifetime = timedelta(hours=1)
        self._clear()

    def _clear(self) -> None:
        self.tenant_id = self.new_uuid()
        #: Outlook's concurrent requests per mailbox, felt by parallel ($batch) items; None: off.
        self.mailbox_concurrency: int | None = 4
        self.apps: dict[str, RegisteredApp] = {}
        self.users: dict[str, Json] = {}
        self.events: dict[str, StoredEvent] = {}
        self.meetings: dict[str, Meeting] = {}
        self.policy_users: set[str] = set()
        self.attendance: list[AttendanceInterval] = []
        #: How long after a session ends Teams publishes its attendance report (real Teams: minutes,
        #: sometimes hours); a test holds a report back with it.
        self.report_delay = timedelta(0)
        #: Users' sign-ins (authorization code flow): pending requests, codes, userinfo tokens.
        self.sign_in = SignInBook()
        self.user_tokens: dict[str, tuple[str, float]] = {}  # access token -> (object id, expiry)
        #: Document libraries and OneDrives (graph/drive_store.py; routes in graph/drive.py).
        self.drives = DriveStore(self)
        #: GET /admin/sharepoint/settings (graph/sharepoint_settings.py); its sharingCapability also
        #: decides whether an invite may reach an address outside the tenant (graph/drive.py).
        self.sharepoint_settings: Json = default_sharepoint_settings()

    def reset(self) -> None:
        """Empty tenant (new tenant id); the token signing key survives."""
        with self.state.lock:
            self._clear()

    # -- ids --------------------------------------------------------------------------------
    def new_uuid(self) -> str:
        with self.state.lock:
            return str(uuid.UUID(int=self.state.rng.getrandbits(128), version=4))

    def new_outlook_id(self) -> str:
        """Outlook ids are long opaque base64url strings starting with AAMkA."""
        with self.state.lock:
            raw = self.state.rng.getrandbits(8 * 48).to_bytes(48, "big")
        return "AAMkA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    # -- setup API (contract) ----------------------------------------------------------------
    def register_app(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        permissions: list[str] | set[str] | frozenset[str] | None = None,
        certificate_pem: bytes | None = None,
    ) -> tuple[str, str]:
        """Register an app (service principal with admin-consented application permissions)."""
        app_id = client_id or self.new_uuid()
        secret = client_secret or ("sbx~" + self.state.random_id(36))
        certs = [x509.load_pem_x509_certificate(certificate_pem)] if certificate_pem else []
        with self.state.lock:
            self.apps[app_id] = RegisteredApp(
                client_id=app_id,
                secret=secret,
                permissions=frozenset(DEFAULT_PERMISSIONS if permissions is None else permissions),
                certificates=certs,
            )
        return app_id, secret

    def add_redirect_uri(self, client_id: str, uri: str) -> None:
        """A Web redirect URI on an app registration: sign-in codes may be sent there."""
        with self.state.lock:
            self.apps[client_id].redirect_uris.add(uri)

    def add_user(self, email: str, name: str, user_id: str | None = None) -> str:
        """A licensed member user; ``email`` is both UPN and primary SMTP address."""
        oid = user_id or self.new_uuid()
        given, _, surname = name.partition(" ")
        with self.state.lock:
            self.users[oid] = {
                "businessPhones": [],
                "displayName": name,
                "givenName": given or None,
                "jobTitle": None,
                "mail": email,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": "fi-FI",
                "surname": surname or None,
                "userPrincipalName": email,
                "id": oid,
            }
        return oid

    def add_drive(self, site_name: str | None = None, owner_email: str | None = None) -> str:
        """A SharePoint site's document library, or ``owner_email``'s OneDrive: its drive id."""
        return self.drives.add_drive(site_name, owner_email)

    def site_of(self, drive_id: str) -> str | None:
        return self.drives.drives[drive_id].site_id

    def grant_site(self, site_id: str, client_id: str, roles: list[str] | None = None) -> None:
        """Sites.Selected: give an app read or write on one site (POST /sites/{id}/permissions)."""
        self.drives.grant_site(site_id, client_id, roles)

    def set_sharing_capability(self, capability: str) -> None:
        """The SharePoint admin center's organisation-level sharing setting (Policies > Sharing)."""
        if capability not in SHARING_CAPABILITIES:
            raise ValueError(f"sharing capability must be one of {', '.join(SHARING_CAPABILITIES)}")
        with self.state.lock:
            self.sharepoint_settings["sharingCapability"] = capability

    def upload_as(self, user_email: str, drive_id: str, folder_id: str, name: str, data: bytes,
                  at: datetime | None = None) -> str:
        """A user (a client returning a task) saves a file into a folder at the sandbox clock."""
        return self.drives.upload_as(user_email, drive_id, folder_id, name, data, at)

    def grant_meeting_policy(self, user_id: str) -> None:
        """Teams application access policy: lets app-only calls act on this organiser's meetings."""
        with self.state.lock:
            self.policy_users.add(self.user(user_id)["id"])

    def drop_event(self, event_id: str) -> None:
        """The organiser deletes the event: Outlook removes its Teams meeting with it."""
        with self.state.lock:
            event = self.events.pop(event_id)
            join_url = (event.data.get("onlineMeeting") or {}).get("joinUrl")
            for meeting_id in [m.id for m in self.meetings.values() if join_url and m.join_url == join_url]:
                del self.meetings[meeting_id]

    def join_meeting(
        self,
        join_url: str,
        user_id: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
        minutes: int = 60,
        start: datetime | None = None,
        via_phone: bool = False,
    ) -> None:
        """Someone attends the meeting behind ``join_url`` for ``minutes`` from ``start``.

        Default start is the meeting's scheduled start. A phone dial-in has no email and a
        phone number as display name, as in real Teams attendance reports.
        """
        with self.state.lock:
            meeting = self.meeting_by_join_url(join_url)
            if meeting is None:
                raise KeyError(f"no meeting with join url {join_url!r}")
            user = self.find_user(user_id or email or "") if (user_id or email) else None
            if via_phone:
                identity_id, kind = self.new_uuid(), "phone"
                name = display_name or "+35840" + self.state.random_id(7, "0123456789")
                address = None
            elif user is not None:
                identity_id, kind = user["id"], "user"
                name, address = user["displayName"], user["mail"]
            else:
                identity_id, kind = self.new_uuid(), "guest"
                name = display_name or (email or "Guest").split("@")[0]
                address = email
            role = "Organizer" if identity_id == meeting.organizer_id else "Attendee"
            begin = start or meeting.start
            self.attendance.append(
                AttendanceInterval(
                    meeting_id=meeting.id,
                    identity_id=identity_id,
                    display_name=name,
                    email=address,
                    role=role,
                    join=begin,
                    leave=begin + timedelta(minutes=minutes),
                    kind=kind,
                )
            )

    # -- lookups used by handlers ------------------------------------------------------------
    def find_user(self, key: str) -> Json | None:
        """By object id or (case-insensitive) UPN/mail."""
        with self.state.lock:
            if key in self.users:
                return self.users[key]
            lowered = key.lower()
            for user in self.users.values():
                if str(user["userPrincipalName"]).lower() == lowered or str(user["mail"]).lower() == lowered:
                    return user
        return None

    def user(self, key: str) -> Json:
        found = self.find_user(key)
        if found is None:
            raise KeyError(key)
        return found

    def meeting_by_join_url(self, join_url: str) -> Meeting | None:
        with self.state.lock:
            for meeting in self.meetings.values():
                if meeting.join_url == join_url:
                    return meeting
        return None

    def new_join_url(self, organizer_id: str) -> tuple[str, str]:
        """(thread id, join URL) in the shape Teams uses."""
        thread = f"19:meeting_{self.state.random_id(48, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}@thread.v2"
        context = _lower_escapes(quote(f'{{"Tid":"{self.tenant_id}","Oid":"{organizer_id}"}}', safe=""))
        return thread, f"https://teams.microsoft.com/l/meetup-join/{_lower_escapes(quote(thread, safe=''))}/0?context={context}"

    def meeting_id_for(self, organizer_id: str, thread: str) -> str:
        raw = f"1*{organizer_id}*0**{thread}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
