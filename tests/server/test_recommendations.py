"""End to end: users with different interests, retrain, personalised lists with true reasons, fold-in,
hot reload in a running server, and a retrain killed with SIGKILL."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from recommender.store import _TMP_PREFIX as TMP_PREFIX
from tests.api.helpers import assert_error_shape, event
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS, papers

API = "/api/v1"
QUOTED = re.compile(r"“(.+?)”")


def load_catalog(runner, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in papers()))
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output
    return {p["key"]: p["title"] for p in papers()}


def save_all(client, user, keys, minutes_ago=30):
    body = client.post(
        f"{API}/events",
        json={
            "events": [event("open", k, minutes_ago=minutes_ago + 1) for k in keys]
            + [event("save", k, minutes_ago=minutes_ago) for k in keys]
        },
        headers=user["headers"],
    ).get_json()
    assert body["accepted"] == 2 * len(keys), body


def retrain(runner) -> dict:
    result = runner.invoke(args=["retrain", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


@pytest.fixture
def community(client, runner, accounts, tmp_path):
    """Eight graph readers and eight protein readers, each with six papers of their field."""
    titles = load_catalog(runner, tmp_path)
    users = {"graph": [], "protein": []}
    rng = random.Random(7)
    for group, keys in (("graph", GRAPH_KEYS), ("protein", PROTEIN_KEYS)):
        for _ in range(8):
            user = accounts.new()
            save_all(client, user, rng.sample(keys, 6))
            users[group].append(user)
    return titles, users


def keys_of(items):
    return [i["paper"]["key"] for i in items]


def test_retrain_then_lists_differ_by_interest_with_true_reasons(client, runner, community):
    titles, users = community
    summary = retrain(runner)
    assert summary["counts"]["users"] == 16 and summary["counts"]["papers"] == len(titles)
    assert "recall@20" in json.dumps(summary["metrics"]).lower()

    for group, own in (("graph", set(GRAPH_KEYS)), ("protein", set(PROTEIN_KEYS))):
        for user in users[group]:
            body = client.get(f"{API}/recommendations?limit=8", headers=user["headers"]).get_json()
            assert body["source"].startswith("model ")
            items = body["items"]
            assert len(items) == 8
            top = keys_of(items)[:5]
            assert sum(k in own for k in top) >= 4, (
                group,
                top,
                [(i["paper"]["key"], i["components"], i["score"], i["reasons"]) for i in items],
            )
            saved = {
                s["paper"]["key"]
                for s in client.get(f"{API}/saves?limit=100", headers=user["headers"]).get_json()["items"]
            }
            assert not saved & set(keys_of(items))
            saved_titles = {titles[k] for k in saved}
            for item in items:
                assert item["reasons"], item
                assert set(item["components"]) == {"cf", "cooccurrence", "text", "trend"}
                for quoted in QUOTED.findall(" ".join(item["reasons"])):
                    assert quoted.rstrip("…") and any(t.startswith(quoted.rstrip("…")) for t in saved_titles), (
                        quoted,
                        saved_titles,
                    )


def test_dismissed_paper_leaves_the_list_and_save_changes_it_without_retrain(client, runner, community):
    _, users = community
    retrain(runner)
    user = users["graph"][0]
    before = keys_of(client.get(f"{API}/recommendations?limit=10", headers=user["headers"]).get_json()["items"])
    target = before[0]
    assert client.post(f"{API}/papers/{target}/dismiss", headers=user["headers"]).status_code == 200
    after = keys_of(client.get(f"{API}/recommendations?limit=10", headers=user["headers"]).get_json()["items"])
    assert target not in after
    saved_now = after[0]
    client.put(f"{API}/saves/{saved_now}", headers=user["headers"])
    again = keys_of(client.get(f"{API}/recommendations?limit=10", headers=user["headers"]).get_json()["items"])
    assert saved_now not in again and target not in again


def test_user_after_retrain_is_personalised_after_three_saves(client, runner, accounts, community):
    retrain(runner)
    newcomer = accounts.new()
    cold = client.get(f"{API}/recommendations?limit=5", headers=newcomer["headers"]).get_json()["items"]
    assert all(any("Trending" in r for r in i["reasons"]) for i in cold)
    save_all(client, newcomer, PROTEIN_KEYS[9:12], minutes_ago=1)
    items = client.get(f"{API}/recommendations?limit=6", headers=newcomer["headers"]).get_json()["items"]
    assert sum(k in PROTEIN_KEYS for k in keys_of(items)) >= 5
    assert any(i["components"]["cf"] > 0 for i in items)
    assert any(r.startswith(("Similar to", "Readers who saved")) for i in items for r in i["reasons"])


def test_similar_papers(client, runner, community):
    retrain(runner)
    items = client.get(f"{API}/papers/{GRAPH_KEYS[0]}/similar?limit=5").get_json()["items"]
    assert len(items) == 5 and GRAPH_KEYS[0] not in keys_of(items)
    assert sum(k in GRAPH_KEYS for k in keys_of(items)) >= 4
    assert_error_shape(client.get(f"{API}/papers/arxiv:2409.99999/similar"), 404)


def test_retrain_with_nothing_to_train_on_fails_clearly(runner):
    result = runner.invoke(args=["retrain", "--quiet"])
    assert result.exit_code != 0 and "nothing to train on" in result.output


# --------------------------------------------------------------------------- a real running server


class ServerThread:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def get(self, path: str, token: str | None = None) -> dict:
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.server.shutdown()


def cli_env(app) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": "test-secret",
        "PAPERSCOUT_MODEL_DIR": app.config["MODEL_DIR"],
    }


def run_cli(app, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "server", *args],
        env=cli_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_for_version(server: ServerThread, version: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.get(f"{API}/healthz")["model"]["version"] == version:
            return
        time.sleep(0.2)
    raise AssertionError(f"server never served version {version}")


def test_running_server_picks_up_a_new_model_without_restart(app, client, runner, community):
    _, users = community
    server = ServerThread(app)
    try:
        assert server.get(f"{API}/healthz")["model"]["version"] is None
        proc = run_cli(app, "retrain", "--quiet")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        first = json.loads(out[out.index("{") :])["version"]
        wait_for_version(server, first)
        token = users["graph"][0]["token"]
        assert server.get(f"{API}/recommendations", token)["source"] == f"model {first}"

        proc = run_cli(app, "retrain", "--quiet")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        second = json.loads(out[out.index("{") :])["version"]
        assert second != first
        wait_for_version(server, second)
        assert server.get(f"{API}/recommendations", token)["source"] == f"model {second}"
    finally:
        server.stop()


def test_retrain_killed_midway_keeps_previous_model(app, client, runner, community, tmp_path):
    # Enough ALS work that a kill lands mid-training; a first full run measures how long a retrain takes.
    slow = tmp_path / "slow.json"
    slow.write_text(json.dumps({"als": {"iterations": 300, "factors": 256}}))
    root = Path(app.config["MODEL_DIR"])
    started = time.monotonic()
    proc = run_cli(app, "retrain", "--quiet", "--config", str(slow))
    out, err = proc.communicate(timeout=300)
    duration = time.monotonic() - started
    assert proc.returncode == 0, err
    first = json.loads(out[out.index("{") :])["version"]
    current = root / "current"
    headers = community[1]["graph"][0]["headers"]

    def assert_first_still_serves() -> None:
        assert current.read_text().strip() == first
        body = client.get(f"{API}/recommendations", headers=headers).get_json()
        assert body["source"] == f"model {first}" and body["items"]

    # Killed while fitting.
    for fraction in (0.2, 0.4):
        proc = run_cli(app, "retrain", "--quiet", "--config", str(slow))
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert_first_still_serves()

    # Killed while writing the new version's files (its temporary directory exists).
    killed_while_writing = False
    for _ in range(5):
        proc = run_cli(app, "retrain", "--quiet", "--config", str(slow))
        while proc.poll() is None and not any(p.name.startswith(TMP_PREFIX) for p in root.iterdir()):
            time.sleep(0.001)
        if proc.poll() is not None:  # finished before we saw it writing: that version is now current
            first = current.read_text().strip()
            continue
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        killed_while_writing = True
        assert_first_still_serves()
        break
    assert killed_while_writing
    assert first in {p.name for p in (root / "versions").iterdir()}
    assert retrain(runner)["version"] != first


def test_papers_opened_long_ago_or_minutes_ago_are_not_recommended_again(client, runner, accounts, community):
    retrain(runner)
    reader = accounts.new()
    save_all(client, reader, GRAPH_KEYS[:3], minutes_ago=5)
    long_ago, recently = GRAPH_KEYS[3], GRAPH_KEYS[4]
    client.post(
        f"{API}/events",
        json={"events": [event("open", long_ago, minutes_ago=60 * 24 * 3), event("open", recently, minutes_ago=10)]},
        headers=reader["headers"],
    )
    keys = keys_of(client.get(f"{API}/recommendations?limit=20", headers=reader["headers"]).get_json()["items"])
    assert long_ago not in keys and recently not in keys, keys


def test_admin_model_status_after_retrain(client, runner, community):
    summary = retrain(runner)
    email, password = "admin@example.org", "admin password"
    assert runner.invoke(args=["create-user", "--admin", email], input=password + "\n").exit_code == 0
    token = client.post(f"{API}/auth/login", json={"email": email, "password": password}).get_json()["token"]
    client.delete_cookie("session")
    status = client.get(f"{API}/admin/model", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert status["version"] == summary["version"]
    assert status["counts"]["users"] == 16 and status["metrics"] == summary["metrics"]
    assert status["history"][0]["version"] == summary["version"]


def test_citation_links_reach_the_model_and_its_reasons(client, runner, accounts, community, tmp_path):
    titles, _ = community
    # a protein paper that cites a graph paper (imported again with its references: they are merged in)
    citing, cited = PROTEIN_KEYS[5], GRAPH_KEYS[0]
    path = tmp_path / "refs.jsonl"
    path.write_text(json.dumps({"key": citing, "references": [f"https://arxiv.org/abs/{cited.split(':')[1]}v2"]}))
    assert runner.invoke(args=["import-papers", str(path)]).exit_code == 0
    retrain(runner)
    reader = accounts.new()
    save_all(client, reader, [cited], minutes_ago=1)
    items = client.get(f"{API}/recommendations?limit=29", headers=reader["headers"]).get_json()["items"]
    by_key = {i["paper"]["key"]: i for i in items}
    assert f"Cites “{titles[cited]}”, which you saved" in by_key[citing]["reasons"], by_key[citing]
    # the only protein paper with a link to the reader's paper ranks above the other protein papers
    protein_order = [k for k in keys_of(items) if k in PROTEIN_KEYS]
    assert protein_order[0] == citing, protein_order
    similar = client.get(f"{API}/papers/{cited}/similar?limit=29").get_json()["items"]
    assert "Cites this paper" in next(i for i in similar if i["paper"]["key"] == citing)["reasons"]
    assert client.get(f"{API}/papers/{citing}").get_json()["references"] == [cited]
