"""The `taskly` command: a lazy command registry, global flags on every command, exit codes.

Command modules are imported only when their command runs, and `--version` answers before typer
is imported at all: start-up cost is what scripts and git hooks pay on every call.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys

TYPE_CHECKING = False  # no `typing` import on the start-up path
if TYPE_CHECKING:
    from collections.abc import Callable

VERSION = "0.1.0"

COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    # (name, module, the command or group of that name in the module's `app`, help)
    # sign-in
    ("login", "taskly.auth.commands", "login", "Sign in to a server (--dev NAME or --with-token)."),
    ("logout", "taskly.auth.commands", "logout", "Sign out of the current server."),
    ("whoami", "taskly.auth.commands", "whoami", "Show the signed-in user and server."),
    ("token", "taskly.auth.commands", "token", "Manage API tokens for CI and hooks (create, ls, revoke)."),
    # workspaces, boards, columns
    ("workspace", "taskly.workspaces.commands", "workspace",
     "Workspaces: create, ls, use, rename, rm, leave, members, invite, join, invitations [revoke]."),
    ("member", "taskly.workspaces.commands", "member", "Members of the current workspace: ls, role, rm."),
    ("board", "taskly.boards.commands", "board",
     "Open the board, or: create, ls, use, rename, archive, unarchive, rm, set-repo, automation."),
    ("column", "taskly.boards.commands", "column", "Columns of the current board: ls, add, rename, mv, wip, rm."),
    ("init", "taskly.workspaces.commands", "init",
     "Write .taskly.toml (server, workspace, board) in the repository root."),
    # cards
    ("ls", "taskly.cards.commands", "ls", "List the cards of the current board."),
    ("show", "taskly.cards.commands", "show", "Show a card (default: the card of the current git branch)."),
    ("add", "taskly.cards.commands", "add", "Create a card."),
    ("edit", "taskly.cards.commands", "edit", "Change a card's fields."),
    ("mv", "taskly.cards.commands", "mv", "Move a card to a column."),
    ("assign", "taskly.cards.commands", "assign", "Set (or --add/--remove) a card's assignees."),
    ("comment", "taskly.comments.commands", "comment", "Comment on a card, or edit ID / rm ID a comment."),
    ("comments", "taskly.comments.commands", "comments", "List a card's comments with their ids."),
    ("log", "taskly.activity.commands", "log", "Show a card's activity, or the workspace's audit log (--workspace)."),
    ("search", "taskly.cards.commands", "search", "Search the cards in the local cache."),
    ("rm", "taskly.cards.commands", "rm", "Delete a card (restorable)."),
    ("restore", "taskly.cards.commands", "restore", "Restore a deleted card."),
    ("open", "taskly.cards.commands", "open",
     "Open a card's pull request, branch or repository on GitHub (--print: print the URL)."),
    # labels
    ("label", "taskly.labels.commands", "label", "Labels of the workspace, in colour: ls, create, edit, rm."),
    # sprints
    ("sprint", "taskly.sprints.commands", "sprint",
     "Sprints of the current board: create, ls, show, burndown, add, remove, close, edit, rm."),
    # notifications
    ("inbox", "taskly.inbox.commands", "inbox",
     "Your notifications (unread first): read ID...|--all, --watch [--bell] [--desktop]."),
    ("config", "taskly.inbox.commands", "config",
     "Your settings on the server: show, set timezone ZONE, set notify.KIND on|off."),
    # sync state, live stream, demo
    ("status", "taskly.sync.commands", "status",
     "Show the user, server, workspace and board, queued writes and conflicts."),
    ("sync", "taskly.sync.commands", "sync", "Push queued writes and pull every workspace now."),
    ("watch", "taskly.sync.commands", "watch", "Print every change as one JSON line until interrupted."),
    ("demo", "taskly.demo.commands", "demo",
     "Start a local demo server with a realistic board and show it (--stop)."),
    # git and GitHub
    ("repo", "taskly.repos.commands", "repo", "GitHub repositories of the workspace: connect, ls, status, disconnect."),
    ("start", "taskly.branches.commands", "start", "Create a card's branch (on GitHub) and switch to it."),
    ("done", "taskly.branches.commands", "done", "Move a card (default: the current branch's) to done."),
    ("hooks", "taskly.branches.commands", "hooks",
     "Git hooks that add card keys to commits and track checkouts."),
    ("pr", "taskly.pulls.commands", "pr", "Pull requests of the board's cards: ls [--mine], sync with GitHub now."),
    ("wait", "taskly.pulls.commands", "wait",
     "Wait for the checks of a card's pull requests (0 green, 1 failed, 8 pending)."),
)
"""The command registry. A command's module is imported only when that command runs (see `_app`);
`--help` lists these rows without importing any of them. Each command's examples and the names of
its option values are in `taskly.core.help_text`, imported only when help is rendered."""


EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUTH, EXIT_CONFLICT, EXIT_OFFLINE, EXIT_PENDING = (
    0, 1, 2, 3, 4, 5, 6, 8)
EXIT_INTERRUPTED = 130


def exit_code(exc: BaseException) -> int:
    """Exit codes are chosen here and nowhere else."""
    from .core import errors

    table: list[tuple[type[BaseException], int]] = [
        (errors.NotFound, EXIT_NOT_FOUND),
        (errors.NotLoggedIn, EXIT_AUTH),
        (errors.Forbidden, EXIT_AUTH),
        (errors.Conflict, EXIT_CONFLICT),
        (errors.Offline, EXIT_OFFLINE),
        (errors.Pending, EXIT_PENDING),
        (errors.UsageError, EXIT_USAGE),
        (errors.Interrupted, EXIT_INTERRUPTED),
    ]
    for kind, code in table:
        if isinstance(exc, kind):
            return code
    return EXIT_ERROR


def _prepared(command, path: str):
    """Upper-case argument metavars (usage errors name them too), and help decorated only when it
    is rendered (`_help_context`): running a command never imports the help tables."""
    command.context_class = _help_context()
    command._taskly_path = path
    for param in command.params:
        if param.param_type_name == "argument" and not param.metavar:
            param.metavar = param.name.upper() + ("..." if param.nargs == -1 else "")
    for name, child in getattr(command, "commands", {}).items():
        _prepared(child, f"{path} {name}")
    return command


@functools.cache
def _help_context():
    """click's Context whose help first gets taskly's style, examples and option metavars (every
    help goes through `Context.get_help`: --help, a bare group, `taskly` alone)."""
    from typer import _click

    class HelpContext(_click.Context):
        def get_help(self) -> str:
            from .core.help_text import decorate

            decorate(self.command, getattr(self.command, "_taskly_path", "taskly"))
            return super().get_help()

    return HelpContext


def _suggest(name: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" — did you mean `{close[0]}`?" if close else " (see taskly --help)"


def _app():
    import typer
    from typer.core import TyperGroup

    from .core.context import add_global_options

    rows = {row[0]: row for row in COMMANDS}

    class LazyGroup(TyperGroup):
        """Imports a command's module only when that command is looked up."""

        def list_commands(self, ctx):
            return sorted(rows)

        def get_command(self, ctx, name):
            row = rows.get(name)
            if row is None:
                return None
            _, module_name, command_name, _ = row
            module = importlib.import_module(module_name)
            command = typer.main.get_group(module.app).commands[command_name]
            command.name = name
            return add_global_options(_prepared(command, name))

        def resolve_command(self, ctx, args):
            name = args[0] if args else ""
            if name and not name.startswith("-") and name not in rows and not ctx.resilient_parsing:
                raise typer._click.exceptions.UsageError(
                    f"unknown command '{name}'{_suggest(name, rows)}", ctx)
            return super().resolve_command(ctx, args)

        def _main_shell_completion(self, ctx_args, prog_name, complete_var=None):
            from .core.completion import COMPLETE_VAR, shell_complete

            instruction = os.environ.get(complete_var or COMPLETE_VAR)
            if instruction:
                sys.exit(shell_complete(self, ctx_args, prog_name, instruction))

        def format_commands(self, ctx, formatter):
            listed = [(name, rows[name][3]) for name in self.list_commands(ctx)]
            with formatter.section("Commands"):
                formatter.write_dl(listed)

    app = typer.Typer(
        cls=LazyGroup, name="taskly", no_args_is_help=True, add_completion=True,
        pretty_exceptions_enable=False, pretty_exceptions_show_locals=False, rich_markup_mode=None,
        help="Taskly: a Git-native kanban for the terminal. Exit codes: 0 ok, 1 error, 2 usage, "
             "3 not found, 4 not logged in or forbidden, 5 conflict, 6 offline, 8 pending, 130 interrupted.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback(invoke_without_command=True)
    def root(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
        if version:
            print(f"taskly {VERSION}")
            raise typer.Exit(0)

    command = typer.main.get_command(app)
    command.context_class = _help_context()
    return add_global_options(command)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"taskly {VERSION}\n")
        return EXIT_OK
    if args == ["status", "--prompt"]:  # shell prompts run it on every line: the cache only, no typer
        from .sync.prompt import run as prompt

        return prompt()
    if args[:2] == ["hooks", "run"]:  # git runs hooks on every commit: no typer (~60 ms) for them
        from .branches.hooks import run as run_hook

        return run_hook(args[2:])
    if (args and args[-1] not in ("-h", "--help")) or os.environ.get("_TASKLY_COMPLETE"):
        # reads the cache can answer, and TABs: no typer, rich, pydantic
        from .fast import run as fast_read

        code = _guarded(lambda: fast_read(args))
        if code is not None:
            return code
    if not args:  # bare `taskly`: the help, exit 0
        args = ["--help"]
    if any(arg.startswith(("--show-completion", "--install-completion")) for arg in args):
        from .core.completion import script_command, script_request

        request = script_request(args)  # typer's flags take no shell and ignore `zsh`
        if request is not None:
            return script_command(*request, dict(os.environ))
    return _guarded(lambda: _run_typer(args))


def _guarded(call: Callable[[], int | None]) -> int | None:
    """`call()`, with Ctrl-C, a closed pipe and any other failure turned into their exit codes."""
    try:
        return call()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        return _failed(exc)


def _run_typer(args: list[str]) -> int:
    """The typer app on `args`; click's exits and usage errors as one line and their exit codes."""
    command = _app()
    import typer

    try:
        result = command.main(args=args, prog_name="taskly", standalone_mode=False)
        if isinstance(result, int):
            return result
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("taskly: aborted\n")
        return EXIT_ERROR
    except typer._click.exceptions.ClickException as exc:
        from .core.output import printable

        if type(exc).__name__ == "NoArgsIsHelpError" and exc.ctx is not None:  # a bare group: its help
            sys.stdout.write(exc.ctx.get_help() + "\n")
            return EXIT_OK
        message = exc.format_message()
        if isinstance(exc, typer._click.exceptions.UsageError):  # one line, not click's three
            message = message[:1].lower() + message[1:]
            if not message.startswith("unknown command"):
                path = exc.ctx.command_path if exc.ctx is not None else "taskly"
                message = f"{message.rstrip('.')} (see {path} --help)"
        sys.stderr.write(f"taskly: {printable(message)}\n")
        return EXIT_USAGE if isinstance(exc, typer._click.exceptions.UsageError) else EXIT_ERROR
    return EXIT_OK


def _failed(exc: Exception) -> int:
    """One line, never a traceback (TASKLY_DEBUG=1 shows it); the exit code of `exc`."""
    if os.environ.get("TASKLY_DEBUG"):
        raise exc
    from .core.output import error_line

    error_line(exc)
    return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
