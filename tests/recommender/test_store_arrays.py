"""Model parts as memory-mapped .npy files: shared between processes, never copied on load, still readable
after their version is pruned; the .npz parts of older versions load as before."""

import shutil
from datetime import timedelta

import numpy as np
import pytest
from synthetic_papers import NOW

from recommender import store
from recommender.serving import HistoryEvent
from recommender.store_arrays import read_part, to_npz_layout, write_part

HISTORY = [HistoryEvent("g1", "save", NOW - timedelta(days=2)), HistoryEvent("p2", "open", NOW)]


def _mapped(array):
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = array.base
    return False


def _big_arrays(model):
    text, cooc = model.text_.item_vectors_, model.cooccurrence_.similarity_
    return [model.als_.item_factors_, text.data, text.indices, text.indptr, cooc.data, cooc.indices, cooc.indptr]


def test_loaded_model_arrays_are_memory_mapped_not_copied(model, tmp_path):
    store.save(model, tmp_path)
    loaded = store.load_current(tmp_path)
    assert all(_mapped(a) for a in _big_arrays(loaded))
    assert all(not a.flags.writeable for a in _big_arrays(loaded))
    cold = loaded.cold_start_
    assert cold is not None and all(_mapped(v.data) for v in cold.item_vectors_.values() if hasattr(v, "data"))


def test_an_older_npz_version_loads_into_memory_and_ranks_the_same(model, tmp_path):
    version = store.save(model, tmp_path)
    fresh = store.load_current(tmp_path)
    to_npz_layout(tmp_path / "versions" / version)
    old = store.load_current(tmp_path)
    assert not any(_mapped(a) for a in _big_arrays(old))
    assert [r.key for r in old.recommend(HISTORY, n=8, now=NOW)] == [
        r.key for r in fresh.recommend(HISTORY, n=8, now=NOW)
    ]


def test_a_loaded_version_keeps_serving_after_its_files_are_removed(model, tmp_path):
    first = store.save(model, tmp_path)
    loaded = store.load_current(tmp_path)
    before = [r.key for r in loaded.recommend(HISTORY, n=8, now=NOW)]
    store.save(model, tmp_path)
    assert store.prune(tmp_path, keep=1) == [first]  # what a worker still holding it maps is only unlinked
    assert not (tmp_path / "versions" / first).exists()
    assert [r.key for r in loaded.recommend(HISTORY, n=8, now=NOW)] == before
    shutil.rmtree(tmp_path / "versions")
    assert [r.key for r in loaded.recommend(HISTORY, n=8, now=NOW)] == before


def test_part_round_trip_and_bad_entries(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "empty": np.zeros(0, dtype=np.int32)}
    entry = write_part(tmp_path, "part", arrays)
    back = read_part(tmp_path, entry)
    assert sorted(back) == ["a", "empty"]
    np.testing.assert_array_equal(back["a"], arrays["a"])
    assert back["empty"].shape == (0,)
    with pytest.raises(ValueError):
        read_part(tmp_path, "../x.*.npy")
    with pytest.raises(ValueError):
        read_part(tmp_path, "missing.*.npy")
    with pytest.raises(ValueError):
        write_part(tmp_path, "part", {"a.b": np.zeros(1)})
