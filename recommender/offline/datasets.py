"""Loader for datasets in the citeulike-a layout, with their published train/test splits.

The layout (see the dataset directory's README):

- ``users.dat``: line u = user u, ``N item_1 ... item_N`` (0-based item ids)
- ``titles.txt``: line k = title of item k (a few lines keep CSV quoting)
- ``item-tag.dat`` + ``tags.dat``: tags per item, used as the paper's keywords
- ``raw-data-partial.csv`` (or ``raw-data.csv``): title and abstract for some or all items,
  ``doc.id`` is 1-based
- ``citations.dat``: line k = the items linked to item k by a citation (either direction), used as the
  paper's references
- ``splits/cf-{train,test}-{P}-users.dat``: the published train/test split, same format as users.dat

No printing, no side effects: matrices in, arrays out.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ENV_VAR = "PAPERSCOUT_DATA"
# item side information a dataset may give the recommender (load_citeulike's ``text_fields``)
TEXT_FIELDS = ("title", "tags", "abstract", "citations")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_data_dir(project_root: str | os.PathLike | None = None) -> Path | None:
    """Where the citeulike-a dataset lives, or None.

    Order: environment variable ``PAPERSCOUT_DATA``; then ``../shared/data/citeulike-a`` relative to the
    project root (CI keeps the shared folder beside the checkout).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    root = Path(project_root) if project_root else PROJECT_ROOT
    cand = (root / ".." / "shared" / "data" / "citeulike-a").resolve()
    return cand if cand.is_dir() else None


def read_lists(path: str | os.PathLike) -> list[np.ndarray]:
    """Read a ``N id_1 ... id_N`` file; checks the leading count of every line."""
    out: list[np.ndarray] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh):
            parts = line.split()
            if not parts:
                out.append(np.zeros(0, dtype=np.int64))
                continue
            n = int(parts[0])
            ids = np.asarray(parts[1:], dtype=np.int64)
            if len(ids) != n:
                raise ValueError(f"{path}: line {lineno} says {n} ids but has {len(ids)}")
            out.append(ids)
    return out


def lists_to_csr(lists: list[np.ndarray], n_cols: int) -> sp.csr_matrix:
    """One binary row per list of column ids (duplicates count once)."""
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    data = np.ones(len(indices), dtype=np.float32)
    m = sp.csr_matrix((data, indices.astype(np.int32), indptr), shape=(len(lists), n_cols))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


@dataclass
class CiteULikeData:
    """A citeulike-a style dataset with one published split."""

    name: str
    P: int | None
    n_users: int
    n_items: int
    titles: list[str]
    tags: list[list[str]]
    abstracts: dict[int, str]
    train: sp.csr_matrix  # users x items, binary
    test: sp.csr_matrix  # users x items, binary (empty if no split given)
    text_fields: list[str] = field(default_factory=list)
    citations: list[np.ndarray] = field(default_factory=list)  # per item: linked item ids (empty if not loaded)

    @property
    def eval_users(self) -> np.ndarray:
        """Users with at least one test item (the users the protocol averages over)."""
        return np.flatnonzero(np.diff(self.test.indptr) > 0)

    def item_references(self, i: int) -> list[int]:
        """Items linked to item ``i`` by a citation (either direction), when the ``citations`` field is used."""
        if "citations" not in self.text_fields or i >= len(self.citations):
            return []
        return [int(j) for j in self.citations[i] if int(j) != i]

    def papers(self) -> list[dict]:
        """Items as paper dicts (``title``, ``abstract``, ``keywords``, ``references`` as item ids), the shape the
        library's text model reads."""
        out = []
        for i in range(self.n_items):
            out.append(
                {
                    "id": i,
                    "title": self.titles[i] if "title" in self.text_fields else "",
                    "abstract": self.abstracts.get(i, "") if "abstract" in self.text_fields else "",
                    "keywords": list(self.tags[i]) if "tags" in self.text_fields else [],
                    "references": self.item_references(i),
                }
            )
        return out


def load_citeulike(
    data_dir: str | os.PathLike,
    P: int | None = 10,
    *,
    text_fields: tuple[str, ...] = TEXT_FIELDS,
) -> CiteULikeData:
    """Load a dataset in the citeulike-a layout with the published split ``P`` (1 or 10).

    ``P=None`` loads all of ``users.dat`` as training data and an empty test matrix. ``text_fields`` names the
    item side information the recommender may read (fields whose files are missing are dropped from it).
    """
    unknown = set(text_fields) - set(TEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown text field(s) {sorted(unknown)}; choose from {TEXT_FIELDS}")
    d = Path(data_dir)
    if not (d / "users.dat").exists():
        raise FileNotFoundError(f"no users.dat in {d}")
    users = read_lists(d / "users.dat")
    titles = _read_titles(d / "titles.txt")
    max_item = max((int(x.max()) for x in users if len(x)), default=-1)
    n_items = max(len(titles), max_item + 1)
    titles += [""] * (n_items - len(titles))

    fields = [f for f in TEXT_FIELDS if f in text_fields]
    tags = _read_tags(d, n_items) if "tags" in fields else None
    abstracts = _read_abstracts(d, n_items) if "abstract" in fields else {}
    citations = _read_citations(d, n_items) if "citations" in fields else None
    for name, missing in (("tags", tags is None), ("abstract", not abstracts), ("citations", citations is None)):
        if name in fields and missing:
            fields.remove(name)
    train, test = _read_split(d, P, users, n_items)
    return CiteULikeData(
        name=d.name,
        P=P,
        n_users=len(users),
        n_items=n_items,
        titles=titles,
        tags=tags if tags is not None else [[] for _ in range(n_items)],
        abstracts=abstracts,
        train=train,
        test=test,
        text_fields=fields,
        citations=citations or [],
    )


def _read_titles(path: Path) -> list[str]:
    titles = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            t = line.rstrip("\n")
            if len(t) >= 2 and t.startswith('"') and t.endswith('"'):
                t = t[1:-1].replace('""', '"')
            titles.append(t)
    return titles


def _read_tags(data_dir: Path, n_items: int) -> list[list[str]] | None:
    """Tag names per item (None when the tag files are missing)."""
    if not ((data_dir / "item-tag.dat").exists() and (data_dir / "tags.dat").exists()):
        return None
    with open(data_dir / "tags.dat", encoding="utf-8") as fh:
        names = [ln.rstrip("\n") for ln in fh]
    tags: list[list[str]] = [[] for _ in range(n_items)]
    for i, ids in enumerate(read_lists(data_dir / "item-tag.dat")[:n_items]):
        tags[i] = [names[t] for t in ids]
    return tags


def _read_abstracts(data_dir: Path, n_items: int) -> dict[int, str]:
    for name in ("raw-data.csv", "raw-data-partial.csv"):
        p = data_dir / name
        if p.exists():
            out: dict[int, str] = {}
            with open(p, encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):
                    item = int(row["doc.id"]) - 1
                    abstract = (row.get("raw.abstract") or "").strip()
                    if 0 <= item < n_items and abstract:
                        out[item] = abstract
            return out
    return {}


def _read_citations(data_dir: Path, n_items: int) -> list[np.ndarray] | None:
    """Linked item ids per item (None when ``citations.dat`` is missing)."""
    path = data_dir / "citations.dat"
    if not path.exists():
        return None
    citations = read_lists(path)[:n_items]
    citations += [np.zeros(0, dtype=np.int64)] * (n_items - len(citations))
    if any(len(c) and (c.min() < 0 or c.max() >= n_items) for c in citations):
        raise ValueError(f"{path}: item ids outside 0..{n_items - 1}")
    return citations


def _read_split(
    data_dir: Path, P: int | None, users: list[np.ndarray], n_items: int
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """The published (train, test) matrices for ``P``; all of ``users`` as training data when ``P`` is None."""
    n_users = len(users)
    if P is None:
        return lists_to_csr(users, n_items), sp.csr_matrix((n_users, n_items), dtype=np.float32)
    tr = read_lists(data_dir / "splits" / f"cf-train-{P}-users.dat")
    te = read_lists(data_dir / "splits" / f"cf-test-{P}-users.dat")
    if len(tr) != n_users or len(te) != n_users:
        raise ValueError("split files do not have one line per user")
    train = lists_to_csr(tr, n_items)
    test = lists_to_csr(te, n_items)
    if train.multiply(test).nnz:
        raise ValueError("train and test overlap")
    return train, test
