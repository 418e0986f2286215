"""The digest ranks the papers new since the last one for its reader with the serving model (only those papers,
each with its reasons), and says plainly when no model has been trained yet."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from server.db import db
from server.models import Paper
from server.services.recommendations import NO_MODEL_REASON
from tests.server.catalog import GRAPH_KEYS, PROTEIN_KEYS, papers
from tests.server.test_recommendations import retrain, save_all

from .helpers import REASON, TITLE, import_papers, parts, switch_on

NEW_GRAPH = ["overlapping community detection", "graph neural networks for link prediction", "random walk embeddings"]
NEW_PROTEIN = ["protein folding pathways", "protein docking of antibodies", "protein design of enzymes"]


def test_new_papers_are_ranked_for_each_reader_with_reasons(mail_app, client, runner, accounts, tmp_path, smtp_server):
    import_papers(runner, tmp_path, papers())
    titles = {p["key"]: p["title"] for p in papers()}
    saved_titles: dict[str, set[str]] = {}
    rng = random.Random(3)
    readers = {}
    for group, keys in (("graph", GRAPH_KEYS), ("protein", PROTEIN_KEYS)):
        for i in range(6):
            user = accounts.new(f"{group}{i}@example.org")
            mine = rng.sample(keys, 6)
            save_all(client, user, mine)
            saved_titles[user["email"]] = {titles[k] for k in mine}
            readers.setdefault(group, []).append(user)
    retrain(runner)
    with mail_app.app_context():  # the catalog came in days ago: older than any first digest looks back
        db.session.execute(update(Paper).values(created_at=datetime.now(UTC) - timedelta(days=3)))
        db.session.commit()
    # the day's new papers, which the model has never seen: it ranks them by their text
    fresh = [
        {**p, "key": f"arxiv:2612.{i:05d}", "title": p["title"].replace("Scalable", "Faster")}
        for i, p in enumerate(papers(NEW_GRAPH, NEW_PROTEIN))
    ]
    import_papers(runner, tmp_path, fresh, "fresh.jsonl")
    graph_reader, protein_reader = readers["graph"][0], readers["protein"][0]
    mail_app.config["DIGEST_SIZE"] = 4
    for user in (graph_reader, protein_reader):
        switch_on(client, user, "daily", "UTC", hour=0)

    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0 and "2 sent" in result.output, result.output
    new_titles = {p["title"]: p for p in fresh}
    for user, own in ((graph_reader, "networks"), (protein_reader, "structure")):
        [message] = smtp_server.to(user["email"])
        _, html = parts(message)
        shown = [t for _, t in TITLE.findall(html)]
        # only papers new since the last digest, never the reader's own; the best is of their field, and all three
        # of their field are in (the model diversifies its order, so a fourth may come from the other field)
        assert len(shown) == 4 and set(shown) <= set(new_titles), shown
        assert shown[0].endswith(own) and sum(t.endswith(own) for t in shown) == 3, shown
        reasons = REASON.findall(html)
        assert NO_MODEL_REASON not in reasons
        similar = [r for r in reasons if r.startswith("Similar to")]
        assert len(similar) >= 2, reasons
        assert all(r.split("“")[1].rstrip("”") in saved_titles[user["email"]] for r in similar), reasons
