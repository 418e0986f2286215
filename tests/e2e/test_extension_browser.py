"""The extension in headless Chromium against the real backend: detection, events, popup, saves, dismissals,
delivery while the backend is down and after the service worker was terminated."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS, badge_text, wait_for
from .sites import LoopbackPageServer

pytestmark = pytest.mark.browser

# Real addresses: Chromium resolves the sites' host names to the local site server (conftest, sites.py).
ABS_URL = "https://arxiv.org/abs/2401.01234v3"
ABS_KEY = "arxiv:2401.01234"
OLD_URL = "https://arxiv.org/abs/hep-th/9901001v2"
OLD_KEY = "arxiv:hep-th/9901001"
LISTING_URL = "https://arxiv.org/list/cs.CL/recent"
S2_DOI_URL = "https://www.semanticscholar.org/paper/Deep-Residual-Learning-He/2c03df8b48bf3fa39054345bafabfeff15bfd11d"
S2_DOI_KEY = "doi:10.1109/cvpr.2016.90"

CATALOG = [
    ("arxiv:2402.00001", "Contrastive Pretraining for Scientific Retrieval", ["Ada Lovelace", "Alan Turing"]),
    ("arxiv:2402.00002", "Graph Neural Recommenders at Scale", ["Grace Hopper"]),
    (
        "arxiv:2402.00003",
        "Implicit Feedback Is All You Need",
        ["Emmy Noether", "Kurt Gödel", "John von Neumann", "Claude Shannon"],
    ),
    ("arxiv:2402.00004", "Trending Topics in Language Modelling", ["Barbara Liskov"]),
]


def seed_readers(backend) -> None:
    """Another reader opens and saves the catalogue, so that trending and recommendations have content."""
    other = backend.register()
    events = []
    for key, title, authors in CATALOG:
        paper = {"key": key, "title": title, "authors": authors, "abstract": f"About {title.lower()}."}
        events += [{"type": "open", "paper": paper}, {"type": "save", "paper": paper}]
    backend.post_events(other["token"], events)


def sign_in(ext, backend, user) -> None:
    ext.set_storage({"backendUrl": backend.url, "apiToken": user["token"], "user": {"email": user["email"]}})


def open_signed_in_popup(ext, backend):
    """A fresh user, signed in, with the popup open over a catalogue another reader has filled."""
    seed_readers(backend)
    user = backend.register()
    sign_in(ext, backend, user)
    popup = ext.ctx.new_page()
    popup.goto(ext.url("popup/popup.html"))
    return user, popup


def saved_keys(backend, token) -> set[str]:
    status, body = backend.api("GET", "/saves?limit=100", token=token)
    assert status == 200, body
    return {item["paper"]["key"] for item in body["items"]}


def test_visiting_a_paper_records_exactly_one_open(extension, live_backend):
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    page = extension.ctx.new_page()
    page.goto(ABS_URL)
    wait_for(lambda: live_backend.count_interactions(user["email"], ABS_KEY, "open") == 1, message="one open event")
    assert badge_text(page) == "Save"
    # A reload of the same paper in the same tab is the same visit; a page without a paper sends nothing.
    page.reload()
    assert badge_text(page) == "Save"
    page.goto(LISTING_URL)
    page.wait_for_timeout(1000)
    assert page.locator("#paperscout-badge").count() == 0
    assert extension.queue() == []
    assert live_backend.count_interactions(user["email"], ABS_KEY, "open") == 1
    rows = live_backend.query("SELECT title, url FROM papers WHERE key = :key", key=ABS_KEY)
    assert rows == [
        ("Sparse Mixtures of Retrieval Experts for Long-Context Reasoning", "https://arxiv.org/abs/2401.01234")
    ]


def test_loopback_pages_are_not_tracked(extension, live_backend):
    """The shipped extension leaves loopback pages alone: its scripts are not web-accessible there (the content
    script cannot load), and a paper page served from http://127.0.0.1 gets no badge and records nothing,
    while the same page under https://arxiv.org does."""
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    main_js = extension.url("content/main.js")
    loadable = "url => fetch(url).then(r => r.ok, () => false)"
    local = LoopbackPageServer("arxiv_abs.html")
    try:
        page = extension.ctx.new_page()
        page.goto(local.url)
        assert page.evaluate(loadable, main_js) is False
        page.wait_for_timeout(1500)
        assert page.locator("#paperscout-badge").count() == 0
        assert extension.queue() == []
        assert live_backend.count_interactions(user["email"], ABS_KEY, "open") == 0
    finally:
        local.close()
    page.goto(ABS_URL)
    assert badge_text(page) == "Save"
    assert page.evaluate(loadable, main_js) is True
    wait_for(lambda: live_backend.count_interactions(user["email"], ABS_KEY, "open") == 1, message="the open")


def test_paused_tracking_and_disabled_sites_send_nothing(extension, live_backend):
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    extension.set_storage({"paused": True})
    page = extension.ctx.new_page()
    page.goto(OLD_URL)
    assert badge_text(page) == "Save"  # saving stays possible while tracking is paused
    page.wait_for_timeout(500)
    assert extension.queue() == []
    assert live_backend.count_interactions(user["email"], OLD_KEY, "open") == 0
    extension.set_storage({"paused": False, "disabledSites": ["arxiv.org"]})
    page2 = extension.ctx.new_page()
    page2.goto(OLD_URL)
    page2.wait_for_timeout(1000)
    assert page2.locator("#paperscout-badge").count() == 0
    assert extension.queue() == []
    assert live_backend.count_interactions(user["email"], OLD_KEY, "open") == 0


def test_popup_sign_in_shows_for_you_with_reasons(extension, live_backend):
    seed_readers(live_backend)
    user = live_backend.register()
    extension.set_storage({"backendUrl": live_backend.url})
    popup = extension.ctx.new_page()
    popup.set_viewport_size({"width": 420, "height": 600})
    popup.goto(extension.url("popup/popup.html"))
    popup.get_by_label("Email").fill(user["email"])
    popup.get_by_label("Password").fill("wrong password")
    popup.get_by_role("button", name="Sign in").click()
    popup.locator("#login-error").get_by_text("Wrong email or password").wait_for(timeout=10_000)
    popup.get_by_label("Password").fill(user["password"])
    popup.get_by_role("button", name="Sign in").click()
    popup.locator("#items .item").first.wait_for(timeout=10_000)
    assert popup.get_by_role("tab", name="For you").get_attribute("aria-selected") == "true"
    titles = popup.locator("#items .item a.title").all_inner_texts()
    assert set(titles) & {t for _, t, _ in CATALOG}, titles
    reasons = popup.locator("#items .item .reasons li").all_inner_texts()
    assert reasons and all(r.strip() for r in reasons)
    assert extension.storage("apiToken")["apiToken"]
    ARTIFACTS.mkdir(exist_ok=True)
    popup.screenshot(path=str(ARTIFACTS / "popup.png"), full_page=True)
    # New, Trending and Saved tabs, keyboard navigation between tabs
    popup.get_by_role("tab", name="For you").focus()
    popup.keyboard.press("ArrowRight")
    assert popup.get_by_role("tab", name="New").get_attribute("aria-selected") == "true"
    popup.get_by_role("radio", name="the last day").wait_for()
    popup.get_by_role("tab", name="New").focus()
    popup.keyboard.press("ArrowRight")
    assert popup.get_by_role("tab", name="Trending").get_attribute("aria-selected") == "true"
    assert not popup.get_by_role("radio", name="the last day").is_visible()  # New's choice is New's alone
    popup.locator("#items .item").first.wait_for(timeout=10_000)
    popup.keyboard.press("ArrowRight")
    popup.locator("#state").get_by_text("No saved papers yet").wait_for(timeout=10_000)


def test_one_click_save_from_badge_and_popup(extension, live_backend):
    seed_readers(live_backend)
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    page = extension.ctx.new_page()
    page.goto(ABS_URL)
    assert badge_text(page) == "Save"
    page.locator("#paperscout-badge button.save").click()
    wait_for(lambda: ABS_KEY in saved_keys(live_backend, user["token"]), message="the save on the server")
    assert badge_text(page) == "Saved"
    assert page.locator("#paperscout-badge button.save").get_attribute("aria-pressed") == "true"

    popup = extension.ctx.new_page()
    popup.goto(extension.url("popup/popup.html"))
    first = popup.locator("#items .item").first
    first.wait_for(timeout=10_000)
    key = first.get_attribute("data-key")
    button = first.locator("button.save")
    assert button.inner_text() == "Save"
    button.click()
    assert button.inner_text() == "Saved"  # shows the new state at once
    wait_for(lambda: key in saved_keys(live_backend, user["token"]), message="the popup save on the server")
    popup.get_by_role("tab", name="Saved").click()
    popup.locator(f'#items .item[data-key="{ABS_KEY}"]').wait_for(timeout=10_000)
    popup.locator(f'#items .item[data-key="{key}"]').wait_for(timeout=10_000)
    # Unsave from the Saved list: the badge on the open paper page flips back.
    popup.locator(f'#items .item[data-key="{ABS_KEY}"] button.save').click()
    wait_for(lambda: ABS_KEY not in saved_keys(live_backend, user["token"]), message="the unsave on the server")
    wait_for(lambda: badge_text(page) == "Save", message="the badge to flip back")


def test_dismiss_removes_the_item_for_good(extension, live_backend):
    user, popup = open_signed_in_popup(extension, live_backend)
    first = popup.locator("#items .item").first
    first.wait_for(timeout=10_000)
    key = first.get_attribute("data-key")
    before = popup.locator("#items .item").count()
    first.get_by_role("button", name="Dismiss").click()
    assert popup.locator(f'#items .item[data-key="{key}"]').count() == 0
    assert popup.locator("#items .item").count() == before - 1
    wait_for(
        lambda: live_backend.api("GET", f"/papers/{key}", token=user["token"])[1].get("dismissed"),
        message="the dismissal on the server",
    )
    popup.reload()
    popup.locator("#items .item").first.wait_for(timeout=10_000)
    assert popup.locator(f'#items .item[data-key="{key}"]').count() == 0


def test_click_from_popup_is_recorded_with_list_and_rank(extension, live_backend):
    user, popup = open_signed_in_popup(extension, live_backend)
    second = popup.locator("#items .item").nth(1)
    second.wait_for(timeout=10_000)
    key = second.get_attribute("data-key")
    with extension.ctx.expect_page():
        second.locator("a.title").click()
    wait_for(lambda: live_backend.count_interactions(user["email"], key, "click") == 1, message="the click event")
    rows = live_backend.query(
        "SELECT i.context FROM interactions i JOIN papers p ON p.id = i.paper_id "
        "WHERE p.key = :key AND i.type = 'click'",
        key=key,
    )
    assert '"list": "foryou"' in rows[0][0] and '"rank": 2' in rows[0][0]


def test_backend_down_events_are_queued_then_delivered_once(extension, live_backend):
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    live_backend.stop()
    page = extension.ctx.new_page()
    page.goto(OLD_URL)
    assert badge_text(page) == "Save"
    wait_for(lambda: len(extension.queue()) == 1, message="the open event in the queue")
    # One click save while offline: queued, shown as saved.
    page.locator("#paperscout-badge button.save").click()
    wait_for(lambda: badge_text(page) == "Saved", message="optimistic save")
    wait_for(lambda: [e["type"] for e in extension.queue()] == ["open", "save"], message="the queued save")
    events = extension.queue()
    assert all(e["id"] and e["paper"]["key"] == OLD_KEY for e in events)
    status = extension.send({"type": "paperscout:status"})
    assert status["queued"] == 2 and status["lastError"]

    live_backend.start()
    reply = extension.send({"type": "paperscout:flush"})
    assert reply["status"] == "ok", reply
    assert extension.queue() == []
    assert live_backend.count_interactions(user["email"], OLD_KEY, "open") == 1
    assert OLD_KEY in saved_keys(live_backend, user["token"])
    # Redelivery of the same events (e.g. the answer was lost) changes nothing: ids make it idempotent.
    status, body = live_backend.api("POST", "/events", {"events": events}, user["token"])
    assert status == 200 and body["duplicates"] == 2 and body["accepted"] == 0
    assert extension.send({"type": "paperscout:flush"})["status"] == "empty"
    assert live_backend.count_interactions(user["email"], OLD_KEY, "open") == 1
    assert live_backend.count_interactions(user["email"], OLD_KEY, "save") == 1


def test_service_worker_terminated_mid_queue_loses_nothing(extension, live_backend):
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    live_backend.stop()
    page = extension.ctx.new_page()
    page.goto(ABS_URL)
    wait_for(lambda: len(extension.queue()) == 1, message="the open event in the queue")
    page2 = extension.ctx.new_page()
    page2.goto(S2_DOI_URL)
    wait_for(lambda: len(extension.queue()) == 2, message="the second event in the queue")
    extension.page.close()
    extension.stop_worker()
    assert not extension.worker_running()

    live_backend.start()
    # Any extension activity wakes the worker; on wake-up it delivers what is waiting.
    reply = extension.send({"type": "paperscout:flush"})
    assert reply["status"] in ("ok", "empty"), reply
    assert extension.worker_running()
    wait_for(lambda: extension.queue() == [], message="the queue to drain")
    assert live_backend.count_interactions(user["email"], ABS_KEY, "open") == 1
    assert live_backend.count_interactions(user["email"], S2_DOI_KEY, "open") == 1


SITE_VISITS = [
    ("https://arxiv.org/abs/2401.01234v3", ABS_KEY),
    ("https://arxiv.org/html/2401.01234v3", ABS_KEY),
    ("https://arxiv.org/abs/hep-th/9901001v2", OLD_KEY),
    ("https://huggingface.co/papers/2401.01234", ABS_KEY),
    ("https://openreview.net/forum?id=AbC_dEf-123", "openreview:AbC_dEf-123"),
    ("https://www.alphaxiv.org/abs/2401.01234", ABS_KEY),
    (
        "https://www.semanticscholar.org/paper/Attention-is-All-you-Need-Vaswani-Shazeer/"
        "204e3073870fae3d05bcbc2f6a8e263d9b72e776",
        "arxiv:1706.03762",
    ),
    (
        "https://www.semanticscholar.org/paper/Deep-Residual-Learning-He/2c03df8b48bf3fa39054345bafabfeff15bfd11d",
        "doi:10.1109/cvpr.2016.90",
    ),
]


def test_real_site_addresses_are_detected(extension, live_backend):
    """Site-shaped fixture pages under the real https host names: one open per visit, with the right key."""
    ext = extension
    user = live_backend.register()
    sign_in(ext, live_backend, user)
    expected: dict[str, int] = {}
    for url, key in SITE_VISITS:
        page = ext.ctx.new_page()
        page.goto(url)
        assert badge_text(page) == "Save", url
        expected[key] = expected.get(key, 0) + 1
        page.close()
    listing = ext.ctx.new_page()
    listing.goto(LISTING_URL)
    listing.wait_for_timeout(1000)
    assert listing.locator("#paperscout-badge").count() == 0
    for key, n in expected.items():
        wait_for(
            lambda key=key, n=n: live_backend.count_interactions(user["email"], key, "open") == n,
            message=f"{n} open(s) of {key}",
        )
    titles = dict(
        live_backend.query("SELECT key, title FROM papers WHERE key IN (:a, :b)", a=OLD_KEY, b="openreview:AbC_dEf-123")
    )
    assert titles == {
        OLD_KEY: "On the Large N Limit of Toy Gauge Theories",
        "openreview:AbC_dEf-123": "Calibrated Contrastive Rankers",
    }


def test_options_page_settings_export_and_delete(extension, live_backend):
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    opts = extension.ctx.new_page()
    opts.goto(extension.url("options/options.html"))
    opts.get_by_text(f"Signed in as {user['email']}").wait_for(timeout=10_000)
    opts.get_by_label("PaperScout server address").fill(live_backend.url + "/")
    opts.get_by_role("button", name="Save address").click()
    opts.get_by_text(f"Server set to {live_backend.url}.").wait_for(timeout=10_000)
    assert extension.storage("backendUrl")["backendUrl"] == live_backend.url
    opts.get_by_label("Pause tracking", exact=False).check()
    wait_for(lambda: extension.storage("paused").get("paused") is True, message="paused in storage")
    opts.get_by_label("huggingface.co").uncheck()
    wait_for(lambda: extension.storage("disabledSites").get("disabledSites") == ["huggingface.co"], message="site off")
    with opts.expect_download() as dl:
        opts.get_by_role("button", name="Export my data (JSON)").click()
    exported = dl.value
    assert exported.suggested_filename.startswith("paperscout-export-") and exported.suggested_filename.endswith(
        ".json"
    )
    opts.get_by_role("button", name="Delete my data…").click()
    opts.get_by_role("button", name="Cancel").click()
    assert live_backend.api("GET", "/me", token=user["token"])[0] == 200
    opts.get_by_role("button", name="Delete my data…").click()
    opts.get_by_role("button", name="Yes, delete everything").click()
    opts.get_by_text("Your data was deleted").wait_for(timeout=10_000)
    assert live_backend.api("GET", "/me", token=user["token"])[0] == 401
    assert "apiToken" not in extension.storage("apiToken")
