"""Applying the server's change feed and snapshots to the cache (methods of `Transaction`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .ops import utcnow
from .tx import SYNCED_TABLES, Transaction

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut, Snapshot

_WORKSPACE_TABLES = ("members", "boards", "columns", "cards", "sprints", "entities")
_PLACEMENT = {"column", "rank"}
"""Pushed as a column id (or computed by the server), recorded by name: matched by field only."""


class FeedTransaction(Transaction):
    """A transaction that also applies changes and snapshots from the server."""

    def apply_change(self, change: ChangeOut) -> bool:
        """Apply one change of the feed in seq order; False when already applied (seq ≤ cursor)."""
        workspace_id = str(change.workspace_id)
        cursor = self.cursor(workspace_id)
        if cursor is not None and change.seq <= cursor:
            return False
        entity_type, entity_id, data = change.entity_type, str(change.entity_id), change.data
        if data is None or (change.op == "delete" and entity_type not in SYNCED_TABLES):
            self.remove(entity_type, entity_id, workspace_id)
            if entity_type == "workspace":
                return True
        elif entity_type in SYNCED_TABLES:
            self.put(entity_type, data, workspace_id)
        elif entity_type == "workspace":
            self.put_workspace(data)
        elif entity_type == "member":
            self.put_member(workspace_id, data, entity_id)
        elif entity_type == "board":
            self.put_board(data)
        elif entity_type == "column":
            self.put_column(data, workspace_id)
        else:
            self.put_other(entity_type, data, workspace_id)
        if change.conflicts:
            self._record_overwrites(change)
        self.set_cursor(workspace_id, change.seq)
        return True

    def _record_overwrites(self, change: ChangeOut) -> None:
        """Someone else's write overwrote a value we had pushed without having seen it: tell our user."""
        if change.mutation_id and self._one(  # ours, alone or in a bulk write (`<mutation id>:<card id>`)
                "SELECT 1 FROM pushed WHERE mutation_id = ? OR (mutation_id > ? AND mutation_id < ?)",
                (change.mutation_id, f"{change.mutation_id}:", f"{change.mutation_id};")):
            return  # our own write: its conflicts came with the push answer
        rows = self._all("SELECT fields, version FROM pushed WHERE entity_id = ? ORDER BY pushed_at",
                         (str(change.entity_id),))
        ours: dict[str, Any] = {}  # field -> the last value we pushed before this change
        for fields, version in rows:
            if version is None or change.version is None or version < change.version:
                ours.update(json.loads(fields))
        key = (change.data or {}).get("key")
        for name in change.conflicts:
            values = change.changes.get(name)
            if name not in ours or (name not in _PLACEMENT and values is not None and values.old != ours[name]):
                continue  # not a value of ours that was overwritten
            self.add_conflict(
                workspace_id=str(change.workspace_id), entity_type=change.entity_type,
                entity_id=str(change.entity_id), entity_key=key, field=name,
                overwritten=values.old if values else None, value=values.new if values else None,
                source="feed", actor=change.actor.name, mutation_id=change.mutation_id, seq=change.seq)

    def load_snapshot(self, snapshot: Snapshot) -> None:
        """Replace everything cached for the snapshot's workspace; pending local writes are re-applied."""
        workspace = snapshot.workspace
        workspace_id = str(workspace.id)
        for table in _WORKSPACE_TABLES:
            self._exec(f"DELETE FROM {table} WHERE workspace_id = ?", (workspace_id,))
        self.put_workspace(workspace.model_dump(mode="json"))
        self._conn.executemany(
            "INSERT OR REPLACE INTO members (workspace_id, user_id, username, role, entity_id, json)"
            " VALUES (?, ?, ?, ?, NULL, ?)",
            [(workspace_id, str(m.user_id), m.username, str(m.role), m.model_dump_json())
             for m in snapshot.members])
        self._conn.executemany(
            "INSERT OR REPLACE INTO boards (id, workspace_id, key, name, archived, json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(str(b.id), workspace_id, b.key, b.name, int(b.archived), b.model_dump_json(exclude={"columns"}))
             for b in snapshot.boards])
        self._conn.executemany(
            "INSERT OR REPLACE INTO columns (id, board_id, workspace_id, name, kind, rank, json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(str(c.id), str(c.board_id), workspace_id, c.name, str(c.kind), c.rank, c.model_dump_json())
             for b in snapshot.boards for c in b.columns])
        self._conn.executemany(
            "INSERT OR REPLACE INTO cards (id, workspace_id, board_id, key, number, column_id, rank,"
            " deleted, version, json, dirty, server_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)",
            [(str(c.id), workspace_id, str(c.board_id), c.key, c.number, str(c.column_id), c.rank,
              int(c.deleted_at is not None), c.version, c.model_dump_json(exclude={"conflicts"}))
             for c in snapshot.cards])
        self._conn.executemany(
            "INSERT OR REPLACE INTO sprints (id, workspace_id, board_id, name, deleted, version, json, dirty,"
            " server_json) VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL)",
            [(str(s.id), workspace_id, str(s.board_id), s.name, int(s.deleted_at is not None), s.version,
              s.model_dump_json()) for s in snapshot.sprints])
        self._conn.executemany(
            "INSERT OR REPLACE INTO entities (entity_type, id, workspace_id, json) VALUES ('label', ?, ?, ?)",
            [(str(label.id), workspace_id, label.model_dump_json()) for label in snapshot.labels])
        for entity_type, entity_id in self.outbox.pending_entities(workspace_id):
            if entity_type in SYNCED_TABLES:
                self.recompute(entity_type, entity_id, workspace_id)
        # Comments are not part of the snapshot: keep those whose card is still there.
        self._exec("DELETE FROM comments WHERE workspace_id = ? AND card_id NOT IN"
                   " (SELECT id FROM cards WHERE workspace_id = ?)", (workspace_id, workspace_id))
        self._exec("INSERT OR REPLACE INTO cursors (workspace_id, seq, synced_at) VALUES (?, ?, ?)",
                   (workspace_id, snapshot.seq, utcnow()))
