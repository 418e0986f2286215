"""The estimator base: hyper-parameters from the config section (the one place defaults live), stored as given."""

import pytest

from recommender.config import default_config
from recommender.models import ALSRecommender, ItemCooccurrence, TextModel


@pytest.mark.parametrize(
    ("cls", "section"), [(ALSRecommender, "als"), (TextModel, "text"), (ItemCooccurrence, "cooccurrence")]
)
def test_defaults_are_the_packaged_config_section_and_values_are_stored_as_given(cls, section):
    model = cls()
    params = model.get_params()
    assert {k: v for k, v in params.items() if k in default_config()[section]} == default_config()[section]
    name = next(iter(default_config()[section]))
    given = cls(**{name: "as given"})  # stored verbatim; checked at fit
    assert getattr(given, name) == "as given"
    assert cls(**params).get_params() == params
    assert repr(model).startswith(f"{cls.__name__}(")
    with pytest.raises(TypeError, match="unknown hyper-parameter"):
        cls(no_such_parameter=1)
    with pytest.raises(ValueError, match="not fitted"):
        model._check_fitted()


def test_the_cooccurrence_memory_bound_is_a_hyper_parameter_outside_the_config():
    assert ItemCooccurrence().max_block_pairs == 10_000_000
    assert ItemCooccurrence(max_block_pairs=5).get_params()["max_block_pairs"] == 5
