"""Citation links of papers: imported with the catalog, stored as canonical keys, shown on the paper's page, and
read by the recommender at retrain ("Cites …" / "Cited by …" reasons)."""

import json

from sqlalchemy import select

from server.db import db
from server.models import Paper
from tests.api.helpers import assert_error_shape
from tests.api.test_me_admin import admin_headers

API = "/api/v1"
S2 = "s2:649def34f8be52c8b66281af98ae884c09aef38b"


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records))
    return path


def stored_references(app, key):
    with app.app_context():
        return db.session.scalar(select(Paper.references).where(Paper.key == key))


def test_import_stores_references_as_canonical_keys(app, client, runner, tmp_path):
    path = write_jsonl(
        tmp_path / "papers.jsonl",
        [
            {
                "key": "arxiv:2401.00001",
                "title": "Citing paper",
                "references": [
                    "https://arxiv.org/abs/2312.00002v3",  # URL with a version
                    "arXiv:2312.00002",  # the same paper again
                    "10.1145/3292500.3330701",  # a bare DOI
                    "https://arxiv.org/abs/2401.00001",  # itself: left out
                    S2,
                ],
            },
            {"key": "arxiv:2312.00002", "title": "Cited paper"},
        ],
    )
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output
    expected = ["arxiv:2312.00002", "doi:10.1145/3292500.3330701", S2]
    assert stored_references(app, "arxiv:2401.00001") == expected
    assert stored_references(app, "arxiv:2312.00002") == []
    page = client.get(f"{API}/papers/arxiv:2401.00001").get_json()
    assert page["references"] == expected
    # lists stay small: references only on the paper's own page
    listing = client.get(f"{API}/papers?q=citing").get_json()["items"]
    assert listing and all("references" not in p for p in listing)
    # a later import adds references, never drops the ones already stored
    again = write_jsonl(tmp_path / "more.jsonl", [{"key": "arxiv:2401.00001", "references": ["arxiv:2310.00009", S2]}])
    assert runner.invoke(args=["import-papers", str(again)]).exit_code == 0
    assert stored_references(app, "arxiv:2401.00001") == [*expected, "arxiv:2310.00009"]


def test_a_bad_reference_rejects_the_file_and_keeps_what_is_stored(app, runner, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"key": "arxiv:2401.00001", "references": ["arxiv:2312.00002"]}])
    assert runner.invoke(args=["import-papers", str(good)]).exit_code == 0
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"key": "arxiv:2401.00001", "references": ["arxiv:2311.00003"]},
            {"key": "arxiv:2401.00004", "references": ["arxiv:2312.00002", "not a paper"]},
        ],
    )
    result = runner.invoke(args=["import-papers", str(bad)])
    assert result.exit_code != 0
    assert "record 2" in result.output and "references" in result.output and "nothing was imported" in result.output
    assert stored_references(app, "arxiv:2401.00001") == ["arxiv:2312.00002"]
    assert stored_references(app, "arxiv:2401.00004") is None
    refs = [f"arxiv:2401.{i:05d}" for i in range(1001)]
    too_many = write_jsonl(tmp_path / "many.jsonl", [{"key": "arxiv:2401.00005", "references": refs}])
    result = runner.invoke(args=["import-papers", str(too_many)])
    assert result.exit_code != 0 and "references" in result.output


def test_admin_api_rejects_bad_references_with_the_error_shape(client, runner):
    headers = admin_headers(client, runner)
    bad = client.post(
        f"{API}/admin/papers",
        json={"papers": [{"key": "arxiv:2401.00001", "references": ["arxiv:2312.00002", "???"]}]},
        headers=headers,
    )
    body = assert_error_shape(bad, 422)
    assert "1" in body["errors"]["json"]["papers"]["0"]["references"]
    assert_error_shape(client.get(f"{API}/papers/arxiv:2401.00001"), 404)
    wrong_type = client.post(
        f"{API}/admin/papers", json={"papers": [{"key": "arxiv:2401.00001", "references": "arxiv:1"}]}, headers=headers
    )
    assert_error_shape(wrong_type, 422)
    ok = client.post(
        f"{API}/admin/papers",
        json={"papers": [{"key": "arxiv:2401.00001", "title": "One", "references": ["arxiv:2312.00002"]}]},
        headers=headers,
    )
    assert ok.get_json() == {"imported": 1}
    assert client.get(f"{API}/papers/arxiv:2401.00001").get_json()["references"] == ["arxiv:2312.00002"]
