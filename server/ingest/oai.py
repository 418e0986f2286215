"""arXiv's OAI-PMH interface (ListRecords, resumption tokens), the way arXiv asks bulk harvesters to come.

Metadata format ``arXivRaw``: unlike ``arXiv`` (structured authors, but only the created and updated dates) it
lists every version with its date, so the latest version number and date are exact and the first version's date
is the paper's publication date. Its author line is free text ("A. One (MIT), B. Two and C. Three"); it is split
outside parentheses (records.split_author_string). Categories are space-separated, the primary first.

The client is sickle (its iterator follows the tokens and raises OAI errors as exceptions); its HTTP goes through
our UpstreamClient (retries, polite delay) and each page is parsed strictly, so a truncated page is an error
rather than silently fewer records. After each stored page the token that continues after it is stored in the
same transaction: an interrupted harvest resumes from the page after the last one stored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from lxml import etree
from sickle import Sickle, oaiexceptions
from sickle.iterator import OAIResponseIterator
from sickle.response import OAIResponse
from sqlalchemy.orm import Session

from server.ingest.http import UpstreamClient, UpstreamError
from server.ingest.records import (
    BadEntry,
    BrokenPage,
    FetchedPaper,
    Page,
    Skip,
    arxiv_identity,
    require_text,
    rfc2822_datetime,
    split_author_string,
    unique,
)
from server.keys import default_url
from server.models import OaiHarvest

logger = logging.getLogger("server.ingest")

METADATA_PREFIX = "arXivRaw"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
RAW = "{http://arxiv.org/OAI/arXivRaw/}"
FIRST_HARVEST_DAYS = 7  # a set harvested for the first time without --from starts this many days back
_VERSION = re.compile(r"v(\d+)")


class StrictResponse(OAIResponse):
    """sickle's response, parsed once and strictly (sickle's own parser recovers from broken XML)."""

    @cached_property
    def xml(self) -> Any:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
        try:
            return etree.fromstring(self.http_response.content, parser=parser)
        except etree.XMLSyntaxError as exc:
            raise BrokenPage(f"OAI-PMH page is not well-formed XML ({str(exc)[:120]})") from None


class Harvester(Sickle):
    def __init__(self, client: UpstreamClient, endpoint: str) -> None:
        super().__init__(endpoint, iterator=OAIResponseIterator)
        self.client = client

    def harvest(self, **kwargs: Any) -> StrictResponse:
        return StrictResponse(self.client.get(self.endpoint, kwargs), params=kwargs)


def paper_from_raw(raw: Any) -> FetchedPaper:
    """A whole paper from one arXivRaw element, or BadEntry."""

    def text(name: str) -> str:
        return raw.findtext(f"{RAW}{name}") or ""

    key, _ = arxiv_identity(text("id"))
    title, abstract = require_text(text("title"), text("abstract"))
    authors = split_author_string(text("authors"))
    if not authors:
        raise BadEntry("no authors")
    versions: list[tuple[int, datetime | None]] = []
    for element in raw.iterfind(f"{RAW}version"):
        match = _VERSION.fullmatch(element.get("version", ""))
        if match:
            versions.append((int(match.group(1)), rfc2822_datetime(element.findtext(f"{RAW}date"))))
    if not versions:
        raise BadEntry("no versions")
    versions.sort(key=lambda v: v[0])
    categories = unique(text("categories").split())
    doi = text("doi").strip()
    return FetchedPaper(
        key=key,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else None,
        version=versions[-1][0],
        version_date=versions[-1][1],
        published_at=versions[0][1] if versions[0][0] == 1 else None,
        url=default_url(key),
        links=unique([f"https://doi.org/{doi}"] if doi else []),
    )


def parse_records(root: Any) -> tuple[list[FetchedPaper], list[Skip]]:
    """The papers of one ListRecords page; deleted records are passed over, bad ones skipped with a reason."""
    papers: list[FetchedPaper] = []
    skipped: list[Skip] = []
    for number, record in enumerate(root.iterfind(f"{OAI}ListRecords/{OAI}record"), start=1):
        header = record.find(f"{OAI}header")
        label = (header.findtext(f"{OAI}identifier") if header is not None else None) or f"record {number}"
        if header is not None and header.get("status") == "deleted":
            continue
        raw = record.find(f"{OAI}metadata/{RAW}arXivRaw")
        if raw is None:
            skipped.append(Skip(label, f"no {METADATA_PREFIX} metadata"))
            continue
        try:
            papers.append(paper_from_raw(raw))
        except BadEntry as exc:
            skipped.append(Skip(label, str(exc)))
    return papers, skipped


@dataclass
class HarvestPlan:
    set_spec: str
    from_date: date | None
    until_date: date | None
    token: str | None = None  # resume an unfinished harvest with this token

    def first_request(self) -> dict[str, str]:
        if self.token:
            return {"resumptionToken": self.token}
        params = {"metadataPrefix": METADATA_PREFIX, "set": self.set_spec}
        if self.from_date:
            params["from"] = self.from_date.isoformat()
        if self.until_date:
            params["until"] = self.until_date.isoformat()
        return params


def plan_harvest(session: Session, set_spec: str, from_date: date | None, until_date: date | None) -> HarvestPlan:
    """Resume the set's unfinished harvest when the dates asked for are its own (or none are given); otherwise
    start one from ``from_date``, else from where the last finished harvest got to, else a week back."""
    state = session.get(OaiHarvest, set_spec)
    if state is not None and state.resumption_token:
        same_from = from_date is None or from_date == state.from_date
        same_until = until_date is None or until_date == state.until_date
        if same_from and same_until:
            return HarvestPlan(set_spec, state.from_date, state.until_date, state.resumption_token)
        logger.info("oai %s: new dates; the unfinished harvest from %s is dropped", set_spec, state.from_date)
    start = from_date or (state.harvested_through if state else None)
    if start is None:
        start = datetime.now(UTC).date() - timedelta(days=FIRST_HARVEST_DAYS)
    return HarvestPlan(set_spec, start, until_date)


def _save_state(plan: HarvestPlan, token: Any, through: date | None) -> Any:
    def save(session: Session) -> None:
        state = session.get(OaiHarvest, plan.set_spec)
        if state is None:
            state = OaiHarvest(set_spec=plan.set_spec)
            session.add(state)
        value = getattr(token, "token", None) or None
        state.metadata_prefix = METADATA_PREFIX
        state.from_date, state.until_date = plan.from_date, plan.until_date
        state.resumption_token = value
        state.cursor = _int(getattr(token, "cursor", None)) if value else None
        state.complete_list_size = _int(getattr(token, "complete_list_size", None)) if value else None
        if value is None:  # the harvest is complete: the next one starts where this one ended
            state.harvested_through = through
        state.updated_at = datetime.now(UTC)

    return save


def _int(value: Any) -> int | None:
    return int(value) if str(value or "").isdigit() else None


def _response_day(root: Any) -> date | None:
    stamp = (root.findtext(f"{OAI}responseDate") or "").strip()
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).date() if stamp else None
    except ValueError:
        return None


def _start(harvester: Harvester, plan: HarvestPlan) -> OAIResponseIterator | None:
    """The iterator, its first page fetched; None when nothing matches. An expired token restarts the harvest."""
    try:
        return harvester.ListRecords(**plan.first_request())
    except oaiexceptions.NoRecordsMatch:
        return None
    except oaiexceptions.BadResumptionToken:
        if not plan.token:
            raise
        plan.token = None  # arXiv's tokens expire: start this harvest again from its first date
        return _start(harvester, plan)


def harvest_pages(client: UpstreamClient, endpoint: str, plan: HarvestPlan) -> Iterator[Page]:
    """Every page of the harvest; each page's on_commit stores the token that continues after it."""
    harvester = Harvester(client, endpoint)
    try:
        iterator = _start(harvester, plan)
        if iterator is None:
            yield Page(on_commit=_save_state(plan, None, plan.until_date or datetime.now(UTC).date()))
            return
        for response in iterator:
            root = response.xml
            papers, skipped = parse_records(root)
            token = iterator.resumption_token
            size = _int(getattr(token, "complete_list_size", None))
            through = plan.until_date or _response_day(root) or datetime.now(UTC).date()
            yield Page(papers=papers, skipped=skipped, total=size, on_commit=_save_state(plan, token, through))
    except oaiexceptions.OAIError as exc:
        raise UpstreamError(f"OAI-PMH error {type(exc).__name__}: {str(exc)[:200]}") from None
