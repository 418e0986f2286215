"""Reading reference-manager exports (BibTeX, Zotero CSV, RIS) into entries with candidate paper keys.

Every entry keeps its position in the file and each identifier it carries, turned into canonical keys
(server/keys.py), best first: an arXiv id (``eprint``, an arXiv URL, ``arXiv:<id>`` in a journal, note or
"Extra" field, arXiv's own DOI 10.48550/arXiv.<id>), then its DOI, then the key of a paper URL on another
known site. A file that cannot be read as its format raises BadReferenceFile saying where; an entry without
any identifier is still returned (the import reports it as skipped).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import bibtexparser
from bibtexparser.model import DuplicateBlockKeyBlock, ParsingFailedBlock
from pylatexenc.latex2text import LatexNodes2Text

from server.keys import InvalidKey, canonical_key, key_from_url

IMPORT_FORMATS = ("bibtex", "csv", "ris")
MAX_ENTRIES = 5000
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv:\s*|arxiv\.org/(?:abs|pdf)/)([0-9]{4}\.[0-9]{4,5}(?:v[0-9]+)?|[a-z][a-z\-]+(?:\.[A-Z]{2})?/[0-9]{7})",
    re.IGNORECASE,
)
_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(.+)", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_DATE = re.compile(r"([0-9]{4})(?:[-/]([0-9]{1,2})(?:[-/]([0-9]{1,2}))?)?")
_RIS_LINE = re.compile(r"([A-Z][A-Z0-9])  -(?: (.*))?")
_BIB_NAME_SPLIT = re.compile(r"\s+and\s+", re.IGNORECASE)


class BadReferenceFile(ValueError):
    """The file cannot be read as the format it claims; the message says where. ``problems`` lists them."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


@dataclass
class ReferenceEntry:
    number: int  # 1-based position among the file's entries
    label: str  # how the report names it: the citation key, the title, or "entry N"
    title: str = ""
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    published_at: datetime | None = None
    keys: list[str] = field(default_factory=list)  # candidate canonical keys, best first


def _key_or_none(value: str) -> str | None:
    try:
        return canonical_key(value)
    except InvalidKey:
        return None


def candidate_keys(*, eprint: str = "", dois: list[str] = (), urls: list[str] = (), texts: list[str] = ()) -> list[str]:
    """Canonical keys an entry's identifiers name, arXiv first, then DOIs, then other paper URLs."""
    arxiv: list[str | None] = [_key_or_none(f"arxiv:{eprint.strip()}")] if eprint.strip() else []
    for text in [*texts, *urls]:
        arxiv += [_key_or_none(f"arxiv:{m.group(1)}") for m in _ARXIV_IN_TEXT.finditer(text or "")]
    doi_keys: list[str | None] = []
    for doi in dois:
        doi = _DOI_PREFIX.sub("", (doi or "").strip())
        arxiv_doi = _ARXIV_DOI.fullmatch(doi)
        if arxiv_doi:
            arxiv.append(_key_or_none(f"arxiv:{arxiv_doi.group(1)}"))
        elif doi:
            doi_keys.append(_key_or_none(f"doi:{doi}"))
    url_keys: list[str | None] = []
    for url in urls:
        try:
            url_keys.append(key_from_url(url.strip()) if url and url.strip() else None)
        except InvalidKey:
            continue
    return list(dict.fromkeys(k for k in [*arxiv, *doi_keys, *url_keys] if k))


def parse_date(*values: str) -> datetime | None:
    """The first value that holds a year (with month and day when given), as UTC midnight of that day."""
    for value in values:
        match = _DATE.search(value or "")
        if not match:
            continue
        year, month, day = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            try:
                return datetime(year, 1, 1, tzinfo=UTC)
            except ValueError:
                continue
    return None


def _person(name: str) -> str:
    """'Last, First' -> 'First Last' (the catalog's form); other forms unchanged."""
    name = " ".join(name.split())
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        return f"{first} {last}".strip()
    return name


def detect_format(text: str, filename: str = "") -> str | None:
    """bibtex, csv or ris from the file name's extension, else from the content; None when neither tells."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    by_extension = {"bib": "bibtex", "bibtex": "bibtex", "csv": "csv", "ris": "ris"}
    if extension in by_extension:
        return by_extension[extension]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if any(line.startswith("TY  -") for line in lines[:5]):
        return "ris"
    if lines and _CSV_IDENTIFYING & {cell.strip().lower() for cell in next(csv.reader([lines[0]]), [])}:
        return "csv"
    # Text outside entries is a comment in BibTeX (JabRef starts with "% Encoding: UTF-8", others with prose).
    if re.search(r"^\s*@[A-Za-z]+\s*[{(]", text, re.MULTILINE):
        return "bibtex"
    if lines and "," in lines[0]:
        return "csv"
    return None


def parse_file(text: str, fmt: str) -> list[ReferenceEntry]:
    """The entries of a BibTeX, CSV or RIS file (text already decoded)."""
    parsers = {"bibtex": parse_bibtex, "csv": parse_csv, "ris": parse_ris}
    if fmt not in parsers:
        raise ValueError(f"unknown format {fmt!r}")
    entries = parsers[fmt](text)
    if not entries:
        raise BadReferenceFile(f"No entries found: this is not a {fmt} export, or an empty one.")
    if len(entries) > MAX_ENTRIES:
        raise BadReferenceFile(f"The file holds {len(entries)} entries; at most {MAX_ENTRIES} are imported at once.")
    return entries


# ---------------------------------------------------------------------------------------------------- BibTeX
_LATEX = LatexNodes2Text()


def _latex_text(value: str) -> str:
    try:
        return " ".join(_LATEX.latex_to_text(value).split())
    except Exception:  # noqa: BLE001 - pylatexenc gives up on odd markup: keep the text as written
        return " ".join(value.replace("{", "").replace("}", "").split())


def parse_bibtex(text: str) -> list[ReferenceEntry]:
    library = bibtexparser.parse_string(text)
    entries = list(library.entries)
    problems = []
    for block in library.failed_blocks:
        if isinstance(block, DuplicateBlockKeyBlock) and block.ignore_error_block is not None:
            entries.append(block.ignore_error_block)  # the same citation key twice: still an entry of the file
        elif isinstance(block, ParsingFailedBlock):
            problems.append(f"the entry at line {block.start_line + 1} is not valid BibTeX ({_why(block.error)})")
    if problems:
        raise BadReferenceFile("The BibTeX file cannot be parsed: " + "; ".join(problems[:5]), problems)
    entries.sort(key=lambda e: e.start_line)
    return [_bib_entry(number, entry) for number, entry in enumerate(entries, start=1)]


def _why(error: BaseException | None) -> str:
    lines = str(error or "").strip().splitlines()
    return lines[-1].strip() if lines else type(error).__name__


def _bib_entry(number: int, entry: bibtexparser.model.Entry) -> ReferenceEntry:
    fields = {name.lower(): str(f.value) for name, f in entry.fields_dict.items()}
    archive = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").lower()
    texts = [fields.get(name, "") for name in ("journal", "note", "howpublished", "annote", "annotation", "number")]
    keys = candidate_keys(
        eprint=fields.get("eprint", "") if archive == "arxiv" else "",
        dois=[fields.get("doi", "")],
        urls=[fields.get("url", "")],
        texts=texts,
    )
    authors = [_person(_latex_text(a)) for a in _BIB_NAME_SPLIT.split(fields.get("author", "")) if a.strip()]
    title = _latex_text(fields.get("title", ""))
    return ReferenceEntry(
        number=number,
        label=entry.key or title or f"entry {number}",
        title=title,
        authors=[a for a in authors if a.lower() != "others"],
        abstract=_latex_text(fields.get("abstract", "")),
        published_at=parse_date(fields.get("date", ""), f"{fields.get('year', '')}-{_month(fields.get('month', ''))}"),
        keys=keys,
    )


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _month(value: str) -> str:
    value = value.strip().lower()
    if value[:3] in _MONTHS:
        return str(_MONTHS.index(value[:3]) + 1)
    return value if value.isdigit() else "1"


# ------------------------------------------------------------------------------------------------------- CSV
# Zotero's CSV export names its columns "Title", "Author", "DOI", "Url", "Extra", ...; PaperScout's own export
# "title", "authors", "doi", "url", "key". Both are read, whatever the case.
_CSV_IDENTIFYING = {"key", "title", "doi", "url"}


def parse_csv(text: str) -> list[ReferenceEntry]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise BadReferenceFile(f"The CSV file cannot be parsed: {exc}.") from None
    if not rows:
        return []
    header = [name.strip().lower() for name in rows[0]]
    if not _CSV_IDENTIFYING & set(header):
        raise BadReferenceFile("The CSV file has no Title, Key, DOI or Url column: not a Zotero or PaperScout export.")
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise BadReferenceFile(f"The CSV file cannot be parsed: row {line} has more cells than the header.")
        entries.append(_csv_entry(len(entries) + 1, dict(zip(header, row, strict=False))))
    return entries


def _csv_entry(number: int, row: dict[str, str]) -> ReferenceEntry:
    def get(*names: str) -> str:
        return next((row[n].strip() for n in names if row.get(n, "").strip()), "")

    texts = [
        get("extra"),
        get("number"),
        get("archive location"),
        get("notes"),
        get("publication title"),
        get("arxiv_id") and f"arXiv:{get('arxiv_id')}",
    ]
    keys = candidate_keys(dois=[get("doi")], urls=[get("url")], texts=texts)
    own_key = _key_or_none(get("key")) if ":" in get("key") else None  # Zotero's own item keys are not paper keys
    if own_key:
        keys = [own_key, *(k for k in keys if k != own_key)]
    authors = [_person(a) for a in re.split(r";\s*", get("author", "authors")) if a.strip()]
    title = get("title")
    return ReferenceEntry(
        number=number,
        label=title or f"entry {number}",
        title=title,
        authors=authors,
        abstract=get("abstract note", "abstract"),
        published_at=parse_date(get("date"), get("publication year", "year")),
        keys=keys,
    )


# ------------------------------------------------------------------------------------------------------- RIS
def parse_ris(text: str) -> list[ReferenceEntry]:
    records: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] | None = None
    last_tag = ""
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        match = _RIS_LINE.fullmatch(line.lstrip("\ufeff"))
        if match is None:
            if current is not None and last_tag:
                current[last_tag][-1] += " " + line.strip()  # a wrapped long value (abstracts)
                continue
            raise BadReferenceFile(f"The RIS file cannot be parsed: line {line_number} is not a 'XX  - value' line.")
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "TY":
            if current is not None:
                raise BadReferenceFile(f"The RIS file cannot be parsed: line {line_number} starts a record before ER.")
            current, last_tag = {"TY": [value]}, ""
        elif current is None:
            raise BadReferenceFile(f"The RIS file cannot be parsed: line {line_number} ({tag}) is outside a record.")
        elif tag == "ER":
            records.append(current)
            current = None
        else:
            current.setdefault(tag, []).append(value)
            last_tag = tag
    if current is not None:
        raise BadReferenceFile("The RIS file cannot be parsed: the last record has no ER line.")
    return [_ris_entry(number, record) for number, record in enumerate(records, start=1)]


def _ris_entry(number: int, record: dict[str, list[str]]) -> ReferenceEntry:
    def first(*tags: str) -> str:
        return next((record[t][0] for t in tags if record.get(t) and record[t][0]), "")

    def every(*tags: str) -> list[str]:
        return [v for t in tags for v in record.get(t, []) if v]

    keys = candidate_keys(
        dois=every("DO"),
        urls=every("UR", "L1", "L2"),
        texts=every("N1", "JO", "JF", "T2", "M1", "M3", "AN", "ID", "SN"),
    )
    title = first("TI", "T1", "CT", "BT")
    return ReferenceEntry(
        number=number,
        label=title or first("ID") or f"entry {number}",
        title=title,
        authors=[_person(a) for a in every("AU", "A1")],
        abstract=first("AB", "N2"),
        published_at=parse_date(first("DA"), first("PY"), first("Y1")),
        keys=keys,
    )
