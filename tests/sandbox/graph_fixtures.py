"""Fixtures for the Microsoft half of the sandbox: one TLS server per test session, a clean
tenant per test, and clients built exactly as the product builds them (real azure-identity
credential, real msgraph-sdk GraphServiceClient, sandbox CA trusted only by these clients).

Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from azure.identity import CertificateCredential, ClientSecretCredential
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.graph_request_adapter import options as graph_middleware_options
from msgraph_core import GraphClientFactory
from msgraph_core.authentication import AzureIdentityAuthenticationProvider

from integrator.sandbox.core import SandboxState
from integrator.sandbox.graph.serve import GraphServer
from integrator.sandbox.graph.tenant import GraphTenant

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass
class GraphSandbox:
    """What a test needs: the shared state, the tenant (``sb.graph``) and where things live."""

    server: GraphServer

    @property
    def state(self) -> SandboxState:
        return self.server.state

    @property
    def graph(self) -> GraphTenant:
        return self.server.tenant

    @property
    def graph_url(self) -> str:
        return self.server.graph_url

    @property
    def login_authority(self) -> str:
        return self.server.login_authority

    @property
    def ca_cert_path(self) -> str:
        return str(self.server.tls.ca_cert_path)

    def secret_credential(self, client_id: str, secret: str) -> ClientSecretCredential:
        return ClientSecretCredential(
            self.graph.tenant_id,
            client_id,
            secret,
            authority=self.login_authority,
            disable_instance_discovery=True,
            connection_verify=self.ca_cert_path,
        )

    def certificate_credential(self, client_id: str, certificate_data: bytes) -> CertificateCredential:
        return CertificateCredential(
            self.graph.tenant_id,
            client_id,
            certificate_data=certificate_data,
            authority=self.login_authority,
            disable_instance_discovery=True,
            connection_verify=self.ca_cert_path,
        )

    def client(self, credential: Any) -> tuple[GraphServiceClient, httpx.AsyncClient]:
        """The recipe from integrator/sandbox/graph/__init__.py, verbatim."""
        http_client = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=self.ca_cert_path)),
            options=graph_middleware_options,
        )
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"])
        adapter = GraphRequestAdapter(auth, client=http_client)
        adapter.base_url = self.graph_url
        return GraphServiceClient(request_adapter=adapter), http_client


@pytest.fixture(scope="session")
def graph_server() -> Iterator[GraphServer]:
    server = GraphServer(SandboxState(page_size=5)).start()
    yield server
    server.stop()


@pytest.fixture
def sb(graph_server: GraphServer) -> GraphSandbox:
    """A clean tenant and state (clock at its start, no faults, empty log) for every test."""
    graph_server.state.reset()
    graph_server.tenant.reset()
    graph_server.state.latency_ms = 0
    graph_server.state.page_size = 5
    return GraphSandbox(graph_server)


@pytest.fixture
def app_registration(sb: GraphSandbox) -> tuple[str, str]:
    return sb.graph.register_app()


@pytest.fixture
def credential(sb: GraphSandbox, app_registration: tuple[str, str]) -> Iterator[ClientSecretCredential]:
    cred = sb.secret_credential(*app_registration)
    yield cred
    cred.close()


@pytest.fixture
async def graph_client(sb: GraphSandbox, credential: ClientSecretCredential) -> AsyncIterator[GraphServiceClient]:
    client, http_client = sb.client(credential)
    yield client
    await http_client.aclose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def organiser(sb: GraphSandbox) -> str:
    """A coach whose Teams meetings the app may manage (policy granted)."""
    user_id = sb.graph.add_user("ohjaaja@sandbox.example.fi", "Olli Ohjaaja")
    sb.graph.grant_meeting_policy(user_id)
    return user_id
