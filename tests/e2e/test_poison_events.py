"""A poison event queued first does not hold back the events after it (issue 12, defect 3, extension side).

The poison is an event the extension itself produces from a page, queued before ten good ones. Whatever the
server does with it (reject it in `rejected`, answer 400, or fail the whole batch with a 500), the ten good
events are stored and the poison ends in the options page's "not delivered" list.

Which events are poison depends on the database: PostgreSQL cannot store a NUL character, so before the server
checks events one by one, a batch holding an event whose title has a NUL fails with a 500 there; an over-long
DOI key is refused by the event schema on both databases. (A lone surrogate, which also makes SQLite fail,
cannot come from this extension in Chromium: chrome.storage turns it into U+FFFD before it is queued.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from .conftest import badge_text, wait_for
from .sites import add_arxiv_page, add_page

pytestmark = pytest.mark.browser

GOOD = [(f"2405.{10001 + n}", f"A good paper number {n + 1}") for n in range(10)]

# Single-page sites write their metadata from script, and a string from script can hold any character
# (HTML text cannot: the parser replaces NUL): the content script reads the title with the NUL in it.
NUL_TITLE_SCRIPT = """<script>
document.querySelector('meta[name="citation_title"]').setAttribute('content', 'Poisoned\\u0000title');
</script>"""

LONG_DOI = "10.1234/" + "x" * 400
S2_LONG_DOI_PATH = "/paper/An-Overlong-DOI/" + "ab" * 20
S2_LONG_DOI_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A paper with an over-long DOI | Semantic Scholar</title>
<meta name="citation_title" content="A paper with an over-long DOI">
<meta name="citation_doi" content="{LONG_DOI}">
</head><body><h1>A paper with an over-long DOI</h1></body></html>"""


@dataclass(frozen=True)
class Poison:
    name: str
    key: str
    title_part: str  # what of its title the "not delivered" list shows

    def url(self) -> str:
        if self.name == "nul-title":
            return add_arxiv_page("2405.19999", "Title set by the page", NUL_TITLE_SCRIPT)
        return add_page("www.semanticscholar.org", S2_LONG_DOI_PATH, S2_LONG_DOI_PAGE)


NUL_TITLE = Poison("nul-title", "arxiv:2405.19999", "Poisoned")
LONG_DOI_KEY = Poison("long-doi", f"doi:{LONG_DOI}", "A paper with an over-long DOI")


def visit_and_queue(ext, url: str, queued: int) -> None:
    page = ext.ctx.new_page()
    page.goto(url)
    assert badge_text(page) == "Save", url
    wait_for(lambda: len(ext.queue()) == queued, message=f"{queued} events in the queue")
    page.close()


@pytest.mark.parametrize(
    ("database", "poison"),
    [
        ("sqlite", LONG_DOI_KEY),
        pytest.param("postgres", NUL_TITLE, marks=pytest.mark.postgres),
        pytest.param("postgres", LONG_DOI_KEY, marks=pytest.mark.postgres),
    ],
    ids=["sqlite-long-doi", "postgres-nul-title", "postgres-long-doi"],
)
def test_poison_event_queued_first_does_not_hold_back_the_next_ten(extension, backend_on, database, poison):
    backend = backend_on(database)
    user = backend.register()
    # Signed out while the pages are visited: every event waits in the queue, the poison one first.
    extension.set_storage({"backendUrl": backend.url})
    visit_and_queue(extension, poison.url(), 1)
    for n, (arxiv_id, title) in enumerate(GOOD):
        visit_and_queue(extension, add_arxiv_page(arxiv_id, title), n + 2)
    queue = extension.queue()
    assert queue[0]["paper"]["key"] == poison.key
    if poison is NUL_TITLE:
        assert "\x00" in queue[0]["paper"]["title"], "the page's title reached the queue as it was"

    # Signing in starts a delivery; flushes are forced until the queue is empty (each split step would
    # otherwise wait for the next alarm). The number of flushes needed is bounded.
    extension.set_storage({"apiToken": user["token"], "user": {"email": user["email"]}})
    replies = []
    for _ in range(20):
        if not extension.queue():
            break
        replies.append(extension.send({"type": "paperscout:flush"}))
    assert extension.queue() == [], [r.get("error") for r in replies[:2]]

    for arxiv_id, _ in GOOD:
        assert backend.count_interactions(user["email"], f"arxiv:{arxiv_id}", "open") == 1, arxiv_id
    assert backend.query("SELECT count(*) FROM papers WHERE key = :key", key=poison.key) == [(0,)]

    undelivered = extension.storage("notDelivered")["notDelivered"]
    assert [(e["key"], e["type"]) for e in undelivered] == [(poison.key, "open")]
    assert undelivered[0]["reason"]
    status = extension.send({"type": "paperscout:status"})
    assert (status["queued"], status["notDelivered"]) == (0, 1)

    opts = extension.ctx.new_page()
    opts.goto(extension.url("options/options.html"))
    item = opts.locator("#undelivered li")
    item.first.wait_for(timeout=10_000)
    assert item.count() == 1
    assert poison.title_part in item.locator(".what").inner_text()
    assert item.locator(".type").inner_text() == "open"
    assert item.locator(".reason").inner_text() == f"Reason: {undelivered[0]['reason']}"
    opts.get_by_role("button", name="Clear list").click()
    opts.locator("#undelivered-empty").wait_for(state="visible", timeout=10_000)
    assert opts.locator("#undelivered li").count() == 0
    assert extension.storage("notDelivered")["notDelivered"] == []
