from __future__ import annotations

import pytest

from recommender.offline.datasets import default_data_dir, load_citeulike


@pytest.fixture(scope="session")
def data_dir():
    d = default_data_dir()
    if d is None or not (d / "users.dat").exists():
        pytest.skip(
            "citeulike-a dataset directory not found (set PAPERSCOUT_DATA or keep ../shared beside the checkout)"
        )
    return d


@pytest.fixture(scope="session")
def p10(data_dir):
    return load_citeulike(data_dir, 10)
