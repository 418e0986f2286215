"""Issue 12, defect 8: `flask --app server import-papers FILE` answers every bad file with one clean line that
names the record, a non-zero exit code and nothing stored; compatibility forms of a key are one paper."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from server.db import db
from server.models import Paper
from tests.api.helpers import database_refuses

GOOD = {"key": "arxiv:2401.00001", "title": "A good paper"}


def paper_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Paper))


def jsonl(*lines: str) -> bytes:
    return "\n".join(lines).encode()


BAD_FILES = {
    "not UTF-8": (jsonl(json.dumps(GOOD)) + b'\n{"key": "arxiv:2401.00002", "title": "caf\xe9"}', "line 2", "UTF-8"),
    "lone surrogate": (
        jsonl(json.dumps(GOOD), '{"key": "arxiv:2401.00002", "title": "\\ud800"}'),
        "record 2",
        "surrogate",
    ),
    "NUL escape": (jsonl(json.dumps(GOOD), '{"key": "arxiv:2401.00002", "abstract": "a\\u0000b"}'), "record 2", "NUL"),
    "raw NUL byte": (jsonl(json.dumps(GOOD)) + b'\n{"key": "arxiv:2401.00002", "title": "a\x00b"}', "record 2", "JSON"),
    "deep nesting (lines)": (
        jsonl(json.dumps(GOOD), '{"key": "arxiv:2401.00002", "title": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "record 2",
        "nested deeper",
    ),
    "deep nesting (array)": (
        ("[" + json.dumps(GOOD) + ", " + "[" * 100_000 + "]" * 100_000 + "]").encode(),
        "record 2",
        "nested deeper",
    ),
    "over-long key": (jsonl(json.dumps(GOOD), json.dumps({"key": "doi:10.1234/" + "a" * 400})), "record 2", "key"),
    "over-long URL key": (
        jsonl(json.dumps({"url": "https://doi.org/10.1234/" + "b" * 290}), json.dumps(GOOD)),
        "record 1",
        "longer than 300",
    ),
    "huge integer": (
        jsonl(json.dumps(GOOD), '{"key": "arxiv:2401.00002", "title": ' + "9" * 5000 + "}"),
        "record 2",
        "",
    ),
    "non-finite number": (
        b'[{"key": "arxiv:2401.00002"}, {"key": "arxiv:2401.00003", "title": 1e999}]',
        "record 2",
        "",
    ),
    "broken array": (b'[{"key": "arxiv:2401.00002"}, {"key": "arxiv:2401.0', "record 2", "JSON"),
    "not an object": (jsonl(json.dumps(GOOD), "42"), "record 2", "_schema"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_gets_one_clean_line_and_stores_nothing(app, runner, tmp_path, name):
    content, where, why = BAD_FILES[name]
    path = tmp_path / "papers.json"
    path.write_bytes(content)
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    output = result.output.strip()
    assert len(output.splitlines()) == 1, output
    assert "Traceback" not in output and "[SQL" not in output and "parameters" not in output
    assert where in output and why in output and "papers.json" in output, output
    assert len(output) < 400
    assert paper_count(app) == 0


def test_the_database_refusing_a_record_names_it_and_stores_nothing(app, runner, tmp_path):
    path = tmp_path / "papers.jsonl"
    records = [GOOD, {"key": "arxiv:2401.00002", "title": "poison"}, {"key": "arxiv:2401.00003", "title": "ok"}]
    path.write_text("\n".join(json.dumps(r) for r in records))
    with database_refuses(app, "papers", "title"):
        result = runner.invoke(args=["import-papers", str(path)])
    output = result.output.strip()
    assert result.exit_code != 0 and len(output.splitlines()) == 1, output
    assert "record 2" in output and "arxiv:2401.00002" in output and "nothing was imported" in output
    assert "poison" not in output  # the database's message and parameters stay out
    assert paper_count(app) == 0


def test_several_bad_records_are_each_named(runner, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join([json.dumps(GOOD), '{"title": 1}', json.dumps(GOOD), '{"key": "x"}']))
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code != 0
    assert "record 2" in result.output and "record 4" in result.output and "2 invalid records" in result.output


def test_full_width_digits_name_the_same_paper(app, runner, client, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"key": "arxiv:2401.01234", "title": "ASCII"}, ensure_ascii=False),
                json.dumps({"key": "arxiv:２４０１.０１２３４", "abstract": "Full-width"}, ensure_ascii=False),
                json.dumps(
                    {"url": "https://arxiv.org/abs/２４０１.０１２３４ｖ２", "keywords": ["x"]}, ensure_ascii=False
                ),
            ]
        ),
        encoding="utf-8",
    )
    result = runner.invoke(args=["import-papers", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 1 papers" in result.output
    assert paper_count(app) == 1
    page = client.get("/api/v1/papers/arxiv:２４０１.０１２３４").get_json()
    assert (page["key"], page["title"], page["abstract"], page["keywords"]) == (
        "arxiv:2401.01234",
        "ASCII",
        "Full-width",
        ["x"],
    )
