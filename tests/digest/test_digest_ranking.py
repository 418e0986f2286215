"""The digest ranks the papers new since the last one for its reader with the serving model: only those papers,
each with its reasons, never one the reader opened, saved or dismissed (without a model:
tests/digest/test_send_digests.py)."""

from __future__ import annotations

from server.services.recommendations import NO_MODEL_REASON
from tests.api.helpers import event

from .helpers import API, REASON, TITLE, import_fresh_papers, parts, switch_on, trained_community


def test_new_papers_are_ranked_for_each_reader_with_reasons(mail_app, client, runner, accounts, tmp_path, smtp_server):
    readers, saved_titles = trained_community(mail_app, accounts, tmp_path)
    fresh = import_fresh_papers(runner, tmp_path)
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
        # "New · similar to “X” you saved": X is one of the reader's saves
        similar = [r for r in reasons if r.startswith("New · similar to “") and r.endswith("” you saved")]
        assert len(similar) >= 2, reasons
        assert all(r.split("“")[1].split("”")[0] in saved_titles[user["email"]] for r in similar), reasons


def test_papers_the_reader_opened_saved_or_dismissed_are_not_in_their_digest(
    mail_app, client, runner, accounts, tmp_path, smtp_server
):
    readers, _ = trained_community(mail_app, accounts, tmp_path)
    fresh = import_fresh_papers(runner, tmp_path)  # three graph papers, then three protein ones
    reader = readers["graph"][0]
    mail_app.config["DIGEST_SIZE"] = 10
    # a minute ago, newer than the model: opened one, saved one, dismissed one
    kinds = {"open": fresh[0], "save": fresh[1], "dismiss": fresh[3]}
    marked = [event(kind, p["key"]) for kind, p in kinds.items()]
    assert client.post(f"{API}/events", json={"events": marked}, headers=reader["headers"]).status_code == 200
    switch_on(client, reader, "daily", "UTC", hour=0)

    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    [message] = smtp_server.to(reader["email"])
    shown = [t for _, t in TITLE.findall(parts(message)[1])]
    assert sorted(shown) == sorted(p["title"] for p in (fresh[2], fresh[4], fresh[5])), shown
