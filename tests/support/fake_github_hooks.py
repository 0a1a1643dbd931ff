"""Webhook deliveries from the fake GitHub to the hooks registered on its repositories.

Signed like GitHub signs them: `X-Hub-Signature-256: sha256=<hmac of the exact body>` (and the legacy
SHA-1 header), with `X-GitHub-Event`, `X-GitHub-Delivery` and `X-GitHub-Hook-ID`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

if TYPE_CHECKING:
    from tests.support.fake_github import FakeGitHub
    from tests.support.fake_github_state import Hook, Repo

ZEN = "Keep it logically awesome."


@dataclass(frozen=True)
class Delivery:
    id: str
    hook_id: int
    event: str
    status: int  # 0 when the receiver could not be reached


def signed_request(config: dict[str, Any], event: str, payload: dict[str, Any], delivery_id: str,
                   hook_id: int, repo_id: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers GitHub would send for this hook configuration."""
    text = json.dumps(payload)
    if config.get("content_type") == "json":
        body, content_type = text.encode(), "application/json"
    else:
        body, content_type = urlencode({"payload": text}).encode(), "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type, "User-Agent": "GitHub-Hookshot/fake", "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id, "X-GitHub-Hook-ID": str(hook_id),
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": str(repo_id),
    }
    secret = config.get("secret")
    if secret:
        key = str(secret).encode()
        headers["X-Hub-Signature"] = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return body, headers


class HookSender:
    """Sends signed deliveries for a FakeGitHub and remembers them."""

    def __init__(self, fake: FakeGitHub):
        self.fake = fake
        self.deliveries: list[Delivery] = []
        self._threads: list[threading.Thread] = []

    def hooks(self, repo: Repo) -> list[dict[str, Any]]:
        return [{"id": hook.id, "name": hook.name, "active": hook.active, "events": list(hook.events),
                 "config": dict(hook.config)} for hook in repo.hooks.values()]

    def deliver(self, repo: Repo, event: str, payload: dict[str, Any], delivery_id: str | None) -> list[int]:
        with self.fake.lock:
            targets = [hook for hook in repo.hooks.values()
                       if hook.active and (event in hook.events or "*" in hook.events)]
        return [self.send(repo, hook, event, payload, delivery_id) for hook in targets]

    def send(self, repo: Repo, hook: Hook, event: str, payload: dict[str, Any], delivery_id: str | None) -> int:
        """Posts outside the lock: the receiver may well call the fake back while handling it."""
        delivery_id = delivery_id or str(uuid.uuid4())
        with self.fake.lock:
            config = dict(hook.config)
        body, headers = signed_request(config, event, payload, delivery_id, hook.id, repo.id)
        try:
            status = httpx.post(config["url"], content=body, headers=headers, timeout=10).status_code
        except httpx.HTTPError:
            status = 0
        with self.fake.lock:
            hook.last_status = status
            self.deliveries.append(Delivery(delivery_id, hook.id, event, status))
        return status

    def ping(self, repo: Repo, hook: Hook) -> None:
        """GitHub pings a hook in the background after it is created or when asked to."""
        payload = {"zen": ZEN, "hook_id": hook.id, "hook": self.fake.shapes.hook(repo, hook),
                   "repository": self.fake.shapes.repo(repo, None), "sender": self.fake.account(repo.owner)}
        thread = threading.Thread(target=self.send, args=(repo, hook, "ping", payload, None), daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self, timeout: float = 10) -> None:
        """Waits for background pings to finish."""
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
