"""Erased users leave a model: a copy without their rows in memory, and every stored version rewritten."""

import json
import threading
from datetime import timedelta

import numpy as np
import pytest
from synthetic_papers import NOW

from recommender import store
from recommender.serving import HistoryEvent

HISTORY = [HistoryEvent("g1", "save", NOW - timedelta(days=1))]


def co_saver_reasons(model):
    recs = model.recommend(HISTORY, n=23, now=NOW, min_readers=1)
    return {r.key: reason for r in recs for reason in r.reasons if "who saved" in reason}


def savers_of(model, key):
    column = model.saves_[:, model.item_ids_.get(key)].toarray().ravel() > 0
    return set(model.user_keys_[column].tolist())


def stored_users(directory):
    with np.load(directory / "saves.npz", allow_pickle=False) as z:
        raw, offsets = z["user_keys"].tobytes(), z["user_key_offsets"]
        rows, mark = int(z["saves_shape"][0]), int(z["erased_through"])
    return [raw[offsets[i] : offsets[i + 1]].decode() for i in range(len(offsets) - 1)], rows, mark


def test_each_row_of_saves_is_attributed_and_stored_without_pickle(model, interactions, tmp_path):
    assert sorted(model.user_keys_.tolist()) == sorted({u for u, *_ in interactions})
    assert model.saves_.shape[0] == len(model.user_keys_)
    version = store.save(model, tmp_path, erased_through=7)
    loaded = store.load(tmp_path / "versions" / version)
    assert loaded.user_keys_.tolist() == model.user_keys_.tolist()
    assert (loaded.saves_ != model.saves_).nnz == 0 and loaded.erased_through_ == 7
    assert store.erased_through(tmp_path / "versions" / version) == 7


def test_without_users_is_a_new_model_and_leaves_the_old_one_alone(model):
    g1_savers = savers_of(model, "g1")
    reader = sorted(g1_savers)[0]
    before = co_saver_reasons(model)
    erased = model.without_users([reader, "nobody"])
    assert erased is not model and reader not in erased.user_keys_
    assert erased.saves_.shape[0] == model.saves_.shape[0] - 1
    assert reader in model.user_keys_ and co_saver_reasons(model) == before  # requests reading it see no change
    after = co_saver_reasons(erased)
    assert after != before
    # the counts drop by the erased reader's pairs exactly
    for key, reason in after.items():
        claimed = int(reason.split()[0]) if reason[0].isdigit() else 1
        assert claimed == len(savers_of(erased, key) & (g1_savers - {reader}))
    assert model.without_users(["nobody"]) is model
    # scores do not change: only the rows behind co-saver reasons go
    assert [r.score for r in model.recommend(HISTORY, n=10, now=NOW)] == [
        r.score for r in erased.recommend(HISTORY, n=10, now=NOW)
    ]


def test_purge_rewrites_every_version_once_and_records_it(model, tmp_path):
    first = store.save(model, tmp_path, version="v1")
    second = store.save(model, tmp_path, version="v2", erased_through=3)
    users = sorted(model.user_keys_.tolist())
    x, y = users[0], users[1]
    assert store.purge_users(tmp_path, [(2, x)]) == [first]  # v2 already had erasures up to 3 applied
    kept, rows, mark = stored_users(tmp_path / "versions" / first)
    assert x not in kept and rows == len(users) - 1 == len(kept) and mark == 2
    assert x in stored_users(tmp_path / "versions" / second)[0]  # erasure 2 was not v2's to apply
    assert store.purge_users(tmp_path, [(2, x)]) == []  # not redone
    assert store.purge_users(tmp_path, [(2, x), (4, y)]) == [first, second]
    for version in (first, second):
        kept, rows, mark = stored_users(tmp_path / "versions" / version)
        assert y not in kept and mark == 4
        loaded = store.load(tmp_path / "versions" / version)
        assert y not in loaded.user_keys_ and loaded.erased_through_ == 4
    assert not list(tmp_path.glob("versions/*/.purge-*"))


def test_concurrent_purges_never_lose_a_removal(model, tmp_path):
    version = store.save(model, tmp_path)
    users = sorted(model.user_keys_.tolist())[:8]
    threads = [
        threading.Thread(target=store.purge_users, args=(tmp_path, [(n + 1, u) for n, u in enumerate(users[: i + 1])]))
        for i in range(len(users))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kept, _, mark = stored_users(tmp_path / "versions" / version)
    assert not set(users) & set(kept) and mark == len(users)


def legacy_version(model, root):
    """A version as written before rows were attributed to users: saves.npz holds the matrix only."""
    version = store.save(model, root)
    path = root / "versions" / version / "saves.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k.startswith("saves_")}
    np.savez(path, **arrays)
    return root / "versions" / version


def test_a_version_written_before_attribution_loads_without_saves_and_purges_to_nothing(model, tmp_path):
    directory = legacy_version(model, tmp_path)
    assert store.erased_through(directory) == 0
    old = store.load(directory)
    assert old.saves_.shape == (0, model.n_items) and len(old.user_keys_) == 0
    assert co_saver_reasons(old) == {} and old.recommend(HISTORY, n=5, now=NOW)  # still serves, without counts
    assert old.without_users(["a0"]) is old
    assert store.purge_users(tmp_path, [(1, "a0")]) == [directory.name]
    assert stored_users(directory)[1:] == (0, 1)


def test_retrain_lock_and_stale_temporaries(model, tmp_path):
    store.save(model, tmp_path)
    (tmp_path / ".tmp-20990101T000000Z-x-abc").mkdir()
    (tmp_path / ".tmp-20990101T000000Z-x-abc" / "items.npz").write_bytes(b"partial")
    (tmp_path / ".current-xyz").write_text("v\n")
    store.prune(tmp_path, keep=5)
    assert (tmp_path / ".current-xyz").exists()  # young: prune alone cannot tell it from a live writer's
    with store.exclusive_lock(tmp_path, store.RETRAIN_LOCK):
        with pytest.raises(store.StoreBusy, match="held by another process"):
            with store.exclusive_lock(tmp_path, store.RETRAIN_LOCK, wait=False):
                pass
        assert store.remove_temporaries(tmp_path) == [".current-xyz", ".tmp-20990101T000000Z-x-abc"]
    with store.exclusive_lock(tmp_path, store.RETRAIN_LOCK, wait=False):  # released
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".erasure.lock", ".retrain.lock", "current", "versions"]
    manifest = store.read_manifest(tmp_path / "versions" / store.current_version(tmp_path))
    assert manifest == json.loads((tmp_path / "versions" / manifest["version"] / "manifest.json").read_text())
