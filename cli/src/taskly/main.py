"""The `taskly` command: a lazy command registry, global flags on every command, exit codes.

Command modules are imported only when their command runs, and `--version` answers before typer
is imported at all: start-up cost is what scripts and git hooks pay on every call.
"""

from __future__ import annotations

import importlib
import os
import sys

VERSION = "0.1.0"

# name → (module under taskly.commands, command in that module's app or None for the whole group, help)
COMMANDS: dict[str, tuple[str, str | None, str]] = {}

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUTH, EXIT_CONFLICT, EXIT_OFFLINE, EXIT_PENDING = (
    0, 1, 2, 3, 4, 5, 6, 8)


def register(name: str, module: str, command: str | None, help: str) -> None:
    COMMANDS[name] = (module, command, help)


def exit_code(exc: BaseException) -> int:
    """Exit codes are chosen here and nowhere else."""
    from . import errors

    table: list[tuple[type[BaseException], int]] = [
        (errors.NotFound, EXIT_NOT_FOUND),
        (errors.NotLoggedIn, EXIT_AUTH),
        (errors.Forbidden, EXIT_AUTH),
        (errors.Conflict, EXIT_CONFLICT),
        (errors.Offline, EXIT_OFFLINE),
        (errors.Pending, EXIT_PENDING),
        (errors.UsageError, EXIT_USAGE),
    ]
    for kind, code in table:
        if isinstance(exc, kind):
            return code
    return EXIT_ERROR


def _app():
    import typer
    from typer.core import TyperGroup

    from .context import add_global_options

    class LazyGroup(TyperGroup):
        """Imports a command's module only when that command is looked up."""

        def list_commands(self, ctx):
            return sorted(COMMANDS)

        def get_command(self, ctx, name):
            spec = COMMANDS.get(name)
            if spec is None:
                return None
            module_name, command_name, _ = spec
            module = importlib.import_module(f"taskly.commands.{module_name}")
            group = typer.main.get_group(module.app)
            command = group if command_name is None else group.commands[command_name]
            command.name = name
            return add_global_options(command)

        def format_commands(self, ctx, formatter):
            rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    app = typer.Typer(
        cls=LazyGroup, name="taskly", no_args_is_help=True, add_completion=True,
        pretty_exceptions_enable=False, pretty_exceptions_show_locals=False, rich_markup_mode=None,
        help="Taskly: a Git-native kanban for the terminal. Exit codes: 0 ok, 1 error, 2 usage, "
             "3 not found, 4 not logged in or forbidden, 5 conflict, 6 offline, 8 pending.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback(invoke_without_command=True)
    def root(version: bool = typer.Option(False, "--version", help="Print the version.")) -> None:
        if version:
            print(f"taskly {VERSION}")
            raise typer.Exit(0)

    return add_global_options(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"taskly {VERSION}\n")
        return EXIT_OK
    if args[:2] == ["hooks", "run"]:  # git runs hooks on every commit: no typer (~60 ms) for them
        from .hooks import run as run_hook

        return run_hook(args[2:])
    from . import commands  # noqa: F401  (fills COMMANDS)

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
        exc.show()
        return EXIT_USAGE if isinstance(exc, typer._click.exceptions.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # one line, never a traceback (TASKLY_DEBUG=1 shows it)
        if os.environ.get("TASKLY_DEBUG"):
            raise
        from .output import error_line

        error_line(exc)
        return exit_code(exc)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
