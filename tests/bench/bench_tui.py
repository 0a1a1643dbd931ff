"""`taskly board` timings in a real terminal (a pty), beside a minimal Textual app (a script).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_tui.py [--cards 1000] [--runs 7] [--moves 20]
        [--sizes 160x48,80x24]

Creates a fresh database, starts one `taskly-server run`, creates a board BENCH with `--cards`
cards (one COPY), signs a user in under a temporary TASKLY_HOME and syncs its cache. Then, each
process in a pty of the first of `--sizes` (160x48), with the pty's output read as a terminal would:

- first paint: from spawning `taskly board BENCH` until a card key is on the screen (the board is
  painted from the cache; the sync starts after it), median of `--runs` starts; again in a pty of
  each further size (80x24: scrolling columns, compact cards);
- move: from writing `L` / `H` into the pty until the repainted board (with the moved card,
  BENCH-1) comes out of it, median of `--moves` moves (the write to the server follows in a worker);
- the same two figures for a minimal Textual app (one Static, a key that changes its text).

Goals: first paint ≤ 400 ms, move ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from fractional_indexing import generate_n_keys_between  # noqa: E402
from taskly.core.config import save_user  # noqa: E402
from taskly.core.context import Factory, Globals  # noqa: E402
from taskly.core.credentials import StoredLogin  # noqa: E402

from tests.support import pty  # noqa: E402
from tests.support.processes import BIN, start_server  # noqa: E402
from tests.support.pty import Terminal  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
LABELS = ["frontend", "backend", "bug", "infra", "ux"]
PRIORITIES = ["none", "low", "medium", "high", "urgent"]
MINIMAL_APP = '''
from textual.app import App
from textual.widgets import Static


class Minimal(App):
    BINDINGS = [("x", "bump", "Bump"), ("q", "quit", "Quit")]
    count = 0

    def compose(self):
        yield Static("MINIMAL-READY")

    def action_bump(self):
        self.count += 1
        self.query_one(Static).update(f"MINIMAL-{self.count}")


Minimal().run()
'''


def seed_cards(database_url: str, board: dict, user_id: str, count: int) -> None:
    """`count` cards over the board's columns (numbers 1, 6, 11 … on top of the first), one COPY."""
    columns = board["columns"]
    ranks = generate_n_keys_between(None, None, -(-count // len(columns)))
    today = date.today()
    with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=False) as conn:
        with conn.cursor().copy(
            "COPY cards (id, workspace_id, board_id, column_id, number, title, description, labels, priority,"
            " points, due, recurrence, recurrence_interval, rank, assignee_ids, created_by, version) FROM STDIN"
        ) as copy:
            for i in range(count):
                copy.write_row((
                    uuid.uuid4(), board["workspace_id"], board["id"], columns[i % len(columns)]["id"], i + 1,
                    f"Card number {i + 1}: make the thing do the other thing",
                    "A description with **markdown**.", [LABELS[i % 5], LABELS[(i * 7) % 5]],
                    PRIORITIES[i % 5], i % 13, today + timedelta(days=i % 30 - 10), "none", 1,
                    ranks[i // len(columns)], [user_id], user_id, 1,
                ))
        conn.execute("UPDATE boards SET next_card_number = %s WHERE id = %s", (count + 1, board["id"]))
        conn.commit()


def measure(argv: list[str], env: dict[str, str], ready: bytes, moves: list[tuple[bytes, bytes]],
            runs: int, settle: float) -> tuple[list[float], list[float]]:
    """First-paint times of `runs` starts; key→repaint times of `moves` in the last one."""
    paints, moved = [], []
    for run in range(runs):
        terminal = Terminal(argv, env)
        try:
            paints.append(terminal.until(ready, 0) - terminal.started)
            if run == runs - 1:
                time.sleep(settle)
                terminal.quiet()
                for key, shown in moves:
                    pressed, mark = terminal.press(key)
                    moved.append(terminal.until(shown, mark) - pressed)
                    terminal.quiet(0.25)
        finally:
            terminal.close()
    return paints, moved


def set_size(size: str) -> None:
    """The size of the ptys started from now on (`Terminal` reads the module's ROWS, COLUMNS)."""
    columns, rows = (int(n) for n in size.lower().split("x"))
    pty.ROWS, pty.COLUMNS = rows, columns


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:6.1f} ms median (min {min(values) * 1000:.1f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--sizes", default="160x48,80x24", help="pty sizes (COLUMNSxROWS), comma-separated; "
                        "moves and the minimal app are measured at the first")
    args = parser.parse_args()

    name, database_url = create_database("taskly_bench")
    work = Path(tempfile.mkdtemp(prefix="taskly-bench-tui-"))
    server = start_server({"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET,
                           "TASKLY_DEV_LOGIN": "1"}, work)
    try:
        tokens = httpx.post(f"{server.url}/api/v1/auth/dev-login", json={"username": "bench"}).json()
        http = httpx.Client(base_url=f"{server.url}/api/v1", timeout=60,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        workspace = http.post("/workspaces", json={"name": "Bench"}).json()
        board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Bench", "key": "BENCH"}).json()
        seed_cards(database_url, board, tokens["user"]["id"], args.cards)

        home = work / "home"
        env = {**os.environ, "TASKLY_HOME": str(home), "TERM": "xterm-256color", "COLORTERM": "truecolor",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        for name_ in ("NO_COLOR", "TASKLY_TOKEN", "TASKLY_SERVER", "TASKLY_WORKSPACE", "TASKLY_BOARD"):
            env.pop(name_, None)
        factory = Factory(globals=Globals(), environ=env)
        factory.credentials.save(StoredLogin(server.url, "bench", tokens["access_token"], tokens["refresh_token"]))
        save_user(factory.config.user_path, server=server.url, workspace="Bench", board="BENCH")
        factory = Factory(globals=Globals(), environ=env)
        result = factory.engine.sync(discover=True)
        assert not result.stale and len(factory.store.cards(board_id=board["id"])) == args.cards
        factory.close()
        factory.store.close()

        sizes = [size.strip() for size in args.sizes.split(",") if size.strip()]
        board_argv = [str(BIN / "taskly"), "board", "BENCH"]
        other_paints = []
        for size in sizes[1:]:
            set_size(size)
            other_paints.append((size, measure(board_argv, env, rb"BENCH-\d+", [], args.runs, settle=0)[0]))
        set_size(sizes[0])
        moves = [(b"L" if i % 2 == 0 else b"H", rb"BENCH-1(?!\d)") for i in range(args.moves)]
        board_paint, board_moves = measure(board_argv, env, rb"BENCH-\d+", moves, args.runs, settle=2.0)
        script = work / "minimal_app.py"
        script.write_text(MINIMAL_APP)
        bumps = [(b"x", f"MINIMAL-{i + 1}(?!\\d)".encode()) for i in range(args.moves)]
        minimal_paint, minimal_moves = measure([sys.executable, str(script)], env, rb"MINIMAL-READY", bumps,
                                               args.runs, settle=0.5)

        print(f"{args.cards} cached cards, {sizes[0]} pty, UV_COMPILE_BYTECODE="
              f"{os.environ.get('UV_COMPILE_BYTECODE', '')}")
        print(f"first paint  taskly board      {ms(board_paint)}   goal ≤ 400 ms")
        for size, paints in other_paints:
            print(f"first paint  taskly board {size:>7} {ms(paints)}   goal ≤ 400 ms")
        print(f"first paint  minimal Textual   {ms(minimal_paint)}")
        print(f"move → paint taskly board      {ms(board_moves)}   goal ≤ 50 ms")
        print(f"key → paint  minimal Textual   {ms(minimal_moves)}")
        http.close()
    finally:
        server.stop()
        drop_database(name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
