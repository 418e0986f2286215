"""The estimator base the models share: keyword-only hyper-parameters stored as given, learned attributes
ending in ``_``, ``fit`` returning ``self`` (scikit-learn's conventions, without depending on its base)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from recommender.config import default_config


class Estimator:
    """Hyper-parameters are the fields of the config section ``section`` (:mod:`recommender.config`), whose
    packaged values are the defaults, plus ``extra_params`` (settings that are not part of the config). They are
    stored as given and checked at ``fit``; what fitting learns is stored in attributes ending in ``_``."""

    section: ClassVar[str]
    extra_params: ClassVar[Mapping[str, Any]] = {}
    fitted_attribute: ClassVar[str]  # set once fitted (``from_*`` constructors set it too)

    def __init__(self, **params: Any) -> None:
        defaults = self.default_params()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown hyper-parameter(s) {unknown}")
        for name, value in {**defaults, **params}.items():
            setattr(self, name, value)

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        return {**default_config()[cls.section], **cls.extra_params}

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters, as stored (what a store writes and ``cls(**params)`` rebuilds)."""
        return {name: getattr(self, name) for name in self.default_params()}

    def _check_fitted(self) -> None:
        if not hasattr(self, self.fitted_attribute):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit() first")

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"
