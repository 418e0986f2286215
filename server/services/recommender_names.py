"""The recommender names the server needs that the ``recommender`` package does not re-export yet.

Everywhere else the server imports only top-level names (``from recommender import X``), never a submodule.
Once ``recommender/__init__.py`` exports these three, import them from ``recommender`` where they are used
and delete this module.
"""

from recommender.hybrid import COMPONENTS
from recommender.trending import WINDOWS, freshness_boost

__all__ = ["COMPONENTS", "WINDOWS", "freshness_boost"]
