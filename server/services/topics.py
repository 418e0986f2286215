"""Topics: the arXiv categories a reader picked (at sign-up or in the settings), and the papers they lead to.

A topic is an explicit interest, stored as such (``user_topics``), not turned into invented interaction events.
While a reader has few papers of their own to go on, their lists draw candidates from the recent and trending
papers of their topics (papers.primary_category, written by the ingesters), each saying which topic it is from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.models import Paper, UserTopic

# The arXiv categories offered as topics, with the names arXiv gives them (the most read ones; a reader picks
# a few). The one definition: the web app's onboarding, the API's validation and the reasons read it.
CATEGORIES: dict[str, str] = {
    "cs.AI": "Artificial Intelligence",
    "cs.CL": "Computation and Language",
    "cs.CR": "Cryptography and Security",
    "cs.CV": "Computer Vision and Pattern Recognition",
    "cs.CY": "Computers and Society",
    "cs.DB": "Databases",
    "cs.DC": "Distributed, Parallel, and Cluster Computing",
    "cs.DS": "Data Structures and Algorithms",
    "cs.GT": "Computer Science and Game Theory",
    "cs.HC": "Human-Computer Interaction",
    "cs.IR": "Information Retrieval",
    "cs.IT": "Information Theory",
    "cs.LG": "Machine Learning",
    "cs.LO": "Logic in Computer Science",
    "cs.MA": "Multiagent Systems",
    "cs.NE": "Neural and Evolutionary Computing",
    "cs.NI": "Networking and Internet Architecture",
    "cs.PL": "Programming Languages",
    "cs.RO": "Robotics",
    "cs.SD": "Sound",
    "cs.SE": "Software Engineering",
    "cs.SI": "Social and Information Networks",
    "eess.AS": "Audio and Speech Processing",
    "eess.IV": "Image and Video Processing",
    "eess.SP": "Signal Processing",
    "eess.SY": "Systems and Control",
    "math.OC": "Optimization and Control",
    "math.PR": "Probability",
    "math.ST": "Statistics Theory",
    "physics.comp-ph": "Computational Physics",
    "q-bio.NC": "Neurons and Cognition",
    "q-bio.QM": "Quantitative Methods",
    "q-fin.CP": "Computational Finance",
    "quant-ph": "Quantum Physics",
    "stat.AP": "Statistics Applications",
    "stat.CO": "Statistics Computation",
    "stat.ME": "Statistics Methodology",
    "stat.ML": "Machine Learning (Statistics)",
}
MAX_TOPICS = 10
# Below this many papers of their own (saves and papers read), a reader's lists lean on their topics.
FEW_POSITIVES = 5
TOPIC_DAYS = 30  # how far back "recent papers of a topic" reaches
TOPIC_CANDIDATES = 200


class UnknownTopic(ValueError):
    """A category that is not one of CATEGORIES."""


def topic_reason(category: str) -> str:
    return f"In your topic: {CATEGORIES.get(category, category)}"


def get_topics(session: Session, user_id: int) -> list[str]:
    """The user's topics in the order of CATEGORIES (a stable order for pages and the API)."""
    chosen = set(session.scalars(select(UserTopic.category).where(UserTopic.user_id == user_id)))
    return [code for code in CATEGORIES if code in chosen]


def set_topics(session: Session, user_id: int, categories: Iterable[str]) -> list[str]:
    """Replace the user's topics (and commit). Raises UnknownTopic, changing nothing, for a category that is
    not offered, and ValueError for more than MAX_TOPICS."""
    wanted = list(dict.fromkeys(categories))
    unknown = [c for c in wanted if c not in CATEGORIES]
    if unknown:
        raise UnknownTopic(f"not an offered arXiv category: {', '.join(unknown[:5])}")
    if len(wanted) > MAX_TOPICS:
        raise ValueError(f"at most {MAX_TOPICS} topics, not {len(wanted)}")
    kept = set(session.scalars(select(UserTopic.category).where(UserTopic.user_id == user_id)))
    session.execute(delete(UserTopic).where(UserTopic.user_id == user_id, UserTopic.category.not_in(wanted or [""])))
    now = datetime.now(UTC)
    session.add_all(UserTopic(user_id=user_id, category=c, chosen_at=now) for c in wanted if c not in kept)
    session.commit()
    return get_topics(session, user_id)


def recent_topic_papers(
    session: Session, topics: list[str], *, exclude: set[str], limit: int = TOPIC_CANDIDATES
) -> list[Paper]:
    """The newest papers (of the last TOPIC_DAYS days in the catalog) whose primary category is a topic."""
    if not topics:
        return []
    since = datetime.now(UTC) - timedelta(days=TOPIC_DAYS)
    rows = session.scalars(
        select(Paper)
        .where(Paper.primary_category.in_(topics), Paper.created_at >= since)
        .order_by(Paper.created_at.desc(), Paper.id.desc())
        .limit(limit + len(exclude))
    )
    return [p for p in rows if p.key not in exclude][:limit]


def topic_candidate_keys(
    session: Session, topics: list[str], trending: Iterable[str], *, exclude: set[str]
) -> list[str]:
    """Keys of the papers a reader's topics put forward: the trending ones of those categories, then their
    recent ones (for ``HybridRecommender.recommend(only=...)``)."""
    trending = [k for k in trending if k not in exclude]
    in_topics = set(
        session.scalars(select(Paper.key).where(Paper.key.in_(trending), Paper.primary_category.in_(topics)))
    )
    keys = [k for k in trending if k in in_topics]
    keys += [p.key for p in recent_topic_papers(session, topics, exclude=exclude | in_topics)]
    return keys
