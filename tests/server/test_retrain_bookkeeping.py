"""A retrain killed at any moment leaves state the next retrain (and /admin/model) handles: each state a kill
leaves is built on disk, then the next retrain must end consistent. Two retrains never interleave."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from recommender import store
from server.db import db
from server.models import ModelVersion
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS
from tests.server.test_recommendations import cli_env, load_catalog, retrain, run_cli, save_all

API = "/api/v1"


@pytest.fixture
def trained(app, client, runner, accounts, tmp_path):
    load_catalog(runner, tmp_path)
    for keys in (GRAPH_KEYS[:4], GRAPH_KEYS[2:6], PROTEIN_KEYS[:4]):
        save_all(client, accounts.new(), keys)
    summary = retrain(runner)
    # the CLI reports the seconds of every stage, reading and writing included
    assert {"read", "matrix", "text", "als", "holdout_evaluate", "write"} <= set(summary["stages"])
    return Path(app.config["MODEL_DIR"]), summary["version"]


@pytest.fixture
def admin_headers(client, runner):
    email, password = "admin@example.org", "admin password"
    assert runner.invoke(args=["create-user", "--admin", email], input=password + "\n").exit_code == 0
    token = client.post(f"{API}/auth/login", json={"email": email, "password": password}).get_json()["token"]
    client.delete_cookie("session")
    return {"Authorization": f"Bearer {token}"}


def recorded(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(ModelVersion.version)))


def assert_consistent(app, client, admin_headers, root: Path) -> dict:
    """Every version on disk has its row, the served version among them, and no temporary is left."""
    on_disk = set(store.list_versions(root))
    assert on_disk <= recorded(app)
    assert store.current_version(root) in on_disk
    assert not [p.name for p in root.iterdir() if p.name.startswith((".tmp-", ".current-"))]
    status = client.get(f"{API}/admin/model", headers=admin_headers)
    assert status.status_code == 200
    body = status.get_json()
    assert body["version"] == store.current_version(root)
    assert body["version"] in {h["version"] for h in body["history"]}
    return body


def copy_version(root: Path, source: str, new: str) -> None:
    """A complete version under a new id, as a retrain writes it (manifest names the new id)."""
    model = store.load(root / "versions" / source)
    store.save(model, root, version=new, make_current=False)


def test_killed_mid_write_leaves_temporaries_the_next_retrain_removes(app, client, runner, trained, admin_headers):
    root, first = trained
    # a version directory half written and a pointer temp file never renamed, both younger than any age rule
    half = root / f".tmp-29990101T000000000000Z-dead00-{'x' * 8}"
    half.mkdir()
    (half / "items.npz").write_bytes(b"\x00partial")
    (root / ".current-abcdefgh").write_text("29990101T000000000000Z-dead00\n")
    assert client.get(f"{API}/admin/model", headers=admin_headers).get_json()["version"] == first
    second = retrain(runner)["version"]
    assert not half.exists() and not (root / ".current-abcdefgh").exists()
    assert assert_consistent(app, client, admin_headers, root)["version"] == second


def test_killed_after_writing_before_recording(app, client, runner, trained, admin_headers):
    root, first = trained
    orphan = "29980101T000000000000Z-orphan"
    copy_version(root, first, orphan)  # renamed into versions/, never recorded, never current
    assert orphan not in recorded(app)
    assert client.get(f"{API}/admin/model", headers=admin_headers).get_json()["version"] == first
    retrain(runner)
    assert orphan in recorded(app)
    assert_consistent(app, client, admin_headers, root)


def test_killed_after_an_unrecorded_flip(app, client, runner, trained, admin_headers):
    """What the old order (flip, then record) left when killed in between: a served version with no row."""
    root, first = trained
    flipped = "29980101T000000000000Z-flipped"
    copy_version(root, first, flipped)
    store.set_current(root, flipped)
    body = client.get(f"{API}/admin/model", headers=admin_headers).get_json()
    assert body["version"] == flipped and flipped not in {h["version"] for h in body["history"]}
    retrain(runner)
    with app.app_context():
        row = db.session.scalar(select(ModelVersion).where(ModelVersion.version == flipped))
        manifest = store.read_manifest(root / "versions" / flipped)
        assert row.counts == manifest["counts"] and row.metrics == manifest["metrics"]
    assert_consistent(app, client, admin_headers, root)


def test_admin_model_answers_when_current_names_a_missing_version(app, client, runner, trained, admin_headers):
    root, first = trained
    (root / "current").write_text("29990101T000000000000Z-gone00\n")
    body = client.get(f"{API}/admin/model", headers=admin_headers).get_json()
    assert body["version"] in (first, None) and body["history"]
    retrain(runner)
    assert_consistent(app, client, admin_headers, root)


def test_a_published_version_is_recorded_before_it_is_current(app, runner, trained):
    root, first = trained
    version = retrain(runner)["version"]
    with app.app_context():
        rows = {v.version: v for v in db.session.scalars(select(ModelVersion))}
    assert set(rows) == {first, version}
    manifest = store.read_manifest(root / "versions" / version)
    assert rows[version].created_at.isoformat() == manifest["created_at"]


def wait_until_it_opens(proc: subprocess.Popen, path: Path) -> None:
    """Until ``proc`` holds ``path`` open (then it is at the lock: it opens the file only to lock it)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
            try:
                if Path(fd.readlink()) == path:
                    return
            except OSError:  # closed meanwhile
                continue
        time.sleep(0.05)
    raise AssertionError(f"the second retrain never reached the lock (exit code {proc.poll()})")


def test_a_second_retrain_refuses_or_waits_but_never_interleaves(app, runner, trained):
    root, first = trained
    with store.exclusive_lock(root, store.RETRAIN_LOCK):  # a retrain in progress
        result = runner.invoke(args=["retrain", "--quiet"])
        assert result.exit_code != 0 and "another retrain is running" in result.output
        waiting = run_cli(app, "retrain", "--quiet", "--wait")
        wait_until_it_opens(waiting, root / store.RETRAIN_LOCK)
        assert waiting.poll() is None  # blocked on the lock, nothing published
        assert store.list_versions(root) == [first] and store.current_version(root) == first
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert store.current_version(root) != first and len(store.list_versions(root)) == 2


def test_retrain_console_script_reports_a_busy_model_directory(app, trained):
    root, _ = trained
    script = shutil.which("paperscout-retrain") or str(
        Path(__file__).parents[2] / ".venv" / "bin" / "paperscout-retrain"
    )
    with store.exclusive_lock(root, store.RETRAIN_LOCK):
        proc = subprocess.run([script, "--quiet"], env=cli_env(app), capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "another retrain is running" in proc.stderr and "Traceback" not in proc.stderr
