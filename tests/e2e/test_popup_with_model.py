"""The popup's "For you" after a retrain: personalised items whose reasons name papers the reader saved."""

from __future__ import annotations

import pytest

from .conftest import doc_screenshot

pytestmark = pytest.mark.browser

PAPERS = {
    "arxiv:2403.00001": "Community detection in large social networks",
    "arxiv:2403.00002": "Random walks for community detection on graphs",
    "arxiv:2403.00003": "Spectral clustering of sparse networks",
    "arxiv:2403.00004": "Link prediction in evolving social networks",
    "arxiv:2403.00011": "Protein folding with coevolution contacts",
    "arxiv:2403.00012": "Protein structure prediction from sequence alignments",
    "arxiv:2403.00013": "Molecular dynamics of protein binding sites",
}


def test_for_you_after_retrain_names_saved_papers(extension, live_backend):
    from server.services.training import run_retrain

    others = [live_backend.register() for _ in range(3)]
    for reader in others:
        live_backend.post_events(
            reader["token"],
            [
                {"type": kind, "paper": {"key": key, "title": title, "abstract": f"We study {title.lower()}."}}
                for key, title in PAPERS.items()
                for kind in ("open", "save")
            ],
        )
    user = live_backend.register()
    saved = ["arxiv:2403.00001", "arxiv:2403.00002"]
    for key in saved:
        status, _ = live_backend.api("PUT", f"/saves/{key}", token=user["token"])
        assert status == 200
    with live_backend.app.app_context():
        run_retrain(progress=False)

    extension.set_storage({"backendUrl": live_backend.url})
    popup = extension.ctx.new_page()
    popup.set_viewport_size({"width": 420, "height": 600})
    popup.goto(extension.url("popup/popup.html"))
    popup.get_by_label("Email").fill(user["email"])
    popup.get_by_label("Password").fill(user["password"])
    popup.get_by_role("button", name="Sign in").click()
    popup.locator("#items .item").first.wait_for(timeout=10_000)
    titles = popup.locator("#items .item a.title").all_inner_texts()
    assert titles[0] in {PAPERS["arxiv:2403.00003"], PAPERS["arxiv:2403.00004"]}, titles
    assert not {PAPERS[k] for k in saved} & set(titles)
    first_reasons = popup.locator("#items .item").first.locator(".reasons li").all_inner_texts()
    assert any(r.startswith("Similar to") and any(PAPERS[k] in r for k in saved) for r in first_reasons), first_reasons
    doc_screenshot(popup, "popup-for-you")
