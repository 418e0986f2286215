"""Facts the server and the extension both hold, each written once per language: they must agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from server.models import EVENT_TYPES, TRACKING_EVENTS
from server.schemas import MAX_EVENTS_PER_BATCH
from server.web.settings import PAPER_SITES

ROOT = Path(__file__).resolve().parents[2]


def _extension_facts() -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the extension's unit tests need it too)")
    script = (
        "import { EVENT_TYPES, DROPPABLE } from './extension/lib/queue.js';"
        "import { BATCH_SIZE } from './extension/lib/delivery.js';"
        "import { PAPER_SITES } from './extension/lib/detect.js';"
        "console.log(JSON.stringify({ types: EVENT_TYPES, droppable: [...DROPPABLE], batch: BATCH_SIZE,"
        " sites: PAPER_SITES }));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(out.stdout)


def test_the_extension_sends_exactly_the_event_types_the_server_accepts():
    extension = _extension_facts()
    assert extension["types"] == list(EVENT_TYPES)
    # what a full queue may drop is what the server drops while tracking is paused: reading, not choices
    assert extension["droppable"] == list(TRACKING_EVENTS)


def test_the_extension_never_sends_a_batch_the_server_refuses_for_its_size():
    assert 1 <= _extension_facts()["batch"] <= MAX_EVENTS_PER_BATCH


def test_the_web_apps_settings_name_the_sites_the_extension_records():
    assert _extension_facts()["sites"] == list(PAPER_SITES)
