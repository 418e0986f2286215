"""GET /papers/<key>/seen: whether the reader opened or saved a paper before, on any site (the badge's line)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.api.helpers import assert_error_shape, event

API = "/api/v1"


def _post(client, user, events) -> None:
    response = client.post(f"{API}/events", json={"events": events}, headers=user["headers"])
    assert response.status_code == 200 and not response.get_json()["rejected"], response.get_json()


def _iso(moment: datetime) -> str:
    return quote(moment.isoformat())


def test_opens_on_any_site_and_the_save_are_reported(client, accounts):
    user, other = accounts.new(), accounts.new()
    # The same paper opened on arXiv (versioned key) and on Hugging Face (bare id): one canonical paper.
    _post(client, user, [event("open", "arxiv:2401.01234v2", minutes_ago=3 * 24 * 60)])
    _post(client, user, [event("open", "https://huggingface.co/papers/2401.01234", minutes_ago=2 * 24 * 60)])
    _post(client, user, [event("save", "arxiv:2401.01234", minutes_ago=24 * 60)])
    _post(client, other, [event("open", "arxiv:2401.01234", minutes_ago=1)])

    body = client.get(f"{API}/papers/https://arxiv.org/abs/2401.01234/seen", headers=user["headers"]).get_json()
    assert body["key"] == "arxiv:2401.01234"
    assert body["times_opened"] == 2
    last = datetime.fromisoformat(body["last_opened_at"])
    assert timedelta(days=2) - timedelta(minutes=1) < datetime.now(UTC) - last < timedelta(days=2, minutes=1)
    saved = datetime.fromisoformat(body["saved_at"])
    assert timedelta(hours=23) < datetime.now(UTC) - saved < timedelta(hours=25)

    # `before` leaves out later opens (the badge leaves out this visit); the save is the current state.
    before = datetime.now(UTC) - timedelta(days=2, hours=12)
    earlier = client.get(f"{API}/papers/arxiv:2401.01234/seen?before={_iso(before)}", headers=user["headers"])
    assert earlier.status_code == 200
    assert earlier.get_json()["times_opened"] == 1
    assert datetime.now(UTC) - datetime.fromisoformat(earlier.get_json()["last_opened_at"]) > timedelta(days=2.9)

    # Another reader's opens are theirs alone; after an unsave the paper is no longer saved.
    theirs = client.get(f"{API}/papers/arxiv:2401.01234/seen", headers=other["headers"]).get_json()
    assert theirs["times_opened"] == 1 and theirs["saved_at"] is None
    assert client.delete(f"{API}/saves/arxiv:2401.01234", headers=user["headers"]).status_code == 204
    assert client.get(f"{API}/papers/arxiv:2401.01234/seen", headers=user["headers"]).get_json()["saved_at"] is None


def test_a_paper_never_seen_or_not_in_the_catalog(client, accounts):
    user = accounts.new()
    _post(client, user, [event("save", "arxiv:2401.00001", minutes_ago=5)])
    saved_only = client.get(f"{API}/papers/arxiv:2401.00001/seen", headers=user["headers"]).get_json()
    assert saved_only["times_opened"] == 0 and saved_only["last_opened_at"] is None and saved_only["saved_at"]
    unknown = client.get(f"{API}/papers/doi:10.1000/never.seen/seen", headers=user["headers"])
    assert unknown.status_code == 200
    assert unknown.get_json() == {
        "key": "doi:10.1000/never.seen",
        "last_opened_at": None,
        "times_opened": 0,
        "saved_at": None,
    }


@pytest.mark.parametrize("query", ["before=yesterday", "before=0999-01-01", "foo=1"])
def test_bad_seen_args(client, accounts, query):
    user = accounts.new()
    assert_error_shape(client.get(f"{API}/papers/arxiv:2401.01234/seen?{query}", headers=user["headers"]), 422)


def test_seen_needs_a_valid_key_and_a_user(client, accounts):
    user = accounts.new()
    assert_error_shape(client.get(f"{API}/papers/not-a-key/seen", headers=user["headers"]), 422)
    assert_error_shape(client.get(f"{API}/papers/arxiv:2401.01234/seen"), 401)
