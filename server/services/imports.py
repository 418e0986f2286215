"""Importing a reference-manager export as a user's saves: all of it or nothing.

Each entry of the file (server/services/reference_files.py) becomes a saved paper: the first of its candidate
keys that names a paper in the catalog (matched), else its best candidate, created from the file's metadata as
a client write (server/services/papers.py: it fills only empty fields of papers no import or fetcher
described, and never sets their URL). Entries without an identifier, and second mentions of one paper, are
skipped with the reason. Everything is written in one transaction: a file that cannot be parsed, or that the
database refuses, stores nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import PROVENANCE_CLIENT, Interaction, Save
from server.services.catalog import papers_by_key
from server.services.papers import PaperMeta, upsert_papers
from server.services.reference_files import (
    IMPORT_FORMATS,
    BadReferenceFile,
    ReferenceEntry,
    detect_format,
    parse_file,
)
from server.services.sql import chunks, is_data_error
from server.services.state import apply_action
from server.services.trending_days import record_events

NO_IDENTIFIER = "no arXiv id, DOI or paper URL of a known site"


@dataclass(frozen=True)
class ImportedItem:
    entry: int  # 1-based position in the file
    key: str
    title: str
    already_saved: bool


@dataclass(frozen=True)
class SkippedItem:
    entry: int
    label: str
    reason: str


@dataclass(frozen=True)
class ImportReport:
    format: str
    entries: int
    newly_saved: int
    matched: list[ImportedItem]  # papers already in the catalog
    created: list[ImportedItem]  # papers the file described first
    skipped: list[SkippedItem]


class ImportRefused(Exception):
    """The database refused part of the file's data; nothing was imported."""


def decode_upload(data: bytes) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), else a BadReferenceFile."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadReferenceFile(
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})."
        ) from None
    if "\x00" in text:
        raise BadReferenceFile("The file holds NUL characters: not a text export.")
    return text.removeprefix("\ufeff")


def read_entries(data: bytes, fmt: str | None, filename: str = "") -> tuple[str, list[ReferenceEntry]]:
    """Decode and parse an uploaded file in ``fmt`` (None: detected); returns the format and the entries."""
    text = decode_upload(data)
    fmt = fmt or detect_format(text, filename)
    if fmt is None:
        raise BadReferenceFile(f"Cannot tell the file's format; say format={'|'.join(IMPORT_FORMATS)}.")
    return fmt, parse_file(text, fmt)


def _meta(key: str, entry: ReferenceEntry) -> PaperMeta:
    return PaperMeta.from_payload(
        key,
        {
            "title": entry.title,
            "abstract": entry.abstract,
            "authors": entry.authors,
            "published_at": entry.published_at,
        },
    )


def _choose_keys(session: Session, entries: list[ReferenceEntry]) -> tuple[dict[int, str], list[SkippedItem], set[str]]:
    """entry number -> the key it is saved under; the skipped entries; the chosen keys already in the catalog."""
    known = set(papers_by_key(session, {k for e in entries for k in e.keys}))
    chosen: dict[int, str] = {}
    first_entry: dict[str, int] = {}
    skipped: list[SkippedItem] = []
    for entry in entries:
        if not entry.keys:
            skipped.append(SkippedItem(entry.number, entry.label, NO_IDENTIFIER))
            continue
        key = next((k for k in entry.keys if k in known), entry.keys[0])
        if key in first_entry:
            skipped.append(SkippedItem(entry.number, entry.label, f"the same paper as entry {first_entry[key]}"))
            continue
        first_entry[key] = entry.number
        chosen[entry.number] = key
    return chosen, skipped, {k for k in chosen.values() if k in known}


def import_saves(session: Session, user_id: int, fmt: str, entries: list[ReferenceEntry]) -> ImportReport:
    """Save every entry's paper for the user in one transaction (committed); see the module docstring."""
    by_number = {e.number: e for e in entries}
    chosen, skipped, known = _choose_keys(session, entries)
    try:
        ids = upsert_papers(session, {k: _meta(k, by_number[n]) for n, k in chosen.items()}, PROVENANCE_CLIENT)
        saved_before: set[int] = set()
        for part in chunks(list(ids.values())):
            saved_before |= set(
                session.scalars(select(Save.paper_id).where(Save.user_id == user_id, Save.paper_id.in_(part)))
            )
        now = datetime.now(UTC)
        new = [pid for key, pid in ids.items() if pid not in saved_before]
        for paper_id in new:
            apply_action(session, user_id, paper_id, "save", now)
        # Logged as the API's choices are, so that training sees the library.
        session.add_all(
            Interaction(
                user_id=user_id,
                paper_id=paper_id,
                type="save",
                occurred_at=now,
                received_at=now,
                client_event_id=str(uuid.uuid4()),
                context={"via": "import", "format": fmt},
            )
            for paper_id in new
        )
        record_events(session, [(paper_id, user_id, "save", now) for paper_id in new])
        session.flush()
    except Exception as error:
        session.rollback()
        if is_data_error(error):
            raise ImportRefused(
                f"The database refused part of the file ({type(error).__name__}); nothing was imported."
            ) from None
        raise
    session.commit()
    items = [ImportedItem(n, key, by_number[n].title, ids[key] in saved_before) for n, key in sorted(chosen.items())]
    return ImportReport(
        format=fmt,
        entries=len(entries),
        newly_saved=len(new),
        matched=[i for i in items if i.key in known],
        created=[i for i in items if i.key not in known],
        skipped=sorted(skipped, key=lambda s: s.entry),
    )
