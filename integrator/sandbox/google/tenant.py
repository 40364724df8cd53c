"""The Google Workspace tenant: users, service accounts, tokens and each API's data."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from integrator.sandbox.core import SandboxState
from integrator.sandbox.signin import SignInBook

if TYPE_CHECKING:
    from integrator.sandbox.google.calendar import CalendarData
    from integrator.sandbox.google.classroom import ClassroomData
    from integrator.sandbox.google.drive import DriveData
    from integrator.sandbox.google.forms import FormsData
    from integrator.sandbox.google.gmail import GmailData
    from integrator.sandbox.google.meet import MeetData

DOMAIN = "sandbox.example.fi"
STRICT, LENIENT = "strict", "lenient"

#: Every scope the product asks for; the default domain-wide delegation allow-list.
DEFAULT_SCOPES = (
    "https://www.googleapis.com/auth/classroom.courses",
    "https://www.googleapis.com/auth/classroom.rosters",
    "https://www.googleapis.com/auth/classroom.profile.emails",
    "https://www.googleapis.com/auth/classroom.coursework.students",
    "https://www.googleapis.com/auth/classroom.topics",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/meetings.space.readonly",
)


@dataclass
class GoogleUser:
    id: str
    email: str
    name: str
    external: bool = False

    @property
    def given_name(self) -> str:
        return self.name.split(" ")[0]

    @property
    def family_name(self) -> str:
        return self.name.split(" ", 1)[1] if " " in self.name else ""


@dataclass
class ServiceAccount:
    client_id: str
    client_email: str
    key_id: str
    public_pem: bytes
    scopes: set[str]


@dataclass
class AccessToken:
    subject: str  # the acting user's email (the service account's own email without delegation)
    scopes: set[str]
    expires_at: datetime


@dataclass
class OAuthClient:
    """An OAuth client of type "Web application" (Google Cloud console > Credentials)."""

    client_id: str
    secret: str
    redirect_uris: set[str] = field(default_factory=set)


@dataclass
class GoogleTenant:
    state: SandboxState
    base_url: str = "http://127.0.0.1"
    domain: str = DOMAIN
    users: dict[str, GoogleUser] = field(default_factory=dict)
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    #: Resumable upload sessions: upload id -> (HTTP method, metadata, media type, bytes so far).
    uploads: dict[str, tuple[str, Any, str, bytearray]] = field(default_factory=dict)
    #: Workspace super admins: they may manage any course, add teachers and students directly and
    #: create domain (``d:``) aliases, as Classroom documents.
    admins: set[str] = field(default_factory=set)
    #: Gmail send-as aliases a user may put in ``From`` (user email -> alias addresses).
    send_as: dict[str, set[str]] = field(default_factory=dict)
    #: ``"strict"`` (the default) enforces Classroom's documented permission rules: a course is managed
    #: by its teachers (and admins), only admins add members directly (teachers invite), only the
    #: owning student turns work in. ``"lenient"`` skips those checks; a few tests of other
    #: behaviour use it, the product's tests never do.
    classroom_roles: str = STRICT
    _key_pem: bytes | None = None
    #: Users' sign-ins with Google (OpenID Connect): OAuth clients, pending requests and codes.
    oauth_clients: dict[str, OAuthClient] = field(default_factory=dict)
    sign_in: SignInBook = field(default_factory=SignInBook)

    @property
    def enforce_classroom_roles(self) -> bool:
        return self.classroom_roles != LENIENT

    @enforce_classroom_roles.setter
    def enforce_classroom_roles(self, on: bool) -> None:
        self.classroom_roles = STRICT if on else LENIENT

    def __post_init__(self) -> None:
        self._fresh_data()

    def _fresh_data(self) -> None:
        from integrator.sandbox.google.calendar import CalendarData
        from integrator.sandbox.google.classroom import ClassroomData
        from integrator.sandbox.google.drive import DriveData
        from integrator.sandbox.google.forms import FormsData
        from integrator.sandbox.google.gmail import GmailData
        from integrator.sandbox.google.meet import MeetData

        self.classroom: ClassroomData = ClassroomData()
        self.drive: DriveData = DriveData()
        self.calendar: CalendarData = CalendarData()
        self.gmail: GmailData = GmailData()
        self.meet: MeetData = MeetData()
        self.forms: FormsData = FormsData()

    def reset(self) -> None:
        with self.state.lock:
            self.users.clear()
            self.service_accounts.clear()
            self.tokens.clear()
            self.uploads.clear()
            self.admins.clear()
            self.oauth_clients.clear()
            self.sign_in = SignInBook()
            self.send_as.clear()
            self.classroom_roles = STRICT
            self._fresh_data()

    # ---- ids ----
    def new_id(self, length: int = 12, alphabet: str = string.digits, first: str = "") -> str:
        return first + self.state.random_id(length - len(first), alphabet)

    # ---- users ----
    def add_user(self, email: str, name: str, user_id: str | None = None, *, admin: bool = False) -> str:
        """A user of the Workspace domain (staff or a client's domain account); ``admin``: a super admin."""
        if not email.lower().endswith("@" + self.domain):
            raise ValueError(f"{email} is not in the sandbox domain {self.domain}")
        found = self._add(email, name, user_id, external=False)
        if admin:
            self.make_admin(email)
        return found.id

    def make_admin(self, email: str) -> None:
        """Make a domain user a Workspace super admin (Classroom lets admins add members directly)."""
        with self.state.lock:
            self.admins.add(email.lower())

    def is_admin(self, email: str) -> bool:
        return email.lower() in self.admins

    def add_send_as(self, email: str, alias: str) -> None:
        """A verified Gmail send-as alias: ``email`` may send with ``From: alias``."""
        with self.state.lock:
            self.send_as.setdefault(email.lower(), set()).add(alias.lower())

    def add_external_user(self, email: str, name: str) -> str:
        """A personal Google account outside the domain (may join Meet, cannot be enrolled)."""
        return self._add(email, name, None, external=True).id

    def _add(self, email: str, name: str, user_id: str | None, external: bool) -> GoogleUser:
        with self.state.lock:
            user = GoogleUser(user_id or self.new_id(21, first="1"), email.lower(), name, external)
            self.users[user.email] = user
            return user

    def user(self, key: str) -> GoogleUser | None:
        """Look a user up by email or Google id."""
        with self.state.lock:
            found = self.users.get(key.lower())
            if found is not None:
                return found
            return next((u for u in self.users.values() if u.id == key), None)

    def domain_user(self, key: str) -> GoogleUser | None:
        found = self.user(key)
        return found if found is not None and not found.external else None

    # ---- OAuth clients (user sign-in) ----
    def register_oauth_client(self, redirect_uris: list[str] | None = None) -> tuple[str, str]:
        """A Web application OAuth client: (client id, client secret)."""
        with self.state.lock:
            client_id = f"{self.new_id(12, first='1')}-sandbox.apps.googleusercontent.com"
            secret = "GOCSPX-" + self.new_id(28, alphabet=string.ascii_letters + string.digits + "-_")
            self.oauth_clients[client_id] = OAuthClient(client_id, secret, set(redirect_uris or ()))
        return client_id, secret

    def add_redirect_uri(self, client_id: str, uri: str) -> None:
        """An authorised redirect URI of the client: sign-in codes may be sent there."""
        with self.state.lock:
            self.oauth_clients[client_id].redirect_uris.add(uri)

    # ---- service accounts ----
    def service_account_info(self, scopes: list[str] | None = None) -> dict[str, Any]:
        from integrator.sandbox.google.auth import register_service_account

        return register_service_account(self, list(scopes) if scopes is not None else list(DEFAULT_SCOPES))

    # ---- simulation, delegated to each API module ----
    def create_shared_drive(self, name: str, member_emails: list[str]) -> str:
        from integrator.sandbox.google import drive

        return drive.create_shared_drive(self, name, member_emails)

    def add_file(
        self,
        owner_email: str,
        name: str,
        mime_type: str,
        parents: list[str] | None = None,
        content: bytes = b"",
    ) -> str:
        from integrator.sandbox.google import drive

        return drive.add_file(self, owner_email, name, mime_type, parents or [], content)

    def upload_file(
        self, user_email: str, folder_id: str, name: str, mime_type: str, at: datetime | None = None
    ) -> str:
        from integrator.sandbox.google import drive

        return drive.add_file(
            self, user_email, name, mime_type, [folder_id], b"uploaded by sandbox", at, must_write=True
        )

    def accept_invitation(self, invitation_id: str) -> None:
        from integrator.sandbox.google import classroom_rosters

        classroom_rosters.accept_invitation(self, invitation_id)

    def accept_all_invitations(self) -> int:
        from integrator.sandbox.google import classroom_rosters

        return classroom_rosters.accept_all_invitations(self)

    def submit_task(
        self,
        course_id: str,
        course_work_id: str,
        user_id: str,
        at: datetime | None = None,
        turn_in: bool = True,
    ) -> str:
        from integrator.sandbox.google import submissions

        return submissions.submit_task(self, course_id, course_work_id, user_id, at, turn_in)

    def submit_response(
        self,
        form_id: str,
        answers: dict[str, list[str]],
        at: datetime | None = None,
        email: str | None = None,
    ) -> str:
        from integrator.sandbox.google import forms_responses

        return forms_responses.submit_response(self, form_id, answers, at, email)

    def join_meet(
        self,
        event_or_meeting_code: str,
        email: str | None = None,
        display_name: str | None = None,
        minutes: int = 60,
        start: datetime | None = None,
        via_phone: bool = False,
    ) -> str:
        from integrator.sandbox.google import meet

        return meet.join_meet(self, event_or_meeting_code, email, display_name, minutes, start, via_phone)
