"""After login the coordinator goes back where they were, and only to a page of this site:
`next` is never another site, however it is spelled."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from integrator.web.auth import safe_next
from tests.web.world import EMAILS, PASSWORD, World

# As an attacker writes them into a link: the raw query string after "next=".
BYPASSES = [
    "//evil.example",
    "///evil.example",
    "/%09/evil.example",  # a tab: browsers drop it and read //evil.example
    "%09//evil.example",
    "/%0d/evil.example",
    "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20session=stolen",  # CR/LF: a header of our own answer
    "/%00/evil.example",
    "/%5cevil.example",  # /\evil.example: browsers read the backslash as a slash
    "%5c%5cevil.example",
    "/%5c/evil.example",
    "/x%5c..%5c..%5cevil",
    "%2f%2fevil.example",
    "/%252f%252fevil.example",  # decoded once more on the way: //evil.example
    "/%252F/evil.example",
    "/%2509/evil.example",  # an encoded tab
    "/%250d%250a/evil.example",
    "/%255cevil.example",
    "https://evil.example",
    "https:evil.example",
    "HTTP://evil.example",
    "javascript:alert(1)",
    "%20//evil.example",  # leading space
    "/%E3%80%80/evil.example",  # ideographic space
    "/%ef%bc%8f%ef%bc%8fevil.example",  # fullwidth solidus
    "evil.example",
    "",
    "/%ff",
    "/" + "a" * 3000,
]


@pytest.mark.parametrize("raw", BYPASSES)
def test_login_never_sends_the_coordinator_to_another_site(client: FlaskClient, world: World, raw: str) -> None:
    resp = client.post(f"/login?next={raw}", data={"email": EMAILS["coord_a"], "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/groups/1", "/groups/1/attendance?week=2026-W49", "/jobs/7",
                                  "/weekly-setup?group_id=3", "/?week=2026-W49#ad-5"])
def test_a_path_of_this_site_is_kept(path: str) -> None:
    assert safe_next(path) == path


@pytest.mark.parametrize("value", [
    "//evil.example", "/\\evil.example", "\\\\evil.example", "/a\\b", "/\t/evil.example", "/\r\n/x", "/\x00",
    "/\x7f", "/%09/evil.example", "/%0D%0A", "/%2f%2fevil.example", "/%2F%2Fevil.example", "/%5Cevil.example",
    "/%255c", "https://evil.example", "//evil.example:443/", "evil.example", " /x", "/\u2028/evil.example",
    "/\uff0f\uff0fevil.example", "", None, 5, ["/"], "/" + "a" * 3000,
])
def test_anything_else_gives_the_default(value: object) -> None:
    assert safe_next(value) == "/"
    assert safe_next(value, "/dashboard") == "/dashboard"
