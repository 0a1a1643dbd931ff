"""Writing the cache inside one SQLite transaction: local writes, server state, the change feed."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

from . import ops
from .ops import Op, OutboxEntry, utcnow
from .outbox import Outbox
from .reads import Reads

Row = tuple[Any, ...]


def _card_row(state: dict[str, Any], workspace_id: str) -> Row:
    number = state.get("number") or None
    return (state["id"], state.get("workspace_id") or workspace_id, state["board_id"],
            (state.get("key") or None) if number else None, number, state["column_id"], state["rank"],
            1 if state.get("deleted_at") else 0, state.get("version") or 0)


def _comment_row(state: dict[str, Any], workspace_id: str) -> Row:
    return (state["id"], state["card_id"], workspace_id, state.get("created_at") or utcnow())


def _sprint_row(state: dict[str, Any], workspace_id: str) -> Row:
    return (state["id"], state.get("workspace_id") or workspace_id, state["board_id"], state["name"],
            1 if state.get("deleted_at") else 0, state.get("version") or 0)


# entity type -> (table, indexed columns, row builder); entities with optimistic local writes.
SYNCED_TABLES: dict[str, tuple[str, tuple[str, ...], Callable[[dict[str, Any], str], Row]]] = {
    "card": ("cards", ("id", "workspace_id", "board_id", "key", "number", "column_id", "rank", "deleted",
                       "version"), _card_row),
    "comment": ("comments", ("id", "card_id", "workspace_id", "created_at"), _comment_row),
    "sprint": ("sprints", ("id", "workspace_id", "board_id", "name", "deleted", "version"), _sprint_row),
}
_MISSING: Any = object()


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "conflicts"}


class Transaction(Reads):
    """One open SQLite transaction (`with store.transaction() as tx`)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, outbox: Outbox) -> None:
        self._conn = conn
        self._lock = lock
        self.outbox = outbox

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(params))

    # --- optimistic local writes ----------------------------------------------------------------

    def apply(self, op: Op) -> dict[str, Any] | None:
        """Apply a local write to the cache (every card of a bulk write, the cards a sprint close
        carries over); returns the entity as readers now see it (a bulk write's last card)."""
        state = found = None
        for entity_type, entity_id in op.targets():
            table = SYNCED_TABLES[entity_type][0]
            row = self._exec(f"SELECT json, dirty, server_json FROM {table} WHERE id = ?",
                             (entity_id,)).fetchone()
            current = json.loads(row[0]) if row else None
            server_text = (row[2] if row[1] else row[0]) if row else None
            state = ops.apply(current, op)
            self._write(entity_type, entity_id, state, op.workspace_id, dirty=True, server_text=server_text)
            if entity_type == op.entity_type:
                found = state
        return found

    def _write(self, entity_type: str, entity_id: str, state: dict[str, Any] | None, workspace_id: str,
               *, dirty: bool, server_text: str | None) -> None:
        table, columns, build = SYNCED_TABLES[entity_type]
        if state is None:
            self._exec(f"DELETE FROM {table} WHERE id = ?", (entity_id,))
            return
        names = ", ".join((*columns, "json", "dirty", "server_json"))
        marks = ", ".join("?" * (len(columns) + 3))
        self._exec(f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})",
                   (*build(state, workspace_id), json.dumps(state), int(dirty),
                    server_text if dirty else None))

    def _server_state(self, entity_type: str, entity_id: str) -> dict[str, Any] | None:
        """The server's last confirmed state of the entity (None: unknown, or created offline)."""
        table = SYNCED_TABLES[entity_type][0]
        row = self._exec(f"SELECT json, dirty, server_json FROM {table} WHERE id = ?",
                         (entity_id,)).fetchone()
        text = (row[2] if row[1] else row[0]) if row else None
        return json.loads(text) if text is not None else None

    def recompute(self, entity_type: str, entity_id: str, workspace_id: str,
                  base: dict[str, Any] | None = _MISSING) -> dict[str, Any] | None:
        """Rebuild what readers see: the server state (`base`, or the cached one) plus pending writes."""
        if base is _MISSING:
            base = self._server_state(entity_type, entity_id)
        state = base
        pending = self.outbox.pending_for(entity_id)
        for entry in pending:
            state = ops.apply(state, entry)
        self._write(entity_type, entity_id, state, workspace_id, dirty=bool(pending),
                    server_text=json.dumps(base) if base is not None else None)
        return state

    def put(self, entity_type: str, data: dict[str, Any] | None, workspace_id: str,
            entity_id: str | None = None) -> None:
        """Store the server's state of a card, comment or sprint (None: hard-deleted), keeping pending writes."""
        entity_id = str(data["id"]) if data is not None else str(entity_id)
        if data is not None:
            data = _strip(data)
            base = self._server_state(entity_type, entity_id)
            if base is not None and (base.get("version") or 0) > (data.get("version") or 0):
                return  # an older state than the one we hold (our own write's answer came first)
        if self.outbox.has_pending(entity_id):
            self.recompute(entity_type, entity_id, workspace_id, base=data)
        else:
            self._write(entity_type, entity_id, data, workspace_id, dirty=False, server_text=None)

    # --- the rest of a workspace -----------------------------------------------------------------

    def put_workspace(self, data: dict[str, Any], role: str | None = None) -> None:
        """Upsert a workspace; the feed's copy has no role, so the cached role is kept."""
        workspace_id = str(data["id"])
        row = self._exec("SELECT json FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
        merged = {**(json.loads(row[0]) if row else {}), **data}
        merged.pop("seq", None)
        if role is not None:
            merged["role"] = role
        if "role" not in merged:
            return  # not one of our cached workspaces yet: the snapshot brings it
        old_name = json.loads(row[0]).get("name") if row else None
        if old_name and old_name.lower() != str(merged["name"]).lower():
            # renamed (by anyone): a config that names it by its old name still finds it
            self._exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (f"workspace-renamed:{old_name.lower()}", workspace_id))
        self._exec("INSERT OR REPLACE INTO workspaces (id, name, role, json) VALUES (?, ?, ?, ?)",
                   (workspace_id, merged["name"], merged["role"], json.dumps(merged)))

    def drop_workspace(self, workspace_id: str) -> None:
        """Forget a workspace's cached entities and cursor (its outbox entries stay)."""
        for table in ("members", "boards", "columns", "cards", "comments", "sprints", "entities", "cursors"):
            self._exec(f"DELETE FROM {table} WHERE workspace_id = ?", (workspace_id,))
        self._exec("DELETE FROM workspaces WHERE id = ?", (workspace_id,))

    def put_member(self, workspace_id: str, data: dict[str, Any], entity_id: str | None = None) -> None:
        self._exec("INSERT OR REPLACE INTO members (workspace_id, user_id, username, role, entity_id, json)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   (workspace_id, str(data["user_id"]), data["username"], data["role"], entity_id,
                    json.dumps(data)))
        user = self.meta("user")
        if user is not None and data["username"].lower() == user.lower():  # our own role changed
            row = self._exec("SELECT json FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
            if row is not None:
                self.put_workspace(json.loads(row[0]), role=data["role"])

    def put_board(self, data: dict[str, Any]) -> None:
        board = dict(data)
        columns = board.pop("columns", None) or []
        self._exec("INSERT OR REPLACE INTO boards (id, workspace_id, key, name, archived, json)"
                   " VALUES (?, ?, ?, ?, ?, ?)",
                   (str(board["id"]), str(board["workspace_id"]), board["key"], board["name"],
                    int(bool(board.get("archived"))), json.dumps(board)))
        for column in columns:
            self.put_column(column, str(board["workspace_id"]))

    def put_column(self, data: dict[str, Any], workspace_id: str) -> None:
        self._exec("INSERT OR REPLACE INTO columns (id, board_id, workspace_id, name, kind, rank, json)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (str(data["id"]), str(data["board_id"]), workspace_id, data["name"], data["kind"],
                    data["rank"], json.dumps(data)))

    def put_other(self, entity_type: str, data: dict[str, Any], workspace_id: str) -> None:
        self._exec("INSERT OR REPLACE INTO entities (entity_type, id, workspace_id, json) VALUES (?, ?, ?, ?)",
                   (entity_type, str(data["id"]), workspace_id, json.dumps(data)))

    def remove(self, entity_type: str, entity_id: str, workspace_id: str) -> None:
        """A hard delete (or a removed board/column/member) from the feed."""
        if entity_type in SYNCED_TABLES:
            self.put(entity_type, None, workspace_id, entity_id)
        elif entity_type == "board":
            self._exec("DELETE FROM cards WHERE board_id = ?", (entity_id,))
            self._exec("DELETE FROM sprints WHERE board_id = ?", (entity_id,))
            self._exec("DELETE FROM columns WHERE board_id = ?", (entity_id,))
            self._exec("DELETE FROM boards WHERE id = ?", (entity_id,))
        elif entity_type == "column":
            self._exec("DELETE FROM columns WHERE id = ?", (entity_id,))
        elif entity_type == "member":
            self._exec("DELETE FROM members WHERE workspace_id = ? AND (entity_id = ? OR user_id = ?)",
                       (workspace_id, entity_id, entity_id))
        elif entity_type == "workspace":
            self.drop_workspace(entity_id)
        else:
            self._exec("DELETE FROM entities WHERE entity_type = ? AND id = ?", (entity_type, entity_id))

    # --- cursors, conflicts, push results -------------------------------------------------------

    def set_cursor(self, workspace_id: str, seq: int) -> None:
        self._exec("INSERT OR REPLACE INTO cursors (workspace_id, seq, synced_at) VALUES (?, ?, ?)",
                   (workspace_id, seq, utcnow()))

    def touch_cursor(self, workspace_id: str) -> None:
        """Record that a pull found the workspace up to date."""
        self._exec("UPDATE cursors SET synced_at = ? WHERE workspace_id = ?", (utcnow(), workspace_id))

    def add_conflict(self, *, workspace_id: str, entity_type: str, entity_id: str, entity_key: str | None,
                     field: str, overwritten: Any, value: Any, source: str, actor: str | None = None,
                     mutation_id: str | None = None, seq: int | None = None) -> None:
        self._exec("INSERT INTO conflicts (workspace_id, entity_type, entity_id, entity_key, field,"
                   " overwritten, value, source, actor, mutation_id, seq, created_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (workspace_id, entity_type, entity_id, entity_key, field, json.dumps(overwritten),
                    json.dumps(value), source, actor, mutation_id, seq, utcnow()))

    def put_notifications(self, items: Iterable[dict[str, Any]]) -> int:
        """Insert or refresh notifications (wire JSON); a read mark is never undone by an older copy.
        Returns how many were not cached before."""
        added = 0
        for data in items:
            known = self._exec("SELECT read_at FROM notifications WHERE id = ?", (str(data["id"]),)).fetchone()
            read_at = data.get("read_at") or (known[0] if known else None)
            added += known is None
            self._exec("INSERT OR REPLACE INTO notifications (id, seq, workspace_id, card_key, created_at,"
                       " read_at, json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (str(data["id"]), int(data["seq"]), str(data["workspace_id"]), data.get("card_key"),
                        str(data["created_at"]), read_at, json.dumps({**data, "read_at": read_at})))
        return added

    def mark_notifications_read(self, ids: Iterable[str] | None, at: str | None = None) -> None:
        """Mark cached notifications read (all unread ones when `ids` is None)."""
        at = at or utcnow()
        where, params = ("read_at IS NULL", ()) if ids is None else (
            "read_at IS NULL AND id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),))
        self._exec(f"UPDATE notifications SET read_at = ?, json = json_set(json, '$.read_at', ?) WHERE {where}",
                   (at, at, *params))

    def mark_conflicts_seen(self, ids: Iterable[int] | None = None) -> None:
        if ids is None:
            self._exec("UPDATE conflicts SET seen_at = ? WHERE seen_at IS NULL", (utcnow(),))
        else:
            self._conn.executemany("UPDATE conflicts SET seen_at = ? WHERE id = ?",
                                   [(utcnow(), conflict_id) for conflict_id in ids])

    def confirm(self, entry: OutboxEntry, answer: dict[str, Any] | list[dict[str, Any]] | None) -> None:
        """The server accepted a pushed write: its answer becomes the server state, the entry goes
        (no answer: a delete answered 204, so the entity leaves the cache; a bulk write's answer
        is the list of its cards, each confirmed as its own write; a sprint close's answer is
        SprintClosed: the sprint, and the cards it carried over, which settle its cards)."""
        self.outbox.remove(entry.id)
        if isinstance(answer, list):
            for card in answer:
                self._confirm_one(entry, card, str(card["id"]), f"{entry.mutation_id}:{card['id']}")
            return
        moved: dict[str, str | None] = {}
        if answer is not None and entry.operation == "sprint.close" and "sprint" in answer:
            target = answer.get("carry_over_to") or {}
            moved = {key: target.get("id") for key in answer.get("carried_over") or []}
            answer = answer["sprint"]
        self._confirm_one(entry, answer, entry.entity_id, entry.mutation_id)
        self._settle_cards(entry, moved)

    def _settle_cards(self, entry: OutboxEntry, moved: dict[str, str | None]) -> None:
        """The cards a sprint close changed trade its optimistic effect for the server's: those its
        answer says it carried over (`moved`: key -> sprint id or None) are in that sprint (until
        their change in the feed, which says the same), the others keep the server's last state."""
        ids = {entity_id for entity_type, entity_id in entry.targets()
               if entity_type == "card" and entity_id != entry.entity_id}
        if moved:
            ids |= {row[0] for row in self._exec(
                "SELECT id FROM cards WHERE workspace_id = ? AND key IN (SELECT value FROM json_each(?))",
                (entry.workspace_id, json.dumps(list(moved)))).fetchall()}
        for card_id in sorted(ids):
            base = self._server_state("card", card_id)
            if base is not None and base.get("key") in moved and base.get("sprint_id") == entry.entity_id:
                base = {**base, "sprint_id": moved[base["key"]]}
            self.recompute("card", card_id, entry.workspace_id, base=base)

    def _confirm_one(self, entry: OutboxEntry, answer: dict[str, Any] | None, entity_id: str,
                     pushed_id: str) -> None:
        item = next((i for i in (entry.payload or {}).get("cards", []) if i.get("card") == entity_id), None)
        fields = entry.fields() if item is None else {
            name: value for name, value in item.items() if name not in ("card", "base_version", "deleted")}
        seen = entry.base_version if item is None else item.get("base_version")
        if answer is None:
            self.put(entry.entity_type, None, entry.workspace_id, entity_id)
            answer = {}
        else:
            self.put(entry.entity_type, answer, entry.workspace_id)
        version = answer.get("version")
        self._exec("INSERT OR REPLACE INTO pushed (mutation_id, entity_id, fields, version, pushed_at)"
                   " VALUES (?, ?, ?, ?, ?)", (pushed_id, entity_id, json.dumps(fields), version, utcnow()))
        for conflict in answer.get("conflicts") or []:
            self.add_conflict(workspace_id=entry.workspace_id, entity_type=entry.entity_type,
                              entity_id=entity_id, entity_key=answer.get("key"),
                              field=conflict["field"], overwritten=conflict.get("overwritten"),
                              value=conflict.get("value"), source="push", mutation_id=entry.mutation_id)
        seen = seen if seen is not None else 0
        if version is not None and version == seen + 1:
            self.outbox.rebase(entity_id, entry.id, seen, version)

    def reject(self, entry: OutboxEntry, error: str, code: str | None) -> None:
        """The server refused a pushed write: mark it failed and undo its optimistic effect (on every
        card of a bulk write)."""
        self.outbox.mark_failed(entry.id, error, code)
        for entity_type, entity_id in entry.targets():
            self.recompute(entity_type, entity_id, entry.workspace_id)
