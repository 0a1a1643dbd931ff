"""The workspace's audit log for people (`taskly log --workspace`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..cards.render import render_activity
from ..core.render import when

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut

    from ..core.output import Output


def render_log(out: Output, changes: Sequence[ChangeOut], names: dict[str, str]) -> None:
    """SEQ, TIME, BY, WHAT (the entity and its name), CHANGE, FIELDS (old → new), newest first."""
    from ..cards.render import _delta, _shown

    rows = []
    for change in changes:
        actor = change.actor.name or change.actor.type
        if change.actor.type == "token":
            actor += " (token)"
        if change.actor.delivery_id:
            actor += f" (delivery {change.actor.delivery_id})"
        fields = "; ".join(_delta(name, delta.old, delta.new, change.op) for name, delta in change.changes.items()
                           if _shown(name, delta.old, delta.new, change.changes))
        what = f"{change.entity_type} {names.get(str(change.entity_id), '')}".strip()
        rows.append([change.seq, when(change.created_at), actor, what, change.op, fields])
    out.table(["SEQ", "TIME", "BY", "WHAT", "CHANGE", "FIELDS"], rows,
              styles=["dim", "dim", "green", "bold", None, None], shrink=(2, 3, 5), keep=5)


__all__ = ["render_activity", "render_log"]
