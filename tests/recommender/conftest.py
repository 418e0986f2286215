"""Session fixtures over the synthetic two-community catalog (see synthetic_papers.py)."""

import pytest
from synthetic_papers import NOW, TEST_CONFIG, make_interactions, make_papers

from recommender.offline.training import train


@pytest.fixture(scope="session")
def papers():
    return make_papers()


@pytest.fixture(scope="session")
def interactions():
    return make_interactions()


@pytest.fixture(scope="session")
def trained(papers, interactions):
    return train(papers, interactions, config=TEST_CONFIG, now=NOW)


@pytest.fixture(scope="session")
def model(trained):
    return trained.model
