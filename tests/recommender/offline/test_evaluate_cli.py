"""scripts/evaluate.py: --tune changes the packaged default config (which retrain and the server read) only
when asked to."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _evaluate_script():
    spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_write_default_config_is_an_explicit_flag():
    script = _evaluate_script()
    assert script.parse_args(["--tune"]).write_default_config is False
    assert script.parse_args(["--tune", "--write-default-config"]).write_default_config is True
