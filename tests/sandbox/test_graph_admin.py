"""Another process (the demo, a browser test) sets up the Microsoft tenant over /_sandbox/graph."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.sandbox.graph_fixtures import GRAPH_SCOPE, GraphSandbox


def test_tenant_is_set_up_and_a_meeting_attended_over_the_admin_api(ms: GraphSandbox) -> None:
    with httpx.Client(verify=ms.tls_context(), base_url=ms.login_authority) as http:
        tenant = http.get("/_sandbox/graph/tenant").json()["result"]
        client_id, secret = http.post("/_sandbox/graph/register_app", json={}).json()["result"]
        coach = http.post("/_sandbox/graph/add_user",
                          json={"email": "ohjaaja@sandbox.example.fi", "name": "Olli Ohjaaja"}).json()["result"]
        assert http.post("/_sandbox/graph/grant_meeting_policy", json={"user_id": coach}).status_code == 200
        unknown = http.post("/_sandbox/graph/join_meeting", json={"join_url": "https://teams.microsoft.com/x"})
    assert tenant["tenant_id"] == ms.graph.tenant_id
    assert ms.graph.apps[client_id].secret == secret
    assert coach in ms.graph.policy_users
    assert unknown.status_code == 400
    cred = ms.secret_credential(client_id, secret)
    assert cred.get_token(GRAPH_SCOPE).token
    cred.close()
    assert ms.state.log.counts() == {"graph login openid_configuration": 1, "graph login token": 1}


def test_join_meeting_over_the_admin_api_takes_an_iso_start(ms: GraphSandbox, organiser: str) -> None:
    from integrator.sandbox.graph.meetings import new_meeting

    start = ms.state.clock.now()
    meeting = new_meeting(ms.graph, ms.graph.user(organiser), "Tapaaminen", start, start + timedelta(hours=1))
    with httpx.Client(verify=ms.tls_context(), base_url=ms.login_authority) as http:
        answer = http.post("/_sandbox/graph/join_meeting", json={
            "join_url": meeting.join_url, "via_phone": True, "minutes": 30,
            "start": (start + timedelta(minutes=10)).isoformat()})
    assert answer.status_code == 200
    [joined] = ms.graph.attendance
    assert joined.join == start + timedelta(minutes=10) and joined.email is None


def test_the_sharing_policy_is_set_over_the_admin_api_and_a_wrong_value_is_refused(ms: GraphSandbox) -> None:
    with httpx.Client(verify=ms.tls_context(), base_url=ms.login_authority) as http:
        done = http.post("/_sandbox/graph/set_sharing_capability", json={"capability": "disabled"})
        wrong = http.post("/_sandbox/graph/set_sharing_capability", json={"capability": "everyone"})
    assert done.status_code == 200 and wrong.status_code == 400 and "sharing capability" in wrong.json()["error"]
    assert ms.graph.sharepoint_settings["sharingCapability"] == "disabled"
