"""Paper import files (JSON array or JSON lines): every record validated before anything is written, all of
them written in one transaction as authoritative metadata, and every problem reported as one short line that
names the record (never a traceback, never the database's own message with its parameters)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from server.json_input import DEFAULT_MAX_DEPTH, InvalidJson, loads
from server.models import PROVENANCE_IMPORT
from server.schemas import PaperMetaSchema
from server.services.papers import PaperMeta, fold_metas, upsert_papers
from server.services.sql import chunks, write_isolating_refusals

MAX_SHOWN_ERRORS = 20
MAX_LINE = 300
# JSON tokens that matter for splitting a top-level array into its elements (strings skipped whole).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)


class BadImportFile(Exception):
    """The file cannot be imported; the message says where and why. Nothing was stored."""


def _short(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImportFile(f"{path.name}: cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadImportFile(
            f"{path.name} line {line}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _array_elements(text: str) -> Iterator[str]:
    """The source text of each element of a top-level JSON array (a best effort on broken documents)."""
    depth, start = 0, None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth == 1:
                start = match.end()
        elif token in "]}":
            depth -= 1
            if depth == 0 and start is not None:
                yield text[start : match.start()]
                return
        elif token == "," and depth == 1 and start is not None:
            yield text[start : match.start()]
            start = match.end()
    if start is not None:
        yield text[start:]


def _locate_array_error(text: str, name: str, max_depth: int, whole: InvalidJson) -> BadImportFile:
    for number, element in enumerate(_array_elements(text), start=1):
        try:
            loads(element, max_depth=max_depth)
        except InvalidJson as exc:
            return BadImportFile(_short(f"{name} record {number}: not valid JSON ({exc.reason})"))
    return BadImportFile(_short(f"{name}: not valid JSON ({whole.reason})"))


def read_records(path: Path, max_depth: int = DEFAULT_MAX_DEPTH) -> Iterator[tuple[int, Any]]:
    """Records of a JSON array or a JSON-lines file with their 1-based number (array position or line)."""
    text = _decode(path)
    if text.lstrip().startswith("["):
        try:
            records = loads(text, max_depth=max_depth + 1)
        except InvalidJson as exc:
            raise _locate_array_error(text, path.name, max_depth, exc) from None
        if not isinstance(records, list):
            raise BadImportFile(f"{path.name}: not a JSON array")
        yield from enumerate(records, start=1)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, loads(line, max_depth=max_depth)
        except InvalidJson as exc:
            raise BadImportFile(_short(f"{path.name} record {number}: not valid JSON ({exc.reason})")) from None


def validate_file(path: Path, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[dict[str, PaperMeta], dict[str, int]]:
    """Every record of the file as PaperMeta (one per key) and the record number that first named each key."""
    schema = PaperMetaSchema()
    loaded: list[PaperMeta] = []
    first_record: dict[str, int] = {}
    errors: list[str] = []
    for number, record in read_records(path, max_depth):
        try:
            item = schema.load(record)
        except ValidationError as exc:
            errors.append(_short(f"{path.name} record {number}: {json.dumps(exc.normalized_messages())}"))
            continue
        loaded.append(PaperMeta.from_payload(item["canonical_key"], item))
        first_record.setdefault(item["canonical_key"], number)
    if len(errors) == 1:
        raise BadImportFile(f"{errors[0]} (nothing was imported)")
    if errors:
        shown = "\n".join(errors[:MAX_SHOWN_ERRORS])
        more = f"\n... and {len(errors) - MAX_SHOWN_ERRORS} more" if len(errors) > MAX_SHOWN_ERRORS else ""
        raise BadImportFile(f"{len(errors)} invalid records; nothing was imported:\n{shown}{more}")
    return fold_metas(loaded, PROVENANCE_IMPORT), first_record


def import_file(session: Session, path: Path, max_depth: int = DEFAULT_MAX_DEPTH) -> int:
    """Validate the whole file, then write it in one transaction (committed); a bad file stores nothing."""
    metas, first_record = validate_file(path, max_depth)

    def write(keys: list[str]) -> None:
        upsert_papers(session, {key: metas[key] for key in keys}, PROVENANCE_IMPORT)

    for part in chunks(sorted(metas), 2000):
        _, refused = write_isolating_refusals(session, part, write)
        if refused:
            session.rollback()
            key, error = refused[0]
            raise BadImportFile(
                _short(
                    f"{path.name} record {first_record[key]}: the database refused paper {key!r} "
                    f"({type(error).__name__}); nothing was imported"
                )
            )
    session.commit()
    return len(metas)
