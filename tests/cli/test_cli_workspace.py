"""`taskly workspace|board|column …`, `taskly init` and where server/workspace/board come from."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

from tests.cli.support import cli_board, cli_login, ok, run_taskly, unique


def user_config() -> dict:
    return tomllib.loads((Path(os.environ["TASKLY_HOME"]) / "config" / "config.toml").read_text())


def test_workspaces_and_boards_become_current(server) -> None:
    cli_login(server.url)
    first, second = unique("ws"), unique("ws")
    created = ok("workspace", "create", first, "--json").json()
    assert created["name"] == first and created["role"] == "owner"
    assert user_config()["workspace"] == first
    board = ok("board", "create", "Web", "--key", "web", "--json").json()
    assert board["key"] == "WEB" and board["workspace_id"] == created["id"]
    assert [c["name"] for c in board["columns"]] == ["Backlog", "Todo", "In Progress", "In Review", "Done"]
    assert user_config()["board"] == "WEB"

    ok("workspace", "create", second)
    assert user_config()["workspace"] == second and "board" not in user_config()
    ok("board", "create", "Api", "--key", "API")
    listed = ok("workspace", "ls", "--json").json()
    assert {w["name"] for w in listed} == {first, second}
    assert ok("workspace", "ls").stdout.splitlines()[[w["name"] for w in listed].index(second)].startswith("*")

    assert ok("workspace", "use", first.upper(), "--json").json()["id"] == created["id"]
    assert user_config()["workspace"] == first
    boards = ok("board", "ls", "--json").json()
    assert [b["key"] for b in boards] == ["WEB"]
    # `board use` switches the workspace with it
    assert ok("board", "use", "API", "--json").json()["key"] == "API"
    assert (user_config()["workspace"], user_config()["board"]) == (second, "API")
    assert [c["key"] for c in [ok("add", "On API", "--json").json()]] == ["API-1"]

    code, _, err = run_taskly("board", "create", "Again", "--key", "API")
    assert code == 5 and "taken" in err
    code, _, err = run_taskly("board", "use", "NOPE")
    assert code == 3 and "API" in err
    code, _, err = run_taskly("workspace", "use", "nope")
    assert code == 3 and first in err and second in err
    assert run_taskly("board", "create", "Bad", "--key", "B4D").code == 2
    assert run_taskly("board").code == 2  # no terminal: the board cannot open


def test_invite_join_and_members(server, tmp_path: Path) -> None:
    owner = cli_board(server.url)
    invitation = ok("workspace", "invite", "--role", "member", "--json").json()
    assert invitation["role"] == "member" and invitation["token"].startswith("inv_")
    plain = ok("workspace", "invite")
    assert plain.stdout.strip().startswith("inv_") and "workspace join" in plain.stderr

    bob = {"TASKLY_HOME": str(tmp_path / "bob")}
    bob_name = cli_login(server.url, env=bob)
    joined = ok("workspace", "join", invitation["token"], "--json", env=bob).json()
    assert joined["id"] == invitation["workspace_id"] and joined["role"] == "member"
    # bob's current workspace is the joined one, and its only board is the current board
    assert ok("ls", "--json", env=bob).json() == []
    added = ok("add", "From bob", "--assign", owner, "--json", env=bob).json()
    assert added["key"] == "WEB-1" and added["assignees"] == [owner]

    members = ok("workspace", "members", "--json", env=bob).json()
    assert {(m["username"], m["role"]) for m in members} == {(owner, "owner"), (bob_name, "member")}
    code, _, err = run_taskly("workspace", "invite", env=bob)  # a member cannot invite
    assert code == 4, err
    carol = {"TASKLY_HOME": str(tmp_path / "carol")}
    cli_login(server.url, env=carol)
    code, _, err = run_taskly("workspace", "join", invitation["token"], env=carol)  # used already
    assert code == 1 and "already used" in err
    assert run_taskly("workspace", "invite", "--role", "boss").code == 2


def test_column_commands(server) -> None:
    cli_board(server.url)
    created = ok("column", "add", "QA", "--kind", "review", "--wip", "3", "--position", "2", "--json").json()
    assert created["name"] == "QA" and created["kind"] == "review" and created["wip_limit"] == 3
    names = [c["name"] for c in ok("column", "ls", "--json").json()]
    assert names == ["Backlog", "QA", "Todo", "In Progress", "In Review", "Done"]

    assert ok("column", "rename", "qa", "Testing", "--json").json()["name"] == "Testing"
    moved = ok("column", "mv", "TESTING", "5", "--json").json()
    assert moved["id"] == created["id"] and moved["name"] == "Testing"
    names = [c["name"] for c in ok("column", "ls", "--json").json()]
    assert names == ["Backlog", "Todo", "In Progress", "In Review", "Testing", "Done"]

    ok("add", "Check it", "--column", "testing")
    code, _, err = run_taskly("column", "rm", "Testing")
    assert code == 5 and "still has cards" in err
    removed = ok("column", "rm", "testing", "--move-to", "done", "--json").json()
    assert removed["id"] == created["id"]
    assert [c["column"] for c in ok("ls", "--json").json()] == ["Done"]
    code, _, err = run_taskly("column", "rename", "Nope", "X")
    assert code == 3 and "Backlog, Todo, In Progress, In Review, Done" in err
    code, _, err = run_taskly("column", "add", "Offline", "--offline")
    assert code == 6 and "offline" in err


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def test_init_writes_the_project_file(server, tmp_path: Path) -> None:
    cli_board(server.url, key="APP")
    ok("board", "create", "Ops", "--key", "OPS")
    repo = git_repo(tmp_path / "repo")
    (repo / "src").mkdir()
    written = ok("init", "--board", "app", "--json", cwd=repo / "src").json()
    assert written["path"] == str(repo / ".taskly.toml") and written["board"] == "APP"
    project = tomllib.loads((repo / ".taskly.toml").read_text())
    assert project == {"server": server.url, "workspace": user_config()["workspace"], "board": "APP"}

    code, _, err = run_taskly("init", cwd=repo)
    assert code == 1 and "--force" in err
    assert ok("init", "--force", "--json", cwd=repo).json()["board"] == "APP"  # the project file's own
    assert ok("init", "--force", "--board", "OPS", cwd=repo).stdout.strip() == str(repo / ".taskly.toml")
    assert tomllib.loads((repo / ".taskly.toml").read_text())["board"] == "OPS"
    outside = tmp_path / "plain"
    outside.mkdir()
    code, _, err = run_taskly("init", cwd=outside)
    assert code == 2 and "git repository" in err
    assert run_taskly("init", "--board", "NOPE", "--force", cwd=repo).code == 3


def test_precedence_flags_env_project_user(server, tmp_path: Path) -> None:
    cli_login(server.url)
    ok("workspace", "create", unique("ws"))
    for key in ("USR", "PRJ", "ENV", "FLG"):
        ok("board", "create", key.title(), "--key", key)
        ok("add", f"card of {key}")
    ok("board", "use", "USR")
    repo = git_repo(tmp_path / "repo")

    def board_of_ls(*args: str, env: dict | None = None) -> str:
        cards = ok("ls", "--json", "--offline", *args, env=env, cwd=repo).json()
        return cards[0]["key"].split("-")[0]

    assert board_of_ls() == "USR"
    (repo / ".taskly.toml").write_text('board = "PRJ"\n')
    assert board_of_ls() == "PRJ"
    assert board_of_ls(env={"TASKLY_BOARD": "ENV"}) == "ENV"
    assert board_of_ls("--board", "FLG", env={"TASKLY_BOARD": "ENV"}) == "FLG"

    # the server: a closed port in the user config loses to the project file, then env, then flag
    token = ok("token", "create", "precedence").stdout.strip()
    (repo / ".taskly.toml").write_text('server = "http://127.0.0.1:9/project"\n')
    env = {"TASKLY_TOKEN": token}

    def server_of_whoami(*args: str, env: dict) -> str:
        return ok("whoami", "--offline", "--json", *args, env=env, cwd=repo).json()["server"]

    assert server_of_whoami(env=env) == "http://127.0.0.1:9/project"
    assert server_of_whoami(env={**env, "TASKLY_SERVER": server.url}) == server.url
    assert server_of_whoami("--server", "http://127.0.0.1:9/flag",
                            env={**env, "TASKLY_SERVER": server.url}) == "http://127.0.0.1:9/flag"
    assert ok("whoami", "--json", env={**env, "TASKLY_SERVER": server.url}, cwd=repo).json()["user"]


def test_invitations_list_and_revoke(server, tmp_path: Path) -> None:
    owner = cli_board(server.url)
    first = ok("workspace", "invite", "--role", "viewer", "--json").json()
    second = ok("workspace", "invite", "--role", "admin", "--json").json()
    listed = ok("workspace", "invitations", "--json").json()
    assert [(i["id"], i["role"], i["created_by_username"]) for i in listed] == [
        (first["id"], "viewer", owner), (second["id"], "admin", owner)]
    assert all("token" not in i for i in listed)
    table = ok("workspace", "invitations").stdout
    assert first["id"] in table and "admin" in table and owner in table and first["token"] not in table

    revoked = ok("workspace", "invitations", "revoke", first["id"][:8], "--json")
    assert revoked.json()["id"] == first["id"] and "Revoked" in revoked.stderr
    assert [i["id"] for i in ok("workspace", "invitations", "--json").json()] == [second["id"]]
    bob = {"TASKLY_HOME": str(tmp_path / "bob")}
    cli_login(server.url, env=bob)
    code, _, err = run_taskly("workspace", "join", first["token"], env=bob)
    assert code == 1 and "revoked" in err
    code, _, err = run_taskly("workspace", "invitations", "revoke", "nope")
    assert code == 3 and second["id"][:8] in err and len(err.strip().splitlines()) == 1

    # a member may neither list nor revoke: exit 4
    ok("workspace", "join", ok("workspace", "invite", "--json").json()["token"], env=bob)
    code, _, err = run_taskly("workspace", "invitations", env=bob)
    assert code == 4 and "admin" in err
    code, _, err = run_taskly("workspace", "invitations", "revoke", second["id"], env=bob)
    assert code == 4, err
