"""The item cold-start protocol on a published split (see docs/evaluation.md, "Item cold start").

A split directory holds ``train.csv``, ``vali.csv`` and ``test.csv`` (header ``uid,iid``, the dataset's 0-based
ids). The recommender is fitted on ``train.csv`` over the items it names only (the warm catalog: their text may
use their tags and their citation links to other warm items); the items of the evaluated file are new papers that
bring their title and abstract only. Every user with an item in the evaluated file ranks all of that file's items;
Recall@K and NDCG@K (K = 20, 50, 100) are averaged over those users.

Methods: ``hybrid``: what a user gets, each user's list from :meth:`HybridRecommender.recommend
<recommender.serving.HybridRecommender.rank>` with the new papers as ``extra_docs`` and ``only=`` them (the
server's "new for you"): the model's :class:`~recommender.coldstart.ColdStartScorer` in place of the missing
``cf`` component, the text component, one entry per title, MMR. ``cold_start``: the scorer's blend alone; each
of its components; ``text``: the library's TF-IDF profile scoring of papers unknown to the model, which is what
the hybrid ranks new papers by without the cold-start scorer.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from recommender.coldstart import ColdStartScorer, NewPapers, catalog_text, new_paper_text
from recommender.config import merge_config
from recommender.offline.datasets import CiteULikeData, load_citeulike
from recommender.offline.methods import library_interactions
from recommender.offline.metrics import hits_matrix, ranking_metrics, top_k_excluding
from recommender.serving import HybridRecommender, PaperDoc

COLD_KS = (20, 50, 100)
EVAL_FILES = ("vali", "test")


@dataclass
class ColdSplit:
    """A dataset with an item cold-start split: ``train`` and ``evaluated`` are users x all items (binary)."""

    data: CiteULikeData
    train: sp.csr_matrix
    evaluated: sp.csr_matrix
    eval_on: str
    warm_items: np.ndarray  # dataset ids of the training items, ascending
    new_items: np.ndarray  # dataset ids of the evaluated items, ascending

    @property
    def eval_users(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self.evaluated.indptr) > 0)


def read_pairs(path: str | os.PathLike, n_users: int, n_items: int) -> sp.csr_matrix:
    """A ``uid,iid`` CSV as a binary users x items matrix; ids outside the dataset raise ValueError."""
    users, items = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != ["uid", "iid"]:
            raise ValueError(f"{path}: the header must be 'uid,iid', got {header!r}")
        for lineno, row in enumerate(reader, start=2):
            try:
                u, i = int(row[0]), int(row[1])
            except (IndexError, ValueError) as exc:
                raise ValueError(f"{path}: line {lineno} is not 'uid,iid': {row!r}") from exc
            if not (0 <= u < n_users and 0 <= i < n_items):
                raise ValueError(f"{path}: line {lineno}: ids ({u}, {i}) outside the dataset")
            users.append(u)
            items.append(i)
    m = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def load_cold_split(data_dir: str | os.PathLike, split_dir: str | os.PathLike, eval_on: str = "test") -> ColdSplit:
    """The dataset at ``data_dir`` with the cold-start split at ``split_dir``, evaluated on ``eval_on``."""
    if eval_on not in EVAL_FILES:
        raise ValueError(f"eval_on must be one of {EVAL_FILES}, got {eval_on!r}")
    split = Path(split_dir)
    for name in ("train", eval_on):
        if not (split / f"{name}.csv").exists():
            raise FileNotFoundError(f"no {name}.csv in {split}")
    data = load_citeulike(data_dir, None)
    train = read_pairs(split / "train.csv", data.n_users, data.n_items)
    evaluated = read_pairs(split / f"{eval_on}.csv", data.n_users, data.n_items)
    warm = np.flatnonzero(np.diff(train.tocsc().indptr) > 0)
    new = np.flatnonzero(np.diff(evaluated.tocsc().indptr) > 0)
    if np.intersect1d(warm, new).size:
        raise ValueError(f"{eval_on}.csv shares items with train.csv: not an item cold-start split")
    return ColdSplit(data, train, evaluated, eval_on, warm, new)


def warm_papers(split: ColdSplit) -> tuple[list[PaperDoc], list[str]]:
    """The warm catalog as the library's papers (key = position among the warm items) and as the cold-start
    scorer's catalog texts (:func:`~recommender.coldstart.catalog_text`). Citation links and cited titles only
    between warm items: a link to a new paper would tell the model about it."""
    d = split.data
    position = {int(i): p for p, i in enumerate(split.warm_items)}
    papers, texts = [], []
    for i in split.warm_items:
        cited = [int(j) for j in d.item_references(int(i)) if int(j) in position]
        abstract = d.abstracts.get(int(i), "")
        papers.append(
            PaperDoc(
                key=str(position[int(i)]),
                title=d.titles[i],
                abstract=abstract,
                keywords=tuple(d.tags[i]),
                references=tuple(str(position[j]) for j in cited),
            )
        )
        texts.append(catalog_text(d.titles[i], abstract, d.tags[i], [d.titles[j] for j in cited]))
    return papers, texts


@dataclass
class ColdFit:
    """Everything fitted on the training items, and the new papers' scores for a batch of users."""

    model: HybridRecommender
    scorer: ColdStartScorer
    user_items: sp.csr_matrix  # users x warm items, the training confidences
    saved: sp.csr_matrix  # users x warm items, the saves
    user_factors: np.ndarray | None
    fit_seconds: float


def fit_cold(
    split: ColdSplit,
    *,
    config: Mapping[str, Any] | None = None,
    embedding: Any = "auto",
    users: np.ndarray | None = None,
) -> ColdFit:
    """Fit the library's model on the warm catalog, with its cold-start scorer (``embedding`` as the config's
    ``cold_start.embedding``, or an encoder object); fold in the ALS factors of ``users`` (all when None; the
    other rows stay zero)."""
    t0 = time.perf_counter()
    cfg = merge_config(config)
    if isinstance(embedding, str):
        cfg["cold_start"]["embedding"] = embedding
    papers, texts = warm_papers(split)
    inter = library_interactions(split.train[:, split.warm_items].tocsr(), cfg)
    model = HybridRecommender(config=cfg).fit(papers, inter)
    user_items = inter.matrix.tocsr()
    factors = model.als_.item_factors_ if model.als_ is not None else None
    user_factors = None
    if model.als_ is not None:
        rows = np.arange(user_items.shape[0]) if users is None else np.asarray(users, dtype=np.int64)
        user_factors = np.zeros((user_items.shape[0], model.als_.item_factors_.shape[1]), dtype=np.float32)
        # one small solve per user: a multi-threaded BLAS only adds contention on a shared machine
        with threadpool_limits(limits=1, user_api="blas"):
            user_factors[rows] = model.als_.fold_in_rows(user_items[rows])
    scorer = model.cold_start_
    if scorer is None or not isinstance(embedding, str):  # disabled in the config, or a given encoder
        plain = [new_paper_text(p.title, p.abstract) for p in papers]
        scorer = ColdStartScorer(embedding=embedding).fit(texts, factors, embedding_texts=plain)
        if model.als_ is not None:
            model.with_cold_start(scorer)
    return ColdFit(model, scorer, user_items, inter.saved.tocsr(), user_factors, time.perf_counter() - t0)


def serving_top(fitted: ColdFit, users: np.ndarray, new_docs: list[PaperDoc], k: int) -> np.ndarray:
    """Each user's first ``k`` new papers (positions in ``new_docs``; -1 pads a shorter list) as the server
    ranks them: the user's training row as history, the new papers as ``extra_docs`` and ``only=``."""
    model, m, saved = fitted.model, fitted.user_items, fitted.saved
    extra = {d.key: d for d in sorted(new_docs, key=lambda d: d.key)}  # the order candidates are ranked in
    position = {d.key: i for i, d in enumerate(new_docs)}
    out = np.full((len(users), k), -1, dtype=np.int64)
    # one small solve per user (the fold-in): a multi-threaded BLAS only adds contention on a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        _rank_users(model, m, saved, users, extra, position, out)
    return out


def _rank_users(
    model: HybridRecommender,
    m: sp.csr_matrix,
    saved: sp.csr_matrix,
    users: np.ndarray,
    extra: dict[str, PaperDoc],
    position: dict[str, int],
    out: np.ndarray,
) -> None:
    k = out.shape[1]
    for r, u in enumerate(users):
        lo, hi = m.indptr[u], m.indptr[u + 1]
        state = model.user_state_for_row(
            m.indices[lo:hi], m.data[lo:hi], saved.indices[saved.indptr[u] : saved.indptr[u + 1]]
        )
        recs = model.rank(
            state, n=k, trending={}, extra_docs=extra, window_label="", only=extra.keys(), with_reasons=False
        )
        out[r, : len(recs)] = [position[rec.key] for rec in recs]


def library_text_scores(model: HybridRecommender, user_items: sp.csr_matrix, new_docs: list[PaperDoc]) -> np.ndarray:
    """The library's text component for papers unknown to the model: the cosine of each paper's TF-IDF vector
    with the user's profile, times its specificity weight (users x new papers)."""
    text = model.text_
    vecs = text.transform([d.text for d in new_docs])
    spec = text.specificity_weights(vecs)
    out = np.zeros((user_items.shape[0], len(new_docs)), dtype=np.float32)
    for r in range(user_items.shape[0]):
        lo, hi = user_items.indptr[r], user_items.indptr[r + 1]
        profile = text.profile(text.vectors(user_items.indices[lo:hi]), user_items.data[lo:hi])
        if profile is not None:
            out[r] = np.asarray((vecs @ profile.T).todense()).ravel() * spec
    return out


def run_cold(
    split: ColdSplit,
    *,
    config: Mapping[str, Any] | None = None,
    embedding: Any = "auto",
    n_users: int | None = None,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate the cold-start blend, its components and the library's text scoring on ``split``."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    users = split.eval_users
    if n_users is not None and n_users < len(users):
        users = np.sort(np.random.default_rng(seed).choice(users, int(n_users), replace=False))
    fitted = fit_cold(split, config=config, embedding=embedding, users=users)
    d = split.data
    new_docs = [
        PaperDoc(key=f"new:{i}", title=d.titles[i], abstract=d.abstracts.get(int(i), "")) for i in split.new_items
    ]
    t1 = time.perf_counter()
    # mapped into the served model's own cache, as a server that has answered a few requests holds them
    new = fitted.model.map_new_papers(new_docs)
    if new is None:  # the model serves without a scorer (no CF): the scorer's rows for its own columns
        new = fitted.scorer.transform([new_paper_text(p.title, p.abstract) for p in new_docs])
    transform_seconds = time.perf_counter() - t1
    per_method, rank_seconds = _evaluate_users(split, fitted, new, new_docs, users, progress=progress)
    methods = {}
    for name in ["hybrid", "blend", *fitted.scorer.component_names, "text"]:
        metrics = {k: float(np.mean(np.concatenate(v))) for k, v in per_method[name].items()}
        methods["cold_start" if name == "blend" else name] = {**_ordered(metrics), "n_users": int(len(users))}
    return {
        "dataset": d.name,
        "protocol": "cold",
        "eval_on": split.eval_on,
        "n_users_evaluated": int(len(users)),
        "n_users_with_test_items": int(len(split.eval_users)),
        "n_items_ranked": int(len(split.new_items)),
        "n_warm_items": int(len(split.warm_items)),
        "embedding": "embedding" in {rep for _, rep, _, _ in fitted.scorer.components_},
        "components": [list(c) for c in fitted.scorer.components_],
        "fit_seconds": round(fitted.fit_seconds, 1),
        "new_papers_seconds": round(transform_seconds, 1),
        "rank_seconds": round(rank_seconds, 1),
        "seed": seed,
        "methods": methods,
        "blend_choice": fitted.model.blend_choice_,  # the blends the served list used, chosen at fit time
        "wall_seconds": round(time.perf_counter() - t0, 1),
        # the machine may be shared: CPU time of this process (all its threads) says what the run itself costs
        "cpu_seconds": round(time.process_time() - cpu0, 1),
    }


def _evaluate_users(
    split: ColdSplit,
    fitted: ColdFit,
    new: NewPapers,
    new_docs: list[PaperDoc],
    users: np.ndarray,
    *,
    batch_size: int = 512,
    progress: bool = False,
) -> tuple[dict[str, dict[str, list[np.ndarray]]], float]:
    """Per-user metrics of every method, in batches of users, and the hybrid's ranking time (the server's
    request path, one user at a time)."""
    relevant = split.evaluated[users][:, split.new_items].tocsr()
    per_method: dict[str, dict[str, list[np.ndarray]]] = {}
    rank_seconds = 0.0
    bar = tqdm(total=len(users), desc="cold", unit="user", disable=not progress, leave=False)
    for lo in range(0, len(users), batch_size):
        ub = users[lo : lo + batch_size]
        t0 = time.perf_counter()
        tops = {"hybrid": serving_top(fitted, ub, new_docs, max(COLD_KS))}
        rank_seconds += time.perf_counter() - t0
        uf = fitted.user_factors[ub] if fitted.user_factors is not None else None
        scores = fitted.scorer.score(fitted.user_items[ub], uf, new)
        scores["text"] = library_text_scores(fitted.model, fitted.user_items[ub], new_docs)
        for name, s in scores.items():
            tops[name] = top_k_excluding(s, sp.csr_matrix(s.shape, dtype=np.float32), max(COLD_KS))
        rel = relevant[lo : lo + len(ub)]
        for name, top in tops.items():
            m = ranking_metrics(hits_matrix(top, rel), np.diff(rel.indptr), recall_ks=COLD_KS, ndcg_ks=COLD_KS)
            for k, v in m.items():
                per_method.setdefault(name, {}).setdefault(k, []).append(v)
        bar.update(len(ub))
    bar.close()
    return per_method, rank_seconds


def _ordered(metrics: Mapping[str, float]) -> dict[str, float]:
    keys = [f"recall@{k}" for k in COLD_KS] + [f"ndcg@{k}" for k in COLD_KS]
    return {k: metrics[k] for k in keys}


def cold_table(results: Mapping[str, Any]) -> str:
    """One Markdown row per method: Recall and NDCG at 20/50/100."""
    cols = [f"recall@{k}" for k in COLD_KS] + [f"ndcg@{k}" for k in COLD_KS]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, m in results["methods"].items():
        lines.append("| " + " | ".join([name] + [f"{m[c]:.4f}" for c in cols]) + " |")
    return "\n".join(lines)


def write_cold_outputs(results: Mapping[str, Any], out_dir: str | Path, *, command: str = "") -> dict[str, Path]:
    """Write ``results.json`` and ``report.md`` (the table and the command) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "report": out / "report.md"}
    paths["results"].write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Item cold start: {results['dataset']}, evaluated on {results['eval_on']}",
        "",
        f"Users evaluated: {results['n_users_evaluated']} (of {results['n_users_with_test_items']}); each ranks the "
        f"{results['n_items_ranked']} new papers, the model knows {results['n_warm_items']} training papers. "
        f"Embedding: {'yes' if results['embedding'] else 'no'}. Wall time {results['wall_seconds']} s.",
    ]
    if command:
        lines += ["", "Command:", "", f"    {command}"]
    lines += ["", cold_table(results), ""]
    paths["report"].write_text("\n".join(lines), encoding="utf-8")
    return paths
