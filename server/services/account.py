"""What a user can do with everything stored about them: export it, forget their history, erase the account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.models import (
    ApiToken,
    DigestDelivery,
    DigestSetting,
    Dismissal,
    FeedToken,
    Interaction,
    Paper,
    Save,
    User,
    UserTopic,
)
from server.services import serving_model
from server.services.erasure import record_erasure
from server.services.trending_days import rebuilt_for_user


def erase_account(session: Session, user_id: int) -> None:
    """Delete the account and every row about it (interactions, saves, dismissals, tokens, topics), and record the
    erasure in the same transaction; before this returns, the model serving here has dropped the user's row
    and no kept model version holds it (other processes follow at their next check)."""
    with rebuilt_for_user(session, user_id):  # trending forgets the user's events with them
        for model in (Interaction, Save, Dismissal, ApiToken, FeedToken, UserTopic, DigestSetting, DigestDelivery):
            session.execute(delete(model).where(model.user_id == user_id))
    session.execute(delete(User).where(User.id == user_id))
    record_erasure(session, user_id)  # in the same transaction: no deletion without its erasure, nor back
    session.commit()
    serving_model.apply_erasures()


@dataclass(frozen=True)
class ResetCounts:
    interactions_removed: int
    dismissals_removed: int


def reset_personalisation(session: Session, user_id: int) -> ResetCounts:
    """Forget opens, clicks, dismissals and past save/unsave history; each saved paper keeps its newest save
    event, so the recommender still knows the user's library."""
    saved = select(Save.paper_id).where(Save.user_id == user_id)
    with rebuilt_for_user(session, user_id):  # trending keeps only what the log keeps
        removed = session.execute(
            delete(Interaction).where(
                Interaction.user_id == user_id,
                ~((Interaction.type == "save") & Interaction.paper_id.in_(saved)),
            )
        ).rowcount
        newest = (
            select(func.max(Interaction.id))
            .where(Interaction.user_id == user_id, Interaction.type == "save")
            .group_by(Interaction.paper_id)
        )
        removed += session.execute(
            delete(Interaction).where(Interaction.user_id == user_id, Interaction.id.not_in(newest))
        ).rowcount
    dismissals = session.execute(delete(Dismissal).where(Dismissal.user_id == user_id)).rowcount
    session.commit()
    return ResetCounts(interactions_removed=removed, dismissals_removed=dismissals)


@dataclass(frozen=True)
class LoggedEvent:
    """One event of the interaction log, as its user sees it."""

    event_id: str  # the client's event id (one the server made for choices made through the API)
    type: str
    paper_key: str
    occurred_at: datetime
    received_at: datetime
    context: dict[str, Any] | None


@dataclass(frozen=True)
class AccountData:
    """Everything stored about a user besides the account row itself."""

    tokens: list[ApiToken]  # without secrets: only their hashes are stored
    saves: list[tuple[Save, Paper]]  # newest first
    dismissals: list[tuple[str, datetime]]  # (paper key, dismissed_at)
    interactions: list[LoggedEvent]  # oldest first
    feed_token_created_at: datetime | None  # the feed token (server/services/feeds.py), if one was issued
    topics: list[str]  # arXiv categories picked as topics
    digest: DigestSetting | None  # None: never switched on
    digest_deliveries: list[DigestDelivery]  # oldest first


def account_data(session: Session, user_id: int) -> AccountData:
    tokens = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)))
    saves = session.execute(
        select(Save, Paper)
        .join(Paper, Paper.id == Save.paper_id)
        .where(Save.user_id == user_id)
        .order_by(Save.saved_at.desc())
    )
    dismissals = session.execute(
        select(Paper.key, Dismissal.dismissed_at)
        .join(Paper, Paper.id == Dismissal.paper_id)
        .where(Dismissal.user_id == user_id)
    )
    interactions = session.execute(
        select(
            Interaction.client_event_id,
            Interaction.type,
            Paper.key,
            Interaction.occurred_at,
            Interaction.received_at,
            Interaction.context,
        )
        .join(Paper, Paper.id == Interaction.paper_id)
        .where(Interaction.user_id == user_id)
        .order_by(Interaction.occurred_at, Interaction.id)
    )
    return AccountData(
        tokens=tokens,
        saves=[(save, paper) for save, paper in saves],
        dismissals=[(key, at) for key, at in dismissals],
        interactions=[LoggedEvent(*row) for row in interactions],
        feed_token_created_at=session.scalar(select(FeedToken.created_at).where(FeedToken.user_id == user_id)),
        topics=sorted(session.scalars(select(UserTopic.category).where(UserTopic.user_id == user_id))),
        digest=session.get(DigestSetting, user_id),
        digest_deliveries=list(
            session.scalars(select(DigestDelivery).where(DigestDelivery.user_id == user_id).order_by(DigestDelivery.id))
        ),
    )


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """The user's API tokens, newest first (revoked and expired ones too; hashes only)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens (idempotent; commits); False when the user has no such token."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        return False
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.commit()
    return True
