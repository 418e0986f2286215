"""A small two-topic catalog for end-to-end recommendation tests (graphs vs proteins)."""

from __future__ import annotations

GRAPH_TOPICS = [
    "community detection",
    "random walks",
    "spectral clustering",
    "link prediction",
    "graph neural networks",
    "network motifs",
    "small-world networks",
    "scale-free degree distributions",
    "node embeddings",
    "graph partitioning",
    "percolation on networks",
    "centrality measures",
    "temporal networks",
    "hypergraph clustering",
    "network robustness",
]
PROTEIN_TOPICS = [
    "protein folding",
    "protein structure prediction",
    "molecular dynamics of proteins",
    "protein docking",
    "enzyme active sites",
    "protein-protein interaction",
    "amino acid sequence alignment",
    "protein design",
    "membrane protein structure",
    "protein stability mutations",
    "cryo-EM protein maps",
    "protein language models",
    "allosteric regulation in proteins",
    "intrinsically disordered proteins",
    "antibody structure",
]


def papers(graph_topics: list[str] = GRAPH_TOPICS, protein_topics: list[str] = PROTEIN_TOPICS) -> list[dict]:
    out = []
    for i, topic in enumerate(graph_topics):
        out.append(
            {
                "key": f"arxiv:2401.{i:05d}",
                "title": f"Scalable {topic} in large complex networks",
                "abstract": f"We study {topic} on graphs with millions of nodes and edges, using network science "
                f"and graph algorithms for community structure and connectivity.",
                "keywords": ["networks", "graphs"],
            }
        )
    for i, topic in enumerate(protein_topics):
        out.append(
            {
                "key": f"arxiv:2402.{i:05d}",
                "title": f"Learning {topic} from sequence and structure",
                "abstract": f"We address {topic} for proteins, combining amino acid sequences, residue contacts and "
                f"three-dimensional structure of biomolecules.",
                "keywords": ["proteins", "structural biology"],
            }
        )
    return out


GRAPH_KEYS = [p["key"] for p in papers() if p["key"].startswith("arxiv:2401")]
PROTEIN_KEYS = [p["key"] for p in papers() if p["key"].startswith("arxiv:2402")]
