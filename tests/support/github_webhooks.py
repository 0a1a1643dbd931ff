"""Real GitHub webhook payloads (../shared/fixtures/github-webhooks), rewritten for a scenario and
signed the way GitHub signs them, sent to a real server; and a connected repository to send them to.

    hook = Hook.connect(server_url, database_url, workspace_id)        # a repository + its secret
    hook.send("pull_request", hook.pull("opened", 12, head="web-7-fix"))
    hook.wait(delivery_id)                                             # processed by the worker
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.conftest import SECRET
from tests.support.fixtures import WEBHOOK_FIXTURES, webhook_fixture

BASE_TIME = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
"""Scenario times are seconds after this (a little ahead of now, so cards are older)."""


def fixture_files() -> list[Path]:
    """Every payload file, `<event>/<name>.json`."""
    return sorted(p for p in WEBHOOK_FIXTURES.glob("*/*.json"))


@functools.cache
def _fixture_text(event: str, name: str) -> str:
    return webhook_fixture(event, name).read_text()


def fixture(event: str, name: str = "payload.json") -> dict[str, Any]:
    """A fresh copy of a fixture payload."""
    return json.loads(_fixture_text(event, name))


def at(seconds: float) -> str:
    """GitHub's timestamp `seconds` into the scenario."""
    return (BASE_TIME + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> float:
    """The scenario time of this moment (for events that must come after something just done)."""
    return (datetime.now(UTC) - BASE_TIME).total_seconds()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def libpq(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


def sha(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def insert_repository(database_url: str, workspace_id: str, owner: str, name: str, github_id: int,
                      secret: str) -> str:
    """A connected repository with its webhook secret sealed like the connect job seals it."""
    from taskly_server.integrations.github.crypto import secret_box, webhook_secret_context

    repository_id = uuid.uuid4()
    sealed = secret_box(SECRET).encrypt(secret, webhook_secret_context(repository_id))
    with psycopg.connect(libpq(database_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO repositories (id, workspace_id, github_id, owner, name, default_branch,"
            " webhook_secret_encrypted, active, version) VALUES (%s, %s, %s, %s, %s, 'main', %s, true, 1)",
            (repository_id, workspace_id, github_id, owner, name, sealed))
    return str(repository_id)


@dataclass
class Hook:
    """A connected repository's webhook: builds scenario payloads and delivers them signed."""

    server_url: str
    database_url: str
    repository_id: str
    owner: str
    name: str
    github_id: int
    secret: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @classmethod
    def connect(cls, server_url: str, database_url: str, workspace_id: str) -> Hook:
        owner, name = f"acme-{uuid.uuid4().hex[:8]}", "web"
        github_id = random.randint(10**9, 2 * 10**9)
        secret = uuid.uuid4().hex
        repository_id = insert_repository(database_url, workspace_id, owner, name, github_id, secret)
        return cls(server_url, database_url, repository_id, owner, name, github_id, secret)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    # --- payloads -------------------------------------------------------------------------------

    def adopt(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as if it came from this repository (ids, names and URLs rewritten)."""
        text = json.dumps(payload)
        for old in {_full_name(payload)} - {None}:
            text = text.replace(old, self.full_name)
        adopted = json.loads(text)
        repository = adopted.get("repository")
        if isinstance(repository, dict):
            repository.update(id=self.github_id, name=self.name, full_name=self.full_name)
            if isinstance(repository.get("owner"), dict):
                repository["owner"]["login"] = self.owner
        return adopted

    def pull(self, action: str, number: int, *, head: str = "changes", title: str = "Update",
             body: str | None = None, state: str = "open", merged: bool = False, draft: bool = False,
             updated: float = 0, head_sha: str | None = None, commits: int = 1,
             name: str = "opened.payload.json") -> dict[str, Any]:
        """A pull_request delivery (from GitHub's own example) for PR `number` of this repository."""
        payload = self.adopt(fixture("pull_request", name))
        payload["action"] = action
        payload["number"] = number
        pull = payload["pull_request"]
        pull.update(number=number, title=title, body=body, state="closed" if merged else state,
                    draft=draft, merged=merged, updated_at=at(updated), commits=commits,
                    html_url=f"https://github.com/{self.full_name}/pull/{number}",
                    merged_at=at(updated) if merged else None,
                    closed_at=at(updated) if merged or state == "closed" else None)
        pull["head"]["ref"] = head
        pull["head"]["sha"] = head_sha or sha(f"{head}:{number}")
        return payload

    def review(self, state: str, number: int, *, reviewer: str = "reviewer", head: str = "changes",
               title: str = "Update", submitted: float = 0, review_id: int | None = None,
               action: str = "submitted", head_sha: str | None = None) -> dict[str, Any]:
        payload = self.adopt(fixture("pull_request_review", "submitted.payload.json"))
        payload["action"] = action
        pull = payload["pull_request"]
        pull.update(number=number, title=title, updated_at=at(submitted), state="open", merged_at=None,
                    html_url=f"https://github.com/{self.full_name}/pull/{number}")
        pull["head"]["ref"] = head
        pull["head"]["sha"] = head_sha or sha(f"{head}:{number}")
        review = payload["review"]
        review.update(state=state, submitted_at=at(submitted), id=review_id or random.randint(1, 10**9))
        review["user"]["login"] = reviewer
        return payload

    def check_suite(self, head_sha: str, conclusion: str | None, *, updated: float = 0,
                    app: str = "GitHub Actions") -> dict[str, Any]:
        payload = self.adopt(fixture("check_suite", "completed.payload.json"))
        suite = payload["check_suite"]
        payload["action"] = "completed" if conclusion else "requested"
        suite.update(head_sha=head_sha, status="completed" if conclusion else "queued",
                     conclusion=conclusion, updated_at=at(updated))
        suite["app"]["name"] = app
        return payload

    def check_run(self, head_sha: str, name: str, conclusion: str | None, *,
                  updated: float = 0) -> dict[str, Any]:
        payload = self.adopt(fixture("check_run", "completed.payload.json"))
        run = payload["check_run"]
        run.update(head_sha=head_sha, name=name, status="completed" if conclusion else "in_progress",
                   conclusion=conclusion, started_at=at(updated),
                   completed_at=at(updated) if conclusion else None)
        return payload

    def status(self, head_sha: str, context: str, state: str, *, updated: float = 0) -> dict[str, Any]:
        payload = self.adopt(fixture("status", "payload.json"))
        payload.update(sha=head_sha, context=context, state=state, updated_at=at(updated),
                       created_at=at(updated))
        return payload

    # --- delivering -----------------------------------------------------------------------------

    def send(self, event: str, payload: dict[str, Any] | bytes, *, delivery_id: str | None = None,
             signature: str | None = "auto", headers: dict[str, str] | None = None) -> httpx.Response:
        """POST a delivery signed with this repository's secret (`signature=None`: unsigned)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test",
                "X-GitHub-Event": event, "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
                "X-GitHub-Hook-ID": "1", **(headers or {})}
        if signature == "auto":
            sent["X-Hub-Signature-256"] = sign(self.secret, body)
        elif signature is not None:
            sent["X-Hub-Signature-256"] = signature
        return self.http.post(f"{self.server_url}/api/v1/webhooks/github", content=body, headers=sent)

    def deliver(self, event: str, payload: dict[str, Any], *, delivery_id: str | None = None,
                timeout: float = 20) -> str:
        """Send, expect 202, and wait until the worker processed it; the delivery id."""
        delivery_id = delivery_id or str(uuid.uuid4())
        response = self.send(event, payload, delivery_id=delivery_id)
        assert response.status_code == 202, response.text
        self.wait(delivery_id, timeout)
        return delivery_id

    def wait(self, delivery_id: str, timeout: float = 20) -> dict[str, Any]:
        """The delivery row once processed."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(libpq(self.database_url), autocommit=True) as conn:
            while True:
                row = conn.execute("SELECT processed_at, outcome, error FROM webhook_deliveries"
                                   " WHERE delivery_id = %s", (delivery_id,)).fetchone()
                if row is not None and row[0] is not None:
                    return {"processed_at": row[0], "outcome": row[1], "error": row[2]}
                if time.monotonic() > deadline:
                    raise AssertionError(f"delivery {delivery_id} not processed after {timeout} s: {row}")
                time.sleep(0.05)

    def deliveries(self, delivery_id: str) -> int:
        with psycopg.connect(libpq(self.database_url), autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM webhook_deliveries WHERE delivery_id = %s",
                                (delivery_id,)).fetchone()[0]


def _full_name(payload: dict[str, Any]) -> str | None:
    repository = payload.get("repository")
    return repository.get("full_name") if isinstance(repository, dict) else None
