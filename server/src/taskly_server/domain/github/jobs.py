"""GitHub jobs: create a card's branch, connect a repository, remove its webhook.

PyGithub is synchronous: every call runs in a thread (`asyncio.to_thread`) through
`GitHubClient` (timeouts, bounded retries, circuit breaker), with the user's own token. A
GitHub failure that another attempt may fix (5xx, network, rate limit, open circuit) fails the
attempt and SAQ retries it with backoff; anything else fails the job at once with a clear error.
Database changes happen after GitHub answered, in one transaction with their Change rows.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

from sqlalchemy import func, select, text
from taskly_shared.models import Role

from ...db.models import Member, Repository, User, Workspace
from ...integrations.github.client import WEBHOOK_EVENTS, GitHubClient, GitHubError, RepoInfo
from ...integrations.github.crypto import (
    decrypt_user_token,
    decrypt_webhook_secret,
    secret_box,
    webhook_secret_context,
)
from ...lib.access import ROLE_RANK
from ...lib.batching import Batches
from ...lib.jobs import Announcer, fail, heartbeat, succeeded
from ...lib.mutation import Mutation
from ..pulls.access import record_budget
from ..pulls.queries import RepositoryRow
from ..pulls.reconcile import SIGN_IN_AGAIN, backfill, mark_refused
from ..repositories.queries import RepositoryStore, repository_out, webhook_url
from .results import seal
from .starts import start_card


def _user_token(ctx: dict[str, Any], user: User | None) -> str | None:
    if user is None:
        return None
    return decrypt_user_token(ctx["settings"].secret(), user.id, user.github_token_encrypted)


async def _token(ctx: dict[str, Any], user: User | None) -> str:
    token = _user_token(ctx, user)
    if token is None:
        raise _no_token(ctx)
    if user is not None and user.github_token_refused_at is not None:
        raise fail(ctx, SIGN_IN_AGAIN, retry=False)
    return token


async def _refused(ctx: dict[str, Any], user_id: uuid.UUID | None, exc: GitHubError) -> None:
    """GitHub refused the user's token (401): mark it, and fail at once with the sign-in message."""
    if exc.status == 401 and user_id is not None:
        await mark_refused(ctx, user_id)
        raise fail(ctx, SIGN_IN_AGAIN, retry=False) from None


def _no_token(ctx: dict[str, Any]) -> Exception:
    return fail(ctx, "no GitHub access for this user: sign in with GitHub (`taskly login`) and "
                     "try again", retry=False)


def _client(ctx: dict[str, Any], token: str) -> GitHubClient:
    return GitHubClient(ctx["settings"].github_api_url, token)


async def _commit(ctx: dict[str, Any], user: User, work: Any) -> tuple[Any, Mutation]:
    """Run `work(mutation)` in one transaction with its Change rows, attributed to `user`."""
    announcer = Announcer(ctx)
    async with ctx["sessionmaker"]() as db, db.begin():
        mutation = Mutation(db, actor_type="user", actor_id=user.id, actor_name=user.username)
        result = await work(mutation)
        await mutation.flush()
        await announcer.before_commit(db, mutation.committed_seqs)
    await announcer.after_commit(mutation.committed_seqs)
    return result, mutation


# --- create_branch -----------------------------------------------------------------------------

READ_ONLY = {"isolation_level": "AUTOCOMMIT"}
"""A lone SELECT needs no transaction: no BEGIN and ROLLBACK round trips around it."""
_BRANCH_JOB_ROWS = text(
    "SELECT c.id AS card_id, c.deleted_at, r.owner, r.name, r.default_branch, r.active,"
    " u.id AS starter_id, u.github_token_encrypted, u.github_token_refused_at"
    " FROM unnest(CAST(:card_ids AS uuid[]), CAST(:repository_ids AS uuid[]),"
    " CAST(:user_ids AS uuid[])) WITH ORDINALITY AS job(card_id, repository_id, user_id, n)"
    " LEFT JOIN cards c ON c.id = job.card_id"
    " LEFT JOIN repositories r ON r.id = job.repository_id"
    " LEFT JOIN users u ON u.id = job.user_id ORDER BY job.n")
"""What each create_branch job reads first (its card, repository and starter), one row per job:
columns, not entities, for the jobs that ask together."""

BranchJob = tuple[uuid.UUID, uuid.UUID, uuid.UUID]
"""A create_branch job's card, repository and starter ids."""


class BranchJobReads:
    """One per worker process (in the job context as `branch_reads`): the reads of the branch jobs
    that start while another read runs share one query (`batching.Batches`)."""

    def __init__(self, ctx: dict[str, Any]) -> None:
        self.ctx = ctx
        self.batches: Batches[BranchJob, Any] = Batches(self._read, 50)

    async def read(self, job: BranchJob) -> Any:
        return await self.batches.submit(job)

    async def _read(self, jobs: list[BranchJob]) -> list[Any]:
        card_ids, repository_ids, user_ids = (list(ids) for ids in zip(*jobs, strict=True))
        async with self.ctx["sessionmaker"]() as db:
            await db.connection(execution_options=READ_ONLY)
            return list((await db.execute(_BRANCH_JOB_ROWS, {
                "card_ids": card_ids, "repository_ids": repository_ids, "user_ids": user_ids,
            })).all())


async def create_branch(ctx: dict[str, Any], *, card_id: str, user_id: str, repository_id: str,
                        branch: str, base: str | None = None) -> dict[str, Any]:
    """Create `branch` for the card on GitHub, then record it on the card, assign the starter and
    move the card to in progress (one transaction, attributed to the starter). Re-runnable: an
    existing branch is success, and a card that records the branch is left alone."""
    job: BranchJob = (uuid.UUID(card_id), uuid.UUID(repository_id), uuid.UUID(user_id))
    reads: BranchJobReads | None = ctx.get("branch_reads")
    found = await (reads or BranchJobReads(ctx)).read(job)
    if found.card_id is None or found.deleted_at is not None:
        raise fail(ctx, "the card was deleted; no branch was created", retry=False)
    if not found.active:  # None: the repository row is gone
        raise fail(ctx, "the board's repository is no longer connected", retry=False)
    token = None
    if found.starter_id is not None:
        token = decrypt_user_token(ctx["settings"].secret(), found.starter_id,
                                   found.github_token_encrypted)
    if token is None:
        raise _no_token(ctx)
    if found.github_token_refused_at is not None:
        raise fail(ctx, SIGN_IN_AGAIN, retry=False)
    client = _client(ctx, token)
    full_name = f"{found.owner}/{found.name}"
    base_branch = base or found.default_branch
    async with heartbeat(ctx):
        try:
            sha, created = await asyncio.to_thread(_create_on_github, client, full_name, base_branch,
                                                   branch)
        except _BaseUnreadable as exc:
            await _refused(ctx, found.starter_id, exc.error)
            if exc.error.status == 404:
                raise fail(ctx, await _missing(client, full_name, base_branch), retry=False) from None
            raise fail(ctx, exc.error.message, retry=exc.error.retryable) from None
        except GitHubError as exc:
            await _refused(ctx, found.starter_id, exc)
            if exc.status == 404:
                raise fail(ctx, f"cannot create branches in {full_name}: your GitHub account needs "
                                "write access", retry=False) from None
            raise fail(ctx, exc.message, retry=exc.retryable) from None
    card, changed = await start_card(ctx, found.starter_id, uuid.UUID(card_id), branch)
    succeeded(ctx)
    return {"branch": branch, "repository": full_name, "base": base_branch, "sha": sha,
            "created": created, "card_id": card_id, "key": card["key"] if card else None,
            "card_changed": changed, "card": card}


class _BaseUnreadable(Exception):
    """Reading the base branch failed (as opposed to creating the new one)."""

    def __init__(self, error: GitHubError) -> None:
        super().__init__(error.message)
        self.error = error


def _create_on_github(client: GitHubClient, full_name: str, base: str, branch: str) -> tuple[str, bool]:
    """Read the base's sha, then create the branch there: both calls in one trip to a thread."""
    try:
        sha = client.branch_sha(full_name, base)
    except GitHubError as exc:
        raise _BaseUnreadable(exc) from None
    return sha, client.create_branch(full_name, branch, sha)


async def _missing(client: GitHubClient, full_name: str, branch: str) -> str:
    """Why reading `branch` answered 404: the branch is missing, or the repository is invisible."""
    try:
        await asyncio.to_thread(client.repository, full_name)
    except GitHubError as exc:
        if exc.status == 404:
            return (f"your GitHub account cannot see {full_name}: ask its owners for write access, "
                    "or create the branch locally")
    return f"base branch {branch!r} not found in {full_name}"


# --- connect_repository ------------------------------------------------------------------------


async def connect_repository(ctx: dict[str, Any], *, workspace_id: str, full_name: str, user_id: str,
                             board_id: str | None = None) -> dict[str, Any]:
    """Check the user's access, store the repository, and register the webhook when the token
    may (admin on the repository and the admin:repo_hook scope); otherwise the result carries the
    URL and secret to set by hand (`"webhook": "manual"`)."""
    settings = ctx["settings"]
    workspace_uuid = uuid.UUID(workspace_id)
    async with ctx["sessionmaker"]() as db:
        user = await db.get(User, uuid.UUID(user_id))
        role = await db.scalar(
            select(Member.role).join(Workspace, Workspace.id == Member.workspace_id)
            .where(Member.workspace_id == workspace_uuid, Member.user_id == uuid.UUID(user_id),
                   Workspace.deleted_at.is_(None)))
    if role is None or ROLE_RANK[Role(role)] < ROLE_RANK[Role.ADMIN]:
        raise fail(ctx, "only admins of the workspace connect repositories", retry=False)
    client = _client(ctx, await _token(ctx, user))
    async with heartbeat(ctx):
        found = await _repository(ctx, client, full_name, user.id)
        existing = await _existing(ctx, workspace_uuid, found)
        stored = (decrypt_webhook_secret(settings.secret(), existing.id,
                                         existing.webhook_secret_encrypted) if existing else None)
        hook = await _register_hook(ctx, client, found, existing, stored)
    repository_id = existing.id if existing else uuid.uuid4()
    box = secret_box(settings.secret())

    async def store(mutation: Mutation) -> dict[str, Any]:
        service = RepositoryStore(mutation, settings)
        unchanged = existing is not None and stored == hook["secret"]
        sealed = (existing.webhook_secret_encrypted if unchanged
                  else box.encrypt(hook["secret"], webhook_secret_context(repository_id)))
        row = await service.store(workspace_uuid, found, hook["hook_id"], sealed, repository_id)
        if row.id != repository_id:  # another row matched after all: seal the secret for it
            row.webhook_secret_encrypted = box.encrypt(hook["secret"], webhook_secret_context(row.id))
        made_default = await service.make_default(uuid.UUID(board_id), row) if board_id else False
        return {"repository": repository_out(row, settings).model_dump(mode="json"),
                "board_default": made_default}

    result, _ = await _commit(ctx, user, store)
    result["pulls_queued"], result["backfill_error"] = await _backfill(ctx, client, result)
    await record_budget(ctx, user.id, client.budget(), force=True)
    succeeded(ctx)
    result.update(webhook=hook["mode"], url=webhook_url(settings), events=list(WEBHOOK_EVENTS),
                  hook_id=hook["hook_id"])
    if hook["mode"] == "manual":
        result["reason"] = hook["reason"]
        result["content_type"] = "json"
        result["secret_encrypted"] = seal(settings, ctx["job"].key, hook["secret"])
    return result


async def _backfill(ctx: dict[str, Any], client: GitHubClient,
                    result: dict[str, Any]) -> tuple[int, str | None]:
    """Queue the sync of the repository's open and recent pull requests that link a card; the
    connection stands when GitHub fails here (the reconcile cron catches up)."""
    out = result["repository"]
    repository = RepositoryRow(uuid.UUID(out["id"]), uuid.UUID(out["workspace_id"]), out["owner"], out["name"])
    try:
        return await backfill(ctx, client, repository), None
    except GitHubError as exc:
        return 0, exc.message


async def _repository(ctx: dict[str, Any], client: GitHubClient, full_name: str,
                      user_id: uuid.UUID) -> RepoInfo:
    try:
        return await asyncio.to_thread(client.repository, full_name)
    except GitHubError as exc:
        await _refused(ctx, user_id, exc)
        if exc.status == 404:
            raise fail(ctx, f"repository {full_name} not found, or your GitHub account cannot see it",
                       retry=False) from None
        raise fail(ctx, exc.message, retry=exc.retryable) from None


async def _existing(ctx: dict[str, Any], workspace_id: uuid.UUID, found: RepoInfo) -> Repository | None:
    """The workspace's row of this GitHub repository, by id or (renamed or new) by name."""
    async with ctx["sessionmaker"]() as db:
        return await db.scalar(select(Repository).where(
            Repository.workspace_id == workspace_id,
            (Repository.github_id == found.github_id)
            | ((func.lower(Repository.owner) == found.owner.lower())
               & (func.lower(Repository.name) == found.name.lower()))))


async def _register_hook(ctx: dict[str, Any], client: GitHubClient, found: RepoInfo,
                         existing: Repository | None, stored: str | None) -> dict[str, Any]:
    """The webhook of the repository: found, created or updated; or manual, with the secret."""
    url = webhook_url(ctx["settings"])
    secret = stored or secrets.token_urlsafe(32)
    manual = {"mode": "manual", "hook_id": None, "secret": secret,
              "reason": f"your GitHub token cannot manage the webhooks of {found.full_name} (it needs "
                        "admin on the repository and the admin:repo_hook scope): add this webhook "
                        "on GitHub by hand"}
    if not found.admin:
        return manual
    try:
        hook_id = await asyncio.to_thread(client.find_hook, found.full_name, url)
        if hook_id is None:
            hook_id = await asyncio.to_thread(client.create_hook, found.full_name, url, secret)
        elif not (stored and existing is not None and existing.webhook_id == hook_id):
            await asyncio.to_thread(client.update_hook, found.full_name, hook_id, url, secret)
    except GitHubError as exc:
        if exc.retryable:
            raise fail(ctx, exc.message, retry=True) from None
        return manual
    return {"mode": "registered", "hook_id": hook_id, "secret": secret, "reason": None}


# --- remove_webhook ----------------------------------------------------------------------------


async def remove_webhook(ctx: dict[str, Any], *, repository_id: str, user_id: str,
                         webhook_id: int) -> dict[str, Any]:
    """Best effort after a disconnect: delete the hook on GitHub and forget it here."""
    async with ctx["sessionmaker"]() as db:
        repository = await db.get(Repository, uuid.UUID(repository_id))
        user = await db.get(User, uuid.UUID(user_id))
    if repository is None or repository.active or repository.webhook_id != webhook_id:
        return {"removed": False, "reason": "the repository was reconnected or is gone"}
    token = _user_token(ctx, user)
    if token is None:
        return {"removed": False, "reason": "no GitHub access for this user: remove the hook by hand"}
    full_name = f"{repository.owner}/{repository.name}"
    try:
        removed = await asyncio.to_thread(_client(ctx, token).delete_hook, full_name, webhook_id)
    except GitHubError as exc:
        if exc.retryable:
            raise fail(ctx, exc.message, retry=True) from None
        return {"removed": False, "reason": exc.message}

    async def forget(mutation: Mutation) -> None:
        row = await mutation.db.scalar(
            select(Repository).where(Repository.id == repository.id).with_for_update())
        if row is None or row.active or row.webhook_id != webhook_id:
            return
        row.webhook_id, row.webhook_secret_encrypted = None, None
        row.version += 1
        await mutation.db.flush()
        mutation.record(row.workspace_id, "repository", row.id, "update",
                        changes={"webhook": ("registered", "none")},
                        data=repository_out(row, ctx["settings"]), version=row.version)

    await _commit(ctx, user, forget)
    succeeded(ctx)
    return {"removed": removed, "repository": full_name}


JOBS = [create_branch, connect_repository, remove_webhook]
