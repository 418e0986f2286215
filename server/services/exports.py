"""A user's saves as files: BibTeX (as arXiv's own export writes arXiv papers), CSV and JSON.

BibTeX: arXiv papers are ``@misc`` entries with ``eprint``, ``archivePrefix = {arXiv}``, ``primaryClass`` and the
abstract page as ``url``; DOI papers are ``@article`` entries with ``doi``; others ``@misc`` with their URL.
Text is written as LaTeX (pylatexenc): ``&``, ``%``, ``$``, ``#``, ``_``, braces and non-ASCII letters are
escaped, so that BibTeX and biber read the file whatever the input encoding they assume.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from pylatexenc.latexencode import unicode_to_latex
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.keys import default_url
from server.models import Paper, Save

EXPORT_FORMATS = {
    "bibtex": ("application/x-bibtex", "bib"),
    "csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
}
CSV_COLUMNS = ("key", "title", "authors", "year", "date", "url", "doi", "arxiv_id", "saved_at")
# An arXiv category as arXiv writes it: cs.LG, math.AG, physics.comp-ph, or an archive without subjects (hep-th)
_ARXIV_CATEGORY = re.compile(
    r"[a-z][a-z\-]*\.[A-Za-z][A-Za-z\-]*|astro-ph|cond-mat|gr-qc|hep-ex|hep-lat|hep-ph|hep-th|math-ph|nucl-ex|nucl-th"
    r"|quant-ph"
)
_STOP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "and", "to", "with", "from", "by", "is", "are", "at"}


@dataclass(frozen=True)
class SavedPaper:
    paper: Paper
    saved_at: datetime


def saved_papers(session: Session, user_id: int) -> list[SavedPaper]:
    """Every save of the user with its paper, newest first."""
    rows = session.execute(
        select(Save, Paper)
        .join(Paper, Paper.id == Save.paper_id)
        .where(Save.user_id == user_id)
        .order_by(Save.saved_at.desc(), Save.paper_id.desc())
    )
    return [SavedPaper(paper, save.saved_at) for save, paper in rows]


@dataclass(frozen=True)
class ExportFile:
    text: str
    mimetype: str
    filename: str


def export_file(session: Session, user_id: int, fmt: str) -> ExportFile:
    """All the user's saves as a download in ``fmt`` (one of EXPORT_FORMATS): the API's and the web app's."""
    mimetype, extension = EXPORT_FORMATS[fmt]
    return ExportFile(export_saves(saved_papers(session, user_id), fmt), mimetype, f"paperscout-saves.{extension}")


def export_saves(saves: list[SavedPaper], fmt: str) -> str:
    """The saves as a file in ``fmt`` (one of EXPORT_FORMATS)."""
    if fmt == "bibtex":
        return to_bibtex(saves)
    if fmt == "csv":
        return to_csv(saves)
    if fmt == "json":
        return to_json(saves)
    raise ValueError(f"unknown export format {fmt!r}")


def _paper_url(paper: Paper) -> str | None:
    url = default_url(paper.key)
    if url:
        return url
    return paper.url if paper.url and paper.url.startswith(("http://", "https://")) else None


def _ids(key: str) -> tuple[str, str]:
    """(arXiv id, DOI) of a key, each "" when it is of another kind."""
    kind, _, rest = key.partition(":")
    return (rest if kind == "arxiv" else "", rest if kind == "doi" else "")


def _row(item: SavedPaper) -> dict[str, object]:
    paper = item.paper
    arxiv_id, doi = _ids(paper.key)
    published = paper.published_at
    return {
        "key": paper.key,
        "title": paper.title,
        "authors": list(paper.authors or []),
        "year": published.year if published else None,
        "date": published.date().isoformat() if published else None,
        "url": _paper_url(paper),
        "doi": doi or None,
        "arxiv_id": arxiv_id or None,
        "abstract": paper.abstract,
        "saved_at": item.saved_at.isoformat(),
    }


def to_json(saves: list[SavedPaper]) -> str:
    return json.dumps({"saves": [_row(s) for s in saves]}, indent=1, ensure_ascii=False) + "\n"


def to_csv(saves: list[SavedPaper]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for item in saves:
        row = _row(item)
        row["authors"] = "; ".join(row["authors"])  # type: ignore[arg-type]
        writer.writerow({k: "" if v is None else _csv_safe(str(v)) for k, v in row.items()})
    return out.getvalue()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection): quote it as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _latex(text: str) -> str:
    return unicode_to_latex(text, non_ascii_only=False, unknown_char_warning=False)


def _verbatim(text: str) -> str:
    return text.replace("{", "%7B").replace("}", "%7D")


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def citation_key(paper: Paper, taken: set[str]) -> str:
    """A citation key as arXiv makes them (first author's surname, year, first title word), unique in ``taken``."""
    surname = _ascii_word(paper.authors[0].split()[-1]) if paper.authors and paper.authors[0].split() else ""
    words = [_ascii_word(w) for w in paper.title.split()]
    first = next((w for w in words if w and w not in _STOP_WORDS), "")
    year = str(paper.published_at.year) if paper.published_at else ""
    base = (surname + year + first) or _ascii_word(paper.key) or "paper"
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}{n}"
    taken.add(key)
    return key


def _primary_class(paper: Paper) -> str:
    candidates = [paper.primary_category or "", *(paper.keywords or [])]
    return next((c for c in candidates if c and _ARXIV_CATEGORY.fullmatch(c)), "")


def bibtex_entry(paper: Paper, cite_key: str) -> str:
    arxiv_id, doi = _ids(paper.key)
    fields: list[tuple[str, str]] = [("title", _latex(paper.title))]
    if paper.authors:
        # Braces keep a name holding the word "and" one name.
        fields.append(
            ("author", " and ".join(_latex(a) if " and " not in a else "{" + _latex(a) + "}" for a in paper.authors))
        )
    if paper.published_at:
        fields.append(("year", str(paper.published_at.year)))
    if arxiv_id:
        fields += [("eprint", arxiv_id), ("archivePrefix", "arXiv")]
        if _primary_class(paper):
            fields.append(("primaryClass", _primary_class(paper)))
    # doi and url are verbatim fields (biblatex, hyperref): written as they are, only braces encoded
    if doi:
        fields.append(("doi", _verbatim(doi)))
    url = _paper_url(paper)
    if url:
        fields.append(("url", _verbatim(url)))
    if paper.abstract:
        fields.append(("abstract", _latex(paper.abstract)))
    kind = "article" if doi else "misc"
    body = ",\n".join(f"      {name}={{{value}}}" for name, value in fields)
    return f"@{kind}{{{cite_key},\n{body},\n}}\n"


def to_bibtex(saves: list[SavedPaper]) -> str:
    taken: set[str] = set()
    return "\n".join(bibtex_entry(s.paper, citation_key(s.paper, taken)) for s in saves)
