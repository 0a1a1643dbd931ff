"""Whose delivery is this: the connected repositories it names, and the HMAC of each one's secret.

Secrets are decrypted once and kept in process for `TTL` seconds, so a burst of deliveries costs
no query per request; a signature that matches no cached secret is checked again against the
database (the secret may just have been rotated) before the delivery is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ...db.models import Repository
from ...integrations.github.crypto import decrypt_webhook_secret
from ..pulls.payloads import RepositoryRef

TTL = 5.0
"""Seconds a repository's secrets are kept: a disconnected repository's deliveries may be
accepted this long (its job then finds it disconnected and changes nothing)."""
RELOAD_AFTER = 1.0
"""A signature no cached secret matches reloads the secrets, at most this often per repository."""
MAX_ENTRIES = 10_000
HASH_IN_THREAD = 256 * 1024


@dataclass(frozen=True, slots=True)
class Candidate:
    repository_id: uuid.UUID
    workspace_id: uuid.UUID
    secret: bytes


def signature_matches(secret: bytes, body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the exact body>`, compared in constant time."""
    scheme, _, provided = header.strip().partition("=")
    if scheme != "sha256" or not provided:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, provided.strip().lower().encode("ascii", "replace"))


async def _matching(candidates: list[Candidate], body: bytes, signature: str) -> list[Candidate]:
    """The candidates whose secret signed `body`; hashed in a thread when large (hashlib lets go
    of the GIL), so a big delivery does not hold up the event loop."""
    if not candidates:
        return []
    if len(body) <= HASH_IN_THREAD:
        return [c for c in candidates if signature_matches(c.secret, body, signature)]
    return await asyncio.to_thread(
        lambda: [c for c in candidates if signature_matches(c.secret, body, signature)])


class SecretCache:
    """Connected repositories with their webhook secrets, by the repository a payload names."""

    def __init__(self, engine: AsyncEngine, secret_key: str) -> None:
        self.engine = engine
        self.secret_key = secret_key
        self.entries: dict[tuple[int | None, str], tuple[float, list[Candidate]]] = {}
        """(github id, full name) → (loaded at, candidates)."""

    async def verified(self, ref: RepositoryRef, body: bytes, signature: str) -> list[Candidate]:
        """The connected repositories whose secret signed `body` (usually one; none: refuse)."""
        key = (ref.github_id, ref.full_name.lower())
        cached = self.entries.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < TTL:
            matched = await _matching(cached[1], body, signature)
            if matched or now - cached[0] < RELOAD_AFTER:
                return matched
        candidates = await self._load(ref)
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
        if candidates:  # a repository connected a moment later must not wait for an expiry
            self.entries[key] = (time.monotonic(), candidates)
        else:
            self.entries.pop(key, None)
        return await _matching(candidates, body, signature)

    async def _load(self, ref: RepositoryRef) -> list[Candidate]:
        by_name = ((func.lower(Repository.owner) == ref.owner.lower())
                   & (func.lower(Repository.name) == ref.name.lower()))
        match = or_(Repository.github_id == ref.github_id, by_name) if ref.github_id else by_name
        async with self.engine.connect() as connection:
            rows = (await connection.execute(
                select(Repository.id, Repository.workspace_id, Repository.webhook_secret_encrypted)
                .where(Repository.active.is_(True), Repository.webhook_secret_encrypted.is_not(None), match)
                .order_by(Repository.id)
            )).all()
        candidates = []
        for repository_id, workspace_id, sealed in rows:
            secret = decrypt_webhook_secret(self.secret_key, repository_id, sealed)
            if secret:
                candidates.append(Candidate(repository_id, workspace_id, secret.encode()))
        return candidates
