"""The options page's digest setting in headless Chromium against the real backend: hidden until the reader signs
in, starts from the browser's own time zone, saves through PUT /api/v1/me/digest, and shows the server's
refusal of a bad value without changing what is stored."""

from __future__ import annotations

import pytest

from .conftest import doc_screenshot, wait_for
from .test_extension_browser import sign_in

pytestmark = pytest.mark.browser


def stored_digest(backend, user) -> dict:
    status, body = backend.api("GET", "/me/digest", token=user["token"])
    assert status == 200, body
    return body


def test_options_page_switches_the_digest_on_and_off(extension, live_backend):
    user = live_backend.register()
    extension.set_storage({"backendUrl": live_backend.url})
    opts = extension.ctx.new_page()
    opts.set_viewport_size({"width": 720, "height": 900})
    opts.goto(extension.url("options/options.html"))
    opts.get_by_text("Sign in from the PaperScout toolbar button to choose a digest.").wait_for(timeout=10_000)
    assert not opts.locator("#digest-form").is_visible()

    # Signing in (the popup stores the token) shows the form with the server's setting: off.
    sign_in(extension, live_backend, user)
    opts.locator("#digest-form").wait_for(state="visible", timeout=10_000)
    assert opts.get_by_role("radio", name="Off").is_checked()
    assert opts.get_by_label("From this hour").input_value() == "8"
    own_zone = opts.evaluate("() => Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert opts.get_by_label("in the time zone").input_value() == own_zone

    opts.get_by_role("radio", name="Weekly (Mondays)").check()
    opts.get_by_label("From this hour").select_option("7")
    opts.get_by_label("in the time zone").select_option("Europe/Berlin")
    opts.get_by_role("button", name="Save digest setting").click()
    expected = "The digest email is on: every Monday from 07:00 (Europe/Berlin), when there are papers new for you."
    opts.get_by_text(expected).wait_for(timeout=10_000)
    stored = stored_digest(live_backend, user)
    assert (stored["frequency"], stored["hour"], stored["timezone"]) == ("weekly", 7, "Europe/Berlin")
    doc_screenshot(opts.locator("section", has=opts.get_by_role("heading", name="Digest email")), "options-digest")

    # Reopened, the page shows what the server holds.
    opts.reload()
    opts.locator("#digest-form").wait_for(state="visible", timeout=10_000)
    assert opts.get_by_role("radio", name="Weekly (Mondays)").is_checked()
    assert opts.get_by_label("in the time zone").input_value() == "Europe/Berlin"

    # A zone the server does not know (as from a browser with a newer zone list): its words, nothing stored.
    opts.evaluate(
        """() => { const o = document.createElement('option'); o.value = o.textContent = 'Mars/Olympus';
        document.getElementById('digest-timezone').append(o); }"""
    )
    opts.get_by_label("in the time zone").select_option("Mars/Olympus")
    opts.get_by_role("button", name="Save digest setting").click()
    wait_for(lambda: "Unknown time zone 'Mars/Olympus'" in opts.locator("#status").inner_text(), message="refusal")
    assert opts.locator("#status").inner_text().startswith("Could not save the digest setting:")
    assert stored_digest(live_backend, user)["timezone"] == "Europe/Berlin"

    opts.get_by_label("in the time zone").select_option("Europe/Berlin")
    opts.get_by_role("radio", name="Off").check()
    opts.get_by_role("button", name="Save digest setting").click()
    opts.get_by_text("The digest email is off.").wait_for(timeout=10_000)
    assert stored_digest(live_backend, user)["frequency"] == "off"

    # Signed out: the form goes away again.
    opts.get_by_role("button", name="Sign out").click()
    opts.get_by_text("Sign in from the PaperScout toolbar button to choose a digest.").wait_for(timeout=10_000)
    assert not opts.locator("#digest-form").is_visible()
