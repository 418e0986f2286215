import json
import os
from datetime import timedelta

import numpy as np
import pytest
from synthetic_papers import NOW

from recommender import store
from recommender.serving import HistoryEvent, PaperDoc
from recommender.store_arrays import to_npz_layout

HISTORY = [HistoryEvent("g1", "save", NOW - timedelta(days=2)), HistoryEvent("p2", "open", NOW)]


def _same(a, b):
    assert [r.key for r in a] == [r.key for r in b]
    np.testing.assert_allclose([r.score for r in a], [r.score for r in b], rtol=1e-6)
    assert [r.reasons for r in a] == [r.reasons for r in b]
    assert [r.components for r in a] == [r.components for r in b]


def test_round_trip_gives_identical_results_without_pickle(model, trained, tmp_path, monkeypatch):
    version = store.save(model, tmp_path, metrics=trained.metrics, counts=trained.counts)
    assert store.current_version(tmp_path) == version

    real_load = np.load

    def no_pickle_load(*args, **kwargs):
        assert kwargs.get("allow_pickle") is False
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", no_pickle_load)
    loaded = store.load_current(tmp_path)
    trend = {"g7": 2.0, "p4": 1.0}
    extra = [PaperDoc("new", "Graph neural networks for chemistry")]
    _same(
        model.recommend(HISTORY, n=10, trending=trend, extra_docs=extra, now=NOW),
        loaded.recommend(HISTORY, n=10, trending=trend, extra_docs=extra, now=NOW),
    )
    _same(model.similar("g0", n=5), loaded.similar("g0", n=5))
    manifest = json.loads((tmp_path / "versions" / version / "manifest.json").read_text())
    assert manifest["version"] == version
    assert manifest["blend"] == model.blend_weights
    assert manifest["counts"]["papers"] == 24 and "hybrid" in manifest["metrics"]
    assert loaded.manifest_["config"] == model.config_.to_dict()
    assert loaded.config_ == model.config_
    assert (loaded.cooccurrence_.similarity_ != model.cooccurrence_.similarity_).nnz == 0
    np.testing.assert_array_equal(loaded.cooccurrence_.readers_, model.cooccurrence_.readers_)
    assert loaded.cooccurrence_.get_params() == model.cooccurrence_.get_params()


def test_a_version_written_before_the_cooccurrence_component_still_loads(model, tmp_path):
    version = store.save(model, tmp_path)
    directory = tmp_path / "versions" / version
    manifest = to_npz_layout(directory)
    del manifest["files"]["cooccurrence"], manifest["params"]["cooccurrence"]
    for section in ("blend", "blend_long_history"):
        del manifest["config"][section]["cooccurrence"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    (directory / "cooccurrence.npz").unlink()
    old = store.load(directory)
    assert old.cooccurrence_ is None
    recs = old.recommend(HISTORY, n=5, now=NOW)
    assert recs and all(r.components["cooccurrence"] == 0.0 for r in recs)
    assert np.all(old.score_matrix(old.saves_[:2], component="cooccurrence") == 0.0)


def test_crashed_writer_leaves_previous_version_current(model, tmp_path):
    first = store.save(model, tmp_path)
    # A writer killed mid-way: its temp dir is half written and never renamed, the pointer never flipped.
    (tmp_path / ".tmp-20990101T000000Z-dead-x").mkdir()
    (tmp_path / ".tmp-20990101T000000Z-dead-x" / "items.npz").write_bytes(b"\x00partial")
    (tmp_path / ".current-abc").write_text("20990101T000000Z-dead\n")
    assert store.current_version(tmp_path) == first
    assert store.list_versions(tmp_path) == [first]
    assert store.load_current(tmp_path).recommend(HISTORY, n=3, now=NOW)
    with pytest.raises(ValueError, match="unknown or incomplete"):
        store.set_current(tmp_path, "20990101T000000Z-dead")


def test_save_without_flipping_then_flip_and_prune(model, tmp_path):
    versions = [store.save(model, tmp_path, version=f"v{i}", make_current=(i == 0)) for i in range(4)]
    assert store.current_version(tmp_path) == "v0"
    store.set_current(tmp_path, "v2")
    assert store.current_version(tmp_path) == "v2"
    stale = tmp_path / ".tmp-old"
    stale.mkdir()
    os.utime(stale, (0, 0))
    removed = store.prune(tmp_path, keep=1)
    assert removed == ["v0", "v1"]  # v2 is current, v3 the newest
    assert store.list_versions(tmp_path) == ["v2", "v3"]
    assert not stale.exists()
    assert versions == ["v0", "v1", "v2", "v3"]


def test_store_errors(model, tmp_path):
    assert store.current_version(tmp_path) is None
    with pytest.raises(ValueError, match="no current model"):
        store.load_current(tmp_path)
    with pytest.raises(ValueError, match="not a model version"):
        store.load(tmp_path)
    store.save(model, tmp_path, version="v1")
    with pytest.raises(ValueError, match="already exists"):
        store.save(model, tmp_path, version="v1")
    with pytest.raises(ValueError, match="invalid version"):
        store.save(model, tmp_path, version="../x")
    with pytest.raises(ValueError, match="keep must be"):
        store.prune(tmp_path, keep=0)
