"""Realtime notices: "workspace W has committed changes up to seq S", one channel per workspace;
"this sign-in has ended" (`Revocation`), on one channel for all.

Whatever commits changes announces them so (a request's write, a job's, a webhook delivery's);
the realtime fan-out (`realtime/`) carries them between server processes and reads the changes
themselves from the feed.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Literal


def channel_name(workspace_id: uuid.UUID) -> str:
    """One channel per workspace; also a valid Postgres LISTEN identifier (≤ 63 bytes)."""
    return f"taskly_ws_{workspace_id.hex}"


@dataclass(frozen=True, slots=True)
class Notice:
    """"Workspace `workspace_id` has committed changes up to `seq`"."""

    workspace_id: uuid.UUID
    seq: int

    def encode(self) -> bytes:
        return json.dumps({"w": str(self.workspace_id), "s": self.seq}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes | str) -> Notice | None:
        """None for anything that is not a notice (it is ignored, never fatal)."""
        try:
            body = json.loads(payload)
            return cls(uuid.UUID(body["w"]), int(body["s"]))
        except (ValueError, TypeError, KeyError):
            return None


REVOCATIONS_CHANNEL = "taskly_revocations"
"""The one channel of revocation notices (also a valid Postgres LISTEN identifier)."""


@dataclass(frozen=True, slots=True)
class Revocation:
    """"Sign-in `id` has ended": a session (refresh-token family, by logout or a reused refresh
    token) or an API token; every process closes the sockets signed in with it."""

    kind: Literal["session", "token"]
    id: uuid.UUID

    def encode(self) -> bytes:
        return json.dumps({"k": self.kind, "id": str(self.id)}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes | str) -> Revocation | None:
        """None for anything that is not a revocation (it is ignored, never fatal)."""
        try:
            body = json.loads(payload)
            kind = body["k"]
            if kind not in ("session", "token"):
                return None
            return cls(kind, uuid.UUID(body["id"]))
        except (ValueError, TypeError, KeyError):
            return None


NOTIFICATIONS_CHANNEL = "taskly_notifications"
"""The one channel of notification notices (also a valid Postgres LISTEN identifier)."""


@dataclass(frozen=True, slots=True)
class UserNotice:
    """"User `user_id` has notifications up to `seq`": each process sends that user's sockets the
    notifications after the last one they were sent."""

    user_id: uuid.UUID
    seq: int

    def encode(self) -> bytes:
        return json.dumps({"u": str(self.user_id), "s": self.seq}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, payload: bytes | str) -> UserNotice | None:
        """None for anything that is not a user notice (it is ignored, never fatal)."""
        try:
            body = json.loads(payload)
            return cls(uuid.UUID(body["u"]), int(body["s"]))
        except (ValueError, TypeError, KeyError):
            return None
