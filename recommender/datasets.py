"""Loader for datasets in the citeulike-a layout.

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


def default_data_dir(project_root: str | os.PathLike | None = None) -> Path | None:
    """Where the citeulike-a dataset lives, or None.

    Order: environment variable ``PAPERSCOUT_DATA``; then ``../shared/data/citeulike-a`` relative to the
    project root (CI keeps the shared folder beside the checkout).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    root = Path(project_root) if project_root else Path(__file__).resolve().parent.parent
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
    indptr = np.zeros(len(lists) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(x) for x in lists])
    indices = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    data = np.ones(len(indices), dtype=np.float32)
    m = sp.csr_matrix((data, indices.astype(np.int32), indptr), shape=(len(lists), n_cols))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


def _read_titles(path: Path) -> list[str]:
    titles = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            t = line.rstrip("\n")
            if len(t) >= 2 and t.startswith('"') and t.endswith('"'):
                t = t[1:-1].replace('""', '"')
            titles.append(t)
    return titles


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

    def item_text(self, i: int, fields: list[str] | None = None) -> str:
        fields = fields or self.text_fields
        parts = []
        if "title" in fields:
            parts.append(self.titles[i])
        if "abstract" in fields and i in self.abstracts:
            parts.append(self.abstracts[i])
        return "\n".join(parts)

    def item_keywords(self, i: int) -> list[str]:
        return self.tags[i] if "tags" in self.text_fields else []

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
    text_fields: tuple[str, ...] = ("title", "tags", "abstract", "citations"),
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
    n_items = len(titles)
    max_item = max((int(x.max()) for x in users if len(x)), default=-1)
    n_items = max(n_items, max_item + 1)
    titles += [""] * (n_items - len(titles))
    n_users = len(users)

    tags: list[list[str]] = [[] for _ in range(n_items)]
    fields = [f for f in TEXT_FIELDS if f in text_fields]
    if "tags" in fields and (d / "item-tag.dat").exists() and (d / "tags.dat").exists():
        with open(d / "tags.dat", encoding="utf-8") as fh:
            names = [ln.rstrip("\n") for ln in fh]
        for i, ids in enumerate(read_lists(d / "item-tag.dat")[:n_items]):
            tags[i] = [names[t] for t in ids]
    elif "tags" in fields:
        fields.remove("tags")
    abstracts = _read_abstracts(d, n_items) if "abstract" in fields else {}
    if "abstract" in fields and not abstracts:
        fields.remove("abstract")
    citations: list[np.ndarray] = []
    if "citations" in fields and (d / "citations.dat").exists():
        citations = read_lists(d / "citations.dat")[:n_items]
        citations += [np.zeros(0, dtype=np.int64)] * (n_items - len(citations))
        if any(len(c) and (c.min() < 0 or c.max() >= n_items) for c in citations):
            raise ValueError(f"{d / 'citations.dat'}: item ids outside 0..{n_items - 1}")
    elif "citations" in fields:
        fields.remove("citations")

    if P is None:
        train = lists_to_csr(users, n_items)
        test = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    else:
        tr = read_lists(d / "splits" / f"cf-train-{P}-users.dat")
        te = read_lists(d / "splits" / f"cf-test-{P}-users.dat")
        if len(tr) != n_users or len(te) != n_users:
            raise ValueError("split files do not have one line per user")
        train = lists_to_csr(tr, n_items)
        test = lists_to_csr(te, n_items)
        if train.multiply(test).nnz:
            raise ValueError("train and test overlap")
    return CiteULikeData(
        name=d.name,
        P=P,
        n_users=n_users,
        n_items=n_items,
        titles=titles,
        tags=tags,
        abstracts=abstracts,
        train=train,
        test=test,
        text_fields=fields,
        citations=citations,
    )


def holdout_split(
    train: sp.csr_matrix, *, fraction: float = 0.25, min_keep: int = 1, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Carve a validation split out of a training matrix: per user, hold out ``fraction`` of the items
    (rounded, at least one when the user has more than ``min_keep`` items), keeping at least ``min_keep``.
    Returns (fit, validation). Only the training matrix is read."""
    rng = np.random.default_rng(seed)
    train = train.tocsr()
    fit_rows, val_rows = [], []
    for u in range(train.shape[0]):
        items = train.indices[train.indptr[u] : train.indptr[u + 1]].copy()
        rng.shuffle(items)
        n = len(items)
        k = int(round(n * fraction))
        if n > min_keep:
            k = max(1, min(k, n - min_keep))
        else:
            k = 0
        val_rows.append(np.sort(items[:k]))
        fit_rows.append(np.sort(items[k:]))
    return lists_to_csr(fit_rows, train.shape[1]), lists_to_csr(val_rows, train.shape[1])
