"""Recommender configuration: the packaged defaults, with a user JSON merged over them."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_PATH = Path(__file__).with_name("defaults") / "default_config.json"

# Sections whose values are free-form mappings (event types, window names), so their keys are not validated
# against the defaults.
_OPEN_SECTIONS = {("events", "weights"), ("trending", "event_weights"), ("trending", "half_life_days")}


def default_config() -> dict[str, Any]:
    """Return a fresh copy of the packaged default configuration."""
    with open(DEFAULT_CONFIG_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def merge_config(overrides: Mapping[str, Any] | None, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Deep-merge ``overrides`` over ``base`` (the defaults when omitted).

    Raises ``ValueError`` on a key the defaults do not know, so a typo never silently falls back to a default.
    """
    merged = copy.deepcopy(dict(base) if base is not None else default_config())
    if overrides:
        _merge_into(merged, overrides, ())
    return merged


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
