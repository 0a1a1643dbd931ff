"""Opt-in Sentry reports (`TASKLY_SENTRY_DSN`), without the network: the DSN points at a local
HTTP server that keeps the envelopes. A job's unexpected exception in a server process (its
in-process worker) and in a `taskly-server worker` process is reported, with no credential in
the report; a job's failure by design (`JobFailed`) is not."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from saq.job import Status
from taskly_server.lib.jobs import JobQueue
from taskly_server.observability import REDACTED, scrub_event
from taskly_server.settings import Settings
from taskly_server.worker import create_queue

from tests.conftest import SECRET
from tests.support.api import Api
from tests.support.processes import free_port, start_server, start_worker

pytestmark = pytest.mark.timeout(120)


class SentryStub(ThreadingHTTPServer):
    """Sentry's ingest endpoint, as far as the SDK can tell: keeps every envelope it is sent."""

    def __init__(self) -> None:
        self.envelopes: list[str] = []
        super().__init__(("127.0.0.1", free_port()), _Ingest)

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server_address[1]}/1"

    def events(self) -> list[dict[str, Any]]:
        """The error events received so far (an envelope's lines: headers and JSON payloads)."""
        items = [json.loads(line) for envelope in self.envelopes for line in envelope.splitlines()
                 if line.startswith("{")]
        return [item for item in items if "exception" in item or "logentry" in item]


class _Ingest(BaseHTTPRequestHandler):
    server: SentryStub

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append(body.decode())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def sentry() -> Iterator[SentryStub]:
    stub = SentryStub()
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.shutdown()
    stub.server_close()


@pytest.fixture(params=["server", "worker"])
def reporting(request: pytest.FixtureRequest, sentry: SentryStub, database_url: str,
              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, str | None]]:
    """A server (with its in-process worker) or a separate worker reporting to `sentry`, on the
    Postgres queue; the settings of its queue and, for the server, its URL."""
    monkeypatch.delenv("TASKLY_REDIS_URL", raising=False)
    settings = Settings(database_url=database_url, secret_key=SECRET,
                        queue_name=f"sentry-{uuid.uuid4().hex[:8]}")
    env = {"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET, "TASKLY_DEV_LOGIN": "1",
           "TASKLY_QUEUE_NAME": settings.queue_name, "TASKLY_SENTRY_DSN": sentry.dsn}
    if request.param == "server":
        server = start_server({**env, "TASKLY_WORKER_IN_PROCESS": "true"}, tmp_path)
        yield settings, server.url
        server.stop()
    else:
        worker = start_worker(env, tmp_path / "worker.log")
        yield settings, None
        worker.stop()


@pytest.fixture
async def jobs(reporting: tuple[Settings, str | None]) -> AsyncIterator[JobQueue]:
    queue = create_queue(reporting[0], max_connections=2)
    await queue.connect()
    yield JobQueue(queue)
    await queue.disconnect()


async def finished(jobs: JobQueue, name: str, **kwargs: str) -> None:
    key = f"{name}:{uuid.uuid4().hex}"
    assert await jobs.enqueue(name, key=key, **kwargs) is not None
    for _ in range(300):
        job = await jobs.job(key)
        if job is not None and job.status in (Status.COMPLETE, Status.FAILED, Status.ABORTED):
            assert job.status == Status.FAILED
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} did not finish")


async def test_an_unexpected_job_error_is_reported_without_credentials(
        reporting: tuple[Settings, str | None], jobs: JobQueue, sentry: SentryStub) -> None:
    _, url = reporting
    secrets = [SECRET]
    if url is not None:  # a signed-in user's requests went through the reporting server first
        user = await asyncio.to_thread(Api.login, url)
        secrets.append(user.token)
        await asyncio.to_thread(user.get, "/workspaces", params={"token": "query-secret-1234"})
        secrets.append("query-secret-1234")
    ids = {name: str(uuid.uuid4()) for name in ("user_id", "repository_id")}
    await finished(jobs, "create_branch", card_id=str(uuid.uuid4()), branch="by-design", **ids)
    await finished(jobs, "create_branch", card_id="not-a-card-id", branch="unexpected", **ids)

    for _ in range(100):  # the attempts' reports follow the job's last write
        if len(sentry.events()) >= 4:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    events = sentry.events()
    assert events, "no event reached the Sentry endpoint"
    values = [value for event in events for value in event["exception"]["values"]]
    assert {value["type"] for value in values} == {"ValueError"}
    assert "asyncio" in {value["mechanism"]["type"] for value in values}  # the job's task failed
    frames = [frame for value in values for frame in value["stacktrace"]["frames"]]
    assert any(frame["function"] == "create_branch" for frame in frames)
    assert not any("vars" in frame for frame in frames)  # no local variables
    assert len(events) == 4  # one per attempt (4), each once (also logged by SAQ at ERROR)
    assert {event["tags"]["job"] for event in events} == {"create_branch"}
    raw = "".join(sentry.envelopes)
    assert not [secret for secret in secrets if secret in raw]
    assert "JobFailed" not in raw and "by-design" not in raw


def test_scrub_event_removes_credentials() -> None:
    """`before_send` on the shape of a Litestar request event with breadcrumbs and a log entry."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    event = {
        "request": {
            "url": "http://127.0.0.1/api/v1/auth/github/callback",
            "query_string": "code=oauth-code-1&state=s1&access_token=at-2",
            "headers": {"Authorization": f"Bearer {jwt}", "Cookie": "session=s3",
                        "User-Agent": "taskly/1"},
            "cookies": {"session": "s3"},
            "data": {"refresh_token": "rt_abcdefghijkl", "password": "pw-4", "code": "c-5",
                     "nested": {"secret": "s-6", "name": "kept"}, "title": "kept too"},
        },
        "breadcrumbs": {"values": [
            {"category": "httplib", "data": {"url": "https://api.github.com/x?token=t-7",
                                              "http.query": "client_secret=cs-8&page=2"}},
            {"category": "log", "message": "calling with Authorization: Bearer tok-9"},
        ]},
        "logentry": {"message": "Error processing job %s",
                     "formatted": "Error processing job Job<kwargs: {'token': 'tok-10', 'card_id': 'c1'}>"},
        "exception": {"values": [{"type": "ValueError", "value": f"bad token {jwt}"}]},
    }
    scrubbed = scrub_event(event, {})
    text = json.dumps(scrubbed)
    for secret in (jwt, "oauth-code-1", "at-2", "s3", "rt_abcdefghijkl", "pw-4", "c-5", "s-6",
                   "t-7", "cs-8", "tok-9", "tok-10"):
        assert secret not in text, secret
    request = scrubbed["request"]
    assert request["headers"] == {"User-Agent": "taskly/1"} and "cookies" not in request
    assert request["data"]["code"] == REDACTED and request["data"]["nested"]["name"] == "kept"
    assert request["data"]["title"] == "kept too"
    assert "state=s1" in request["query_string"] and "page=2" in text and "'card_id': 'c1'" in text
