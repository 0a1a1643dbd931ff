"""GitHub webhook deliveries: accepted per second by one server process, processed per second by one
worker process (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_webhooks.py [--cards 400] [--queue redis]

Creates a fresh database, starts one `taskly-server run` (no worker inside), a workspace, a board
with `--cards` cards and a connected repository. Each card gets the life of one pull request as
GitHub would deliver it — opened from the card's branch, check suite requested, a check run and
the suite completed, approved, a new push (synchronize), a commit status, merged — built from the
real payloads in ../shared/fixtures/github-webhooks (~10-30 KB each) and signed with the
repository's secret, interleaved as in a busy repository (every PR's first event, then every PR's
second, …). Phase 1 sends them all from `--connections` keep-alive connections (a raw
asyncio HTTP/1.1 client, so the client costs little) and reports accepted/s and latency. Phase 2
starts one `taskly-server worker` and reports processed/s until every delivery is processed; it
then checks the board: every card Done, its PR merged with CI green and one approval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg  # noqa: E402
from taskly_server.worker import CONCURRENCY  # noqa: E402

from tests.conftest import SECRET  # noqa: E402
from tests.support.api import Api  # noqa: E402
from tests.support.github_webhooks import Hook, libpq, now, sha, sign  # noqa: E402
from tests.support.processes import start_server, start_worker  # noqa: E402
from tests.support.services import REDIS_URL, answers, create_database, drop_database  # noqa: E402


def lifecycle(hook: Hook, card: dict, number: int, start: float) -> list[tuple[str, dict]]:
    """The deliveries of one pull request's life, in GitHub's order, one second apart."""
    branch = f"{card['key'].lower()}-bench"
    first, second = sha(f"{branch}:1"), sha(f"{branch}:2")
    return [
        ("pull_request", hook.pull("opened", number, head=branch, head_sha=first, updated=start)),
        ("check_suite", hook.check_suite(first, None, updated=start + 1)),
        ("check_run", hook.check_run(first, "tests", "success", updated=start + 2)),
        ("check_suite", hook.check_suite(first, "success", updated=start + 3)),
        ("pull_request_review", hook.review("approved", number, reviewer="reviewer", head=branch,
                                            head_sha=first, submitted=start + 4, review_id=number)),
        ("pull_request", hook.pull("synchronize", number, head=branch, head_sha=second, updated=start + 5,
                                   commits=2)),
        ("status", hook.status(second, "ci/build", "success", updated=start + 6)),
        ("pull_request", hook.pull("closed", number, head=branch, head_sha=second, merged=True,
                                   updated=start + 7, commits=2)),
    ]


def http_request(host: str, event: str, payload: dict, secret: str) -> tuple[str, bytes]:
    body = json.dumps(payload).encode()
    delivery_id = str(uuid.uuid4())
    head = (f"POST /api/v1/webhooks/github HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
            f"Content-Length: {len(body)}\r\nX-GitHub-Event: {event}\r\n"
            f"X-GitHub-Delivery: {delivery_id}\r\nX-Hub-Signature-256: {sign(secret, body)}\r\n\r\n")
    return delivery_id, head.encode() + body


async def blast(host: str, port: int, requests: list[bytes], connections: int) -> tuple[float, list[float], dict]:
    """Send every request over `connections` keep-alive connections; (seconds, latencies, statuses)."""
    pending = iter(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in pending:
                started = time.perf_counter()
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - started, latencies, statuses


def processed(database_url: str, delivery_ids: list[str]) -> int:
    with psycopg.connect(libpq(database_url), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM webhook_deliveries WHERE delivery_id = ANY(%s)"
                            " AND processed_at IS NOT NULL", (delivery_ids,)).fetchone()[0]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=400, help="pull requests (8 deliveries each)")
    parser.add_argument("--workspaces", type=int, default=1,
                        help="spread the pull requests over this many workspaces, each with its repository")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--queue", choices=("redis", "postgres"),
                        default="redis" if answers(REDIS_URL, 6379) else "postgres")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    name, database_url = create_database("taskly_bench_webhooks")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
           "TASKLY_WORKER_IN_PROCESS": "false", "TASKLY_QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}"}
    if args.queue == "redis":
        env["TASKLY_REDIS_URL"] = REDIS_URL
    server = start_server(env, log_dir)
    worker = None
    try:
        owner = Api.login(server.url)
        boards, lives = [], []
        for index in range(args.workspaces):
            workspace = owner.workspace(f"Bench {index + 1}")
            board = owner.board(workspace["id"], "BENCH")
            hook = Hook.connect(server.url, database_url, workspace["id"])
            cards = [owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": f"Card {i}"})
                     for i in range(args.cards // args.workspaces)]
            boards.append(board)
            lives += [(hook, lifecycle(hook, card, number, now() + 2))
                      for number, card in enumerate(cards, start=1)]
        # busy repositories: every PR's first event, then every PR's second …
        deliveries = [(hook, life[step]) for step in range(8) for hook, life in lives]
        parts = urlsplit(server.url)
        built = [http_request(parts.netloc, event, payload, hook.secret)
                 for hook, (event, payload) in deliveries]
        ids, requests = [b[0] for b in built], [b[1] for b in built]
        size = statistics.mean(len(r) for r in requests) / 1024
        print(f"{len(requests)} deliveries ({size:.1f} KB average) for {len(lives)} pull requests in "
              f"{args.workspaces} workspace(s); queue: {args.queue}; {os.cpu_count()} cores", flush=True)

        server_cpu = psutil.Process(server.process.pid)
        cpu_before = sum(server_cpu.cpu_times()[:2])
        elapsed, latencies, statuses = asyncio.run(blast(parts.hostname, parts.port, requests,
                                                         args.connections))
        cpu = sum(server_cpu.cpu_times()[:2]) - cpu_before
        latencies.sort()
        assert statuses == {202: len(requests)}, statuses
        print(f"accepted: {len(requests) / elapsed:,.0f}/s by one server process "
              f"({args.connections} connections; p50 {ms(latencies[len(latencies) // 2])}, "
              f"p99 {ms(latencies[int(len(latencies) * 0.99)])}); server CPU "
              f"{ms(cpu / len(requests))} per delivery = {len(requests) / cpu:,.0f}/s per busy core",
              flush=True)

        worker = start_worker(env, log_dir / "worker.log")
        started = time.perf_counter()
        cpu_before = sum(psutil.Process(worker.pid).cpu_times()[:2])
        while (done := processed(database_url, ids)) < len(ids):
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{(log_dir / 'worker.log').read_text()[-3000:]}")
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {done} of {len(ids)} processed after 600 s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = sum(psutil.Process(worker.pid).cpu_times()[:2]) - cpu_before
        print(f"processed: {len(ids) / elapsed:,.0f}/s by one worker process (concurrency {CONCURRENCY}; "
              f"from its start); worker CPU {ms(cpu / len(ids))} per delivery = "
              f"{len(ids) / cpu:,.0f}/s per busy core", flush=True)

        shown = [card for board in boards for card in owner.ok("GET", f"/boards/{board['id']}/cards")]
        wrong = [c["key"] for c in shown if c["column"] != "Done" or not c["pull_requests"]
                 or c["pull_requests"][0]["state"] != "merged" or c["pull_requests"][0]["ci"] != "success"
                 or c["pull_requests"][0]["approvals"] != 1]
        assert not wrong, f"cards not Done with a merged, green, approved PR: {wrong[:10]}"
        print(f"check: all {len(shown)} cards Done, each with its merged, green, approved PR")
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
