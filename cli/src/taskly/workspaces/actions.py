"""Workspace operations that need the server: create, use, invite, join, invitations, revoke.

Each one resolves names against the cache, makes its request (an unreachable server or
`--offline` is `Offline`, exit 6: "cannot … offline"), then pulls so the cache knows the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core import resolve
from ..core.errors import NotFound, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import InvitationOut, PendingInvitationOut, WorkspaceOut

    from ..core.context import Factory


def create_workspace(f: Factory, name: str) -> WorkspaceOut:
    """A new workspace, made current (the current board is cleared)."""
    with resolve.needs_server(f, "create a workspace"):
        created = f.api.create_workspace(name)
        resolve.settle(f, discover=True)
    resolve.make_current(f, workspace=resolve.workspace_ref(f, created), board=None)
    return created


def use_workspace(f: Factory, ref: str) -> WorkspaceOut:
    resolve.fresh(f, discover=True)
    chosen = resolve.workspace(f, ref)
    resolve.make_current(f, workspace=resolve.workspace_ref(f, chosen), board=None)
    return chosen


def invite(f: Factory, role: str, expires_in_hours: int | None) -> tuple[WorkspaceOut, InvitationOut]:
    with resolve.needs_server(f, "create an invitation"):
        resolve.fresh(f, note_stale=False)
        current = resolve.workspace(f)
        return current, f.api.create_invitation(str(current.id), role, expires_in_hours=expires_in_hours)


def join(f: Factory, token: str) -> WorkspaceOut:
    """Accept an invitation; its workspace becomes the current one."""
    with resolve.needs_server(f, "join a workspace"):
        joined = f.api.accept_invitation(token.strip())
        resolve.settle(f, discover=True)
    resolve.make_current(f, workspace=resolve.workspace_ref(f, joined), board=None)
    return joined


def invitations(f: Factory) -> tuple[WorkspaceOut, list[PendingInvitationOut]]:
    """The current workspace's open invitations (admins; Forbidden, exit 4, for others)."""
    with resolve.needs_server(f, "list invitations"):
        resolve.fresh(f, note_stale=False)
        current = resolve.workspace(f)
        return current, f.api.list_invitations(str(current.id))


def revoke_invitation(f: Factory, ref: str) -> tuple[WorkspaceOut, PendingInvitationOut]:
    """Revoke an open invitation of the current workspace, named by its id or a unique prefix of it."""
    ref = ref.strip().lower()
    with resolve.needs_server(f, "revoke an invitation"):
        current, found = invitations(f)
        matches = [i for i in found if str(i.id) == ref] or [i for i in found if str(i.id).startswith(ref)]
        if not ref or not matches:
            raise NotFound(f"no open invitation {ref!r} in {current.name}"
                           + resolve.choices([str(i.id)[:8] for i in found], "open"))
        if len(matches) > 1:
            raise UsageError(f"{len(matches)} open invitations start with {ref!r}: give more of the id"
                             + resolve.choices([str(i.id) for i in matches], "ids"))
        f.api.revoke_invitation(str(matches[0].id))
        return current, matches[0]


# --- administration: rename, delete, leave; members' roles (need the server) ------------------------


def rename_workspace(f: Factory, ref: str, name: str) -> WorkspaceOut:
    """Rename a workspace (admins); the config names it by its new name if it was current."""
    with resolve.needs_server(f, "rename a workspace"):
        resolve.fresh(f, note_stale=False)
        found = resolve.workspace(f, ref)
        was_current = _is_current(f, found)
        renamed = f.api.update_workspace(str(found.id), name=name)
        resolve.settle(f, discover=True)
    if was_current and f.config.sources.get("workspace") == "user":
        resolve.make_current(f, workspace=resolve.workspace_ref(f, f.store.workspace(str(found.id)) or renamed))
    return renamed


def remove_workspace(f: Factory, ref: str, yes: bool) -> WorkspaceOut:
    """Delete a workspace with everything in it (owners; asks first unless `yes`)."""
    from ..core.confirm import confirm

    with resolve.needs_server(f, "delete a workspace"):
        resolve.fresh(f, note_stale=False)
        found = resolve.workspace(f, ref)
        boards = len(f.store.boards(str(found.id)))
        cards = len(f.store.cards(workspace_id=str(found.id)))
        confirm(f, f"Delete workspace {found.name} with its {boards} board{'s' * (boards != 1)} and "
                   f"{cards} card{'s' * (cards != 1)}? This cannot be undone", yes)
        was_current = _is_current(f, found)
        f.api.delete_workspace(str(found.id))
        resolve.settle(f, discover=True)
    if was_current:
        resolve.make_current(f, workspace=None, board=None)
    return found


def leave_workspace(f: Factory, ref: str | None) -> WorkspaceOut:
    """Leave a workspace (the current one by default); the last owner cannot (exit 5)."""
    with resolve.needs_server(f, "leave a workspace"):
        resolve.fresh(f, note_stale=False)
        found = resolve.workspace(f, ref)
        was_current = _is_current(f, found)
        f.api.remove_member(str(found.id), resolve.me(f))
        resolve.settle(f, discover=True)
    if was_current:
        resolve.make_current(f, workspace=None, board=None)
    return found


def members(f: Factory) -> tuple[WorkspaceOut, list]:
    store = resolve.fresh(f)
    current = resolve.workspace(f)
    return current, store.members(str(current.id))


def set_role(f: Factory, user: str, role: str):
    """Change a member's role (admins; owners grant or take away ownership; never the last owner)."""
    with resolve.needs_server(f, "change a member's role"):
        resolve.fresh(f, note_stale=False)
        current = resolve.workspace(f)
        [username] = resolve.usernames(f, str(current.id), [user])
        changed = f.api.update_member(str(current.id), username, role)
        resolve.settle(f)
    return current, changed


def remove_member(f: Factory, user: str):
    """Remove a member (admins; an owner only by an owner; never the last owner)."""
    with resolve.needs_server(f, "remove a member"):
        resolve.fresh(f, note_stale=False)
        current = resolve.workspace(f)
        [username] = resolve.usernames(f, str(current.id), [user])
        member = next(m for m in f.store.members(str(current.id)) if m.username == username)
        f.api.remove_member(str(current.id), username)
        resolve.settle(f)
    return current, member


def _is_current(f: Factory, workspace: WorkspaceOut) -> bool:
    configured = f.config.workspace
    return bool(configured) and configured.lower() in (workspace.name.lower(), str(workspace.id))
