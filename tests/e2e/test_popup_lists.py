"""The popup's lists in headless Chromium against the real backend after a retrain: the New tab with its 1d/7d
choice and dates, expandable abstracts, "More" paging (the saves' cursor and a longer top list for search),
search, "More like this"; and the on-page badge saying when the reader opened or saved the paper before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .conftest import badge_text, doc_screenshot, wait_for
from .test_extension_browser import ABS_KEY, ABS_URL, sign_in

pytestmark = pytest.mark.browser

NOW = datetime.now(UTC)
OLD_GRAPH = {f"arxiv:2001.{i:05d}": f"Graph neural networks for community structure, part {i}" for i in range(1, 23)}
NEW_TODAY = {
    "arxiv:2612.00001": "Graph transformers for community detection",
    "arxiv:2612.00002": "Graph pooling for large community networks",
    "arxiv:2612.00003": "Message passing graph networks at scale",
    "arxiv:2612.00004": "Protein folding with coevolution contacts",
}
NEW_THIS_WEEK = {"arxiv:2612.00005": "Graph sampling for community detection"}


def _paper(key: str, title: str, published: datetime) -> dict:
    return {
        "key": key,
        "title": title,
        "abstract": f"We study {title.lower()}. This abstract is long enough to be folded away in the popup.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "published_at": published.isoformat(),
    }


def catalog() -> list[dict]:
    old = [_paper(k, t, datetime(2020, 1, 15, tzinfo=UTC)) for k, t in OLD_GRAPH.items()]
    today = [_paper(k, t, NOW - timedelta(hours=2)) for k, t in NEW_TODAY.items()]
    week = [_paper(k, t, NOW - timedelta(days=3)) for k, t in NEW_THIS_WEEK.items()]
    return old + today + week


def day_text(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


@pytest.fixture(scope="module")
def reader(backend):
    """Three readers who opened and saved the catalogue, a reader who saved the 22 older graph papers, and a
    retrained model."""
    from server.services.training import run_retrain

    papers = catalog()
    for _ in range(3):
        other = backend.register()
        backend.post_events(other["token"], [{"type": t, "paper": p} for p in papers for t in ("open", "save")])
    user = backend.register()
    backend.post_events(user["token"], [{"type": "save", "paper": {"key": k}} for k in OLD_GRAPH])
    with backend.app.app_context():
        run_retrain(progress=False)
    return user


def open_popup(extension, backend, user):
    sign_in(extension, backend, user)
    popup = extension.ctx.new_page()
    popup.set_viewport_size({"width": 420, "height": 600})
    popup.goto(extension.url("popup/popup.html"))
    return popup


def keys(popup) -> list[str]:
    return popup.locator("#items .item").evaluate_all("items => items.map(i => i.dataset.key)")


def test_new_tab_lists_new_papers_with_dates_and_abstracts(extension, live_backend, reader):
    popup = open_popup(extension, live_backend, reader)
    popup.get_by_role("tab", name="New").click()
    popup.get_by_role("radio", name="the last day").wait_for()
    assert popup.get_by_role("radio", name="the last day").is_checked()
    wait_for(lambda: set(keys(popup)) == set(NEW_TODAY), message="the papers of the last day", timeout=15)
    first = popup.locator("#items .item").first
    assert first.locator("time.date").inner_text() == day_text(NOW - timedelta(hours=2))
    assert first.locator(".reasons li").first.inner_text().startswith("New")
    # The abstract is folded; opening it shows the text.
    abstract = first.locator("details.abstract p")
    assert not abstract.is_visible()
    first.locator("details.abstract summary").click()
    assert abstract.is_visible() and abstract.inner_text().startswith("We study")
    doc_screenshot(popup, "popup-new")

    # The last 7 days reach further back; the choice is kept for the next time the popup opens.
    popup.get_by_role("radio", name="the last 7 days").check()
    wait_for(lambda: set(keys(popup)) == set(NEW_TODAY) | set(NEW_THIS_WEEK), message="the week", timeout=15)
    week = popup.locator(f'#items .item[data-key="{next(iter(NEW_THIS_WEEK))}"] time.date')
    assert week.inner_text() == day_text(NOW - timedelta(days=3))
    assert extension.storage("popupNewSince") == {"popupNewSince": "7d"}
    popup.reload()
    popup.get_by_role("tab", name="New").click()
    assert popup.get_by_role("radio", name="the last 7 days").is_checked()
    wait_for(lambda: len(keys(popup)) == 5, message="the week again", timeout=15)


def test_saved_pages_with_more(extension, live_backend, reader):
    popup = open_popup(extension, live_backend, reader)
    popup.get_by_role("tab", name="Saved").click()
    wait_for(lambda: len(keys(popup)) == 20, message="the first 20 saves", timeout=15)
    more = popup.get_by_role("button", name="More", exact=True)
    assert more.is_visible()
    more.click()
    wait_for(lambda: len(keys(popup)) == 22, message="all 22 saves", timeout=15)
    assert sorted(keys(popup)) == sorted(OLD_GRAPH)  # each once
    assert not more.is_visible()  # nothing more to load
    # Focus goes on where reading continues: the first paper of the new page.
    assert popup.evaluate("() => document.activeElement.closest('.item').dataset.key") == keys(popup)[20]


def test_search_pages_and_goes_back(extension, live_backend, reader):
    popup = open_popup(extension, live_backend, reader)
    popup.locator("#items .item").first.wait_for(timeout=15_000)
    popup.get_by_role("searchbox", name="Search papers").fill("graph community")
    popup.get_by_role("button", name="Search").click()
    popup.get_by_role("heading", name="Search results for “graph community”").wait_for()
    expected = {k for k, t in {**OLD_GRAPH, **NEW_TODAY, **NEW_THIS_WEEK}.items() if "Graph" in t and "ommunity" in t}
    assert len(expected) > 20
    wait_for(lambda: len(keys(popup)) == 20, message="the first 20 results", timeout=15)
    popup.get_by_role("button", name="More", exact=True).click()
    wait_for(lambda: set(keys(popup)) == expected, message="every result, once", timeout=15)
    assert len(keys(popup)) == len(expected)
    popup.evaluate("() => window.scrollTo(0, 0)")
    doc_screenshot(popup, "popup-search")
    popup.get_by_role("button", name="Back").click()
    assert popup.get_by_role("tab", name="For you").get_attribute("aria-selected") == "true"
    assert not popup.get_by_role("heading", name="Search results").is_visible()
    popup.get_by_role("searchbox", name="Search papers").fill("zzzz nothing")
    popup.keyboard.press("Enter")
    popup.locator("#state").get_by_text("No papers match “zzzz nothing”.").wait_for(timeout=15_000)


def test_more_like_this(extension, live_backend, reader):
    popup = open_popup(extension, live_backend, reader)
    popup.get_by_role("tab", name="Saved").click()
    item = popup.locator("#items .item").first
    item.wait_for(timeout=15_000)
    key = item.get_attribute("data-key")
    item.get_by_role("button", name=f"More papers like “{OLD_GRAPH[key]}”").click()
    popup.get_by_role("heading", name=f"More like “{OLD_GRAPH[key]}”").wait_for()
    wait_for(lambda: keys(popup), message="similar papers", timeout=15)
    similar = keys(popup)
    assert key not in similar
    assert all("ommunity" in t or "raph" in t for t in popup.locator("#items .item a.title").all_inner_texts())
    assert popup.locator("#items .item .reasons li").all_inner_texts()
    doc_screenshot(popup, "popup-more-like-this")
    popup.get_by_role("button", name="Back").click()
    assert popup.get_by_role("tab", name="Saved").get_attribute("aria-selected") == "true"
    wait_for(lambda: len(keys(popup)) == 20, message="the Saved list again", timeout=15)


def test_badge_says_when_the_paper_was_opened_and_saved_before(extension, live_backend):
    user = live_backend.register()
    sign_in(extension, live_backend, user)
    # Opened three days ago on Hugging Face, saved two days ago: the arXiv page of the same paper knows.
    live_backend.post_events(
        user["token"],
        [
            {
                "type": "open",
                "paper": {"url": "https://huggingface.co/papers/2401.01234"},
                "occurred_at": (NOW - timedelta(days=3)).isoformat(),
            },
            {"type": "save", "paper": {"key": ABS_KEY}, "occurred_at": (NOW - timedelta(days=2)).isoformat()},
        ],
    )
    page = extension.ctx.new_page()
    page.goto(ABS_URL)
    seen = page.locator("#paperscout-badge .seen")
    wait_for(lambda: seen.inner_text() == "Saved 2 days ago · opened 3 days ago", message="the seen line")
    assert badge_text(page) == "Saved"
    # This visit's open is not "before": a reload still says three days.
    wait_for(lambda: live_backend.count_interactions(user["email"], ABS_KEY, "open") == 2, message="this open")
    page.reload()
    wait_for(lambda: seen.inner_text() == "Saved 2 days ago · opened 3 days ago", message="the line after reload")
    # Unsaved here: the old save is no longer true.
    page.locator("#paperscout-badge button.save").click()
    wait_for(lambda: badge_text(page) == "Save", message="the unsave")
    assert seen.inner_text() == "Opened 3 days ago"
    doc_screenshot(page.locator("#paperscout-badge .wrap"), "badge-seen")

    # A paper never seen before: no line at all.
    fresh = extension.ctx.new_page()
    fresh.goto("https://arxiv.org/abs/hep-th/9901001v2")
    assert badge_text(fresh) == "Save"
    fresh.wait_for_timeout(500)
    assert not fresh.locator("#paperscout-badge .seen").is_visible()
