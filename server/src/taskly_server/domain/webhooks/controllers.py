"""`POST /api/v1/webhooks/github`: verify, store, queue, answer 202 — nothing slow in the request.

Public by design: GitHub authenticates each delivery with `X-Hub-Signature-256`, the HMAC of the
exact body under the secret of the repository the payload names. Missing or wrong → 401 and
nothing is stored. Before the signature is checked only the repository is read from the payload
(everything else is skipped, not decoded); the payload is parsed once the HMAC of the raw bytes
matched. Deliveries of events Taskly does not act on (ping too) are stored as ignored
and answered 200; a redelivery is answered 200 and not processed again.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar import Request, Response, post
from litestar.datastructures import State
from taskly_shared.models import WebhookAccepted

from ...errors import DomainError, Unauthenticated
from ..pulls.payloads import RepositoryRef, repository_ref
from ..pulls.processing import HANDLED
from .deliveries import enqueue, store
from .verification import SecretCache

MAX_BODY = 25 * 1024 * 1024
"""GitHub caps deliveries at 25 MB (`TASKLY_BODY_LIMIT_WEBHOOK`, enforced before reading, may be lower)."""
LARGE = 256 * 1024
"""Payloads above this are decoded in a worker thread, off the event loop."""
DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
EVENT = re.compile(r"[a-z_]{1,64}")
REFUSED = "the delivery's signature does not match a connected repository's webhook secret"


class BadDelivery(DomainError):
    """400: not a GitHub delivery Taskly can read."""

    title = "Bad request"


def _secrets(state: State) -> SecretCache:
    cache = state.get("webhook_secrets")
    if cache is None:
        cache = state.webhook_secrets = SecretCache(state.engine, state.settings.secret())
    return cache


class _Envelope(msgspec.Struct):
    """The one part of a payload read before its signature is checked; the rest is skipped
    (validated as JSON, never built into objects)."""

    repository: msgspec.Raw = msgspec.Raw()


class _Repository(msgspec.Struct):
    id: msgspec.Raw = msgspec.Raw()
    full_name: msgspec.Raw = msgspec.Raw()


def _document(body: bytes, content_type: str) -> bytes | str:
    """The payload's JSON text (`application/json`, or GitHub's form encoding), not yet decoded."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        if not body.isascii():  # ASCII is UTF-8: only other bodies need the (copying) check
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadDelivery("the body is not UTF-8 JSON") from None
        return body
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise BadDelivery("the form body has no readable `payload` field") from None
    if len(fields.get("payload", ())) != 1:
        raise BadDelivery("the form body has no `payload` field")
    return fields["payload"][0]


def _scalar(raw: msgspec.Raw, kind: type) -> Any:
    if not raw:
        return None
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.DecodeError:  # the wrong type (or a nested value): not a usable repository
        return None


def _named_repository(document: bytes | str) -> RepositoryRef | None:
    """The repository the payload names, read without decoding anything else of it."""
    try:
        envelope = msgspec.json.decode(document, type=_Envelope)
    except RecursionError:
        raise BadDelivery("the payload is nested too deeply") from None
    except msgspec.ValidationError:
        raise BadDelivery("the payload must be a JSON object") from None
    except msgspec.DecodeError:
        raise BadDelivery("the body is not valid JSON") from None
    if not envelope.repository:
        return None
    try:
        repository = msgspec.json.decode(envelope.repository, type=_Repository)
    except msgspec.DecodeError:
        return None
    return repository_ref({"repository": {"id": _scalar(repository.id, int),
                                          "full_name": _scalar(repository.full_name, str)}})


def _payload(document: bytes | str) -> tuple[dict[str, Any], str]:
    """The decoded payload and its JSON text, once its signature has been checked."""
    try:
        text = document.decode("utf-8") if isinstance(document, bytes) else document
        payload = msgspec.json.decode(text)
    except (UnicodeDecodeError, RecursionError, msgspec.DecodeError):
        raise BadDelivery("the body is not valid UTF-8 JSON") from None
    if not isinstance(payload, dict):
        raise BadDelivery("the payload must be a JSON object")
    return payload, text


@post("/api/v1/webhooks/github", status_code=202, request_max_body_size=MAX_BODY,
      tags=["webhooks"], security=[], exclude_from_auth=True,
      summary="Receive a GitHub webhook delivery (signed with the repository's webhook secret)")
async def receive_github(request: Request, state: State) -> Response[WebhookAccepted]:
    """Verify `X-Hub-Signature-256`, store the delivery by its `X-GitHub-Delivery` id, queue its
    processing and answer 202; 200 for a redelivery or an event Taskly does not act on."""
    headers = request.headers
    event = headers.get("x-github-event", "")
    delivery_id = headers.get("x-github-delivery", "")
    signature = headers.get("x-hub-signature-256")
    if not EVENT.fullmatch(event):
        raise BadDelivery("X-GitHub-Event is missing or malformed")
    if not DELIVERY_ID.fullmatch(delivery_id):
        raise BadDelivery("X-GitHub-Delivery is missing or malformed")
    if not signature:
        raise Unauthenticated("X-Hub-Signature-256 is missing: set the webhook's secret")
    body = await request.body()  # at most the route's limit; large ones a few at a time (lib.protection)
    document = _document(body, headers.get("content-type", ""))
    ref = _named_repository(document)
    matched = await _secrets(state).verified(ref, body, signature) if ref is not None else []
    if not matched:
        raise Unauthenticated(REFUSED)
    if len(body) > LARGE:
        payload, text = await asyncio.to_thread(_payload, document)
    else:
        payload, text = _payload(document)
    action = payload.get("action")
    action = action[:64] if isinstance(action, str) else None
    ignored = event not in HANDLED
    stored = await store(state.engine, delivery_id=delivery_id, event=event, action=action,
                         repository_id=matched[0].repository_id, payload_text=text, payload=payload,
                         ignored=ignored)
    if stored != "duplicate" and not ignored:
        await enqueue(state.queue, delivery_id, [c.repository_id for c in matched])
    status = "ignored" if ignored else "queued" if stored == "new" else "duplicate"
    return Response(WebhookAccepted(delivery_id=delivery_id, event=event, status=status),
                    status_code=202 if status == "queued" else 200)


ROUTES = [receive_github]
