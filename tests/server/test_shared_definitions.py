"""Facts the server and the extension both hold, each written once per language: they must agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from server.models import EVENT_TYPES, TRACKING_EVENTS

ROOT = Path(__file__).resolve().parents[2]


def _queue_module() -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the extension's unit tests need it too)")
    script = (
        "import { EVENT_TYPES, DROPPABLE } from './extension/lib/queue.js';"
        "console.log(JSON.stringify({ types: EVENT_TYPES, droppable: [...DROPPABLE] }));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def test_the_extension_sends_exactly_the_event_types_the_server_accepts():
    queue = _queue_module()
    assert queue["types"] == list(EVENT_TYPES)
    # what a full queue may drop is what the server drops while tracking is paused: reading, not choices
    assert queue["droppable"] == list(TRACKING_EVENTS)
