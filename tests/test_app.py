from flask.testing import FlaskClient


def test_healthz_answers_without_login(client: FlaskClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}
