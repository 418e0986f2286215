"""Build server/demo/catalog.jsonl from the trending-papers page text (titles and abstracts of real papers).

    python scripts/build_demo_catalog.py ../shared/seeds/trending-papers-page.txt

The page names no identifiers, so demo papers get `demo:<slug>` keys and an arXiv title-search URL.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from urllib.parse import quote_plus

OUT = Path(__file__).resolve().parent.parent / "server" / "demo" / "catalog.jsonl"
_DATE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}$")
_HEADER_END = "byAK and the research community"


def slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return words[:80].rstrip("-")


def parse(text: str) -> list[dict]:
    lines = [line.strip() for line in text.splitlines()]
    if _HEADER_END in lines:
        lines = lines[lines.index(_HEADER_END) + 1 :]
    blocks = [line for line in lines if line and not _DATE.match(line)]
    papers, seen = [], set()
    for title, abstract in zip(blocks[0::2], blocks[1::2], strict=False):
        key = f"demo:{slug(title)}"
        if key in seen or len(abstract) < 80:
            continue
        seen.add(key)
        papers.append(
            {
                "key": key,
                "title": title,
                "abstract": abstract,
                "url": f"https://arxiv.org/search/?query={quote_plus(title)}&searchtype=title",
                "source": "demo",
            }
        )
    return papers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", type=Path, help="the trending-papers page as text")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    papers = parse(args.page.read_text(encoding="utf-8"))
    if not papers:
        parser.error(f"no papers found in {args.page}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for paper in papers:
            fh.write(json.dumps(paper, ensure_ascii=False) + "\n")
    sys.stderr.write(f"wrote {len(papers)} papers to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
