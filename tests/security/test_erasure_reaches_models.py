"""After DELETE /me, no model serves the erased user's saves: not the worker that answered, not another worker
on the same database and model directory, not a version kept on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from recommender import store
from server import create_app
from server.db import db
from server.models import UserErasure
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS
from tests.server.test_recommendations import load_catalog, retrain, save_all

API = "/api/v1"
ANCHOR, ONLY_X = GRAPH_KEYS[0], PROTEIN_KEYS[0]  # X saves both; Y saves the anchor


def co_saver_reasons(client, headers=None) -> dict[str, list[str]]:
    """Reasons that count co-savers, per paper: Y's recommendations (with headers) or the anchor's similar list."""
    path = f"{API}/recommendations?limit=29" if headers else f"{API}/papers/{ANCHOR}/similar?limit=29"
    body = client.get(path, headers=headers or {}).get_json()
    return {i["paper"]["key"]: [r for r in i["reasons"] if "who saved" in r] for i in body["items"]}


def stored_user_keys(root: Path) -> dict[str, tuple[list[str], int]]:
    out = {}
    for version in store.list_versions(root):
        with np.load(root / "versions" / version / "saves.npz", allow_pickle=False) as z:
            raw, offsets = z["user_keys"].tobytes(), z["user_key_offsets"]
            mark = int(z["erased_through"])
        out[version] = ([raw[offsets[i] : offsets[i + 1]].decode() for i in range(len(offsets) - 1)], mark)
    return out


@pytest.fixture
def scene(app, client, runner, accounts, tmp_path):
    """X and Y read, a model is trained, k is lowered to 1 so that X's single pair of saves shows."""
    load_catalog(runner, tmp_path)
    x, y = accounts.new(), accounts.new()
    save_all(client, x, [ANCHOR, ONLY_X])
    save_all(client, y, [ANCHOR])
    first = retrain(runner)["version"]
    app.config["PRIVACY_MIN_READERS"] = 1
    other = create_app({**app.config, "MODEL_CHECK_SECONDS": 0})  # another worker on the same data
    yield x, y, first, other
    other.extensions["paperscout_db"].dispose()


def test_erasure_reaches_serving_models_at_once_and_every_kept_version(app, client, runner, scene):
    x, y, first, other = scene
    second = retrain(runner)["version"]  # a kept older version holds X's row too
    root = Path(app.config["MODEL_DIR"])
    other_client = other.test_client()
    # Both workers serve X's pair of saves to Y and to anyone asking for similar papers...
    for c in (client, other_client):
        assert co_saver_reasons(c, y["headers"])[ONLY_X] == [
            "A reader who saved “Scalable community detection in large complex networks” also saved this"
        ]
        assert co_saver_reasons(c)[ONLY_X] == ["A reader who saved this paper also saved it"]
    # ...and this worker would not look for changes for an hour: only the erasure itself can update it.
    app.extensions["paperscout_model"].check_seconds = 3600
    assert all(str(x["id"]) in users for users, _ in stored_user_keys(root).values())

    assert client.delete(f"{API}/me", headers=x["headers"]).status_code == 204

    for c in (client, other_client):
        assert co_saver_reasons(c, y["headers"])[ONLY_X] == []
        assert co_saver_reasons(c)[ONLY_X] == []
    with app.app_context():
        erasure_id = db.session.scalar(select(UserErasure.id).where(UserErasure.user_id == x["id"]))
    stored = stored_user_keys(root)
    assert set(stored) == {first, second}
    for users, mark in stored.values():
        assert str(x["id"]) not in users and str(y["id"]) in users and mark == erasure_id
    # the next retrain does not see X at all
    third = retrain(runner)
    assert third["counts"]["users"] == 1
    assert stored_user_keys(root)[third["version"]] == ([str(y["id"])], erasure_id)


def test_a_version_trained_before_the_erasure_is_purged_when_it_is_served(app, client, runner, scene, tmp_path):
    """A retrain that read X's rows and publishes after X left: the serving worker drops the row on load, and
    the next retrain rewrites it on disk."""
    x, y, first, other = scene
    root = Path(app.config["MODEL_DIR"])
    late = tmp_path / "late"
    shutil.copytree(root / "versions" / first, late)  # out of reach of the purge at erasure time
    assert client.delete(f"{API}/me", headers=x["headers"]).status_code == 204
    published = "29990101T000000000000Z-late00"
    shutil.move(late, root / "versions" / published)
    store.set_current(root, published)
    assert str(x["id"]) in stored_user_keys(root)[published][0]

    other_client = other.test_client()
    assert other_client.get(f"{API}/healthz").get_json()["model"]["version"] == published
    assert co_saver_reasons(other_client, y["headers"])[ONLY_X] == []
    assert co_saver_reasons(other_client)[ONLY_X] == []
    with other.app_context():
        loaded = other.extensions["paperscout_model"].get()
        assert loaded.version == published and str(x["id"]) not in loaded.model.user_keys_

    retrain(runner)  # its reconciliation purges what is on disk
    assert str(x["id"]) not in stored_user_keys(root)[published][0]


def test_a_version_from_before_attribution_serves_no_co_saver_counts(app, client, runner, scene):
    x, y, first, other = scene
    root = Path(app.config["MODEL_DIR"])
    path = root / "versions" / first / "saves.npz"
    with np.load(path) as z:
        legacy = {k: z[k] for k in z.files if k.startswith("saves_")}  # no user keys, no mark
    np.savez(path, **legacy)
    other_client = other.test_client()
    assert co_saver_reasons(other_client, y["headers"])[ONLY_X] == []
    assert client.delete(f"{API}/me", headers=x["headers"]).status_code == 204
    with np.load(path) as z:
        assert int(z["saves_shape"][0]) == 0 and len(z["user_key_offsets"]) == 1  # purged to nothing
