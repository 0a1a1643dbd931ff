"""`taskly-server run|worker|migrate`."""

from __future__ import annotations

import argparse
import sys

from .settings import Settings, SettingsError, ensure_secret_key


def _database_url(settings: Settings) -> Settings:
    """Start the embedded Postgres when no database URL is configured."""
    if settings.database_url:
        return settings
    from .embedded import start_embedded

    return settings.model_copy(update={"database_url": start_embedded(settings.data_dir)})


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    from .db.session import migrate

    migrate(_database_url(settings).database_url)
    print("migrations applied", file=sys.stderr)
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .db.session import migrate

    settings = ensure_secret_key(_database_url(settings))
    if settings.embedded or args.migrate:
        migrate(settings.database_url)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning",
                access_log=False, lifespan="on")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taskly-server", description="The Taskly sync server.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the API (embedded Postgres when no database URL)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    run.set_defaults(handler=cmd_run)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        return args.handler(settings, args)
    except SettingsError as exc:
        print(f"taskly-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
