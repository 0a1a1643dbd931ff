"""`taskly workspace create|ls|use|rename|rm|leave|members|invite|join|invitations [revoke]`,
`taskly member ls|role|rm`; `taskly init`: write `.taskly.toml` (server, workspace, board) in the
repository root."""

from __future__ import annotations

import typer

from ..core.completion import complete_user
from ..core.context import factory

app = typer.Typer()
"""The noun's commands: the `workspace` group and `init` (main's registry picks them by name)."""

workspace_app = typer.Typer(no_args_is_help=True,
                            help="Workspaces: create, ls, use, rename, rm, leave, members, invite, join, invitations.")
member_app = typer.Typer(no_args_is_help=True, help="Members of the current workspace: ls, role, rm.")

invitations_app = typer.Typer(invoke_without_command=True,
                              help="The current workspace's open invitations (admins); `revoke ID`.")

ROLES = ["viewer", "member", "admin", "owner"]


def _current_id(f) -> str | None:
    from ..core import resolve
    from ..core.errors import TasklyError

    try:
        return str(resolve.workspace(f).id)
    except TasklyError:
        return None


@workspace_app.command("create")
def create(name: str = typer.Argument(..., help="The workspace's name.")) -> None:
    """Create a workspace and make it the current one (needs the server)."""
    from . import actions

    f = factory()
    created = actions.create_workspace(f, name)
    f.output.note(f"Created workspace {created.name}; it is now the current workspace")
    f.output.data(created, lambda w: f.output.line(w.name))


@workspace_app.command("ls")
def ls() -> None:
    """List your workspaces (* marks the current one)."""
    from ..core import resolve
    from .render import render_workspaces

    f = factory()
    store = resolve.fresh(f, discover=True)
    f.output.data(store.workspaces(), lambda ws: render_workspaces(f.output, ws, _current_id(f)))


@workspace_app.command("use")
def use(name: str = typer.Argument(..., metavar="WORKSPACE", help="Workspace name (or id).")) -> None:
    """Make a workspace the current one (in the user config)."""
    from . import actions

    f = factory()
    chosen = actions.use_workspace(f, name)
    f.output.note(f"Current workspace: {chosen.name}")
    f.output.data(chosen, lambda w: None)


@workspace_app.command("members")
def members() -> None:
    """List the current workspace's members (from the cache after a quick pull)."""
    from ..core import resolve
    from .render import render_members

    f = factory()
    store = resolve.fresh(f)
    f.output.data(store.members(str(resolve.workspace(f).id)), lambda m: render_members(f.output, m))


@workspace_app.command("invite")
def invite(
    role: str = typer.Option("member", "--role", help="viewer, member, admin or owner."),
    expires: int = typer.Option(None, "--expires-hours", min=1, help="Hours until it expires (default 168)."),
) -> None:
    """Create a single-use invitation to the current workspace; prints its token (shown once)."""
    from ..core import resolve
    from ..core.errors import UsageError
    from ..core.render import when
    from . import actions

    if role.lower() not in ROLES:
        raise UsageError(f"unknown role {role!r}" + resolve.choices(ROLES))
    f = factory()
    workspace, invitation = actions.invite(f, role.lower(), expires)
    f.output.note(f"Invitation to {workspace.name} as {invitation.role.value}, valid until "
                  f"{when(invitation.expires_at)}: they run `taskly workspace join TOKEN`")
    f.output.data(invitation, lambda i: f.output.line(i.token))


@workspace_app.command("join")
def join(token: str = typer.Argument(..., help="The invitation token.")) -> None:
    """Accept an invitation; its workspace becomes the current one."""
    from . import actions

    f = factory()
    joined = actions.join(f, token)
    f.output.note(f"Joined {joined.name} as {joined.role.value}; it is now the current workspace")
    f.output.data(joined, lambda w: f.output.line(w.name))


@invitations_app.callback()
def invitations(ctx: typer.Context) -> None:
    """List the current workspace's open invitations (admins): id, role, by, created, expires."""
    if ctx.invoked_subcommand is not None:
        return
    from . import actions
    from .render import render_invitations

    f = factory()
    _, found = actions.invitations(f)
    f.output.data(found, lambda i: render_invitations(f.output, i))


@invitations_app.command("revoke")
def revoke_invitation(invitation: str = typer.Argument(..., metavar="ID", help="The invitation's id (or a unique prefix).")) -> None:
    """Revoke an open invitation of the current workspace: accepting it fails from now on."""
    from . import actions

    f = factory()
    workspace, revoked = actions.revoke_invitation(f, invitation)
    f.output.note(f"Revoked the {revoked.role.value} invitation {revoked.id} to {workspace.name}")
    f.output.data(revoked, lambda i: None)


@workspace_app.command("rename")
def rename(name: str = typer.Argument(..., metavar="WORKSPACE", help="Workspace name (or id)."),
           new: str = typer.Argument(..., metavar="NEW", help="The new name.")) -> None:
    """Rename a workspace (admins; needs the server)."""
    from . import actions

    f = factory()
    renamed = actions.rename_workspace(f, name, new)
    f.output.note(f"Renamed workspace {name} to {renamed.name}")
    f.output.data(renamed, lambda w: f.output.line(w.name))


@workspace_app.command("rm")
def rm(name: str = typer.Argument(..., metavar="WORKSPACE", help="Workspace name (or id)."),
       yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete a workspace with its boards and cards (owners; asks first unless --yes)."""
    from . import actions

    f = factory()
    removed = actions.remove_workspace(f, name, yes)
    f.output.note(f"Deleted workspace {removed.name}")
    f.output.data(removed, lambda w: None)


@workspace_app.command("leave")
def leave(name: str = typer.Argument(None, metavar="[WORKSPACE]", help="Workspace name (default: the current one).")) -> None:
    """Leave a workspace (the last owner cannot: make someone else owner first)."""
    from . import actions

    f = factory()
    left = actions.leave_workspace(f, name)
    f.output.note(f"Left workspace {left.name}")
    f.output.data(left, lambda w: None)


workspace_app.add_typer(invitations_app, name="invitations")


@member_app.command("ls")
def member_ls() -> None:
    """List the current workspace's members and their roles."""
    from . import actions
    from .render import render_members

    f = factory()
    _, found = actions.members(f)
    f.output.data(found, lambda m: render_members(f.output, m))


@member_app.command("role")
def member_role(user: str = typer.Argument(..., metavar="USER", autocompletion=complete_user, help="Username."),
                role: str = typer.Argument(..., metavar="ROLE", help="viewer, member, admin or owner.")) -> None:
    """Change a member's role (admins; only owners grant or take away ownership; the last owner stays)."""
    from ..core import resolve
    from ..core.errors import UsageError
    from . import actions

    if role.lower() not in ROLES:
        raise UsageError(f"unknown role {role!r}" + resolve.choices(ROLES))
    f = factory()
    workspace, changed = actions.set_role(f, user, role.lower())
    f.output.note(f"{changed.username} is now {changed.role.value} of {workspace.name}")
    f.output.data(changed, lambda m: f.output.line(m.role.value))


@member_app.command("rm")
def member_rm(user: str = typer.Argument(..., metavar="USER", autocompletion=complete_user, help="Username.")) -> None:
    """Remove a member from the current workspace (admins; an owner only by an owner; never the last owner)."""
    from . import actions

    f = factory()
    workspace, removed = actions.remove_member(f, user)
    f.output.note(f"Removed {removed.username} from {workspace.name}")
    f.output.data(removed, lambda m: None)


app.add_typer(member_app, name="member")
app.add_typer(workspace_app, name="workspace")


@app.command("init")
def init(force: bool = typer.Option(False, "--force", help="Overwrite an existing .taskly.toml.")) -> None:
    """Pin this repository to the current server, workspace and board (--workspace/--board override).

    The file is meant to be committed: everyone working in the repository uses the same board.
    """
    from .project import init_project

    f = factory()
    written = init_project(f, force=force)
    f.output.note(f"Wrote {written['path']}")
    f.output.data(written, lambda w: f.output.line(w["path"]))
