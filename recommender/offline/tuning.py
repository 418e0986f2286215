"""Hyper-parameter search on validation views carved from the training items (``--tune``; docs/tuning.md).

Every model setting of :data:`TUNE_MODEL_GRID` is fitted once per view and scored with every blend of
:data:`TUNE_BLEND_GRID`; :func:`choose_blend` picks each history length's blend and :func:`tune` the model
setting. The search never reads the published test, and never changes a fitted model: each blend is scored on a
copy that shares the fitted parts (:func:`score_with_blend`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from recommender.config import DEFAULT_CONFIG_PATH, default_config, merge_config
from recommender.offline.datasets import CiteULikeData
from recommender.offline.methods import LibraryHybrid, Method
from recommender.offline.metrics import RECALL_KS
from recommender.offline.runner import evaluate_method, sample_users
from recommender.offline.views import cold_share, median_input_items, validation_views
from recommender.serving import HybridRecommender

# Each entry overrides the model sections of the default config (``als``, ``text``, ``cooccurrence``).
# ``link_weight`` weighs citation links against words in the text vectors, which also feed ALS as pseudo-users.
# The settings searched before, and why these remain, are in docs/tuning.md.
TUNE_MODEL_GRID: tuple[dict[str, dict[str, Any]], ...] = tuple(
    {
        "text": {"keyword_tokens": True, "min_df": 2, "specificity": 0.5, "link_weight": w},
        "als": {"factors": 256, "feature_weight": 20.0},
        "cooccurrence": {"neighbours": 100, "asymmetry": 0.0},
    }
    for w in (1.0, 2.0)
)
# The trend weight has a floor of 0.05: offline the trend component is training popularity, which the published
# split holds out against, while online it is the real trending signal that keeps this week's papers reachable
# in "For you".
# ``cf_item_norm`` 0 ranks CF by the ALS dot product, 1 by the cosine of user and item factor, 1.5 discounts
# long item factors further. ``collab`` is the weight of the two collaborative components together, ``share``
# the part of it that goes to co-occurrence neighbours (0: ALS alone). ``popularity_discount`` multiplies the
# blended score by (1 + readers) ** -power.
TUNE_BLEND_GRID = tuple(
    {
        "cf": round(collab * (1.0 - share), 3),
        "cooccurrence": round(collab * share, 3),
        "text": round(1.0 - collab - tr, 3),
        "trend": tr,
        "cf_item_norm": norm,
        "popularity_discount": discount,
    }
    for discount in (0.0, 0.05, 0.1)
    for norm in (0.0, 1.0, 1.5)
    for collab in (0.5, 0.6, 0.7, 0.8)
    for share in (0.0, 0.3, 0.4)
    for tr in (0.05, 0.1)
)
TUNE_OBJECTIVE_VIEWS = ("mimic", "mimic7", "sparse")
# Views whose users have at least this many input items choose ``blend_long_history``, the others ``blend``. The
# views have 1, 3 and 7 input items and only the one-paper view prefers a different blend (docs/tuning.md), so
# the threshold sits between 1 and 3.
TUNE_LONG_HISTORY_MIN_ITEMS = 2
# the components a blend must beat on its own, as named in the trials (``<name>_recall@K``)
TUNE_COMPONENTS = ("cf", "cooccurrence", "text")


# ---------------------------------------------------------------------------------------------- blend choice
def _view_objective(trial: Mapping[str, Any]) -> float:
    return float(np.mean([trial[f"recall@{k}"] for k in (50, 100, 300)]))


def _beats_components(trial: Mapping[str, Any]) -> bool:
    return all(
        trial[f"recall@{k}"] > max(trial[f"{c}_recall@{k}"] for c in TUNE_COMPONENTS if f"{c}_recall@{k}" in trial)
        for k in RECALL_KS
    )


def _judged_blends(by_blend: dict[str, list[Mapping[str, Any]]]) -> dict[str, list[Mapping[str, Any]]]:
    """Drop blends that weight co-occurrence on views where it is empty (``cooccurrence_pairs`` 0: every input
    row has one item, as in the P=1 split). There the weight only rescales the other components, so such a view
    says nothing about co-occurrence; those blends stay only if nothing else is left."""
    judged = {
        key: ts
        for key, ts in by_blend.items()
        if not (ts[0]["blend"].get("cooccurrence", 0.0) > 0 and any(t.get("cooccurrence_pairs", 1) == 0 for t in ts))
    }
    return judged or by_blend


def choose_blend(trials: Sequence[Mapping[str, Any]]) -> tuple[dict[str, float], float, bool]:
    """Among blends scored on the same views (and judged there, :func:`_judged_blends`): those that beat every
    component at every cutoff on every view first, then the best mean objective. Returns (blend, objective,
    whether it beats every component)."""
    by_blend: dict[str, list[Mapping[str, Any]]] = {}
    for t in trials:
        by_blend.setdefault(json.dumps(t["blend"], sort_keys=True), []).append(t)
    by_blend = _judged_blends(by_blend)
    scored = [
        (all(_beats_components(t) for t in ts), float(np.mean([_view_objective(t) for t in ts])), key)
        for key, ts in by_blend.items()
    ]
    beats, obj, key = max(scored)
    return json.loads(key), obj, beats


# ---------------------------------------------------------------------------------------------- scoring a view
class _Precomputed(Method):
    """Scores already computed for ``users`` (one row each, in that order), served by user id."""

    def __init__(self, name: str, users: np.ndarray, scores: np.ndarray) -> None:
        self.name = name
        self._row = {int(u): i for i, u in enumerate(users)}
        self._scores = scores

    def fit(self, data: CiteULikeData) -> _Precomputed:
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self._scores[[self._row[int(u)] for u in users]], dtype=np.float32)


def _metrics_of(name: str, scores: np.ndarray, data: CiteULikeData, users: np.ndarray) -> dict[str, float]:
    return evaluate_method(_Precomputed(name, users, scores), data, users).metrics


def score_with_blend(
    model: HybridRecommender, rows: Any, raw: Mapping[str, np.ndarray], blend: Mapping[str, float]
) -> np.ndarray:
    """``model.blend_scores`` with ``blend`` as the short-history blend, computed on a copy of the fitted model
    that shares its fitted parts: ``model`` itself is left as it is."""
    with_blend = HybridRecommender.from_parts(
        config={**model.config_.to_dict(), "blend": dict(blend)},
        text=model.text_,
        als=model.als_,
        item_keys=model.item_ids_.keys,
        item_titles=model.item_titles_,
        saves=model.saves_,
        cooccurrence=model.cooccurrence_,
    )
    return with_blend.blend_scores(rows, raw)


def _view_trials(
    model: dict[str, dict[str, Any]],
    sub: CiteULikeData,
    users: np.ndarray,
    blend_grid: Sequence[Mapping[str, float]],
    about_view: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One trial per blend for ``model`` fitted on the view ``sub`` (train = input, test = held out)."""
    # every blend below is scored with this one weight set, whatever the input size
    lib = LibraryHybrid(
        merge_config({**model, "blend_long_history": {"min_items": 0}, "blend_choice": {"enabled": False}})
    ).fit(sub)
    rows = lib.user_items_[users]
    # components are scored once per view (CF once per cf_item_norm); each blend only rescales and mixes them
    # with HybridRecommender.blend_scores, the second half of score_matrix
    none = np.zeros(rows.shape, dtype=np.float32)  # a component the model lacks scores nothing
    raw = lib.model_.component_scores(rows, components=("cooccurrence", "text", "trend"), trending=lib.popularity_)
    raw = {"cooccurrence": none, **raw}
    alone = {c: _metrics_of(c, raw[c], sub, users) for c in ("cooccurrence", "text")}
    cf_raw, cf_alone = {}, {}  # the CF component as each blend scores it (its cf_item_norm)
    for norm in sorted({float(b.get("cf_item_norm", 0.0)) for b in blend_grid}):
        cf_raw[norm] = lib.model_.component_scores(rows, components=("cf",), cf_item_norm=norm).get("cf", none)
        cf_alone[norm] = _metrics_of("cf", cf_raw[norm], sub, users)
    cooc = lib.model_.cooccurrence_
    trials = []
    for blend in blend_grid:
        norm = float(blend.get("cf_item_norm", 0.0))
        m = _metrics_of("blend", score_with_blend(lib.model_, rows, {**raw, "cf": cf_raw[norm]}, blend), sub, users)
        base = {**alone, "cf": cf_alone[norm]}
        trials.append(
            {
                **about_view,
                "cooccurrence_pairs": int(cooc.similarity_.nnz) if cooc is not None else 0,
                "model": model,
                "blend": dict(blend),
                "fit_seconds": round(lib.fit_seconds, 1),
                **{f"recall@{k}": round(m[f"recall@{k}"], 4) for k in RECALL_KS},
                **{f"{c}_recall@{k}": round(base[c][f"recall@{k}"], 4) for c in TUNE_COMPONENTS for k in RECALL_KS},
            }
        )
    return trials


# ---------------------------------------------------------------------------------------------- the search
def _rank_models(
    trials: Sequence[Mapping[str, Any]],
    model_grid: Sequence[Mapping[str, Any]],
    groups: Mapping[str, set[str]],
) -> list[dict[str, Any]]:
    """Each model setting with the blend chosen per group of views (``blend`` / ``blend_long_history``) and its
    objective: the mean over the views of each view's objective under the blend chosen for it; best first."""
    ranking = []
    for model in model_grid:
        mine = [t for t in trials if t["model"] == {k: dict(v) for k, v in model.items()}]
        chosen: dict[str, Any] = {}
        per_view: dict[str, float] = {}
        for group, names in groups.items():
            if not names:
                continue
            blend, _, beats = choose_blend([t for t in mine if t["view"] in names])
            chosen[group] = {**blend, "beats_components": beats}
            for t in mine:
                if t["view"] in names and t["blend"] == blend:
                    per_view[t["view"]] = _view_objective(t)
        objective = round(float(np.mean(list(per_view.values()))), 4)
        ranking.append({"params": dict(model), "blends": chosen, "objective": objective})
    ranking.sort(key=lambda r: -r["objective"])
    return ranking


def _best_overrides(top: Mapping[str, Any], long_history_min_items: int) -> dict[str, Any]:
    """The config overrides of the winning model setting and its chosen blends."""
    best: dict[str, Any] = {k: dict(v) for k, v in top["params"].items()}
    strip = {"beats_components"}
    if "blend" in top["blends"]:
        best["blend"] = {k: v for k, v in top["blends"]["blend"].items() if k not in strip}
    if "blend_long_history" in top["blends"]:
        best["blend_long_history"] = {
            "min_items": long_history_min_items,
            **{k: v for k, v in top["blends"]["blend_long_history"].items() if k not in strip},
        }
    else:
        best["blend_long_history"] = {"min_items": 0}
    return best


def tune(
    data: CiteULikeData,
    *,
    seed: int = 0,
    max_users: int = 1500,
    progress: bool = False,
    model_grid: Sequence[Mapping[str, Any]] = TUNE_MODEL_GRID,
    blend_grid: Sequence[Mapping[str, float]] = TUNE_BLEND_GRID,
    objective_views: Sequence[str] = TUNE_OBJECTIVE_VIEWS,
    long_history_min_items: int = TUNE_LONG_HISTORY_MIN_ITEMS,
) -> dict[str, Any]:
    """Grid search over model settings and blend weights on train-only validation splits.

    Never reads ``data.test``. Every model setting is fitted once per view (``objective_views`` of
    :func:`validation_views`) and scored with every blend. Views whose users have at least
    ``long_history_min_items`` input items choose ``blend_long_history``, the others ``blend``; each choice
    prefers blends that beat both components at every cutoff on its views, then the best mean of
    (Recall@50, @100, @300). The model setting with the best mean over all views (each view scored with the
    blend chosen for it) wins. Returns the trials and the best config overrides.
    """
    views = {k: v for k, v in validation_views(data.train, seed=seed).items() if k in objective_views}
    input_items = {k: median_input_items(fit_m) for k, (fit_m, _) in views.items()}
    trials = []
    bar = tqdm(total=len(model_grid) * len(views), desc="tune", disable=not progress)
    for model in model_grid:
        model = {k: dict(v) for k, v in model.items()}
        for view, (fit_m, val_m) in views.items():
            sub = replace(data, train=fit_m, test=val_m)
            users = sample_users(sub.eval_users, max_users, seed)
            about = {"view": view, "input_items": input_items[view], "cold_share": round(cold_share(fit_m, val_m), 3)}
            trials += _view_trials(model, sub, users, blend_grid, about)
            bar.update(1)
    bar.close()
    long_views = {v for v, n in input_items.items() if n >= long_history_min_items}
    ranking = _rank_models(trials, model_grid, {"blend": set(views) - long_views, "blend_long_history": long_views})
    return {
        "validation": "train-only: views of validation_views(); objective over " + ", ".join(views),
        "users_per_view": max_users,
        "input_items": input_items,
        "long_history_min_items": long_history_min_items,
        "objective": "mean over the objective views of mean(Recall@50, @100, @300), each view scored with the "
        "blend chosen for its history length",
        "best": _best_overrides(ranking[0], long_history_min_items),
        "best_objective": ranking[0]["objective"],
        "ranking": ranking[:10],
        "trials": trials,
    }


# ---------------------------------------------------------------------------------------------- the chosen config
def tuned_config(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The packaged default config with each section named in ``overrides`` replaced by the tuned one."""
    merged = merge_config(overrides)
    config = default_config()
    for section in overrides:
        config[section] = merged[section]
    return config


def write_config(config: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``config`` as indented JSON (the packaged default's format) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    return path


def save_tuning(result: Mapping[str, Any], out_dir: str | Path, *, write_default: bool = False) -> dict[str, Path]:
    """Write ``tuning.json`` (the whole result) and ``config.json`` (the chosen config, for ``--config``) into
    ``out_dir``; the packaged default config changes only with ``write_default``. Returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"tuning": out / "tuning.json"}
    paths["tuning"].write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    paths["config"] = write_config(tuned_config(result["best"]), out / "config.json")
    if write_default:
        paths["default_config"] = write_default_config(result["best"])
    return paths


def write_default_config(overrides: Mapping[str, Any]) -> Path:
    """Merge tuned values into the packaged default config (recommender/defaults/default_config.json), which
    retrain and the server use as is: only on request (``scripts/evaluate.py --tune --write-default-config``)."""
    return write_config(tuned_config(overrides), DEFAULT_CONFIG_PATH)
