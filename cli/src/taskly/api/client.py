"""The REST client: httpx under /api/v1, typed errors, shared wire models in and out.

    api = ApiClient("http://127.0.0.1:8000", credentials)
    page = api.changes(workspace_id, since=41)            # ChangesPage; Gone (410) when pruned
    card = api.update_card(card_id, CardPatch(title="x", base_version=3), idempotency_key=mid)

A 401 triggers one transparent token refresh (`credentials.refresh()`) and a retry. A 429 (rate
limited) is retried once after the server's `Retry-After` when that is at most
`RATE_LIMIT_WAIT_CAP` seconds, with a note on stderr. An unreachable server (or a 502/503/504 from
a proxy, or the server's own 503 `service_unavailable` while its database or Redis fails) raises
`Offline`; problem details raise the typed `ApiError` subclasses of `taskly.core.errors`.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel, TypeAdapter
from taskly_shared.models import (
    ActivityPage,
    ApiTokenCreated,
    ApiTokenOut,
    AuthTokens,
    AutomationUpdate,
    BoardAutomation,
    BoardOut,
    CardCreate,
    CardMove,
    CardOut,
    CardPatch,
    ChangeOut,
    ChangesPage,
    ColumnOut,
    CommentOut,
    CreateBranchOut,
    DeviceCodeOut,
    GitHubRepositoryOut,
    InvitationOut,
    JobOut,
    LabelChanged,
    LabelCreate,
    LabelOut,
    LabelPatch,
    MemberOut,
    NotificationsPage,
    NotificationsRead,
    NotificationsReadResult,
    PendingInvitationOut,
    RepositoryConnectOut,
    RepositoryOut,
    RepositoryStatus,
    RepositorySyncOut,
    Snapshot,
    SprintBurndown,
    SprintClose,
    SprintCreate,
    SprintOut,
    UserOut,
    UserSettings,
    UserSettingsPatch,
    WorkspaceOut,
)

from ..core.errors import ApiError, NotLoggedIn, Offline, from_problem
from .credentials import Credentials

M = TypeVar("M", bound=BaseModel)
UNREACHABLE = {502, 503, 504}
TRY_LATER_CODES = {"service_unavailable", "unavailable"}
RATE_LIMITED = 429
RATE_LIMIT_WAIT_CAP = 10.0
"""The longest `Retry-After` the client waits out before its one retry; a longer one is an error."""
_workspaces = TypeAdapter(list[WorkspaceOut])
_comments = TypeAdapter(list[CommentOut])
_members = TypeAdapter(list[MemberOut])
_boards = TypeAdapter(list[BoardOut])
_changes = TypeAdapter(list[ChangeOut])
_tokens = TypeAdapter(list[ApiTokenOut])
_repositories = TypeAdapter(list[RepositoryOut])
_github_repositories = TypeAdapter(list[GitHubRepositoryOut])
_labels = TypeAdapter(list[LabelOut])
_invitations = TypeAdapter(list[PendingInvitationOut])
_sprints = TypeAdapter(list[SprintOut])


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks to wait (`Retry-After` in seconds), None when absent or unreadable."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _note(message: str) -> None:
    sys.stderr.write(f"taskly: {message}\n")  # looked up now: the TUI captures stderr while it runs
    sys.stderr.flush()


def _unavailable(response: httpx.Response) -> bool:
    """A 502/503/504 that means "try again later": a proxy's, or the server's own when its database
    or Redis fails or a request outran its deadline (`service_unavailable`); not a problem the
    server reports about GitHub (`github_unavailable`, `github_not_configured`)."""
    if not _is_problem(response):
        return True
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return True
    return code in TRY_LATER_CODES


def _is_problem(response: httpx.Response) -> bool:
    """A problem-details answer of the server itself (a 502 `github_unavailable` is not a proxy's)."""
    return response.headers.get("content-type", "").startswith("application/problem+json")


class ApiClient:
    """A synchronous, thread-safe client for one server."""

    def __init__(self, server_url: str, credentials: Credentials | None = None, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.server_url = server_url.rstrip("/")
        self.credentials = credentials
        self._refresh_lock = threading.Lock()
        self._http = httpx.Client(base_url=f"{self.server_url}/api/v1", timeout=timeout, transport=transport,
                                  headers={"User-Agent": "taskly-cli"})

    def close(self) -> None:
        self._http.close()

    # --- plumbing -------------------------------------------------------------------------------

    def access_token(self) -> str:
        """The access token requests carry (NotLoggedIn without credentials)."""
        token = self.credentials.get() if self.credentials is not None else None
        if not token:
            raise NotLoggedIn("not logged in: run `taskly login`", code="unauthenticated")
        return token

    def fresh_token(self, stale: str | None) -> str | None:
        """A fresh access token after `stale` was refused (refreshing at most once per expiry)."""
        if self.credentials is None:
            return None
        with self._refresh_lock:
            current = self.credentials.get()
            if current and current != stale:
                return current
            return self.credentials.refresh()

    def _send(self, method: str, path: str, token: str | None, json: Any, params: dict[str, Any] | None,
              headers: dict[str, str], timeout: float | None) -> httpx.Response:
        all_headers = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
        extra = {} if timeout is None else {"timeout": timeout}
        try:
            return self._http.request(method, path, json=json, params=params, headers=all_headers, **extra)
        except httpx.HTTPError as exc:
            raise Offline(f"cannot reach {self.server_url}: {type(exc).__name__}: {exc}".rstrip(": ")) from exc

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                idempotency_key: str | None = None, timeout: float | None = None,
                auth: bool = True) -> httpx.Response:
        """One request; returns a 2xx response or raises a typed error."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        token = self.access_token() if auth else None
        response = self._patiently(lambda: self._send(method, path, token, json, params, headers, timeout))
        if response.status_code == 401 and auth:
            fresh = self.fresh_token(token)
            if fresh:
                response = self._patiently(
                    lambda: self._send(method, path, fresh, json, params, headers, timeout))
        if response.is_success:
            return response
        if response.status_code in UNREACHABLE and _unavailable(response):
            raise Offline(f"{self.server_url} is unavailable (HTTP {response.status_code})")
        raise self._error(response)

    @staticmethod
    def _patiently(send: Callable[[], httpx.Response]) -> httpx.Response:
        """`send()`, and once more after the wait a 429 asks for (when it is short enough)."""
        response = send()
        if response.status_code != RATE_LIMITED:
            return response
        wait = retry_after(response)
        if wait is None or wait > RATE_LIMIT_WAIT_CAP:
            return response
        _note(f"rate limited by the server; retrying in {wait:g} s")
        time.sleep(wait)
        return send()

    @staticmethod
    def _error(response: httpx.Response) -> ApiError:
        try:
            problem = response.json()
        except ValueError:
            problem = None
        return from_problem(response.status_code, problem, response.reason_phrase)

    def _model(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate_json(self.request(method, path, **kwargs).content)

    def send(self, method: str, path: str, body: dict[str, Any] | None, *, idempotency_key: str,
             model: type[M], timeout: float | None = None) -> M:
        """A queued write as stored in the outbox (used by the sync engine's push)."""
        return self._model(model, method, path, json=body, idempotency_key=idempotency_key, timeout=timeout)

    # --- auth -----------------------------------------------------------------------------------

    def dev_login(self, username: str) -> AuthTokens:
        return self._model(AuthTokens, "POST", "/auth/dev-login", json={"username": username}, auth=False)

    def refresh_tokens(self, refresh_token: str) -> AuthTokens:
        return self._model(AuthTokens, "POST", "/auth/refresh", json={"refresh_token": refresh_token},
                           auth=False)

    def me(self, timeout: float | None = None) -> UserOut:
        return self._model(UserOut, "GET", "/me", timeout=timeout)

    def logout(self, refresh_token: str | None = None, timeout: float | None = None) -> None:
        """Revoke `refresh_token`'s family (or every refresh token of the caller when None)."""
        body = {"refresh_token": refresh_token} if refresh_token else None
        self.request("POST", "/auth/logout", json=body, timeout=timeout)

    # --- API tokens -------------------------------------------------------------------------------

    def create_token(self, name: str, *, expires_in_days: int | None = None,
                     idempotency_key: str | None = None) -> ApiTokenCreated:
        body = {"name": name, **({"expires_in_days": expires_in_days} if expires_in_days else {})}
        return self._model(ApiTokenCreated, "POST", "/tokens", json=body, idempotency_key=idempotency_key)

    def list_tokens(self, timeout: float | None = None) -> list[ApiTokenOut]:
        return _tokens.validate_json(self.request("GET", "/tokens", timeout=timeout).content)

    def revoke_token(self, token_id: UUID | str) -> ApiTokenOut:
        return self._model(ApiTokenOut, "DELETE", f"/tokens/{token_id}")

    # --- workspaces, boards, sync -----------------------------------------------------------------

    def list_workspaces(self, timeout: float | None = None) -> list[WorkspaceOut]:
        return _workspaces.validate_json(self.request("GET", "/workspaces", timeout=timeout).content)

    def create_workspace(self, name: str, *, workspace_id: UUID | str | None = None,
                         idempotency_key: str | None = None) -> WorkspaceOut:
        body = {"name": name, **({"id": str(workspace_id)} if workspace_id else {})}
        return self._model(WorkspaceOut, "POST", "/workspaces", json=body, idempotency_key=idempotency_key)

    def list_members(self, workspace_id: UUID | str, timeout: float | None = None) -> list[MemberOut]:
        return _members.validate_json(
            self.request("GET", f"/workspaces/{workspace_id}/members", timeout=timeout).content)

    def create_invitation(self, workspace_id: UUID | str, role: str = "member", *,
                          expires_in_hours: int | None = None,
                          idempotency_key: str | None = None) -> InvitationOut:
        body = {"role": role, **({"expires_in_hours": expires_in_hours} if expires_in_hours else {})}
        return self._model(InvitationOut, "POST", f"/workspaces/{workspace_id}/invitations", json=body,
                           idempotency_key=idempotency_key)

    def accept_invitation(self, token: str, *, idempotency_key: str | None = None) -> WorkspaceOut:
        return self._model(WorkspaceOut, "POST", f"/invitations/{token}/accept",
                           idempotency_key=idempotency_key)

    def list_invitations(self, workspace_id: UUID | str, timeout: float | None = None) -> list[PendingInvitationOut]:
        """The workspace's open invitations (admins), never their tokens."""
        return _invitations.validate_json(
            self.request("GET", f"/workspaces/{workspace_id}/invitations", timeout=timeout).content)

    def revoke_invitation(self, invitation_id: UUID | str) -> None:
        self.request("DELETE", f"/invitations/{invitation_id}")

    def list_boards(self, workspace_id: UUID | str, timeout: float | None = None) -> list[BoardOut]:
        return _boards.validate_json(
            self.request("GET", f"/workspaces/{workspace_id}/boards", timeout=timeout).content)

    def create_board(self, workspace_id: UUID | str, name: str, key: str, *,
                     idempotency_key: str | None = None) -> BoardOut:
        return self._model(BoardOut, "POST", f"/workspaces/{workspace_id}/boards",
                           json={"name": name, "key": key}, idempotency_key=idempotency_key)

    def add_column(self, board_id: UUID | str, name: str, *, kind: str | None = None,
                   wip_limit: int | None = None, position: int | None = None,
                   idempotency_key: str | None = None) -> ColumnOut:
        """A new column; `position` is 0-based (the end when None)."""
        body: dict[str, Any] = {"name": name}
        body.update({k: v for k, v in (("kind", kind), ("wip_limit", wip_limit), ("position", position))
                     if v is not None})
        return self._model(ColumnOut, "POST", f"/boards/{board_id}/columns", json=body,
                           idempotency_key=idempotency_key)

    def update_column(self, column_id: UUID | str, *, idempotency_key: str | None = None,
                      **fields: Any) -> ColumnOut:
        """Rename, change kind or WIP limit, or move to a 0-based `position`."""
        return self._model(ColumnOut, "PATCH", f"/columns/{column_id}", json=fields,
                           idempotency_key=idempotency_key)

    def delete_column(self, column_id: UUID | str, *, move_to: str | None = None,
                      idempotency_key: str | None = None) -> None:
        """Delete a column; its cards go to the bottom of `move_to` (id or name)."""
        params = {"move_to": move_to} if move_to else None
        self.request("DELETE", f"/columns/{column_id}", params=params, idempotency_key=idempotency_key)

    def changes(self, workspace_id: UUID | str, since: int, limit: int = 500,
                timeout: float | None = None) -> ChangesPage:
        """Changes with seq > since, oldest first; raises `Gone` when `since` was pruned."""
        return self._model(ChangesPage, "GET", f"/workspaces/{workspace_id}/changes",
                           params={"since": since, "limit": limit}, timeout=timeout)

    def snapshot(self, workspace_id: UUID | str, timeout: float | None = None) -> Snapshot:
        return self._model(Snapshot, "GET", f"/workspaces/{workspace_id}/snapshot", timeout=timeout)

    # --- notifications and settings (the caller's own) -------------------------------------------

    def notifications(self, *, unread: bool = False, limit: int = 50, cursor: str | None = None,
                      timeout: float | None = None) -> NotificationsPage:
        params: dict[str, Any] = {"limit": limit, **({"unread": "true"} if unread else {}),
                                  **({"cursor": cursor} if cursor else {})}
        return self._model(NotificationsPage, "GET", "/notifications", params=params, timeout=timeout)

    def read_notifications(self, data: NotificationsRead) -> NotificationsReadResult:
        return self._model(NotificationsReadResult, "POST", "/notifications/read",
                           json=data.model_dump(mode="json", exclude_none=True, exclude_defaults=True))

    def settings(self, timeout: float | None = None) -> UserSettings:
        return self._model(UserSettings, "GET", "/me/settings", timeout=timeout)

    def update_settings(self, data: UserSettingsPatch) -> UserSettings:
        return self._model(UserSettings, "PATCH", "/me/settings", json=data.model_dump(mode="json", exclude_unset=True))

    # --- sprints ---------------------------------------------------------------------------------

    def list_sprints(self, board_id: UUID | str, timeout: float | None = None) -> list[SprintOut]:
        return _sprints.validate_json(self.request("GET", f"/boards/{board_id}/sprints", timeout=timeout).content)

    def create_sprint(self, board_id: UUID | str, data: SprintCreate, *,
                      idempotency_key: str | None = None) -> SprintOut:
        return self._model(SprintOut, "POST", f"/boards/{board_id}/sprints",
                           json=data.model_dump(mode="json", exclude_unset=True), idempotency_key=idempotency_key)

    def close_sprint(self, sprint_id: UUID | str, data: SprintClose, *,
                     idempotency_key: str | None = None) -> SprintOut:
        return self._model(SprintOut, "POST", f"/sprints/{sprint_id}/close", json=data.model_dump(mode="json"),
                           idempotency_key=idempotency_key)

    def sprint_burndown(self, sprint_id: UUID | str, timeout: float | None = None) -> SprintBurndown:
        return self._model(SprintBurndown, "GET", f"/sprints/{sprint_id}/burndown", timeout=timeout)

    # --- cards and comments -----------------------------------------------------------------------

    def get_card(self, card_ref: str, timeout: float | None = None) -> CardOut:
        return self._model(CardOut, "GET", f"/cards/{card_ref}", timeout=timeout)

    def create_card(self, board_id: UUID | str, data: CardCreate, *, idempotency_key: str | None = None) -> CardOut:
        return self._model(CardOut, "POST", f"/boards/{board_id}/cards", idempotency_key=idempotency_key,
                           json=data.model_dump(mode="json", exclude_unset=True))

    def update_card(self, card_ref: str, data: CardPatch, *, idempotency_key: str | None = None) -> CardOut:
        return self._model(CardOut, "PATCH", f"/cards/{card_ref}", idempotency_key=idempotency_key,
                           json=data.model_dump(mode="json", exclude_unset=True))

    def move_card(self, card_ref: str, data: CardMove, *, idempotency_key: str | None = None) -> CardOut:
        return self._model(CardOut, "POST", f"/cards/{card_ref}/move", idempotency_key=idempotency_key,
                           json=data.model_dump(mode="json", exclude_unset=True))

    def delete_card(self, card_ref: str, *, idempotency_key: str | None = None) -> CardOut:
        return self._model(CardOut, "DELETE", f"/cards/{card_ref}", idempotency_key=idempotency_key)

    def restore_card(self, card_ref: str, *, idempotency_key: str | None = None) -> CardOut:
        return self._model(CardOut, "POST", f"/cards/{card_ref}/restore", idempotency_key=idempotency_key)

    def card_activity(self, card_ref: str, limit: int = 100, timeout: float | None = None) -> list[ChangeOut]:
        """The card's changes and its comments' changes, newest first."""
        return _changes.validate_json(self.request("GET", f"/cards/{card_ref}/activity",
                                                   params={"limit": limit}, timeout=timeout).content)

    def list_comments(self, card_ref: str, timeout: float | None = None) -> list[CommentOut]:
        return _comments.validate_json(self.request("GET", f"/cards/{card_ref}/comments", timeout=timeout).content)

    def add_comment(self, card_ref: str, body: str, *, comment_id: UUID | str | None = None,
                    idempotency_key: str | None = None) -> CommentOut:
        payload = {"body": body, **({"id": str(comment_id)} if comment_id else {})}
        return self._model(CommentOut, "POST", f"/cards/{card_ref}/comments", json=payload,
                           idempotency_key=idempotency_key)

    # --- GitHub: sign-in, repositories, branches, jobs ---------------------------------------------

    def github_device(self) -> DeviceCodeOut:
        """Start GitHub's device flow (the server holds the OAuth app)."""
        return self._model(DeviceCodeOut, "POST", "/auth/github/device", auth=False)

    def github_device_poll(self, device_code: str, timeout: float | None = None) -> AuthTokens:
        """Tokens once the user approved; ApiError 428 `authorization_pending`/`slow_down` before."""
        return self._model(AuthTokens, "POST", "/auth/github/device/poll", json={"device_code": device_code},
                           auth=False, timeout=timeout)

    def list_repositories(self, workspace_id: UUID | str, *, include_inactive: bool = False,
                          timeout: float | None = None) -> list[RepositoryOut]:
        params = {"include_inactive": "true"} if include_inactive else None
        return _repositories.validate_json(self.request(
            "GET", f"/workspaces/{workspace_id}/repositories", params=params, timeout=timeout).content)

    def available_repositories(self, *, admin: bool = True,
                               timeout: float | None = None) -> list[GitHubRepositoryOut]:
        """Your repositories on GitHub (`admin`: those you can administer, i.e. connect)."""
        return _github_repositories.validate_json(self.request(
            "GET", "/github/repositories", params={"admin": "true" if admin else "false"},
            timeout=timeout).content)

    def connect_repository(self, workspace_id: UUID | str, full_name: str, *,
                           board_id: UUID | str | None = None,
                           idempotency_key: str | None = None) -> RepositoryConnectOut:
        body = {"full_name": full_name, **({"board_id": str(board_id)} if board_id else {})}
        return self._model(RepositoryConnectOut, "POST", f"/workspaces/{workspace_id}/repositories", json=body,
                           idempotency_key=idempotency_key)

    def repository_status(self, repository_id: UUID | str) -> RepositoryStatus:
        return self._model(RepositoryStatus, "GET", f"/repositories/{repository_id}/status")

    def sync_repository(self, repository_id: UUID | str,
                        numbers: list[int] | None = None) -> RepositorySyncOut:
        """Queue a reconcile of the repository's pull requests (`numbers`: only those)."""
        return self._model(RepositorySyncOut, "POST", f"/repositories/{repository_id}/sync",
                           json={"numbers": numbers} if numbers else {})

    def disconnect_repository(self, repository_id: UUID | str, *,
                              idempotency_key: str | None = None) -> RepositoryOut:
        return self._model(RepositoryOut, "DELETE", f"/repositories/{repository_id}",
                           idempotency_key=idempotency_key)

    def update_board(self, board_id: UUID | str, *, idempotency_key: str | None = None,
                     **fields: Any) -> BoardOut:
        """Change the named fields of a board (e.g. `default_repository_id`, None clears it)."""
        return self._model(BoardOut, "PATCH", f"/boards/{board_id}", json=fields,
                           idempotency_key=idempotency_key)

    def create_branch(self, card_ref: str, *, base: str | None = None,
                      idempotency_key: str | None = None) -> CreateBranchOut:
        """Ask the server to create the card's branch on GitHub (a job; 409 `no_repository`)."""
        return self._model(CreateBranchOut, "POST", f"/cards/{card_ref}/create-branch",
                           json={"base": base} if base else {}, idempotency_key=idempotency_key)

    def job(self, job_id: str, timeout: float | None = None) -> JobOut:
        return self._model(JobOut, "GET", f"/jobs/{job_id}", timeout=timeout)

    # --- board automation (pull-request events moving cards) ----------------------------------------

    def board_automation(self, board_id: UUID | str, timeout: float | None = None) -> BoardAutomation:
        return self._model(BoardAutomation, "GET", f"/boards/{board_id}/automation", timeout=timeout)

    def set_board_automation(self, board_id: UUID | str, data: AutomationUpdate, *,
                             idempotency_key: str | None = None) -> BoardAutomation:
        """Set, switch off (`enabled: false`) or reset (None) the named rules."""
        return self._model(BoardAutomation, "PUT", f"/boards/{board_id}/automation",
                           json=data.model_dump(mode="json", exclude_unset=True),
                           idempotency_key=idempotency_key)

    # --- labels (the workspace's catalogue) ------------------------------------------------------------

    def list_labels(self, workspace_id: UUID | str, timeout: float | None = None) -> list[LabelOut]:
        return _labels.validate_json(
            self.request("GET", f"/workspaces/{workspace_id}/labels", timeout=timeout).content)

    def create_label(self, workspace_id: UUID | str, data: LabelCreate, *,
                     idempotency_key: str | None = None) -> LabelOut:
        return self._model(LabelOut, "POST", f"/workspaces/{workspace_id}/labels",
                           json=data.model_dump(mode="json", exclude_none=True), idempotency_key=idempotency_key)

    def update_label(self, label_id: UUID | str, data: LabelPatch, *,
                     idempotency_key: str | None = None) -> LabelChanged:
        """Recolour, describe or rename (on every card, in one transaction on the server)."""
        return self._model(LabelChanged, "PATCH", f"/labels/{label_id}",
                           json=data.model_dump(mode="json", exclude_unset=True), idempotency_key=idempotency_key)

    def delete_label(self, label_id: UUID | str, *, idempotency_key: str | None = None) -> LabelChanged:
        return self._model(LabelChanged, "DELETE", f"/labels/{label_id}", idempotency_key=idempotency_key)

    # --- administration: workspaces, members, boards ------------------------------------------------------

    def update_workspace(self, workspace_id: UUID | str, *, name: str,
                         idempotency_key: str | None = None) -> WorkspaceOut:
        return self._model(WorkspaceOut, "PATCH", f"/workspaces/{workspace_id}", json={"name": name},
                           idempotency_key=idempotency_key)

    def delete_workspace(self, workspace_id: UUID | str, *, idempotency_key: str | None = None) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}", idempotency_key=idempotency_key)

    def update_member(self, workspace_id: UUID | str, user: str, role: str, *,
                      idempotency_key: str | None = None) -> MemberOut:
        return self._model(MemberOut, "PATCH", f"/workspaces/{workspace_id}/members/{user}",
                           json={"role": role}, idempotency_key=idempotency_key)

    def remove_member(self, workspace_id: UUID | str, user: str, *,
                      idempotency_key: str | None = None) -> None:
        """Remove a member (admins), or leave (`user` = yourself)."""
        self.request("DELETE", f"/workspaces/{workspace_id}/members/{user}", idempotency_key=idempotency_key)

    def delete_board(self, board_id: UUID | str, *, idempotency_key: str | None = None) -> None:
        self.request("DELETE", f"/boards/{board_id}", idempotency_key=idempotency_key)

    # --- comments and the workspace's activity ---------------------------------------------------------

    def update_comment(self, comment_id: UUID | str, body: str, *,
                       idempotency_key: str | None = None) -> CommentOut:
        return self._model(CommentOut, "PATCH", f"/comments/{comment_id}", json={"body": body},
                           idempotency_key=idempotency_key)

    def delete_comment(self, comment_id: UUID | str, *, idempotency_key: str | None = None) -> CommentOut:
        return self._model(CommentOut, "DELETE", f"/comments/{comment_id}", idempotency_key=idempotency_key)

    def activity(self, workspace_id: UUID | str, *, params: dict[str, Any] | None = None,
                 timeout: float | None = None) -> ActivityPage:
        """A page of the workspace's audit log, newest first (`cursor` for the next, older page)."""
        return self._model(ActivityPage, "GET", f"/workspaces/{workspace_id}/activity",
                           params={k: v for k, v in (params or {}).items() if v is not None}, timeout=timeout)
