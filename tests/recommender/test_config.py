import json
import re

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


def test_every_section_is_typed_and_checked():
    from recommender.config import Config, parse_config

    cfg = parse_config(None)
    assert isinstance(cfg, Config) and cfg.to_dict() == default_config()
    assert cfg.als.factors == default_config()["als"]["factors"]
    assert cfg.blend.weights.cf == default_config()["blend"]["cf"]
    assert cfg.blend_long_history.options.cf_item_norm == default_config()["blend_long_history"]["cf_item_norm"]
    bad = [
        ({"candidates": {"als": -1}}, "candidates.als"),
        ({"mmr_lambda": 1.5}, "mmr_lambda"),
        ({"reasons": {"min_readers": 0}}, "reasons.min_readers"),
        ({"similar_blend": {"text": "x"}}, "similar_blend.text"),
        ({"evaluation": {"holdout_fraction": 1.5}}, "evaluation.holdout_fraction"),
        ({"trending": {"half_life_days": {"2d": 1.0}}}, "trending.half_life_days.2d"),
        ({"cooccurrence": {"reader_weights": "all"}}, "cooccurrence.reader_weights"),
        ({"events": {"weights": {"dismiss": 1.0}}}, "dismiss"),
        ({"blend_long_history": {"min_items": -1}}, "blend_long_history.min_items"),
    ]
    for overrides, where in bad:
        with pytest.raises(ValueError, match=re.escape(where)):
            merge_config(overrides)


def test_a_stored_config_is_read_exactly_never_merged_over_the_defaults():
    from recommender.config import Config

    stored = default_config()
    del stored["reasons"]["min_readers"]
    with pytest.raises(ValueError, match="missing config key 'reasons.min_readers'"):
        Config.from_dict(stored)
    stored = default_config()
    stored["als"]["factors"] = 8  # not today's default: kept as stored
    assert Config.from_dict(stored).als.factors == 8
    with pytest.raises(ValueError, match="unknown config key 'extra'"):
        Config.from_dict({**default_config(), "extra": {}})
