"""Value checks for config keys: each returns the value as given, or raises ``ValueError`` naming the key."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

import numpy as np

from recommender.definitions import NEGATIVE_EVENTS

Check = Callable[[Any, str], Any]


def number(lo: float | None = None, hi: float | None = None, *, above: float | None = None) -> Check:
    """A finite int or float within [lo, hi] (and > ``above``), kept as given."""

    def check(value: Any, where: str) -> Any:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (lo is None or value >= lo) and (hi is None or value <= hi)
        if not ok or (above is not None and not value > above):
            bounds = [f">= {lo}"] * (lo is not None) + [f"<= {hi}"] * (hi is not None)
            bounds += [f"> {above}"] * (above is not None)
            raise ValueError(f"config key {where!r} must be a number {' and '.join(bounds)}, got {value!r}")
        return value

    return check


def integer(lo: int, *, optional: bool = False) -> Check:
    """An int >= ``lo`` (None too when ``optional``)."""

    def check(value: Any, where: str) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"config key {where!r} must be an integer >= {lo}, got {value!r}")
        return value

    return check


def boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"config key {where!r} must be true or false, got {value!r}")
    return value


def one_of(*choices: str) -> Check:
    def check(value: Any, where: str) -> str:
        if value not in choices:
            raise ValueError(f"config key {where!r} must be one of {choices}, got {value!r}")
        return value

    return check


def weights_by_name(names: tuple[str, ...] | None = None, *, positive: bool = False) -> Check:
    """A mapping name -> number (>= 0, or > 0 with ``positive``); names from ``names`` when given."""
    value_check = number(above=0.0) if positive else number(0.0)

    def check(value: Any, where: str) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise ValueError(f"config key {where!r} must be an object, got {type(value).__name__}")
        for name in value:
            if names is not None and name not in names:
                raise ValueError(f"unknown config key '{where}.{name}'; expected one of {sorted(names)}")
        return {str(k): value_check(v, f"{where}.{k}") for k, v in value.items()}

    return check


def event_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    """Event type -> confidence weight: finite numbers >= 0, never for an event that ends a signal."""
    out = {}
    for name, value in weights.items():
        if name in NEGATIVE_EVENTS:
            raise ValueError(f"event type {name!r} cannot carry a positive weight")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"event weight for {name!r} must be a finite number >= 0, got {value!r}")
        out[name] = value
    return out


def check_event_weights(weights: Any, where: str) -> dict[str, float]:
    """:func:`event_weights` for the config key ``where`` (an object of numbers)."""
    return event_weights(weights_by_name()(weights, where))


def cold_start_components(value: Any, where: str) -> list[list[Any]] | None:
    """None (the cold-start scorer's own defaults) or a list of ``[kind, representation, power, weight]``."""
    from recommender.coldstart import KINDS, REPRESENTATIONS

    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ValueError(f"config key {where!r} must be null or a non-empty list, got {value!r}")
    out = []
    for i, comp in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(comp, list) or len(comp) != 4:
            raise ValueError(f"config key {at!r} must be [kind, representation, power, weight], got {comp!r}")
        one_of(*KINDS)(comp[0], f"{at}[0]")
        one_of(*REPRESENTATIONS)(comp[1], f"{at}[1]")
        out.append([comp[0], comp[1], number(0.0)(comp[2], f"{at}[2]"), number(0.0)(comp[3], f"{at}[3]")])
    if len({(c[0], c[1]) for c in out}) != len(out) or not any(c[3] > 0 for c in out):
        raise ValueError(f"config key {where!r}: each (kind, representation) once, at least one weight > 0")
    return out


def checked(check: Check) -> Any:
    """A dataclass field with no default, checked by ``check`` when loaded from JSON."""
    return field(metadata={"check": check})


def reader_count_threshold(value: object, where: str) -> int:
    """The k of k-anonymous reasons, checked: an integer >= 1 (``where`` names it in the error)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{where} must be an integer >= 1, got {value!r}")
    return int(value)
