"""Saves as files: export (BibTeX read back with bibtexparser, CSV, JSON) and import of BibTeX, Zotero CSV and
RIS exports (fixtures written from the formats' documentation), all or nothing, with a report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from sqlalchemy import func, select

from server.db import db
from server.models import Interaction, Paper, Save
from tests.api.helpers import assert_error_shape, database_refuses

API = "/api/v1"
FIXTURES = Path(__file__).parent / "fixtures"
TRICKY_TITLE = "Ünïcode & 50% of {braces} cost $5 #1 a_b ~ \\ in Müller's “quotes”"


def save(client, user, key, **paper):
    response = client.put(f"{API}/saves/{key}", json={"paper": paper} if paper else None, headers=user["headers"])
    assert response.status_code == 200, response.get_json()


def import_file(client, user, body, *, fmt: str | None = None, content_type: str = "text/plain", status: int = 200):
    url = f"{API}/saves/import" + (f"?format={fmt}" if fmt else "")
    response = client.post(url, data=body, headers={**user["headers"], "Content-Type": content_type})
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def saved_keys(client, user) -> set[str]:
    items = client.get(f"{API}/saves?limit=100", headers=user["headers"]).get_json()["items"]
    return {item["paper"]["key"] for item in items}


def load_papers(runner, tmp_path, records):
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Paper, Save, Interaction))


def parse_bibtex(text: str):
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    return {
        e.key: {k: str(v.value) for k, v in e.fields_dict.items()} | {"type": e.entry_type} for e in library.entries
    }


@pytest.fixture
def library(client, runner, accounts, tmp_path):
    """A reader with an arXiv paper (with its category), a DOI paper, an OpenReview paper and a tricky title."""
    load_papers(
        runner,
        tmp_path,
        [
            {
                "key": "arxiv:1706.03762",
                "title": "Attention Is All You Need",
                "authors": ["Ashish Vaswani", "Noam Shazeer"],
                "keywords": ["cs.CL", "cs.LG"],
                "published_at": "2017-06-12T00:00:00Z",
            },
            {
                "key": "doi:10.1000/ab_c(1)",
                "title": "A DOI paper",
                "authors": ["Grace Hopper"],
                "published_at": "2020-05-01",
            },
        ],
    )
    user = accounts.new()
    save(client, user, "arxiv:1706.03762")
    save(client, user, "doi:10.1000/ab_c(1)")
    save(client, user, "openreview:rJXMpikCZ", title="Graph Attention Networks", authors=["Petar Veličković"])
    save(client, user, "arxiv:2401.00001", title=TRICKY_TITLE, authors=["Jörg Müller", "Anne-Marie O'Neil"])
    return user


def test_bibtex_export_is_arxivs_format_and_parses(client, library):
    response = client.get(f"{API}/saves/export?format=bibtex", headers=library["headers"])
    assert response.status_code == 200 and response.mimetype == "application/x-bibtex"
    assert response.headers["Content-Disposition"] == 'attachment; filename="paperscout-saves.bib"'
    assert response.headers["Cache-Control"] == "no-store"
    entries = parse_bibtex(response.get_data(as_text=True))
    by_title = {e["title"]: e for e in entries.values()}
    attention = by_title["Attention Is All You Need"]
    assert attention["type"] == "misc" and attention["eprint"] == "1706.03762"
    assert attention["archivePrefix"] == "arXiv" and attention["primaryClass"] == "cs.CL"
    assert attention["author"] == "Ashish Vaswani and Noam Shazeer" and attention["year"] == "2017"
    assert attention["url"] == "https://arxiv.org/abs/1706.03762"
    assert "vaswani2017attention" in entries
    doi = by_title["A DOI paper"]
    assert doi["type"] == "article" and doi["doi"] == "10.1000/ab_c(1)" and "eprint" not in doi
    assert by_title["Graph Attention Networks"]["url"] == "https://openreview.net/forum?id=rJXMpikCZ"
    tricky = by_title[TRICKY_TITLE]
    assert tricky["author"] == "Jörg Müller and Anne-Marie O'Neil"
    assert len(entries) == 4


def test_csv_and_json_exports(client, library):
    response = client.get(f"{API}/saves/export?format=csv", headers=library["headers"])
    assert response.mimetype == "text/csv" and "paperscout-saves.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["key", "title", "authors", "year", "date", "url", "doi", "arxiv_id", "saved_at"]
    by_key = {r["key"]: r for r in rows}
    assert by_key["arxiv:1706.03762"]["authors"] == "Ashish Vaswani; Noam Shazeer"
    assert by_key["arxiv:1706.03762"]["date"] == "2017-06-12" and by_key["arxiv:1706.03762"]["arxiv_id"] == "1706.03762"
    assert by_key["doi:10.1000/ab_c(1)"]["doi"] == "10.1000/ab_c(1)" and by_key["doi:10.1000/ab_c(1)"]["year"] == "2020"
    assert by_key["arxiv:2401.00001"]["title"] == TRICKY_TITLE
    body = client.get(f"{API}/saves/export?format=json", headers=library["headers"]).get_json()
    first = body["saves"][0]
    assert (
        first["key"] == "arxiv:2401.00001" and first["saved_at"] and first["url"] == "https://arxiv.org/abs/2401.00001"
    )
    assert {s["key"] for s in body["saves"]} == {r["key"] for r in rows}


def test_csv_export_defuses_spreadsheet_formulas(client, accounts):
    user = accounts.new()
    save(client, user, "arxiv:2401.00002", title='=HYPERLINK("http://evil")')
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(f"{API}/saves/export?format=csv", headers=user["headers"]).get_data(as_text=True))
        )
    )
    assert rows[0]["title"].startswith("'=")


@pytest.mark.parametrize("query", ["format=pdf", "format=", "fmt=csv"])
def test_bad_export_arguments(client, accounts, query):
    user = accounts.new()
    assert_error_shape(client.get(f"{API}/saves/export?{query}", headers=user["headers"]), 422)


def test_export_needs_a_user(client):
    assert_error_shape(client.get(f"{API}/saves/export"), 401)
    assert_error_shape(client.post(f"{API}/saves/import", data="@misc{a,}"), 401)


def test_bibtex_round_trip_into_another_account(client, accounts, library):
    exported = client.get(f"{API}/saves/export?format=bibtex", headers=library["headers"]).get_data()
    other = accounts.new()
    report = import_file(client, other, exported)
    assert report["format"] == "bibtex" and report["entries"] == 4 and report["newly_saved"] == 4
    assert report["created"] == [] and report["skipped"] == []
    assert saved_keys(client, other) == saved_keys(client, library)
    again = import_file(client, other, exported)
    assert again["newly_saved"] == 0 and all(item["already_saved"] for item in again["matched"])


def test_bibtex_import_creates_unknown_papers_from_the_file(app, client, accounts, tmp_path):
    user = accounts.new()
    report = import_file(client, user, (FIXTURES / "library.bib").read_bytes())
    assert report["entries"] == 5 and report["newly_saved"] == 3
    created = {item["key"]: item for item in report["created"]}
    assert set(created) == {"arxiv:1706.03762", "doi:10.1038/s41586-021-03819-2", "arxiv:1512.03385"}
    skipped = {item["entry"]: item for item in report["skipped"]}
    assert skipped[4]["label"] == "bishop2006pattern" and "no arXiv id, DOI" in skipped[4]["reason"]
    assert skipped[5]["reason"] == "the same paper as entry 1"
    paper = client.get(f"{API}/papers/doi:10.1038/s41586-021-03819-2").get_json()
    assert paper["title"] == "Highly accurate protein structure prediction with AlphaFold"
    assert paper["authors"] == ["John Jumper", "Richard Evans", "Augustin Žídek"]
    assert (
        paper["published_at"].startswith("2021-08-01") and paper["url"] == "https://doi.org/10.1038/s41586-021-03819-2"
    )
    with app.app_context():
        logged = db.session.scalars(select(Interaction.context).where(Interaction.user_id == user["id"])).all()
    assert len(logged) == 3 and all(c["via"] == "import" for c in logged)


def test_zotero_csv_import(client, accounts, runner, tmp_path):
    load_papers(runner, tmp_path, [{"key": "doi:10.1038/s41586-021-03819-2", "title": "AlphaFold (catalog title)"}])
    user = accounts.new()
    report = import_file(client, user, (FIXTURES / "zotero.csv").read_bytes(), content_type="text/csv")
    assert report["format"] == "csv" and report["entries"] == 5
    assert [i["key"] for i in report["matched"]] == ["doi:10.1038/s41586-021-03819-2"]
    assert [i["key"] for i in report["created"]] == ["arxiv:1706.03762", "arxiv:1512.03385"]
    assert [(s["entry"], s["reason"]) for s in report["skipped"]] == [
        (4, "no arXiv id, DOI or paper URL of a known site"),
        (5, "the same paper as entry 1"),
    ]
    attention = client.get(f"{API}/papers/arxiv:1706.03762").get_json()
    assert attention["authors"] == ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"]
    assert attention["published_at"].startswith("2017-06-12") and attention["abstract"].startswith("The dominant")
    # the catalog's own metadata (an admin import) is not overwritten by a reader's file
    assert client.get(f"{API}/papers/doi:10.1038/s41586-021-03819-2").get_json()["title"] == "AlphaFold (catalog title)"


def test_ris_import_as_a_form_upload(client, accounts):
    user = accounts.new()
    data = {"file": (io.BytesIO((FIXTURES / "library.ris").read_bytes()), "My Library.ris")}
    response = client.post(
        f"{API}/saves/import", data=data, headers=user["headers"], content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["format"] == "ris" and report["entries"] == 4
    assert [i["key"] for i in report["created"]] == [
        "arxiv:1706.03762",
        "doi:10.1038/s41586-021-03819-2",
        "openreview:rJXMpikCZ",
    ]
    assert [s["entry"] for s in report["skipped"]] == [4]
    attention = client.get(f"{API}/papers/arxiv:1706.03762").get_json()
    assert attention["abstract"].endswith("recurrent or convolutional neural networks.")
    assert client.get(f"{API}/papers/openreview:rJXMpikCZ").get_json()["authors"] == ["Petar Veličković"]


BAD_FILES = [
    ("bibtex", b"@article{broken,\n  title = {Unclosed,\n  year = 2020\n", "cannot be parsed"),
    ("ris", b"TY  - JOUR\nTI  - No end record\n", "no ER line"),
    ("ris", b"TI  - outside\nER  - \n", "outside a record"),
    ("csv", b"Foo,Bar\n1,2\n", "no Title, Key, DOI or Url column"),
    ("csv", b'Title,DOI\n"A",10.1/x,extra\n', "more cells than the header"),
    (None, b"\xff\xfe\x00junk", "not UTF-8"),
    (None, b"just some words", "Cannot tell the file's format"),
    ("bibtex", b"% only a comment\n", "No entries found"),
]


@pytest.mark.parametrize(("fmt", "body", "message"), BAD_FILES)
def test_unreadable_files_are_400_and_store_nothing(app, client, accounts, fmt, body, message):
    user = accounts.new()
    before = counts(app)
    error = assert_error_shape(
        client.post(
            f"{API}/saves/import" + (f"?format={fmt}" if fmt else ""),
            data=body,
            headers={**user["headers"], "Content-Type": "text/plain"},
        ),
        400,
    )
    assert message in error["message"] and "Nothing was imported" in error["message"] and error["errors"]["file"]
    assert counts(app) == before


def test_empty_upload_missing_field_and_bad_format_parameter(client, accounts):
    user = accounts.new()
    assert_error_shape(client.post(f"{API}/saves/import", data=b"  \n", headers=user["headers"]), 400)
    form = client.post(
        f"{API}/saves/import", data={"other": "x"}, headers=user["headers"], content_type="multipart/form-data"
    )
    assert assert_error_shape(form, 400)["errors"] == {"file": ["missing"]}
    assert_error_shape(client.post(f"{API}/saves/import?format=pdf", data=b"x", headers=user["headers"]), 422)


def test_size_limit(app, client, accounts):
    app.config["IMPORT_MAX_BYTES"] = 1000
    user = accounts.new()
    body = (FIXTURES / "library.bib").read_bytes() + b"\n%" + b"x" * 1000
    response = client.post(f"{API}/saves/import", data=body, headers={**user["headers"], "Content-Type": "text/plain"})
    assert "1000 bytes" in assert_error_shape(response, 413)["message"]
    assert saved_keys(client, user) == set()


def test_all_or_nothing_when_the_database_refuses_one_entry(app, client, accounts):
    user = accounts.new()
    save(client, user, "arxiv:2401.00009", title="Saved before")
    before = counts(app)
    bib = (FIXTURES / "library.bib").read_text().replace("Deep Residual Learning", "Deep poison Learning")
    with database_refuses(app, "papers", "title", "poison"):
        response = client.post(
            f"{API}/saves/import", data=bib.encode(), headers={**user["headers"], "Content-Type": "text/plain"}
        )
        error = assert_error_shape(response, 422)
    assert "nothing was imported" in error["message"]
    assert counts(app) == before and saved_keys(client, user) == {"arxiv:2401.00009"}


def test_import_saves_command(client, runner, accounts, tmp_path):
    user = accounts.new()
    result = runner.invoke(args=["import-saves", "--user", user["email"].upper(), str(FIXTURES / "library.ris")])
    assert result.exit_code == 0, result.output
    assert "4 entries, 0 matched, 3 created, 1 skipped; 3 newly saved" in result.output
    assert "skipped entry 4 (Pattern Recognition and Machine Learning)" in result.output
    assert len(saved_keys(client, user)) == 3
    bad = tmp_path / "bad.bib"
    bad.write_text("@article{x, title={open")
    result = runner.invoke(args=["import-saves", "--user", user["email"], str(bad)])
    assert result.exit_code != 0 and "Nothing was imported" in result.output
    result = runner.invoke(args=["import-saves", "--user", "nobody@example.org", str(bad)])
    assert result.exit_code != 0 and "no user" in result.output


def test_exported_bibtex_reads_back_with_the_same_metadata(client, library):
    """What a new catalog would create from the export: the same keys, titles, authors and years."""
    from server.services.reference_files import parse_bibtex

    bib = client.get(f"{API}/saves/export?format=bibtex", headers=library["headers"]).get_data(as_text=True)
    saves = client.get(f"{API}/saves/export?format=json", headers=library["headers"]).get_json()["saves"]
    entries = parse_bibtex(bib)
    assert [e.keys[0] for e in entries] == [s["key"] for s in saves]
    assert [e.title for e in entries] == [s["title"] for s in saves]
    assert [e.authors for e in entries] == [s["authors"] for s in saves]
    assert [e.published_at.year if e.published_at else None for e in entries] == [s["year"] for s in saves]


@pytest.mark.parametrize(
    ("text", "filename", "expected"),
    [
        ("% Encoding: UTF-8\n\n@Article{x, title={a}}", "", "bibtex"),
        ("Prose before the entries is a BibTeX comment\n@misc{a,\n}", "", "bibtex"),
        ("TY  - JOUR\nTI  - x\nER  - \n", "", "ris"),
        ('"Key","Title","Abstract Note"\n"x","y","a line\n@misc{a,"\n', "", "csv"),
        ("anything", "library.RIS", "ris"),
        ("just words", "", None),
    ],
)
def test_format_detection(text, filename, expected):
    from server.services.reference_files import detect_format

    assert detect_format(text, filename) == expected
