"""Worlds for the authorization matrix: a workspace with one user in every role, and its content."""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass

from tests.support.api import Api

# The callers of the matrix, weakest first: no token at all, a signed-in user who is not a
# member of the workspace, then the four workspace roles.
ROLES = ("anon", "outsider", "viewer", "member", "admin", "owner")
ROLE_NAMES = {"anon": "no token", "outsider": "non-member"}


def board_key() -> str:
    """A board key no other world uses, so card keys like ABCDEFGH-1 stay unambiguous."""
    return "".join(random.choices(string.ascii_uppercase, k=8))


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Cast:
    """The module's users, one per role, plus `target`: the member that membership rows manage."""

    users: dict[str, Api]

    @classmethod
    def login(cls, base_url: str) -> Cast:
        users = {role: Api.login(base_url) for role in (*ROLES[1:], "target")}
        return cls({"anon": Api(base_url), **users})

    def api(self, role: str) -> Api:
        return self.users[role]

    def username(self, role: str) -> str:
        """The caller's username; the anonymous caller names the owner (it must get 401 anyway)."""
        return self.users["owner" if role == "anon" else role].username


@dataclass(frozen=True)
class World:
    """One workspace and the ids that the matrix's paths and bodies are built from."""

    workspace_id: str
    target: str  # username of the member that membership rows change or remove
    board_id: str = ""
    board_key: str = ""
    column_id: str = ""  # an empty column (the board's last one), safe to delete
    card_id: str = ""
    card_key: str = ""
    comment_id: str = ""  # written by the member
    admin_comment_id: str = ""  # written by the admin
    sprint_id: str = ""  # an open sprint of the board
    ghost: bool = False

    @classmethod
    def missing(cls, target: str) -> World:
        """Ids that name nothing, to compare a hidden object's answer with a missing one's."""
        ids = {name: str(uuid.uuid4()) for name in
               ("workspace_id", "board_id", "column_id", "card_id", "comment_id", "admin_comment_id",
                "sprint_id")}
        return cls(**ids, target=target, board_key="ZZZZZZZZZZ", card_key="ZZZZZZZZZZ-1", ghost=True)


def join(owner: Api, user: Api, workspace_id: str, role: str) -> None:
    """`user` joins through the real invitation flow."""
    token = owner.ok("POST", f"/workspaces/{workspace_id}/invitations", json={"role": role})["token"]
    joined = user.ok("POST", f"/invitations/{token}/accept")
    assert joined["role"] == role, joined


def build_world(cast: Cast, target_role: str | None = None, content: bool = True) -> World:
    """A workspace owned by the cast's owner with its admin, member and viewer (and the target,
    when `target_role` is given); with `content`, a board, a card and two comments on it."""
    owner = cast.api("owner")
    workspace_id = owner.workspace(unique("Authz"))["id"]
    for role in ("admin", "member", "viewer"):
        join(owner, cast.api(role), workspace_id, role)
    if target_role is not None:
        join(owner, cast.api("target"), workspace_id, target_role)
    target = cast.username("target")
    if not content:
        return World(workspace_id=workspace_id, target=target)
    key = board_key()
    board = owner.board(workspace_id, key, unique("Board"))
    card = cast.api("member").ok("POST", f"/boards/{board['id']}/cards", json={"title": "Matrix"})
    comment = cast.api("member").ok("POST", f"/cards/{card['id']}/comments", json={"body": "by member"})
    admin_comment = cast.api("admin").ok("POST", f"/cards/{card['id']}/comments",
                                         json={"body": "by admin"})
    assert card["column_id"] != board["columns"][-1]["id"], "the last column must stay empty"
    sprint = owner.ok("POST", f"/boards/{board['id']}/sprints", json={
        "name": "Matrix", "start_date": "2026-01-01", "end_date": "2026-01-14"})
    return World(
        workspace_id=workspace_id, target=target, board_id=board["id"], board_key=key,
        column_id=board["columns"][-1]["id"], card_id=card["id"], card_key=card["key"],
        comment_id=comment["id"], admin_comment_id=admin_comment["id"], sprint_id=sprint["id"],
    )
