import json

import pytest

from recommender.config import DEFAULT_CONFIG_PATH, default_config, load_config, merge_config


def test_defaults_have_the_documented_sections():
    cfg = default_config()
    assert set(cfg) >= {
        "events",
        "als",
        "text",
        "cooccurrence",
        "trending",
        "blend",
        "similar_blend",
        "candidates",
        "mmr_lambda",
    }
    weights_and_options = {"cf", "cooccurrence", "text", "trend", "cf_item_norm", "popularity_discount"}
    assert set(cfg["blend"]) == weights_and_options
    assert set(cfg["blend_long_history"]) == {"min_items", *weights_and_options}
    assert json.loads(DEFAULT_CONFIG_PATH.read_text()) == cfg


def test_load_config_merges_over_defaults(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"blend": {"cf": 0.9}, "events": {"weights": {"download": 3.0}}}))
    cfg = load_config(path)
    assert cfg["blend"]["cf"] == 0.9 and cfg["blend"]["text"] == default_config()["blend"]["text"]
    assert cfg["events"]["weights"]["download"] == 3.0
    with pytest.raises(ValueError, match="unknown config key 'blend.foo'"):
        merge_config({"blend": {"foo": 1}})
    with pytest.raises(ValueError, match="must be an object"):
        merge_config({"als": 3})
    path.write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        load_config(path)
