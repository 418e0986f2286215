"""Recommender configuration: one typed, validated class per section of the JSON config.

The defaults live in one place, ``defaults/default_config.json`` (what ``scripts/evaluate.py --tune
--write-default-config`` rewrites); the classes have no defaults of their own. A user's JSON is merged over the
defaults (:func:`merge_config`); :meth:`Config.from_dict` then checks every section and rejects unknown and
missing keys. A stored model keeps the full config it was trained with and loads exactly that, never merged
over today's defaults.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from recommender.config_checks import (
    boolean,
    check_event_weights,
    checked,
    cold_start_components,
    integer,
    number,
    one_of,
    weights_by_name,
)
from recommender.definitions import WINDOWS

DEFAULT_CONFIG_PATH = Path(__file__).with_name("defaults") / "default_config.json"

# Sections whose values are free-form mappings (event types, window names): their keys are checked by the
# section itself, not against the defaults.
_OPEN_SECTIONS = {("events", "weights"), ("trending", "event_weights"), ("trending", "half_life_days")}


class _Section:
    """A config section read from a JSON object whose keys are exactly the fields."""

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Any:
        if not isinstance(raw, Mapping):
            raise ValueError(f"config key {where!r} must be an object, got {type(raw).__name__}")
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        for key in raw:
            if key not in names:
                raise ValueError(f"unknown config key '{where}.{key}'")
        missing = [n for n in names if n not in raw]
        if missing:
            raise ValueError(f"missing config key '{where}.{missing[0]}'")
        return cls(**{f.name: f.metadata["check"](raw[f.name], f"{where}.{f.name}") for f in fields(cls)})  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(asdict(self))  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------- the sections
@dataclass(frozen=True)
class EventsConfig(_Section):
    """How a user's log becomes confidence: weight per event type, and its decay with age."""

    weights: dict[str, float] = checked(lambda v, w: check_event_weights(v, w))
    half_life_days: float | None = checked(lambda v, w: None if v is None else number(above=0.0)(v, w))


@dataclass(frozen=True)
class ALSConfig(_Section):
    factors: int = checked(integer(1))
    regularization: float = checked(number(0.0))
    alpha: float = checked(number(0.0))
    iterations: int = checked(integer(1))
    random_state: int | None = checked(integer(0, optional=True))
    blas_threads: int = checked(integer(1))
    feature_weight: float = checked(number(0.0))


@dataclass(frozen=True)
class TextConfig(_Section):
    max_features: int | None = checked(integer(1, optional=True))
    min_df: int | float = checked(number(0.0))
    max_df: int | float = checked(number(above=0.0))
    ngram_max: int = checked(integer(1))
    dismiss_push: float = checked(number(0.0))
    keyword_tokens: bool = checked(boolean)
    specificity: float = checked(number(0.0))
    link_weight: float = checked(number(0.0))


@dataclass(frozen=True)
class CooccurrenceConfig(_Section):
    neighbours: int = checked(integer(1))
    asymmetry: float = checked(number(0.0, 1.0))
    reader_weights: str = checked(one_of("none", "inverse_log"))


@dataclass(frozen=True)
class TrendingConfig(_Section):
    event_weights: dict[str, float] = checked(weights_by_name())
    half_life_days: dict[str, float] = checked(weights_by_name(tuple(WINDOWS), positive=True))
    freshness_half_life_days: float = checked(number(above=0.0))
    freshness_weight: float = checked(number(0.0))
    hf_upvote_weight: float = checked(number(0.0))  # Hugging Face upvotes beside in-product readers (server)


@dataclass(frozen=True)
class BlendWeights(_Section):
    """The weight of each component (``serving.blend.COMPONENTS``) in the blended score."""

    cf: float = checked(number(0.0))
    cooccurrence: float = checked(number(0.0))
    text: float = checked(number(0.0))
    trend: float = checked(number(0.0))


@dataclass(frozen=True)
class BlendOptions(_Section):
    """``cf_item_norm``: the power of the item factor's norm CF scores are divided by (0 = ALS dot product,
    1 = cosine); ``popularity_discount``: the power of ``1 + readers`` the blended score is divided by."""

    cf_item_norm: float = checked(number(0.0))
    popularity_discount: float = checked(number(0.0))


@dataclass(frozen=True)
class Blend:
    """One blend: its component weights apart from its options (one flat JSON object)."""

    weights: BlendWeights
    options: BlendOptions
    min_items: int = 0  # histories of at least this many positive papers use it (0: the short-history blend)

    @classmethod
    def from_dict(cls, raw: Any, where: str, *, with_min_items: bool) -> Blend:
        if not isinstance(raw, Mapping):
            raise ValueError(f"config key {where!r} must be an object, got {type(raw).__name__}")
        raw = dict(raw)
        min_items = integer(0)(raw.pop("min_items", None), f"{where}.min_items") if with_min_items else 0
        weight_keys = {f.name for f in fields(BlendWeights)}
        weights = BlendWeights.from_dict({k: v for k, v in raw.items() if k in weight_keys}, where)
        options = BlendOptions.from_dict({k: v for k, v in raw.items() if k not in weight_keys}, where)
        return cls(weights=weights, options=options, min_items=min_items)

    def to_dict(self, *, with_min_items: bool) -> dict[str, Any]:
        head = {"min_items": self.min_items} if with_min_items else {}
        return {**head, **self.weights.to_dict(), **self.options.to_dict()}


@dataclass(frozen=True)
class SimilarBlendConfig(_Section):
    """Weights of text and ALS item similarity in "similar papers"."""

    cf: float = checked(number(0.0))
    text: float = checked(number(0.0))


@dataclass(frozen=True)
class CandidatesConfig(_Section):
    """How many candidates each source contributes per request. From ``ann_min_items`` catalog papers on, the
    ALS candidates come from an approximate nearest-neighbour index (searched ``ann_expansion`` wide) instead
    of scoring every paper."""

    als: int = checked(integer(0))
    cooccurrence: int = checked(integer(0))
    text: int = checked(integer(0))
    trending: int = checked(integer(0))
    ann_min_items: int = checked(integer(0))
    ann_expansion: int = checked(integer(1))


@dataclass(frozen=True)
class MMRConfig:
    """Maximal marginal relevance: ``lambda_`` 1 keeps the blended order, lower trades score for variety."""

    lambda_: float

    @classmethod
    def from_value(cls, value: Any) -> MMRConfig:
        return cls(lambda_=number(0.0, 1.0)(value, "mmr_lambda"))


@dataclass(frozen=True)
class ReasonsConfig(_Section):
    min_text_similarity: float = checked(number(0.0))
    min_co_savers: int = checked(integer(1))
    min_readers: int = checked(integer(1))  # k of k-anonymous reasons


@dataclass(frozen=True)
class ColdStartConfig(_Section):
    """The cold-start scorer fitted at training for papers added after it (recommender/coldstart.py):
    ``embedding`` "auto" uses the optional sentence embedding when the ``embed`` extra is installed (it costs
    minutes per retrain), ``components`` null takes the scorer's defaults."""

    enabled: bool = checked(boolean)
    embedding: str = checked(one_of("auto", "off"))
    neighbours: int = checked(integer(1))
    min_df: int = checked(integer(1))
    components: list[list[Any]] | None = checked(cold_start_components)


@dataclass(frozen=True)
class EvaluationConfig(_Section):
    """The held-out check at training time."""

    holdout_fraction: float = checked(number(above=0.0, hi=1.0))
    k: int = checked(integer(1))
    max_users: int | None = checked(integer(1, optional=True))
    random_state: int | None = checked(integer(0, optional=True))


@dataclass(frozen=True)
class BlendChoiceConfig(_Section):
    """The blend chosen at fit time on views carved from the interactions being fitted
    (recommender/blend_choice.py): ``enabled`` false keeps ``blend`` and ``blend_long_history`` as written;
    ``max_users`` caps the validation users (the cost), ``random_state`` seeds the carving."""

    enabled: bool = checked(boolean)
    max_users: int = checked(integer(1))
    random_state: int = checked(integer(0))


# ---------------------------------------------------------------------------------------------- the whole config
@dataclass(frozen=True)
class Config:
    """The whole recommender config, typed. Build with :meth:`from_dict` (validated) or :func:`parse_config`."""

    events: EventsConfig
    als: ALSConfig
    text: TextConfig
    cooccurrence: CooccurrenceConfig
    trending: TrendingConfig
    blend: Blend
    blend_long_history: Blend
    blend_choice: BlendChoiceConfig
    similar_blend: SimilarBlendConfig
    candidates: CandidatesConfig
    mmr: MMRConfig
    reasons: ReasonsConfig
    cold_start: ColdStartConfig
    evaluation: EvaluationConfig

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Config:
        """The config in ``raw`` (the JSON form), every section checked; unknown or missing keys raise."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"a config must be a JSON object, got {type(raw).__name__}")
        for key in raw:
            if key not in _SECTION_KEYS:
                raise ValueError(f"unknown config key {key!r}")
        missing = [k for k in _SECTION_KEYS if k not in raw]
        if missing:
            raise ValueError(f"missing config key {missing[0]!r}")
        return cls(
            events=EventsConfig.from_dict(raw["events"], "events"),
            als=ALSConfig.from_dict(raw["als"], "als"),
            text=TextConfig.from_dict(raw["text"], "text"),
            cooccurrence=CooccurrenceConfig.from_dict(raw["cooccurrence"], "cooccurrence"),
            trending=TrendingConfig.from_dict(raw["trending"], "trending"),
            blend=Blend.from_dict(raw["blend"], "blend", with_min_items=False),
            blend_long_history=Blend.from_dict(raw["blend_long_history"], "blend_long_history", with_min_items=True),
            blend_choice=BlendChoiceConfig.from_dict(raw["blend_choice"], "blend_choice"),
            similar_blend=SimilarBlendConfig.from_dict(raw["similar_blend"], "similar_blend"),
            candidates=CandidatesConfig.from_dict(raw["candidates"], "candidates"),
            mmr=MMRConfig.from_value(raw["mmr_lambda"]),
            reasons=ReasonsConfig.from_dict(raw["reasons"], "reasons"),
            cold_start=ColdStartConfig.from_dict(raw["cold_start"], "cold_start"),
            evaluation=EvaluationConfig.from_dict(raw["evaluation"], "evaluation"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what ``--config`` files and a stored model's manifest hold)."""
        out: dict[str, Any] = {}
        for key in _SECTION_KEYS:
            if key == "mmr_lambda":
                out[key] = self.mmr.lambda_
            elif key == "blend":
                out[key] = self.blend.to_dict(with_min_items=False)
            elif key == "blend_long_history":
                out[key] = self.blend_long_history.to_dict(with_min_items=True)
            else:
                out[key] = getattr(self, key).to_dict()
        return out

    def blend_for(self, n_positive: int) -> Blend:
        """The blend for a user with ``n_positive`` positive papers: ``blend_long_history`` from its
        ``min_items`` on (never when that is 0), ``blend`` below."""
        long = self.blend_long_history
        return long if 0 < long.min_items <= n_positive else self.blend


# the JSON keys of the sections, in the packaged file's order
_SECTION_KEYS = (
    "events",
    "als",
    "text",
    "cooccurrence",
    "trending",
    "blend",
    "blend_long_history",
    "blend_choice",
    "similar_blend",
    "candidates",
    "mmr_lambda",
    "reasons",
    "cold_start",
    "evaluation",
)


# ---------------------------------------------------------------------------------------------- loading
@functools.cache
def _packaged() -> Config:
    with open(DEFAULT_CONFIG_PATH, encoding="utf-8") as fh:
        return Config.from_dict(json.load(fh))


def defaults() -> Config:
    """The packaged defaults, typed (read once per process)."""
    return _packaged()


def default_config() -> dict[str, Any]:
    """A fresh copy of the packaged default configuration (JSON form)."""
    return defaults().to_dict()


def merge_config(overrides: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Deep-merge ``overrides`` over ``base`` (the defaults when omitted) and check the result.

    Raises ``ValueError`` on a key the defaults do not know, so a typo never silently falls back to a default.
    """
    merged = copy.deepcopy(dict(base) if base is not None else default_config())
    if overrides:
        _merge_into(merged, overrides, ())
    Config.from_dict(merged)
    return merged


def parse_config(config: Config | Mapping[str, Any] | None) -> Config:
    """A typed config: ``config`` itself when typed, else the JSON overrides merged over the defaults."""
    if isinstance(config, Config):
        return config
    return Config.from_dict(merge_config(config))


# Keys added to the blend sections after versions were stored that lack them, each with the value that
# reproduces how those versions ranked (a component they predate weighs nothing). Nothing else is filled in: a
# stored version loads the config it was trained with, never today's defaults.
_ADDED_BLEND_KEYS = {"cooccurrence": 0.0, "cf_item_norm": 0.0, "popularity_discount": 0.0}
_ADDED_CANDIDATE_KEYS = {"ann_min_items": 50_000, "ann_expansion": 256}


def stored_config(config: Mapping[str, Any]) -> Config:
    """The config a stored model version was trained with, exactly (blend keys it predates weigh nothing;
    Hugging Face upvotes, which trending on the server blends in, weigh what the packaged defaults say)."""
    config = dict(config)
    for section in ("blend", "blend_long_history"):
        if isinstance(config.get(section), Mapping):
            config[section] = {**_ADDED_BLEND_KEYS, **config[section]}
    if "blend_choice" not in config:  # versions trained before it kept the blends as configured
        config["blend_choice"] = {**default_config()["blend_choice"], "enabled": False}
    if "cold_start" not in config:  # versions trained before it have no cold-start scorer to use
        config["cold_start"] = {**default_config()["cold_start"], "enabled": False}
    if isinstance(config.get("candidates"), Mapping):  # versions older than the ANN index have none: exact
        config["candidates"] = {**_ADDED_CANDIDATE_KEYS, **config["candidates"]}
    if isinstance(config.get("trending"), Mapping) and "hf_upvote_weight" not in config["trending"]:
        packaged = default_config()["trending"]["hf_upvote_weight"]
        config["trending"] = {**config["trending"], "hf_upvote_weight": packaged}
    return Config.from_dict(config)


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """Load the default config, with the JSON object at ``path`` (if given) merged over it."""
    if path is None:
        return default_config()
    with open(path, encoding="utf-8") as fh:
        overrides = json.load(fh)
    if not isinstance(overrides, dict):
        raise ValueError(f"config file {str(path)!r} must hold a JSON object, got {type(overrides).__name__}")
    return merge_config(overrides)


def _merge_into(target: dict[str, Any], overrides: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
    for key, value in overrides.items():
        where = ".".join((*prefix, str(key)))
        if key not in target:
            if prefix in _OPEN_SECTIONS:
                target[key] = copy.deepcopy(value)
                continue
            raise ValueError(f"unknown config key {where!r}")
        if isinstance(target[key], dict):
            if not isinstance(value, Mapping):
                raise ValueError(f"config key {where!r} must be an object, got {type(value).__name__}")
            _merge_into(target[key], value, (*prefix, str(key)))
        else:
            target[key] = copy.deepcopy(value)
