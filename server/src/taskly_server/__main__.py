"""`taskly-server run|worker|migrate|consumers|demo-history|sql migration`."""

from __future__ import annotations

import argparse
import sys

from .settings import Settings, SettingsError, ensure_secret_key

MIGRATION_LOCK = 74_201_001
"""Postgres advisory lock id held while migrating: replicas started together migrate once."""


def _prepare(settings: Settings, *, migrate: bool = False) -> Settings:
    """Secret key, database (embedded Postgres when no URL is configured) and, if asked, migrations.

    The embedded mode always migrates and runs the worker in the server process by default.
    """
    from .observability import configure_logging

    configure_logging(settings.log_level)
    settings = ensure_secret_key(settings)
    if settings.worker_in_process is None:
        settings = settings.model_copy(update={"worker_in_process": settings.embedded})
    if settings.embedded:
        from .embedded import start_embedded

        settings = settings.model_copy(update={"database_url": start_embedded(settings.data_dir)})
        migrate = True
    if migrate:
        _migrate(settings.database_url)
    return settings


def _report_errors(settings: Settings) -> None:
    """Sentry, when `TASKLY_SENTRY_DSN` is set (before the app exists: its integration hooks
    Litestar's constructor); a job's failure by design (`JobFailed`) is no error to report."""
    if settings.sentry_dsn is None:
        return
    from .lib.jobs import JobFailed
    from .observability import configure_error_reports

    configure_error_reports(settings.sentry_dsn.get_secret_value(), ignore=(JobFailed,))


def _migrate(database_url: str) -> None:
    """Alembic upgrade to head, under an advisory lock so concurrent starts do not race."""
    import psycopg

    from .db.session import migrate
    from .worker import psycopg_url

    with psycopg.connect(psycopg_url(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            migrate(database_url)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    _prepare(settings, migrate=True)
    print("migrations applied", file=sys.stderr)
    return 0


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    import gc
    import signal

    import uvicorn

    from .app import create_app

    settings = _prepare(settings, migrate=args.migrate)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it with the previous handler in
    # place: exit normally then, so atexit hooks (stopping the embedded Postgres) still run.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    _report_errors(settings)
    app = create_app(settings)
    # The ~260k objects of the imports and the app live as long as the process: kept out of the
    # collector's sight, a full collection with 1,000 sockets open stalls the process (and every
    # realtime send) ~120 ms instead of ~280 ms.
    gc.freeze()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None,
                            log_level="warning", access_log=False, server_header=False, lifespan="on",
                            timeout_graceful_shutdown=settings.shutdown_timeout * 0.4,
                            # Realtime events are small JSON sent to many sockets: compressing them
                            # per socket cost ~20% of a 1,000-socket fan-out for little gain.
                            ws_per_message_deflate=False)
    server = _server_class()(config, app, settings.shutdown_timeout)
    server.run()
    return 0 if server.started else 3


def _server_class() -> type:
    """uvicorn's server, stopping within `shutdown_timeout` of SIGTERM: it first closes the
    WebSockets with 1001 (`realtime.shutdown`), then drains requests (40% of the budget) and runs
    the app's shutdown, whose steps are bounded each; should anything still hang, the process
    exits anyway when the budget is spent."""
    import os
    import threading

    import structlog
    import uvicorn

    from .lib.deadlines import bounded
    from .realtime.shutdown import close_sockets

    log = structlog.get_logger("taskly.server")

    def force_exit(budget: float) -> None:
        log.error("shutdown_timed_out", seconds=budget)
        sys.stdout.flush()
        os._exit(1)

    class Server(uvicorn.Server):
        def __init__(self, config: uvicorn.Config, app: object, budget: float) -> None:
            super().__init__(config)
            self.app, self.budget = app, budget

        def handle_exit(self, sig: int, frame: object) -> None:
            if not self.should_exit:
                timer = threading.Timer(self.budget, force_exit, (self.budget,))
                timer.daemon = True
                timer.start()
            super().handle_exit(sig, frame)

        async def shutdown(self, sockets: list | None = None) -> None:
            await bounded(close_sockets(self.app), min(2.0, self.budget * 0.2), "websockets")
            await super().shutdown(sockets)

    return Server


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from .worker import check_worker, run_worker

    settings = _prepare(settings)
    if not args.check:
        _report_errors(settings)
        asyncio.run(run_worker(settings))
        return 0
    try:
        result = asyncio.run(check_worker(settings, args.timeout))
    except Exception as exc:
        print(f"taskly-server: no worker answered: {type(exc).__name__} {exc}".rstrip(), file=sys.stderr)
        return 1
    print(result)
    return 0


def cmd_consumers(settings: Settings, args: argparse.Namespace) -> int:
    """Each change-feed consumer's cursor and lag per workspace, the largest lag first."""
    import asyncio
    import json

    from .db.session import create_engine, create_sessionmaker, dispose
    from .lib.consumers import consumer_lag

    settings = _prepare(settings)

    async def read() -> list[dict]:
        engine = create_engine(settings.database_url, 1, connect_timeout=settings.db_connect_timeout)
        try:
            async with create_sessionmaker(engine)() as db:
                return await consumer_lag(db)
        finally:
            await dispose(engine)

    rows = asyncio.run(read())
    if not args.all:
        rows = [row for row in rows if row["lag"] > 0] or rows[:0]
    if args.json:
        print(json.dumps([{**row, "workspace_id": str(row["workspace_id"])} for row in rows], indent=2))
    else:
        print("CONSUMER\tWORKSPACE\tCURSOR\tHEAD\tLAG")
        for row in rows:
            print(f"{row['consumer']}\t{row['workspace_id']}\t{row['cursor']}\t{row['head']}\t{row['lag']}")
    print(f"{sum(row['lag'] for row in rows)} changes not yet consumed", file=sys.stderr)
    return 0


def cmd_sql_migration(_: Settings, args: argparse.Namespace) -> int:
    from .db.freeze import run

    return run(args.message)


def cmd_demo_history(settings: Settings, _: argparse.Namespace) -> int:
    from .demo_history import run

    return run(settings, sys.stdin.read(), _prepare)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taskly-server", description="The Taskly sync server.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the API (embedded Postgres when no database URL)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    run.set_defaults(handler=cmd_run)
    worker = commands.add_parser("worker", help="process background jobs (SAQ)")
    worker.add_argument("--check", action="store_true",
                        help="enqueue a health job, print a worker's answer, exit 1 if none comes")
    worker.add_argument("--timeout", type=float, default=10.0, help="seconds --check waits")
    worker.set_defaults(handler=cmd_worker)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)
    consumers = commands.add_parser("consumers", help="the change-feed consumers' lag per workspace")
    consumers.add_argument("--all", action="store_true", help="also the workspaces they have caught up in")
    consumers.add_argument("--json", action="store_true", help="one JSON list of {consumer, workspace_id, cursor, head, lag}")
    consumers.set_defaults(handler=cmd_consumers)
    commands.add_parser("demo-history", help="date the demo's changes (a JSON plan on stdin; dev login only)"
                        ).set_defaults(handler=cmd_demo_history)
    sql = commands.add_parser("sql", help="SQL functions: db/sql/<name>.sql is their source")
    migration = sql.add_subparsers(dest="sql_command", required=True).add_parser(
        "migration", help="write the migration for the db/sql files changed since frozen (db/freeze.py)")
    migration.add_argument("message", help="the migration's summary line")
    migration.set_defaults(handler=cmd_sql_migration)
    args = parser.parse_args(argv)
    from pydantic import ValidationError

    try:
        settings = Settings()
        return args.handler(settings, args)
    except ValidationError as exc:
        print(f"taskly-server: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except SettingsError as exc:
        print(f"taskly-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
