"""Synthetic two-community catalog: graph papers read by group A, protein papers read by group B."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from recommender.serving import PaperDoc

NOW = datetime(2024, 6, 1, tzinfo=UTC)

GRAPH_TOPICS = [
    "graph neural networks for node classification",
    "message passing on graph structured data",
    "spectral graph convolution networks",
    "graph attention networks with edge features",
    "scalable graph embeddings for link prediction",
    "graph transformers for molecular graph property prediction",
    "community detection in large social graphs",
    "random walks and node embeddings on graphs",
    "graph pooling for hierarchical graph representation",
    "temporal graph networks for dynamic graphs",
    "knowledge graph completion with graph neural networks",
    "graph contrastive learning without labels",
]
PROTEIN_TOPICS = [
    "protein structure prediction with deep learning",
    "protein folding and amino acid contact maps",
    "protein language models for sequence design",
    "protein ligand binding affinity estimation",
    "evolutionary protein sequence alignments",
    "enzyme function prediction from protein sequences",
    "protein docking with equivariant networks",
    "antibody protein design with diffusion",
    "protein stability mutation effects",
    "cryo electron microscopy protein reconstruction",
    "protein secondary structure from amino acid sequences",
    "generative models of protein backbones",
]


def make_papers() -> list[PaperDoc]:
    papers = []
    for prefix, topics, field in (("g", GRAPH_TOPICS, "Graph methods"), ("p", PROTEIN_TOPICS, "Protein biology")):
        for i, t in enumerate(topics):
            papers.append(
                PaperDoc(
                    key=f"{prefix}{i}",
                    title=t.title(),
                    abstract=f"We study {t}. {field}.",
                    published_at=NOW - timedelta(days=10 + i),
                )
            )
    return papers


def make_interactions(seed: int = 0, users_per_group: int = 15) -> list[tuple[str, str, str, datetime]]:
    rng = np.random.default_rng(seed)
    rows = []
    for group, prefix in (("a", "g"), ("b", "p")):
        for u in range(users_per_group):
            chosen = rng.choice(12, size=6, replace=False)
            for j, item in enumerate(chosen):
                t = NOW - timedelta(days=int(rng.integers(1, 60)), minutes=j)
                rows.append((f"{group}{u}", f"{prefix}{item}", "open", t))
                rows.append((f"{group}{u}", f"{prefix}{item}", "save", t + timedelta(minutes=1)))
    return rows


TEST_CONFIG = {
    "als": {"factors": 2, "iterations": 10, "regularization": 0.1, "alpha": 5.0, "random_state": 7},
    "evaluation": {"max_users": 50},
}
