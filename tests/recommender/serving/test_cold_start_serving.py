"""Papers added after training, ranked with the model's cold-start scorer (recommender/serving/cold_start.py)."""

import json
import re
from datetime import timedelta

import numpy as np
import pytest
from synthetic_papers import NOW, TEST_CONFIG

from recommender import store, store_files
from recommender.coldstart import new_paper_text
from recommender.config import merge_config
from recommender.offline.training import train
from recommender.serving import HistoryEvent, PaperDoc
from recommender.store_arrays import to_npz_layout

GRAPH_NEW = PaperDoc("arxiv:g-new", "Graph neural networks with message passing for link prediction", "graph nodes")
PROTEIN_NEW = PaperDoc("arxiv:p-new", "Protein structure prediction and folding", "protein residues")
NEW = [GRAPH_NEW, PROTEIN_NEW]


def saves(*keys):
    return [HistoryEvent(k, "save", NOW - timedelta(days=1, minutes=i)) for i, k in enumerate(keys)]


GRAPH_READER = saves("g1", "g2", "g4")


@pytest.fixture(scope="module")
def no_cold_model(papers, interactions):
    return train(
        papers, interactions, config=merge_config({**TEST_CONFIG, "cold_start": {"enabled": False}}), now=NOW
    ).model


def test_the_model_is_fitted_with_a_cold_start_scorer(model, no_cold_model):
    assert model.cold_start_ is not None and model.cold_start_.n_items_ == model.n_items
    assert no_cold_model.cold_start_ is None


def test_a_new_paper_on_the_readers_topic_outranks_one_off_topic(model):
    for history, first, second in ((GRAPH_READER, GRAPH_NEW, PROTEIN_NEW), (saves("p1", "p3"), PROTEIN_NEW, GRAPH_NEW)):
        recs = model.recommend(history, n=5, extra_docs=NEW, only={d.key for d in NEW}, now=NOW)
        assert [r.key for r in recs] == [first.key, second.key]
        # the collaborative part is no longer missing for papers nobody has read
        assert recs[0].components["cf"] == 1.0 > recs[1].components["cf"]


def test_new_papers_get_the_cf_component_only_with_the_scorer(model, no_cold_model):
    only = {d.key for d in NEW}
    with_scorer = model.recommend(GRAPH_READER, n=5, extra_docs=NEW, only=only, now=NOW)
    without = no_cold_model.recommend(GRAPH_READER, n=5, extra_docs=NEW, only=only, now=NOW)
    assert any(r.components["cf"] > 0 for r in with_scorer)
    assert all(r.components["cf"] == 0 for r in without)


def test_catalog_papers_keep_their_scores_when_new_papers_are_ranked_with_them(model):
    before = {r.key: r for r in model.recommend(GRAPH_READER, n=20, now=NOW)}
    after = {r.key: r for r in model.recommend(GRAPH_READER, n=22, extra_docs=NEW, now=NOW)}
    assert GRAPH_NEW.key in after
    common = set(before) & set(after)
    assert len(common) >= 10
    for key in common:
        assert after[key].score == before[key].score
        assert after[key].components == before[key].components
    # a new paper is scaled against the best catalog candidate, never above it
    assert 0 < after[GRAPH_NEW.key].components["cf"] <= 1.0


def test_reasons_name_the_readers_of_a_history_paper_respecting_min_readers(model):
    saved_titles = {p: model.item_titles_[model.item_ids_.get(p)] for p in ("g1", "g2", "g4")}
    recs = model.recommend(GRAPH_READER, n=5, extra_docs=NEW, only={GRAPH_NEW.key}, now=NOW, min_readers=1)
    readers = [r for r in recs[0].reasons if r.startswith("Readers of")]
    assert len(readers) == 1 and readers[0].endswith("also read papers like this")
    assert any(f"“{t}”" in readers[0] for t in saved_titles.values())
    # nobody has read a new paper: it is never "popular with readers"; no reader wording below the threshold
    recs = model.recommend(GRAPH_READER, n=5, extra_docs=NEW, only={GRAPH_NEW.key}, now=NOW, min_readers=1000)
    assert not any(r.startswith(("Readers of", "Popular with")) for r in recs[0].reasons)
    assert recs[0].reasons


def test_a_new_papers_reasons_name_the_readers_own_papers_never_itself(model):
    """A new paper's reasons name the nearest paper of the reader's own history, saying whether they saved or
    opened it, and the readers of one of their papers; a new paper the reader opened (the library leaves it in
    when the caller does not exclude it) is never named in its own reasons."""
    second = PaperDoc("arxiv:g-new2", "Message passing graph neural networks for node classification", "graph nodes")
    docs = [*NEW, second]
    for kind, how in (("save", "saved"), ("open", "opened")):
        history = [HistoryEvent(k, kind, NOW - timedelta(days=1, minutes=i)) for i, k in enumerate(("g1", "g2", "g4"))]
        history.append(HistoryEvent(GRAPH_NEW.key, "open", NOW - timedelta(minutes=5)))
        own = {str(model.item_titles_[model.item_ids_.get(k)]): how for k in ("g1", "g2", "g4")}
        own[GRAPH_NEW.title] = "opened"
        recs = model.recommend(history, n=5, extra_docs=docs, only={d.key for d in docs}, now=NOW, min_readers=1)
        by_key = {r.key: r for r in recs}
        assert GRAPH_NEW.title not in " ".join(by_key[GRAPH_NEW.key].reasons), by_key[GRAPH_NEW.key].reasons
        named = [
            re.fullmatch(r"(Similar to|Shares topics with) “(.+)”, which you (saved|opened)", r)
            for r in by_key[second.key].reasons
        ]
        named = [m for m in named if m]
        assert named and all(own.get(m[2]) == m[3] for m in named), by_key[second.key].reasons
        readers = [r for r in by_key[second.key].reasons if r.startswith("Readers of “")]
        assert readers and readers[0].endswith("” also read papers like this")
        assert readers[0][len("Readers of “") : readers[0].index("”")] in own


def _same(a, b):
    assert [r.key for r in a] == [r.key for r in b]
    np.testing.assert_allclose([r.score for r in a], [r.score for r in b], rtol=1e-6)
    assert [r.components for r in a] == [r.components for r in b]
    assert [r.reasons for r in a] == [r.reasons for r in b]


def test_round_trip_with_the_cold_start_scorer(model, tmp_path):
    version = store.save(model, tmp_path)
    manifest = json.loads((tmp_path / "versions" / version / "manifest.json").read_text())
    assert {"cold_start", "cold_start_spaces"} <= set(manifest["files"])
    loaded = store.load_current(tmp_path)
    assert loaded.cold_start_ is not None
    for history in (GRAPH_READER, saves("p1", "p3")):
        _same(
            model.recommend(history, n=10, extra_docs=NEW, now=NOW),
            loaded.recommend(history, n=10, extra_docs=NEW, now=NOW),
        )


def test_round_trip_without_the_cold_start_scorer(no_cold_model, tmp_path):
    version = store.save(no_cold_model, tmp_path)
    manifest = json.loads((tmp_path / "versions" / version / "manifest.json").read_text())
    assert "cold_start" not in manifest["files"]
    loaded = store.load_current(tmp_path)
    assert loaded.cold_start_ is None
    _same(
        no_cold_model.recommend(GRAPH_READER, n=10, extra_docs=NEW, now=NOW),
        loaded.recommend(GRAPH_READER, n=10, extra_docs=NEW, now=NOW),
    )


def test_a_version_older_than_the_scorer_ranks_new_papers_by_text_as_before(model, no_cold_model, tmp_path):
    version = store.save(model, tmp_path)
    directory = tmp_path / "versions" / version
    manifest = to_npz_layout(directory)
    for name in ("cold_start", "cold_start_spaces"):
        (directory / manifest["files"].pop(name)).unlink()
    del manifest["config"]["cold_start"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    loaded = store.load_current(tmp_path)
    assert loaded.cold_start_ is None and not loaded.config_.cold_start.enabled
    _same(
        no_cold_model.recommend(GRAPH_READER, n=10, extra_docs=NEW, now=NOW),
        loaded.recommend(GRAPH_READER, n=10, extra_docs=NEW, now=NOW),
    )


def test_an_embedding_scorer_without_the_extra_loads_without_it(model, tmp_path, monkeypatch):
    version = store.save(model, tmp_path)
    spaces_path = tmp_path / "versions" / version / "cold_start.json"
    spaces = json.loads(spaces_path.read_text())
    spaces["components"].append(["cf", "embedding", 4.0, 1.0])
    spaces_path.write_text(json.dumps(spaces))
    monkeypatch.setattr(store_files, "embedding_available", lambda: False)
    assert store.load_current(tmp_path).cold_start_ is None


@pytest.mark.parametrize(
    "override, message",
    [
        ({"enabled": "yes"}, "cold_start.enabled"),
        ({"embedding": "always"}, "cold_start.embedding"),
        ({"neighbours": 0}, "cold_start.neighbours"),
        ({"components": [["cf", "words", 2.0]]}, "cold_start.components[0]"),
        ({"components": [["cf", "words", 2.0, 0.0]]}, "at least one weight"),
        ({"components": [["mixed", "words", 2.0, 1.0]]}, "cold_start.components[0][0]"),
        ({"unknown": 1}, "cold_start.unknown"),
    ],
)
def test_bad_cold_start_config_is_rejected(override, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        merge_config({"cold_start": override})


def _more_new(n):
    topics = ["graph neural networks for link prediction", "protein folding and structure", "graph message passing"]
    return [PaperDoc(f"arxiv:new-{i}", f"{topics[i % 3]} study {i}", f"abstract {i} {topics[i % 3]}") for i in range(n)]


def _same_rows(new, alone):
    for name, part in new.parts.items():
        got, want = (
            (part.toarray(), alone.parts[name].toarray()) if hasattr(part, "toarray") else (part, alone.parts[name])
        )
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_each_new_paper_is_mapped_once_and_the_rest_of_a_backlog_in_the_background(model):
    from recommender.serving.new_paper_cache import NewPaperCache

    docs = _more_new(7)
    clock = [0.0]
    scorer = model.cold_start_

    class SlowScorer:  # each mapping takes 25 s by the cache's clock
        n_items_ = scorer.n_items_

        def transform(self, texts):
            clock[0] += 25.0
            return scorer.transform(texts)

    cache = NewPaperCache(SlowScorer(), block=3, seconds=60.0, clock=lambda: clock[0])
    # a request maps a block (25 s), a second (50 s in all), not a third (75 s > 60 s): it goes to the background
    assert int(cache.papers(docs)[1].sum()) == 6
    assert cache.wait(timeout=60) and cache.pending() == 0
    new, found = cache.papers([*docs, GRAPH_NEW])  # one paper ingested later: only it is mapped
    assert found.all() and cache._mapped.n == 8
    _same_rows(new, model.cold_start_.transform([new_paper_text(d.title, d.abstract) for d in [*docs, GRAPH_NEW]]))
    edited = PaperDoc(docs[0].key, docs[0].title + " revised", docs[0].abstract)
    assert cache.papers([edited])[1].all() and cache._mapped.n == 9  # a changed text is mapped anew


def test_a_request_never_waits_for_a_mapping_that_does_not_fit_its_budget(model, monkeypatch):
    from recommender.serving import new_paper_cache
    from recommender.serving.new_paper_cache import NewPaperCache

    docs = _more_new(5)
    monkeypatch.setattr(new_paper_cache, "SYNC_MAX_ITEMS", 1)  # a catalog as large as a million papers
    cache = NewPaperCache(model.cold_start_)
    new, found = cache.papers(docs)
    assert new is None and not found.any()  # nothing mapped in the request: all went to the background
    assert cache.wait(timeout=60)
    new, found = cache.papers(docs)
    assert found.all()
    _same_rows(new, model.cold_start_.transform([new_paper_text(d.title, d.abstract) for d in docs]))
    cache._block_seconds = 1.0  # a measured block beyond the 0.2 s budget: later papers are not mapped inline
    assert not cache.papers([GRAPH_NEW])[1].any()
    assert cache.wait(timeout=60) and cache.papers([GRAPH_NEW])[1].all()


def test_a_small_catalog_maps_new_papers_inside_the_request(model):
    from recommender.serving.new_paper_cache import NewPaperCache

    cache = NewPaperCache(model.cold_start_)
    assert cache.papers(_more_new(3))[1].all() and cache.pending() == 0


def test_the_served_model_can_map_every_new_paper_ahead_of_requests(model):
    docs = _more_new(300)  # more than a request maps
    model.with_cold_start(model.cold_start_)  # a fresh cache
    assert model.map_new_papers(docs).n == 300
    model.recommend(GRAPH_READER, n=5, extra_docs=docs, only={d.key for d in docs}, now=NOW)
    assert model._new_paper_cache._mapped.n == 300  # the request found them all mapped


class _CountingScorer:
    """The fitted scorer, counting the papers it maps."""

    def __init__(self, scorer):
        self.scorer, self.n_items_, self.mapped = scorer, scorer.n_items_, 0

    def transform(self, texts):
        self.mapped += len(texts)
        return self.scorer.transform(texts)

    def __getattr__(self, name):
        return getattr(self.scorer, name)


def test_processes_serving_one_version_map_each_new_paper_once(model, tmp_path, monkeypatch):
    from recommender.serving import new_paper_cache
    from recommender.serving.new_paper_cache import NewPaperCache

    monkeypatch.setattr(new_paper_cache, "SYNC_MAX_ITEMS", 1)  # every paper goes to the background thread
    docs = _more_new(9)
    first, second = _CountingScorer(model.cold_start_), _CountingScorer(model.cold_start_)
    one = NewPaperCache(first, background_block=4).share(tmp_path / "new_papers")
    one.papers(docs)
    assert one.wait(timeout=60) and first.mapped == 9
    other = NewPaperCache(second, background_block=4).share(tmp_path / "new_papers")  # another worker
    other.papers(docs)
    assert other.wait(timeout=60) and second.mapped == 0  # it read the first one's rows
    new, found = other.papers(docs)
    assert found.all()
    _same_rows(new, model.cold_start_.transform([new_paper_text(d.title, d.abstract) for d in docs]))
    edited = PaperDoc(docs[0].key, docs[0].title + " revised", docs[0].abstract)
    other.papers([edited, GRAPH_NEW])
    assert other.wait(timeout=60) and second.mapped == 2  # a new text is mapped, by one of them
    one.papers([edited, GRAPH_NEW])
    assert one.wait(timeout=60) and first.mapped == 9 and one.papers([edited, GRAPH_NEW])[1].all()


def test_a_directory_that_cannot_be_written_only_stops_the_sharing(model, tmp_path, monkeypatch):
    from recommender.serving import new_paper_cache
    from recommender.serving.new_paper_cache import NewPaperCache

    monkeypatch.setattr(new_paper_cache, "SYNC_MAX_ITEMS", 1)
    (tmp_path / "file").write_text("not a directory")
    cache = NewPaperCache(model.cold_start_).share(tmp_path / "file" / "new_papers")
    docs = _more_new(3)
    cache.papers(docs)
    assert cache.wait(timeout=60) and cache.papers(docs)[1].all() and cache._shared is None


def test_a_loaded_version_shares_new_papers_in_its_directory(model, tmp_path, monkeypatch):
    from recommender.serving import new_paper_cache

    monkeypatch.setattr(new_paper_cache, "SYNC_MAX_ITEMS", 1)
    version = store.save(model, tmp_path)
    served = store.load_current(tmp_path)
    served.recommend(GRAPH_READER, n=5, extra_docs=NEW, now=NOW)
    assert served._new_paper_cache.wait(timeout=60)
    assert list((tmp_path / "versions" / version / "new_papers").glob("batch-*.npz"))
    restarted = store.load_current(tmp_path)  # a server restarted on the same version
    restarted._new_paper_cache.scorer = _CountingScorer(restarted.cold_start_)
    restarted.recommend(GRAPH_READER, n=5, extra_docs=NEW, now=NOW)
    assert restarted._new_paper_cache.wait(timeout=60) and restarted._new_paper_cache.scorer.mapped == 0
    _same(
        served.recommend(GRAPH_READER, n=10, extra_docs=NEW, now=NOW),
        restarted.recommend(GRAPH_READER, n=10, extra_docs=NEW, now=NOW),
    )
