"""The data model of SPEC §3."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Synced, Timestamps, utcnow

RANK = String(128, collation="C")
"""Fractional-index ranks sort byte-wise, so they must compare in the C collation."""


class User(Synced, Base):
    __tablename__ = "users"
    github_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(1024))
    github_token_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    github_token_refused_at: Mapped[datetime | None]
    """When GitHub last answered 401 to the stored token (sign in again); cleared by a sign-in."""
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    """IANA time zone: due-date notifications come at 09:00 in it."""
    notify: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    """Notification preferences: {kind: false} turns a kind off."""
    notification_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """The seq of the user's newest notification; taken under a row lock (commit order)."""
    __table_args__ = (Index("uq_users_username_lower", func.lower(text("username")), unique=True),)

    @property
    def github_sign_in_required(self) -> bool:
        """GitHub refused the stored token: `UserOut.github_sign_in_required`."""
        return self.github_token_refused_at is not None


class Workspace(Synced, Base):
    __tablename__ = "workspaces"
    name: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """The seq of the workspace's newest change; taken under a row lock."""
    feed_floor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Changes with seq ≤ feed_floor have been pruned from the feed."""
    deleted_at: Mapped[datetime | None]


class Member(Synced, Base):
    __tablename__ = "members"
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)


class Invitation(Synced, Base):
    __tablename__ = "invitations"
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    """Set when an admin revokes it, or when its creator is removed or demoted below its role."""
    __table_args__ = (Index("ix_invitations_workspace_id_created_by", "workspace_id", "created_by"),)


class Repository(Synced, Base):
    __tablename__ = "repositories"
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    github_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    owner: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    default_branch: Mapped[str] = mapped_column(String(255), default="main")
    webhook_id: Mapped[int | None] = mapped_column(BigInteger)
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    reconciled_at: Mapped[datetime | None]
    """When its pull requests were last re-read from GitHub (reconcile, backfill)."""
    __table_args__ = (
        Index("uq_repositories_workspace_full_name", "workspace_id", func.lower(text("owner")),
              func.lower(text("name")), unique=True),
    )


class Board(Synced, Base):
    __tablename__ = "boards"
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(10))
    next_card_number: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    default_repository_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("repositories.id", ondelete="SET NULL")
    )
    branch_template: Mapped[str | None] = mapped_column(String(200))
    automation: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    deleted_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)


class BoardColumn(Synced, Base):
    __tablename__ = "board_columns"
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    rank: Mapped[str] = mapped_column(RANK)
    kind: Mapped[str] = mapped_column(String(16))
    wip_limit: Mapped[int | None]
    __table_args__ = (
        Index("uq_board_columns_board_name", "board_id", func.lower(text("name")), unique=True),
    )


class Sprint(Synced, Base):
    __tablename__ = "sprints"
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    goal: Mapped[str | None] = mapped_column(String(500))
    capacity_points: Mapped[int] = mapped_column(Integer, default=40, server_default="40")
    closed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    __table_args__ = (
        Index("uq_sprints_board_name", "board_id", func.lower(text("name")), unique=True,
              postgresql_where=text("deleted_at IS NULL")),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint("capacity_points >= 0", name="capacity"),
    )


class Label(Synced, Base):
    """A label of a workspace's catalogue; cards name it by `name` (their `labels` array)."""

    __tablename__ = "labels"
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(50))
    color: Mapped[str] = mapped_column(String(7))
    description: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color"),
    )


class Card(Synced, Base):
    __tablename__ = "cards"
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    column_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("board_columns.id"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    labels: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list, server_default="{}")
    priority: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    points: Mapped[int | None]
    due: Mapped[date | None] = mapped_column(Date)
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    recurrence: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    recurrence_interval: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    rank: Mapped[str] = mapped_column(RANK)
    sprint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sprints.id", ondelete="SET NULL"))
    assignee_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), default=list, server_default="{}"
    )
    branch: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("board_id", "number"),
        Index("ix_cards_column_rank", "column_id", "rank"),
        Index("ix_cards_workspace", "workspace_id"),
        Index("ix_cards_sprint_id", "sprint_id", postgresql_where=text("sprint_id IS NOT NULL")),
        Index("ix_cards_remind_at_pending", "remind_at",
              postgresql_where=text("reminded_at IS NULL AND remind_at IS NOT NULL")),
        Index("ix_cards_due", "due", postgresql_where=text("due IS NOT NULL")),
        Index("ix_cards_labels", "labels", postgresql_using="gin"),
    )


class Comment(Synced, Base):
    __tablename__ = "comments"
    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class PullRequest(Synced, Base):
    __tablename__ = "pull_requests"
    repository_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(1024), default="")
    body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    """open | draft | closed | merged"""
    head_branch: Mapped[str | None] = mapped_column(String(255))
    base_branch: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(1024))
    author: Mapped[str | None] = mapped_column(String(255))
    ci_status: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    checks: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    approvals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    changes_requested: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reviews: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    head_sha: Mapped[str | None] = mapped_column(String(64))
    commit_count: Mapped[int | None]
    merged_at: Mapped[datetime | None]
    github_updated_at: Mapped[datetime | None]
    mergeable: Mapped[bool | None]
    """GitHub's answer (None: not computed yet, or closed)."""
    mergeable_state: Mapped[str | None] = mapped_column(String(32))
    """clean | dirty | blocked | behind | unstable | has_hooks | draft | unknown"""
    additions: Mapped[int | None]
    deletions: Mapped[int | None]
    __table_args__ = (
        UniqueConstraint("repository_id", "number"),
        Index("ix_pull_requests_head_sha", "repository_id", "head_sha"),
        Index("ix_pull_requests_head_branch", "repository_id", "head_branch"),
    )


class CardPullRequest(Base):
    __tablename__ = "card_pull_requests"
    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    pull_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    __table_args__ = (Index("ix_card_pull_requests_pull_request_id", "pull_request_id"),)


class PullRequestComment(Base):
    """The one comment Taskly keeps on a pull request, linking its cards (issue 17, point 5)."""

    __tablename__ = "pull_request_comments"
    pull_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pull_requests.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    """pending (not posted yet) | creating (a POST may have reached GitHub) | posted | deleted"""
    comment_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str | None] = mapped_column(Text)
    """The body GitHub has, as Taskly last wrote it."""
    lease_key: Mapped[str | None] = mapped_column(String(200))
    """The job working on the comment now (until `lease_until`: a dead worker's lease runs out)."""
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class GitHubBudget(Base):
    """A user's GitHub token's REST budget, from the last response's X-RateLimit-* headers."""

    __tablename__ = "github_budgets"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    remaining: Mapped[int]
    limit: Mapped[int]
    reset_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class CommitCheck(Base):
    """One check of a commit on GitHub (check run, check suite or status), as last reported."""

    __tablename__ = "commit_checks"
    repository_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    """`<kind>:<name>`: check_run:build, check_suite:GitHub Actions, status:ci/circleci."""
    state: Mapped[str] = mapped_column(String(16))
    """success | failure | pending | neutral"""
    url: Mapped[str | None] = mapped_column(String(1024))
    reported_at: Mapped[datetime | None]
    """GitHub's time of this state: an older report never overwrites a newer one."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class RepositoryBranch(Base):
    """A branch known on GitHub, from create, delete and push deliveries."""

    __tablename__ = "repository_branches"
    repository_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha: Mapped[str | None] = mapped_column(String(64))
    commit_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Commits pushed to it since Taskly knows it."""
    exists: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    event_at: Mapped[datetime | None]
    """GitHub's time of the newest event applied: an older one never overwrites it."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class Change(Base):
    """The change feed, also the activity and audit log."""

    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    op: Mapped[str] = mapped_column(String(16))
    version: Mapped[int | None]
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    actor_name: Mapped[str | None] = mapped_column(String(255))
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    mutation_id: Mapped[str | None] = mapped_column(String(255))
    conflicts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    wire: Mapped[str] = mapped_column(Text)
    """The row as `ChangeOut` JSON, rendered once when written (db/sql/taskly_change_json.sql)."""
    __table_args__ = (
        UniqueConstraint("workspace_id", "seq"),
        Index("ix_changes_entity", "entity_id", "seq"),
        Index("ix_changes_card_sprint", text("(changes #>> '{sprint_id,new}')"),
              postgresql_where=text("entity_type = 'card' AND changes ? 'sprint_id'")),
    )


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    repository_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("repositories.id", ondelete="SET NULL")
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_webhook_deliveries_repository_received", "repository_id", "received_at"),)


class Notification(Synced, Base):
    __tablename__ = "notifications"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    card_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    read: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Per user, in commit order (users.notification_seq): the WebSocket catch-up cursor."""
    card_key: Mapped[str | None] = mapped_column(String(32))
    card_title: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(255))
    read_at: Mapped[datetime | None]
    dedupe_key: Mapped[str] = mapped_column(String(200))
    """What makes it one of a kind (a change's seq, a card's reminder time): inserted once."""
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_id"),
        Index("ix_notifications_user_seq", "user_id", "seq"),
    )


class FeedConsumer(Base):
    """A change-feed consumer known to the workers (lib/consumers.py)."""

    __tablename__ = "feed_consumers"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class ConsumerCursor(Base):
    """How far a consumer has handled a workspace's feed; advanced with the consumer's effects."""

    __tablename__ = "consumer_cursors"
    consumer: Mapped[str] = mapped_column(
        ForeignKey("feed_consumers.name", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class CardOccurrence(Base):
    """A recurring card and the next one made when it was done: one next card per card."""

    __tablename__ = "card_occurrences"
    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"), primary_key=True)
    next_card_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cards.id", ondelete="CASCADE"), unique=True)
    anchor_day: Mapped[int | None]
    """The series' day of month (monthly), kept across short months."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class ApiToken(Timestamps, Base):
    __tablename__ = "api_tokens"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list, server_default="{}")
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


class IdempotencyKey(Base):
    """The first answer to a mutation, replayed for every later request with the same key."""

    __tablename__ = "idempotency_keys"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    principal_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    __table_args__ = (UniqueConstraint("principal_id", "key"),)
