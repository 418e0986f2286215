"""Fuzzing the digest's inputs: whatever arrives as a setting or as a link's token, the answer is never a 5xx,
errors keep their shape, and nothing changes."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tests.api.test_fuzz import check, client, fuzz, json_values, token_headers  # noqa: F401 - fixtures

API = "/api/v1/me/digest"
tokens = st.text(min_size=1, max_size=200) | st.from_regex(r"[A-Za-z0-9_\-]{1,80}\.[A-Za-z0-9_\-]{1,10}\.[\w\-]{0,40}")


@fuzz
@given(
    body=json_values
    | st.dictionaries(st.sampled_from(["frequency", "hour", "timezone", "last_sent_at", "x"]), json_values)
)
def test_digest_settings_body(client, token_headers, body):  # noqa: F811 - the fixtures imported above
    response = client.put(API, json=body, headers=token_headers)
    check(response)
    if response.status_code != 200:
        assert client.get(API, headers=token_headers).get_json()["frequency"] == "off"


@fuzz
@given(token=tokens, method=st.sampled_from(["get", "post"]), page=st.sampled_from(["save", "unsubscribe"]))
def test_link_tokens(client, token, method, page):  # noqa: F811
    path = f"/digest/{page}/{quote(token, safe='')}"
    response = getattr(client, method)(path, headers={"Accept": "application/json"})
    check(response)
    # the save page takes no POST (its form posts to /digest/save); a token holding "/" matches no route
    assert response.status_code in ((404, 405) if (page, method) == ("save", "post") else (400, 404)), response


@fuzz
@given(form=st.dictionaries(st.sampled_from(["token", "csrf_token", "x"]), st.text(max_size=200)))
def test_save_form(client, form):  # noqa: F811
    response = client.post("/digest/save", data=form, headers={"Accept": "application/json"})
    check(response)
    assert response.status_code == 400
