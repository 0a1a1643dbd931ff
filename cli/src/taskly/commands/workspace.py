"""`taskly workspace create|ls|use|members|invite|join`."""

from __future__ import annotations

import typer

from ..context import factory

app = typer.Typer(no_args_is_help=True, help="Workspaces: create, ls, use, members, invite, join.")

ROLES = ["viewer", "member", "admin", "owner"]


def _current_id(f) -> str | None:
    from .. import resolve
    from ..errors import TasklyError

    try:
        return str(resolve.workspace(f).id)
    except TasklyError:
        return None


@app.command("create")
def create(name: str = typer.Argument(..., help="The workspace's name.")) -> None:
    """Create a workspace and make it the current one (needs the server)."""
    from .. import manage

    f = factory()
    created = manage.create_workspace(f, name)
    f.output.note(f"Created workspace {created.name}; it is now the current workspace")
    f.output.data(created, lambda w: f.output.line(w.name))


@app.command("ls")
def ls() -> None:
    """List your workspaces (* marks the current one)."""
    from .. import resolve
    from ..render import render_workspaces

    f = factory()
    store = resolve.fresh(f, discover=True)
    f.output.data(store.workspaces(), lambda ws: render_workspaces(f.output, ws, _current_id(f)))


@app.command("use")
def use(name: str = typer.Argument(..., help="Workspace name (or id).")) -> None:
    """Make a workspace the current one (in the user config)."""
    from .. import manage

    f = factory()
    chosen = manage.use_workspace(f, name)
    f.output.note(f"Current workspace: {chosen.name}")
    f.output.data(chosen, lambda w: None)


@app.command("members")
def members() -> None:
    """List the current workspace's members (from the cache after a quick pull)."""
    from .. import resolve
    from ..render import render_members

    f = factory()
    store = resolve.fresh(f)
    f.output.data(store.members(str(resolve.workspace(f).id)), lambda m: render_members(f.output, m))


@app.command("invite")
def invite(
    role: str = typer.Option("member", "--role", help="viewer, member, admin or owner."),
    expires: int = typer.Option(None, "--expires-hours", min=1, help="Hours until it expires (default 168)."),
) -> None:
    """Create a single-use invitation to the current workspace; prints its token (shown once)."""
    from .. import manage, resolve
    from ..errors import UsageError
    from ..render import when

    if role.lower() not in ROLES:
        raise UsageError(f"unknown role {role!r}" + resolve.choices(ROLES))
    f = factory()
    workspace, invitation = manage.invite(f, role.lower(), expires)
    f.output.note(f"Invitation to {workspace.name} as {invitation.role.value}, valid until "
                  f"{when(invitation.expires_at)}: they run `taskly workspace join TOKEN`")
    f.output.data(invitation, lambda i: f.output.line(i.token))


@app.command("join")
def join(token: str = typer.Argument(..., help="The invitation token.")) -> None:
    """Accept an invitation; its workspace becomes the current one."""
    from .. import manage

    f = factory()
    joined = manage.join(f, token)
    f.output.note(f"Joined {joined.name} as {joined.role.value}; it is now the current workspace")
    f.output.data(joined, lambda w: f.output.line(w.name))
