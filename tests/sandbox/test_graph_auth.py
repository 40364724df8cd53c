"""Entra token endpoint and Graph's token/permission checks, through the real SDKs over TLS."""

from __future__ import annotations

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from integrator.sandbox.graph.login import issue_access_token
from integrator.sandbox.tls import self_signed_app_certificate
from tests.sandbox.graph_fixtures import GRAPH_SCOPE, GraphSandbox

pytestmark = pytest.mark.anyio


def test_client_secret_credential_gets_a_graph_token_carrying_the_apps_roles(ms: GraphSandbox) -> None:
    client_id, secret = ms.graph.register_app(permissions=["User.Read.All", "Mail.Send"])
    cred = ms.secret_credential(client_id, secret)
    token = cred.get_token(GRAPH_SCOPE)
    cred.close()
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["roles"] == ["Mail.Send", "User.Read.All"]
    assert claims["tid"] == ms.graph.tenant_id and claims["appid"] == client_id
    assert claims["aud"] == "https://graph.microsoft.com"
    assert ms.state.log.counts() == {"graph login openid_configuration": 1, "graph login token": 1}


async def test_certificate_credential_signs_in_and_calls_graph(ms: GraphSandbox) -> None:
    cert_pem, key_pem = self_signed_app_certificate()
    client_id, _ = ms.graph.register_app(certificate_pem=cert_pem)
    user_id = ms.graph.add_user("ohjaaja@sandbox.example.fi", "Olli Ohjaaja")
    cred = ms.certificate_credential(client_id, key_pem + cert_pem)
    client, http_client = ms.client(cred)
    try:
        user = await client.users.by_user_id(user_id).get()
    finally:
        await http_client.aclose()
        cred.close()
    assert user is not None and user.display_name == "Olli Ohjaaja"


def test_certificate_the_app_does_not_have_is_refused(ms: GraphSandbox) -> None:
    registered, _ = self_signed_app_certificate()
    other_cert, other_key = self_signed_app_certificate("someone else")
    client_id, _ = ms.graph.register_app(certificate_pem=registered)
    cred = ms.certificate_credential(client_id, other_key + other_cert)
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        cred.get_token(GRAPH_SCOPE)
    cred.close()


def test_wrong_secret_is_refused_with_aadsts7000215(ms: GraphSandbox) -> None:
    client_id, _ = ms.graph.register_app()
    cred = ms.secret_credential(client_id, "not-the-secret")
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        cred.get_token(GRAPH_SCOPE)
    cred.close()


def test_token_endpoint_answers_in_entras_error_shape(ms: GraphSandbox) -> None:
    client_id, _ = ms.graph.register_app()
    url = f"{ms.login_authority}/{ms.graph.tenant_id}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x", "scope": GRAPH_SCOPE}
    with httpx.Client(verify=ms.tls_context()) as http:
        bad_secret = http.post(url, data=form)
        unknown_app = http.post(url, data={**form, "client_id": "11111111-2222-3333-4444-555555555555"})
    assert bad_secret.status_code == 401
    assert bad_secret.json()["error"] == "invalid_client"
    assert bad_secret.json()["error_codes"] == [7000215]
    assert unknown_app.status_code == 400
    assert unknown_app.json()["error"] == "unauthorized_client"
    assert unknown_app.json()["error_description"].startswith("AADSTS700016: Application with identifier")


def test_unknown_app_is_refused_by_the_credential(ms: GraphSandbox) -> None:
    cred = ms.secret_credential("11111111-2222-3333-4444-555555555555", "whatever")
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        cred.get_token(GRAPH_SCOPE)
    cred.close()


def test_expired_and_forged_tokens_get_graphs_401(ms: GraphSandbox) -> None:
    client_id, _ = ms.graph.register_app()
    user_id = ms.graph.add_user("ohjaaja@sandbox.example.fi", "Olli Ohjaaja")
    expired = issue_access_token(ms.graph, ms.graph.apps[client_id], lifetime=-600)
    with httpx.Client(verify=ms.tls_context(), base_url=ms.graph_url) as http:
        stale = http.get(f"/users/{user_id}", headers={"Authorization": f"Bearer {expired}"})
        forged = http.get(f"/users/{user_id}", headers={"Authorization": "Bearer not.a.token"})
        missing = http.get(f"/users/{user_id}")
    assert stale.status_code == forged.status_code == missing.status_code == 401
    error = stale.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Lifetime validation failed, the token is expired."
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert missing.json()["error"]["message"] == "Access token is empty."


async def test_a_missing_application_permission_is_forbidden(ms: GraphSandbox) -> None:
    client_id, secret = ms.graph.register_app(permissions=["Mail.Send"])
    user_id = ms.graph.add_user("ohjaaja@sandbox.example.fi", "Olli Ohjaaja")
    cred = ms.secret_credential(client_id, secret)
    client, http_client = ms.client(cred)
    try:
        with pytest.raises(ODataError) as directory:
            await client.users.by_user_id(user_id).get()
        with pytest.raises(ODataError) as calendar:
            await client.users.by_user_id(user_id).events.post(Event(subject="x"))
    finally:
        await http_client.aclose()
        cred.close()
    assert directory.value.response_status_code == 403
    assert directory.value.error is not None and directory.value.error.code == "Authorization_RequestDenied"
    assert calendar.value.response_status_code == 403
    assert calendar.value.error is not None and calendar.value.error.code == "ErrorAccessDenied"
