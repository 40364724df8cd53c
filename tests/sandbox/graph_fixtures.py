"""Fixtures for the Microsoft half of the sandbox (on the session's shared ``Sandbox``): a clean
tenant per test, and clients built exactly as the product builds them (real azure-identity
credential, real msgraph-sdk GraphServiceClient, sandbox CA trusted only by these clients).

tests/sandbox/conftest.py imports the fixtures from here.
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

from integrator.sandbox import Sandbox
from integrator.sandbox.core import Quotas, SandboxState
from integrator.sandbox.graph.tenant import GraphTenant

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass
class GraphSandbox:
    """The Microsoft side of the shared sandbox, plus credentials and clients built as product code does."""

    sandbox: Sandbox

    @property
    def state(self) -> SandboxState:
        return self.sandbox.state

    @property
    def graph(self) -> GraphTenant:
        tenant: GraphTenant = self.sandbox.graph
        return tenant

    @property
    def graph_url(self) -> str:
        return self.sandbox.graph_url

    @property
    def login_authority(self) -> str:
        return self.sandbox.login_authority

    @property
    def ca_cert_path(self) -> str:
        return self.sandbox.ca_cert_path

    def tls_context(self) -> ssl.SSLContext:
        """Trust the sandbox CA, and only for this client."""
        return ssl.create_default_context(cafile=self.ca_cert_path)

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
            client=httpx.AsyncClient(verify=self.tls_context()),
            options=graph_middleware_options,
        )
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH_SCOPE], allowed_hosts=["127.0.0.1"])
        adapter = GraphRequestAdapter(auth, client=http_client)
        adapter.base_url = self.graph_url
        return GraphServiceClient(request_adapter=adapter), http_client


@pytest.fixture
def ms(sandbox: Sandbox) -> GraphSandbox:
    """A clean tenant and state (clock at its start, no faults, empty log) for every test."""
    sandbox.reset()
    sandbox.state.latency_ms = 0
    sandbox.state.page_size = 5
    sandbox.state.quotas = Quotas()
    return GraphSandbox(sandbox)


@pytest.fixture
def app_registration(ms: GraphSandbox) -> tuple[str, str]:
    return ms.graph.register_app()


@pytest.fixture
def credential(ms: GraphSandbox, app_registration: tuple[str, str]) -> Iterator[ClientSecretCredential]:
    cred = ms.secret_credential(*app_registration)
    yield cred
    cred.close()


@pytest.fixture
async def graph_client(ms: GraphSandbox, credential: ClientSecretCredential) -> AsyncIterator[GraphServiceClient]:
    client, http_client = ms.client(credential)
    yield client
    await http_client.aclose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def organiser(ms: GraphSandbox) -> str:
    """A coach whose Teams meetings the app may manage (policy granted)."""
    user_id = ms.graph.add_user("ohjaaja@sandbox.example.fi", "Olli Ohjaaja")
    ms.graph.grant_meeting_policy(user_id)
    return user_id
