"""Who makes a request: every controller and service that acts for a caller takes a `Principal`.

The bearer token a request carries is resolved to one by `domain.auth` (`provide_principal`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who makes a request: a user, signed in directly or through one of their API tokens."""

    user_id: uuid.UUID
    username: str
    token_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    """The sign-in (refresh-token family) an access token belongs to; logout ends it."""

    @property
    def actor_type(self) -> str:
        return "token" if self.token_id else "user"

    def __repr__(self) -> str:
        return f"Principal({self.username!r}, via={self.actor_type})"
