"""Text view of API tokens for people (`taskly token ls`); `--json` bypasses it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.render import when

if TYPE_CHECKING:
    from taskly_shared.models import ApiTokenOut

    from ..core.output import Output


def render_tokens(out: Output, tokens: Sequence[ApiTokenOut]) -> None:
    rows = [[t.name, t.id, when(t.created_at), when(t.last_used_at), when(t.expires_at),
             "revoked" if t.revoked_at else "active"] for t in tokens]
    out.table(["NAME", "ID", "CREATED", "LAST USED", "EXPIRES", "STATE"], rows,
              styles=["bold", "dim", None, None, None, None])

