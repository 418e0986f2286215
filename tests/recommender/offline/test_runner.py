"""The runner reproduces the published protocol (TopPop row) and a quick run of the library's methods holds its
quality floor (real data, default config)."""

from __future__ import annotations

import json

import pytest

from recommender.offline.metrics import RECALL_KS
from recommender.offline.report import write_outputs
from recommender.offline.runner import PUBLISHED_TOPPOP_P10, run

# Hybrid Recall@300: .561 on all 5,139 users, .541 on this 300-user sample (seed 0), default config with the
# citation links; floor = measured minus a margin for BLAS/platform differences; see docs/evaluation.md.
HYBRID_RECALL300_FLOOR = 0.50


def test_toppop_reproduces_published_row(p10):
    res = run(p10, methods=["toppop"])
    m = res["methods"]["toppop"]
    assert res["n_users_evaluated"] == 5139
    for key, published in PUBLISHED_TOPPOP_P10.items():
        # published values are rounded to 4 decimals; we measure .0040/.0078/.0257
        assert abs(m[key] - published) <= 0.00015, (key, m[key], published)


@pytest.mark.slow
def test_quick_p10_run(p10, tmp_path):
    data = p10
    names = ("toppop", "text", "als", "cooccurrence", "hybrid")
    res = run(data, methods=list(names), n_users=300, seed=0)
    m = res["methods"]
    assert res["n_users_evaluated"] == 300
    assert res["text_fields"] == ["title", "tags", "abstract", "citations"]
    for name in names:
        for k in RECALL_KS:
            assert 0.0 <= m[name][f"recall@{k}"] <= 1.0
        assert m[name]["recall@300"] >= m[name]["recall@50"]
    assert m["hybrid"]["recall@300"] >= HYBRID_RECALL300_FLOOR
    for k in RECALL_KS:
        assert m["hybrid"][f"recall@{k}"] > m["toppop"][f"recall@{k}"]
    # the blend must not fall behind its components. Since the blends are chosen per catalog (blend_choice) the
    # full P=10 run beats every component at every cutoff (docs/evaluation.md), but on this 300-user sample the
    # hybrid is .0034 below its best component at @50 (.2522 vs .2557), hence the tolerance of .005
    for k in (50, 100, 300):
        best = max(m[c][f"recall@{k}"] for c in ("text", "als", "cooccurrence"))
        assert m["hybrid"][f"recall@{k}"] > best - 0.005
    paths = write_outputs(res, tmp_path)
    on_disk = json.loads(paths["results"].read_text())
    assert set(on_disk["methods"]) == set(names)
    assert {"recall@50", "ndcg@20", "coverage@50", "fit_seconds", "rank_ms_median", "rank_ms_p90"} <= set(
        on_disk["methods"]["hybrid"]
    )
    assert "report.md" in {p.name for p in tmp_path.iterdir()}
