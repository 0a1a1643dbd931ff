"""The command registry: `register(name, module, command or None for a group, help)`.

Modules under `taskly.commands` are imported only when their command runs (see main.LazyGroup).
"""

from ..main import register

# sign-in
register("login", "auth", "login", "Sign in to a server (--dev NAME or --with-token).")
register("logout", "auth", "logout", "Sign out of the current server.")
register("whoami", "auth", "whoami", "Show the signed-in user and server.")
register("token", "token", None, "Manage API tokens for CI and hooks (create, ls, revoke).")
# workspaces, boards, columns
register("workspace", "workspace", None, "Workspaces: create, ls, use, members, invite, join.")
register("board", "board", None, "Boards: create, ls, use.")
register("column", "column", None, "Columns of the current board: add, rename, mv, rm.")
register("init", "init", "init", "Write .taskly.toml (server, workspace, board) in the repository root.")
# cards
register("ls", "card", "ls", "List the cards of the current board.")
register("show", "card", "show", "Show a card (default: the card of the current git branch).")
register("add", "card", "add", "Create a card.")
register("edit", "card", "edit", "Change a card's fields.")
register("mv", "card", "mv", "Move a card to a column.")
register("assign", "card", "assign", "Set (or --add/--remove) a card's assignees.")
register("comment", "card", "comment", "Comment on a card.")
register("log", "card", "log", "Show a card's activity.")
register("search", "card", "search", "Search the cards in the local cache.")
register("rm", "card", "rm", "Delete a card (restorable).")
register("restore", "card", "restore", "Restore a deleted card.")
register("open", "card", "open", "Open a card in the browser (prints the URL without a display).")
# sync state, live stream, demo
register("status", "sync", "status", "Show the user, server, workspace and board, queued writes and conflicts.")
register("sync", "sync", "sync", "Push queued writes and pull every workspace now.")
register("watch", "sync", "watch", "Print every change as one JSON line until interrupted.")
register("demo", "demo", "demo", "Start a local demo server with a realistic board and show it (--stop).")
# git and GitHub
register("repo", "repo", None, "GitHub repositories of the workspace: connect, ls, disconnect.")
register("start", "branch", "start", "Create a card's branch (on GitHub) and switch to it.")
register("done", "branch", "done", "Move a card (default: the current branch's) to done.")
register("hooks", "hooks", None, "Git hooks that add card keys to commits and track checkouts.")
register("wait", "wait", "wait", "Wait for the checks of a card's pull requests (0 green, 1 failed, 8 pending).")
