"""Repository-level GitHub access for jobs: whose token, and how much of its budget is left.

Repository work (reconcile, backfill, the PR comment) uses a workspace admin's token, owners
first; a token GitHub refuses (401) is marked (its user must sign in again) and the next one is
tried. Every response's `X-RateLimit-*` headers are kept per token user (`github_budgets`, written
at most every few seconds per user and process, at once when low); under 5 % of the budget,
background work waits for the reset — the job is rescheduled, not failed — while user-started work
still runs. A 403/429 rate limit (with `Retry-After`, a secondary limit, or the primary one spent)
reschedules any job for the time GitHub gave.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from ...integrations.github.client import Budget, GitHubClient, GitHubError
from ...integrations.github.crypto import decrypt_user_token
from ...lib.jobs import defer, fail

SIGN_IN_AGAIN = "GitHub: sign in again with taskly login"
"""What a job, `taskly whoami` and `taskly status` say once GitHub refused a user's token (401)."""
LOW_BUDGET = 0.05
"""Background work waits for the reset under this share of the budget left."""
RECORD_EVERY = 5.0
"""Seconds between writes of one user's budget by one process (at once when it is low)."""

_REPOSITORY = text("SELECT id, workspace_id, owner, name, active, reconciled_at FROM repositories"
                   " WHERE id = :id")
_ADMIN_TOKENS = text(
    "SELECT u.id, u.github_token_encrypted FROM members m JOIN users u ON u.id = m.user_id"
    " WHERE m.workspace_id = :workspace_id AND m.role IN ('owner', 'admin')"
    " AND u.github_token_encrypted IS NOT NULL AND u.github_token_refused_at IS NULL"
    " ORDER BY m.role = 'owner' DESC, u.id")
_BUDGET = text("SELECT remaining, \"limit\", reset_at FROM github_budgets WHERE user_id = :user_id")
_RECORD = text(
    "INSERT INTO github_budgets (user_id, remaining, \"limit\", reset_at, updated_at)"
    " VALUES (:user_id, :remaining, :limit, :reset_at, now()) ON CONFLICT (user_id) DO UPDATE SET"
    " remaining = excluded.remaining, \"limit\" = excluded.\"limit\", reset_at = excluded.reset_at,"
    " updated_at = now()")

_recorded: dict[uuid.UUID, float] = {}
"""When this process last wrote each user's budget."""


async def token_refused(db: Any, user_id: uuid.UUID) -> None:
    """GitHub answered 401 to this user's token: they must sign in again (a sign-in clears it)."""
    await db.execute(text("UPDATE users SET github_token_refused_at = now() WHERE id = :id"),
                     {"id": user_id})


async def mark_refused(ctx: dict[str, Any], user_id: uuid.UUID) -> None:
    async with ctx["sessionmaker"]() as db, db.begin():
        await token_refused(db, user_id)


async def repository_and_tokens(ctx: dict[str, Any],
                                repository_id: uuid.UUID) -> tuple[Any, list[tuple[uuid.UUID, str]]]:
    """The repository's row and the tokens of its workspace's admins (owners first) that work."""
    async with ctx["sessionmaker"]() as db:
        row = (await db.execute(_REPOSITORY, {"id": repository_id})).first()
        if row is None or not row.active:
            raise fail(ctx, "the repository is no longer connected", retry=False)
        users = (await db.execute(_ADMIN_TOKENS, {"workspace_id": row.workspace_id})).all()
    secret = ctx["settings"].secret()
    tokens = [(user_id, token) for user_id, sealed in users
              if (token := decrypt_user_token(secret, user_id, sealed)) is not None]
    return row, tokens


async def stored_budget(ctx: dict[str, Any], user_id: uuid.UUID) -> Budget | None:
    async with ctx["sessionmaker"]() as db:
        row = (await db.execute(_BUDGET, {"user_id": user_id})).first()
    return Budget(row.remaining, row.limit, row.reset_at.timestamp()) if row is not None else None


async def record_budget(ctx: dict[str, Any], user_id: uuid.UUID, budget: Budget | None,
                        *, force: bool = False) -> None:
    """Keep the token's budget for `taskly repo status` and the other workers (throttled)."""
    if budget is None:
        return
    now = time.monotonic()
    if not force and not budget.low(time.time()) and now - _recorded.get(user_id, -RECORD_EVERY) < RECORD_EVERY:
        return
    _recorded[user_id] = now
    async with ctx["sessionmaker"]() as db, db.begin():
        await db.execute(_RECORD, {"user_id": user_id, "remaining": budget.remaining, "limit": budget.limit,
                                   "reset_at": datetime.fromtimestamp(budget.reset_at, UTC)})


def _waiting(budget: Budget) -> str:
    at = datetime.fromtimestamp(budget.reset_at, UTC).strftime("%H:%M:%S UTC")
    return (f"waiting for GitHub's rate limit to reset at {at} "
            f"({budget.remaining} of {budget.limit} calls left)")


async def with_github(ctx: dict[str, Any], tokens: list[tuple[uuid.UUID, str]], call: Any, *,
                      background: bool) -> Any:
    """`call(client)` in a thread with the first admin token GitHub accepts; a refused one is
    marked and dropped from `tokens`. Fails fast (no retries) when none is left (with the sign-in
    message once one was refused); retries what another attempt may fix; reschedules the job for
    GitHub's time on a rate limit, and `background` work while every token's budget is low."""
    if not tokens:
        raise fail(ctx, "no admin of the workspace has GitHub access: sign in with `taskly login`",
                   retry=False)
    low: list[Budget] = []
    index = 0
    while index < len(tokens):
        user_id, token = tokens[index]
        client = GitHubClient(ctx["settings"].github_api_url, token)
        if background:
            budget = client.budget() or await stored_budget(ctx, user_id)
            if budget is not None and budget.low(time.time()):
                low.append(budget)
                index += 1
                continue
        try:
            result = await asyncio.to_thread(call, client)
        except GitHubError as exc:
            await record_budget(ctx, user_id, client.budget(), force=exc.retry_at is not None)
            if exc.status == 401:
                await mark_refused(ctx, user_id)
                tokens.pop(index)  # the job's later calls skip it too
                continue
            if exc.retry_at is not None:
                raise defer(ctx, exc.retry_at, exc.message) from None
            raise fail(ctx, exc.message, retry=exc.retryable) from None
        await record_budget(ctx, user_id, client.budget())
        return result
    if low:
        soonest = min(low, key=lambda b: b.reset_at)
        raise defer(ctx, soonest.reset_at + 1, _waiting(soonest))
    raise fail(ctx, SIGN_IN_AGAIN, retry=False)


async def repository_budget(db: Any, workspace_id: uuid.UUID) -> Budget | None:
    """The budget of the token repository work would use now (the first admin's with one)."""
    row = (await db.execute(text(
        "SELECT b.remaining, b.\"limit\", b.reset_at FROM members m JOIN users u ON u.id = m.user_id"
        " JOIN github_budgets b ON b.user_id = u.id WHERE m.workspace_id = :workspace_id"
        " AND m.role IN ('owner', 'admin') AND u.github_token_encrypted IS NOT NULL"
        " AND u.github_token_refused_at IS NULL ORDER BY m.role = 'owner' DESC, u.id LIMIT 1"),
        {"workspace_id": workspace_id})).first()
    return Budget(row.remaining, row.limit, row.reset_at.timestamp()) if row is not None else None
