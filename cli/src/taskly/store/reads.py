"""Reading the cache: wire models for commands and the TUI, plain strings for completion."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .outbox import Outbox

if TYPE_CHECKING:
    from taskly_shared.models import (
        BoardOut,
        CardOut,
        ColumnOut,
        CommentOut,
        MemberOut,
        WorkspaceOut,
    )

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
KEY_RE = re.compile(r"^([A-Za-z]{2,10})-(\d+)$")
HANDLE_RE = re.compile(r"^(?:[A-Za-z]{2,10}-)?\??([0-9A-Fa-f]{8})$")
"""The handle of a card created offline, until the server numbers it: the first 8 hex digits of
its id (`3f2a9c1b`; `ls` shows `WEB-?3f2a9c1b`, also accepted)."""

# A card's column name and kind are read from the cached column, so they follow renames.
_CARD_SELECT = ("SELECT c.json, col.name, col.kind, c.dirty, c.number FROM cards c"
                " LEFT JOIN columns col ON col.id = c.column_id")


def _models() -> Any:
    # pydantic and the wire models cost ~100 ms to import; completion reads keys without them.
    from taskly_shared import models

    return models


def normal_uuid(value: str) -> str | None:
    """The canonical form of a UUID string, or None when `value` is not one."""
    if not UUID_RE.match(value):
        return None
    hexed = value.replace("-", "").lower()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


@dataclass
class ConflictRecord:
    """A field whose value was overwritten without its writer having seen the other value."""

    id: int
    workspace_id: str
    entity_type: str
    entity_id: str
    entity_key: str | None
    field: str
    overwritten: Any
    value: Any
    source: str
    """"push": our write overwrote someone's value; "feed": someone overwrote ours."""
    actor: str | None
    mutation_id: str | None
    seq: int | None
    created_at: str
    seen_at: str | None


class Reads:
    """Queries shared by `Store` and `Transaction`; each takes the store's (re-entrant) lock."""

    _conn: sqlite3.Connection
    _lock: threading.RLock
    outbox: Outbox

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    # --- workspaces, members, boards, columns ----------------------------------------------------

    def workspace_json(self, workspace_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT w.json, cur.seq FROM workspaces w LEFT JOIN cursors cur"
                        " ON cur.workspace_id = w.id WHERE w.id = ?", (workspace_id,))
        return {**json.loads(row[0]), "seq": row[1] or 0} if row else None

    def workspaces(self) -> list[WorkspaceOut]:
        rows = self._all("SELECT w.json, cur.seq FROM workspaces w LEFT JOIN cursors cur"
                         " ON cur.workspace_id = w.id ORDER BY w.name, w.id")
        model = _models().WorkspaceOut
        return [model.model_validate({**json.loads(text), "seq": seq or 0}) for text, seq in rows]

    def workspace_id(self, ref: str) -> str | None:
        """The id of a cached workspace named by id or name (case-insensitive), or by a name it had
        before it was renamed."""
        workspace_id = normal_uuid(ref)
        row = (self._one("SELECT id FROM workspaces WHERE id = ?", (workspace_id,)) if workspace_id
               else self._one("SELECT id FROM workspaces WHERE lower(name) = lower(?)", (ref,)))
        if row is None and not workspace_id:  # a name it had before a rename (the feed told us)
            row = self._one("SELECT w.id FROM meta m JOIN workspaces w ON w.id = m.value "
                            "WHERE m.key = 'workspace-renamed:' || lower(?)", (ref,))
        return row[0] if row else None

    def workspace(self, ref: str) -> WorkspaceOut | None:
        """A cached workspace by id or name (case-insensitive)."""
        workspace_id = self.workspace_id(ref)
        data = self.workspace_json(workspace_id) if workspace_id else None
        return _models().WorkspaceOut.model_validate(data) if data else None

    def workspace_ids(self) -> list[str]:
        return [row[0] for row in self._all("SELECT id FROM workspaces ORDER BY id")]

    def members(self, workspace_id: str) -> list[MemberOut]:
        rows = self._all("SELECT json FROM members WHERE workspace_id = ? ORDER BY lower(username)",
                         (workspace_id,))
        return [_models().MemberOut.model_validate_json(text) for (text,) in rows]

    def columns(self, board_id: str) -> list[ColumnOut]:
        rows = self._all("SELECT json FROM columns WHERE board_id = ? ORDER BY rank", (board_id,))
        return [_models().ColumnOut.model_validate_json(text) for (text,) in rows]

    def column_json(self, board_id: str, ref: str) -> dict[str, Any] | None:
        """A column of a board by id or name (case-insensitive)."""
        column_id = normal_uuid(ref)
        row = (self._one("SELECT json FROM columns WHERE board_id = ? AND id = ?", (board_id, column_id))
               if column_id else
               self._one("SELECT json FROM columns WHERE board_id = ? AND lower(name) = lower(?)",
                         (board_id, ref)))
        return json.loads(row[0]) if row else None

    def _board_dict(self, text: str) -> dict[str, Any]:
        board = json.loads(text)
        rows = self._all("SELECT json FROM columns WHERE board_id = ? ORDER BY rank", (board["id"],))
        board["columns"] = [json.loads(column) for (column,) in rows]
        # The server numbers a card without a board change: its counter is past the highest number.
        highest = self._one("SELECT max(number) FROM cards WHERE board_id = ?", (board["id"],))
        if highest and highest[0] is not None:
            board["next_card_number"] = max(int(board.get("next_card_number") or 1), highest[0] + 1)
        return board

    def boards(self, workspace_id: str | None = None) -> list[BoardOut]:
        if workspace_id is None:
            rows = self._all("SELECT json FROM boards ORDER BY key")
        else:
            rows = self._all("SELECT json FROM boards WHERE workspace_id = ? ORDER BY key", (workspace_id,))
        return [_models().BoardOut.model_validate(self._board_dict(text)) for (text,) in rows]

    def board_json(self, ref: str, workspace_id: str | None = None) -> dict[str, Any] | None:
        """A board (with its columns) by id, key or name (case-insensitive)."""
        board_id = normal_uuid(ref)
        scope, params = ("", ()) if workspace_id is None else (" AND workspace_id = ?", (workspace_id,))
        if board_id:
            row = self._one("SELECT json FROM boards WHERE id = ?" + scope, (board_id, *params))
        else:
            row = (self._one("SELECT json FROM boards WHERE key = upper(?)" + scope, (ref, *params))
                   or self._one("SELECT json FROM boards WHERE lower(name) = lower(?)" + scope,
                                (ref, *params)))
        return self._board_dict(row[0]) if row else None

    def board(self, ref: str, workspace_id: str | None = None) -> BoardOut | None:
        data = self.board_json(ref, workspace_id)
        return _models().BoardOut.model_validate(data) if data else None

    # --- cards and comments -------------------------------------------------------------------

    @staticmethod
    def _card_dict(row: tuple[Any, ...]) -> dict[str, Any]:
        card = json.loads(row[0])
        if row[1] is not None:
            card["column"], card["column_kind"] = row[1], row[2]
        return card

    def card_json(self, ref: str, *, board_id: str | None = None,
                  workspace_id: str | None = None) -> dict[str, Any] | None:
        """A card by id, key (`WEB-12`, case-insensitive) or number within `board_id`."""
        ref = ref.strip()
        card_id = normal_uuid(ref)
        where, params = "c.id = ?", (card_id,)
        if card_id is None:
            match = KEY_RE.match(ref)
            if match:
                where, params = "c.key = ?", (f"{match[1].upper()}-{int(match[2])}",)
            elif ref.isascii() and ref.isdigit() and board_id is not None:
                where, params = "c.board_id = ? AND c.number = ?", (board_id, int(ref))
            elif HANDLE_RE.match(ref):
                return self._pending_card(ref, board_id, workspace_id)
            else:
                return None
        if workspace_id is not None:
            where, params = where + " AND c.workspace_id = ?", (*params, workspace_id)
        row = self._one(f"{_CARD_SELECT} WHERE {where} LIMIT 1", params)
        if row is None and HANDLE_RE.match(ref):  # `12345678`: a number, else a handle
            return self._pending_card(ref, board_id, workspace_id)
        return self._card_dict(row) if row else None

    def _pending_card(self, ref: str, board_id: str | None, workspace_id: str | None) -> dict[str, Any] | None:
        """A card created offline (no key yet) by its handle, within the board or workspace given."""
        match = HANDLE_RE.match(ref)
        if match is None:
            return None
        where, params = "c.key IS NULL AND c.id LIKE ?", [match[1].lower() + "-%"]
        for name, value in (("c.board_id", board_id), ("c.workspace_id", workspace_id)):
            if value is not None:
                where += f" AND {name} = ?"
                params.append(value)
        row = self._one(f"{_CARD_SELECT} WHERE {where} LIMIT 1", tuple(params))
        return self._card_dict(row) if row else None

    def card(self, ref: str, *, board_id: str | None = None,
             workspace_id: str | None = None) -> CardOut | None:
        data = self.card_json(ref, board_id=board_id, workspace_id=workspace_id)
        return _models().CardOut.model_validate(data) if data else None

    def cards(self, *, workspace_id: str | None = None, board_id: str | None = None,
              column_id: str | None = None, include_deleted: bool = False) -> list[CardOut]:
        """Cards in board order (column rank, then card rank)."""
        cards = self.cards_json(workspace_id=workspace_id, board_id=board_id, column_id=column_id,
                                include_deleted=include_deleted)
        validate = _models().CardOut.model_validate
        return [validate(card) for card in cards]

    def cards_json(self, *, workspace_id: str | None = None, board_id: str | None = None,
                   column_id: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        """`cards()` as the cached wire JSON of CardOut: no pydantic (~100 ms) for `ls --offline --json`."""
        where, params = ["1 = 1"], []
        for name, value in (("c.workspace_id", workspace_id), ("c.board_id", board_id),
                            ("c.column_id", column_id)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        if not include_deleted:
            where.append("c.deleted = 0")
        rows = self._all(f"{_CARD_SELECT} WHERE {' AND '.join(where)} ORDER BY col.rank, c.rank, c.id",
                         tuple(params))
        return [{**self._card_dict(row), "conflicts": []} for row in rows]

    def column_ranks(self, column_id: str, exclude: str | None = None) -> list[tuple[str, str]]:
        """(card id, rank) of the live cards of a column, in order."""
        rows = self._all("SELECT id, rank FROM cards WHERE column_id = ? AND deleted = 0 AND id IS NOT ?"
                         " ORDER BY rank, id", (column_id, exclude))
        return [(row[0], row[1]) for row in rows]

    def card_keys(self, prefix: str = "", workspace_id: str | None = None) -> list[str]:
        """Keys of live cards starting with `prefix` (for shell completion; no pydantic)."""
        sql = "SELECT key FROM cards WHERE key IS NOT NULL AND deleted = 0 AND key LIKE ? ESCAPE '\\'"
        pattern = prefix.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params: tuple[Any, ...] = (pattern,)
        if workspace_id is not None:
            sql, params = sql + " AND workspace_id = ?", (pattern, workspace_id)
        return [row[0] for row in self._all(sql + " ORDER BY board_id, number", params)]

    def comments(self, card_id: str, *, include_deleted: bool = False) -> list[CommentOut]:
        """A card's comments, oldest first (those the feed brought; the snapshot has none)."""
        rows = self._all("SELECT json FROM comments WHERE card_id = ? ORDER BY created_at, id", (card_id,))
        comments = [_models().CommentOut.model_validate_json(text) for (text,) in rows]
        return [c for c in comments if include_deleted or not c.deleted]

    def comments_by_handle(self, ref: str) -> list[dict[str, Any]]:
        """Cached comments (wire JSON plus `workspace_id`) whose id is `ref` or starts with it
        (dashes ignored, any case; at least 4 hex digits)."""
        handle = ref.strip().lower().replace("-", "")
        if len(handle) < 4 or any(ch not in "0123456789abcdef" for ch in handle):
            return []
        rows = self._all("SELECT json, workspace_id FROM comments WHERE replace(id, '-', '') LIKE ? "
                         "ORDER BY created_at, id", (handle + "%",))
        return [{**json.loads(text), "workspace_id": workspace} for text, workspace in rows]

    def comment(self, comment_id: str) -> CommentOut | None:
        row = self._one("SELECT json FROM comments WHERE id = ?", (comment_id,))
        return _models().CommentOut.model_validate_json(row[0]) if row else None

    def is_pending(self, entity_id: str) -> bool:
        """Whether the entity has local writes not yet accepted by the server."""
        return self.outbox.has_pending(entity_id)

    def sprints_json(self, *, board_id: str | None = None, workspace_id: str | None = None,
                     include_deleted: bool = False) -> list[dict[str, Any]]:
        """Cached sprints (wire JSON of SprintOut, pending local writes applied), by start date."""
        where, params = ["1 = 1"], []
        for name, value in (("board_id", board_id), ("workspace_id", workspace_id)):
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        if not include_deleted:
            where.append("deleted = 0")
        rows = self._all(f"SELECT json, workspace_id FROM sprints WHERE {' AND '.join(where)}", tuple(params))
        sprints = [{**json.loads(text), "workspace_id": workspace} for text, workspace in rows]
        return sorted(sprints, key=lambda s: (str(s.get("start_date")), str(s.get("name")).lower()))

    def sprint_json(self, sprint_id: str) -> dict[str, Any] | None:
        """A cached sprint by id (deleted ones too: `deleted_at` says so)."""
        row = self._one("SELECT json, workspace_id FROM sprints WHERE id = ?", (normal_uuid(sprint_id) or sprint_id,))
        return {**json.loads(row[0]), "workspace_id": row[1]} if row else None

    def entities(self, entity_type: str, workspace_id: str | None = None) -> list[dict[str, Any]]:
        """Cached entities of a type this cache has no table for (pull requests, repositories …);
        `sprint` reads the sprints table (see `sprints_json`)."""
        if entity_type == "sprint":
            return self.sprints_json(workspace_id=workspace_id)
        if workspace_id is None:
            rows = self._all("SELECT json FROM entities WHERE entity_type = ?", (entity_type,))
        else:
            rows = self._all("SELECT json FROM entities WHERE entity_type = ? AND workspace_id = ?",
                             (entity_type, workspace_id))
        return [json.loads(text) for (text,) in rows]

    # --- sync state ---------------------------------------------------------------------------

    def cursor(self, workspace_id: str) -> int | None:
        """The last seq applied for a workspace; None before its first sync."""
        row = self._one("SELECT seq FROM cursors WHERE workspace_id = ?", (workspace_id,))
        return row[0] if row else None

    def cursors(self) -> dict[str, int]:
        return dict(self._all("SELECT workspace_id, seq FROM cursors"))

    def last_synced(self, workspace_id: str | None = None) -> str | None:
        """ISO time of the last successful pull (of one workspace, or the latest of all)."""
        if workspace_id is None:
            row = self._one("SELECT max(synced_at) FROM cursors")
        else:
            row = self._one("SELECT synced_at FROM cursors WHERE workspace_id = ?", (workspace_id,))
        return row[0] if row else None

    # --- notifications (the user's own, across workspaces) ---------------------------------------

    def notifications_json(self, *, unread_only: bool = True, limit: int | None = None) -> list[dict[str, Any]]:
        """Cached notifications as wire JSON: unread first, then newest first."""
        sql = "SELECT json FROM notifications" + (" WHERE read_at IS NULL" if unread_only else "")
        sql += " ORDER BY read_at IS NOT NULL, created_at DESC, seq DESC"
        rows = self._all(sql + (" LIMIT ?" if limit is not None else ""), (limit,) if limit is not None else ())
        return [json.loads(text) for (text,) in rows]

    def unread_count(self) -> int:
        row = self._one("SELECT count(*) FROM notifications WHERE read_at IS NULL")
        return row[0] if row else 0

    def notification_seq(self) -> int | None:
        """The live socket's `notifications_since`: the highest notification seq cached, or the one
        recorded when the notifications were last fetched (0 when the user had none); None when
        they never were (the socket then sends new ones only)."""
        row = self._one("SELECT max(seq) FROM notifications")
        known = [value for value in (row[0] if row else None, self.meta("notification_seq")) if value is not None]
        return max(int(value) for value in known) if known else None

    def notification_ids(self, prefix: str) -> list[str]:
        """Ids of cached notifications starting with `prefix` (a full id or the 8-digit short form)."""
        rows = self._all("SELECT id FROM notifications WHERE id LIKE ? ORDER BY created_at DESC",
                         (prefix.lower().replace("%", "").replace("_", "") + "%",))
        return [row[0] for row in rows]

    def conflicts(self, *, unseen_only: bool = True) -> list[ConflictRecord]:
        sql = ("SELECT id, workspace_id, entity_type, entity_id, entity_key, field, overwritten, value,"
               " source, actor, mutation_id, seq, created_at, seen_at FROM conflicts")
        rows = self._all(sql + (" WHERE seen_at IS NULL" if unseen_only else "") + " ORDER BY id")
        out = []
        for row in rows:
            values = list(row)
            values[6] = json.loads(values[6]) if values[6] is not None else None
            values[7] = json.loads(values[7]) if values[7] is not None else None
            out.append(ConflictRecord(*values))
        return out
