"""Smoke test of the sandbox tenant with nothing but the vendor SDKs.

Starts the sandbox, then, exactly as product code would in sandbox mode:
  Google    – a Classroom course (idempotent alias) and a Drive folder, via google-api-python-client
              built from the shipped discovery documents with rootUrl pointed at the sandbox, and a
              real service-account JWT exchange with domain-wide delegation;
  Microsoft – a calendar event with a Teams link, and its attendance report once the sandbox clock
              has passed the simulated meeting, via azure-identity + msgraph-sdk over TLS.

Run: .venv/bin/python scripts/sandbox_smoke.py      (exit status 0 when everything worked)
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from datetime import timedelta
from typing import Any

from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc

from integrator.sandbox import Sandbox

COACH = "ohjaaja@sandbox.example.fi"


def google_service(sb: Sandbox, info: dict[str, Any], api: str, version: str, scopes: list[str]) -> Any:
    doc = json.loads(get_static_doc(api, version) or "{}")
    doc["rootUrl"] = f"{sb.google_url}/{api}/"
    creds = service_account.Credentials.from_service_account_info(info, scopes=scopes, subject=COACH)
    return build_from_document(doc, credentials=creds)


def google_part(sb: Sandbox) -> None:
    sb.google.add_user(COACH, "Olli Ohjaaja")
    info = sb.google.service_account_info()
    classroom = google_service(
        sb, info, "classroom", "v1", ["https://www.googleapis.com/auth/classroom.courses"]
    )
    course = (
        classroom.courses()
        .create(body={"id": "p:smoke-ryhma-a", "name": "Ryhmä A", "ownerId": "me"})
        .execute()
    )
    again = classroom.courses().get(id="p:smoke-ryhma-a").execute()
    assert again["id"] == course["id"]
    drive = google_service(sb, info, "drive", "v3", ["https://www.googleapis.com/auth/drive"])
    folder = (
        drive.files()
        .create(
            body={"name": "Ryhmä A", "mimeType": "application/vnd.google-apps.folder"},
            fields="id,webViewLink",
        )
        .execute()
    )
    print(f"google: course {course['id']} ({course['courseState']}), folder {folder['webViewLink']}")


async def graph_part(sb: Sandbox) -> None:
    from azure.identity import ClientSecretCredential
    from httpx import AsyncClient
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
    from msgraph.generated.users.item.online_meetings.online_meetings_request_builder import (
        OnlineMeetingsRequestBuilder,
    )
    from msgraph.graph_request_adapter import options as graph_options
    from msgraph_core import GraphClientFactory
    from msgraph_core.authentication import AzureIdentityAuthenticationProvider

    tenant = sb.graph
    client_id, secret = tenant.register_app()
    organiser = tenant.add_user(COACH, "Olli Ohjaaja")
    tenant.grant_meeting_policy(organiser)
    attendee = tenant.add_user("asiakas@sandbox.example.fi", "Aino Asiakas")
    credential = ClientSecretCredential(
        tenant.tenant_id, client_id, secret, authority=sb.login_authority,
        disable_instance_discovery=True, connection_verify=sb.ca_cert_path,
    )  # fmt: skip
    http = GraphClientFactory.create_with_default_middleware(
        client=AsyncClient(verify=ssl.create_default_context(cafile=sb.ca_cert_path)), options=graph_options
    )
    auth = AzureIdentityAuthenticationProvider(
        credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = sb.graph_url
    graph = GraphServiceClient(request_adapter=adapter)
    try:
        start = sb.state.clock.now()
        event = await graph.users.by_user_id(organiser).events.post(
            Event(
                subject="Ryhmätapaaminen",
                start=DateTimeTimeZone(date_time=start.strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"),
                end=DateTimeTimeZone(
                    date_time=(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), time_zone="UTC"
                ),
                is_online_meeting=True,
                online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
            )
        )
        assert event is not None and event.online_meeting is not None and event.online_meeting.join_url
        join_url = event.online_meeting.join_url
        query = OnlineMeetingsRequestBuilder.OnlineMeetingsRequestBuilderGetQueryParameters(
            filter=f"JoinWebUrl eq '{join_url}'"
        )
        meetings = await graph.users.by_user_id(organiser).online_meetings.get(
            RequestConfiguration(query_parameters=query)
        )
        assert meetings is not None and meetings.value and meetings.value[0].id
        meeting_id = meetings.value[0].id
        tenant.join_meeting(join_url, user_id=organiser, minutes=60)
        tenant.join_meeting(join_url, user_id=attendee, minutes=45)
        sb.state.clock.advance(timedelta(hours=1, minutes=5))
        reports = (
            graph.users.by_user_id(organiser)
            .online_meetings.by_online_meeting_id(meeting_id)
            .attendance_reports
        )
        listed = await reports.get()
        assert listed is not None and listed.value and listed.value[0].id
        records = await reports.by_meeting_attendance_report_id(listed.value[0].id).attendance_records.get()
        assert records is not None and records.value
        minutes = {
            r.identity.display_name: (r.total_attendance_in_seconds or 0) // 60
            for r in records.value
            if r.identity
        }
        print(f"graph: Teams link {join_url[:60]}..., attendance minutes {minutes}")
    finally:
        await http.aclose()
        credential.close()


def main() -> int:
    with Sandbox(seed=0, page_size=5) as sb:
        google_part(sb)
        if sb.has_graph:
            asyncio.run(graph_part(sb))
        else:
            print("graph: the Microsoft half is not installed; skipped")
        print(f"requests on the wire: {sb.state.log.total()}  by operation: {sb.state.log.counts()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
