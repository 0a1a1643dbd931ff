"""Text views of workspaces, their members and invitations for people; `--json` bypasses all of this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.render import when

if TYPE_CHECKING:
    from taskly_shared.models import MemberOut, PendingInvitationOut, WorkspaceOut

    from ..core.output import Output


def render_workspaces(out: Output, workspaces: Sequence[WorkspaceOut], current: str | None = None) -> None:
    rows = [["*" if str(w.id) == current else "", w.name, w.role.value, w.id] for w in workspaces]
    out.table(["", "NAME", "ROLE", "ID"], rows, styles=["green", "bold", None, "dim"])


def render_members(out: Output, members: Sequence[MemberOut]) -> None:
    rows = [[m.username, m.name or "", m.role.value, when(m.joined_at)] for m in members]
    out.table(["USERNAME", "NAME", "ROLE", "JOINED"], rows, styles=["bold", None, None, "dim"])



def render_invitations(out: Output, invitations: Sequence[PendingInvitationOut]) -> None:
    rows = [[str(i.id), i.role.value, i.created_by_username or "", when(i.created_at), when(i.expires_at)]
            for i in invitations]
    out.table(["ID", "ROLE", "BY", "CREATED", "EXPIRES"], rows, styles=["dim", None, "bold", None, None])
