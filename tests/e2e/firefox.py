"""Debian's Firefox ESR with the unpacked extension, driven through WebDriver BiDi (built into Firefox: no
geckodriver, no browser download).

Firefox starts headless in a fresh profile with `--remote-debugging-port 0`, writes the BiDi server's port to
WebDriverBiDiServer.json in that profile, and takes the extension as a temporary add-on
(`webExtension.install`). The add-on's moz-extension UUID, random per install, is fixed before start through
the `extensions.webextensions.uuids` pref, so the tests know the popup's address. `--remote-allow-system-access`
lets BiDi navigate a tab to a moz-extension:// page (refused otherwise). The site hosts reach the local site
server through SiteProxy (sites.py); the session accepts its self-signed certificate (`acceptInsecureCerts`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

GECKO_ID = "paperscout@paperscout.invalid"
# Any fixed v4 UUID: the add-on's origin is moz-extension://<this>/ in every test profile.
EXTENSION_UUID = "5c0ae1f3-7d1b-4b8e-9a55-0d1f6a2b9c11"
COMMAND_TIMEOUT = 30.0
CONTROL, BACKSPACE = "\ue009", "\ue003"  # WebDriver key codes
# webExtension.install and --remote-allow-system-access arrived in Firefox 138; ESR 140 is the first ESR with both.
MIN_FIREFOX = 140


def firefox_binary() -> str | None:
    for name in ("firefox-esr", "firefox"):
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.cache
def firefox_version(binary: str) -> int:
    """The major version `binary --version` reports ("Mozilla Firefox 140.5.0esr" -> 140), 0 if unreadable."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"Firefox (\d+)\.", out)
    return int(match.group(1)) if match else 0


# The first element matching a CSS selector; `host >>> inner` continues inside host's (open) shadow root.
FIND_ELEMENT = """(selector) => {
  let node = document;
  for (const part of selector.split(' >>> ')) {
    node = (node.shadowRoot || node).querySelector(part);
    if (!node) return null;
  }
  return node;
}"""


class BiDiError(AssertionError):
    pass


class BiDi:
    """A WebDriver BiDi session over one WebSocket: send a command, wait for its answer (events are dropped:
    the tests poll for what they wait for)."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    def call(self, method: str, timeout: float = COMMAND_TIMEOUT, **params: Any) -> dict[str, Any]:
        command_id = next(self._ids)
        self._ws.send(json.dumps({"id": command_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BiDiError(f"{method}: no answer within {timeout} s")
            message = json.loads(self._ws.recv(timeout=remaining))
            if message.get("id") != command_id:
                continue
            if message.get("type") == "error":
                raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
            return message["result"]


class Tab:
    """One top-level browsing context (a tab)."""

    def __init__(self, bidi: BiDi, context: str) -> None:
        self.bidi = bidi
        self.context = context

    def goto(self, url: str) -> None:
        self.bidi.call("browsingContext.navigate", context=self.context, url=url, wait="complete")

    def set_viewport(self, width: int, height: int) -> None:
        self.bidi.call("browsingContext.setViewport", context=self.context, viewport={"width": width, "height": height})

    def reload(self) -> None:
        self.bidi.call("browsingContext.reload", context=self.context, wait="complete")

    def close(self) -> None:
        self.bidi.call("browsingContext.close", context=self.context)

    def evaluate(self, function: str, *args: Any) -> Any:
        """Run `function` (JS source of a function, may be async) in the page with JSON arguments; return its
        JSON result. A content script's open shadow root is visible from here, as from the page."""
        expression = (
            f"Promise.resolve(({function})(...{json.dumps(list(args))}))"
            ".then(v => JSON.stringify(v === undefined ? null : v))"
        )
        result = self.bidi.call(
            "script.evaluate", expression=expression, target={"context": self.context}, awaitPromise=True
        )
        if result["type"] == "exception":
            raise BiDiError(f"script error: {result['exceptionDetails']['text']}")
        return json.loads(result["result"]["value"])

    def text(self, selector: str) -> str | None:
        """innerText of the first element matching `selector` (`host >>> inner` looks inside host's shadow
        root), None when there is none."""
        return self.evaluate(f"(s) => {{ const n = ({FIND_ELEMENT})(s); return n ? n.innerText : null; }}", selector)

    def texts(self, selector: str) -> list[str]:
        return self.evaluate("(s) => [...document.querySelectorAll(s)].map(n => n.innerText)", selector)

    def _element(self, selector: str) -> dict[str, Any]:
        """A BiDi reference to the element `selector` names (as in text()), scrolled into view."""
        find_and_show = f"(s) => {{ const n = ({FIND_ELEMENT})(s); n?.scrollIntoView({{block: 'center'}}); return n; }}"
        result = self.bidi.call(
            "script.callFunction",
            functionDeclaration=find_and_show,
            arguments=[{"type": "string", "value": selector}],
            target={"context": self.context},
            awaitPromise=False,
        )
        node = result.get("result", {})
        if node.get("type") != "node":
            raise BiDiError(f"no element {selector!r} on the page")
        return {"sharedId": node["sharedId"]}

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (BiDi input actions, as a person clicks)."""
        element = self._element(selector)
        pointer = {
            "type": "pointer",
            "id": "mouse",
            "parameters": {"pointerType": "mouse"},
            "actions": [
                {"type": "pointerMove", "x": 0, "y": 0, "origin": {"type": "element", "element": element}},
                {"type": "pointerDown", "button": 0},
                {"type": "pointerUp", "button": 0},
            ],
        }
        self.bidi.call("input.performActions", context=self.context, actions=[pointer])

    def fill(self, selector: str, text: str) -> None:
        """Click into the field, select what it holds (Ctrl+A), and type `text` over it key by key."""
        self.click(selector)
        select_all = [
            {"type": "keyDown", "value": CONTROL},
            {"type": "keyDown", "value": "a"},
            {"type": "keyUp", "value": "a"},
            {"type": "keyUp", "value": CONTROL},
            {"type": "keyDown", "value": BACKSPACE},
            {"type": "keyUp", "value": BACKSPACE},
        ]
        typing = [{"type": kind, "value": ch} for ch in text for kind in ("keyDown", "keyUp")]
        keyboard = {"type": "key", "id": "keyboard", "actions": select_all + typing}
        self.bidi.call("input.performActions", context=self.context, actions=[keyboard])

    def screenshot(self, path: Path) -> None:
        data = self.bidi.call("browsingContext.captureScreenshot", context=self.context, origin="document")["data"]
        path.write_bytes(base64.b64decode(data))


class FirefoxExtension:
    """The installed add-on: its pages, its storage, and new tabs."""

    def __init__(self, bidi: BiDi) -> None:
        self.bidi = bidi
        self.uuid = EXTENSION_UUID
        self._page: Tab | None = None

    def url(self, path: str) -> str:
        return f"moz-extension://{self.uuid}/{path}"

    def new_tab(self) -> Tab:
        return Tab(self.bidi, self.bidi.call("browsingContext.create", type="tab")["context"])

    @property
    def page(self) -> Tab:
        """An extension page (the options page) to run chrome.* calls from."""
        if self._page is None:
            self._page = self.new_tab()
            self._page.goto(self.url("options/options.html"))
        return self._page

    def storage(self, *keys: str) -> dict[str, Any]:
        return self.page.evaluate("(k) => chrome.storage.local.get(k.length ? k : null)", list(keys))

    def set_storage(self, values: dict[str, Any]) -> None:
        self.page.evaluate("(v) => chrome.storage.local.set(v)", values)

    def send(self, message: dict[str, Any]) -> Any:
        return self.page.evaluate("(m) => chrome.runtime.sendMessage(m)", message)

    def queue(self) -> list[dict[str, Any]]:
        return self.storage("eventQueue").get("eventQueue") or []

    def background_running(self) -> bool:
        """Whether the event page is alive now. extension.getViews() lists the extension's open windows, the
        background page (Firefox generates it from background.scripts) among them while it runs; asking does
        not wake it."""
        return self.page.evaluate(
            "(path) => chrome.extension.getViews().some(w => w.location.pathname === path)",
            "/_generated_background_page.html",
        )


def write_prefs(profile: Path, prefs: dict[str, Any]) -> None:
    lines = [f"user_pref({json.dumps(name)}, {json.dumps(value)});" for name, value in prefs.items()]
    (profile / "user.js").write_text("\n".join(lines) + "\n")


def _wait_for_bidi_port(process: subprocess.Popen, profile: Path, log: Path, timeout: float = 60.0) -> int:
    server_file = profile / "WebDriverBiDiServer.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Firefox exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            return int(json.loads(server_file.read_text())["ws_port"])
        time.sleep(0.05)
    raise RuntimeError(f"Firefox did not start its WebDriver BiDi server within {timeout} s")


@contextlib.contextmanager
def launch_firefox(binary: str, profile: Path, prefs: dict[str, Any], extension_dir: Path):
    """Start Firefox with `prefs`, install the extension from `extension_dir`; yield a FirefoxExtension."""
    profile.mkdir(parents=True)
    write_prefs(profile, {"extensions.webextensions.uuids": json.dumps({GECKO_ID: EXTENSION_UUID}), **prefs})
    log = profile.parent / "firefox.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "--headless", "--no-remote", "--profile", str(profile), "--remote-debugging-port", "0",
             "--remote-allow-system-access", "about:blank"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the content processes go with it at the end
        )  # fmt: skip
    try:
        port = _wait_for_bidi_port(process, profile, log)
        with connect(f"ws://127.0.0.1:{port}/session", max_size=None, open_timeout=30) as ws:
            bidi = BiDi(ws)
            bidi.call("session.new", capabilities={"alwaysMatch": {"acceptInsecureCerts": True}})
            installed = bidi.call("webExtension.install", extensionData={"type": "path", "path": str(extension_dir)})
            assert installed["extension"] == GECKO_ID, installed
            yield FirefoxExtension(bidi)
            with contextlib.suppress(Exception):
                bidi.call("session.end", timeout=5)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """End Firefox, then whatever is left of the process group it leads (only ever this test's Firefox)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
