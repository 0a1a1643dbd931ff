"""The cache's SQLite schema; a database with another `schema_version` is rebuilt, not migrated."""

from __future__ import annotations

SCHEMA_VERSION = 4
"""4: the label catalogue (`entities` rows of type `label`, from the snapshot and the feed)."""

# Entities keep the wire JSON (`json`, what readers see: the server's state with pending local
# writes applied on top) plus indexed columns for lookups. While an entity has pending writes
# (`dirty` = 1), `server_json` holds the last state the server confirmed (NULL for an entity
# created offline), so a rejected write can be undone and a pulled change re-based.
DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT, json TEXT NOT NULL
);
CREATE TABLE cursors (
    workspace_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, synced_at TEXT
);
CREATE TABLE members (
    workspace_id TEXT NOT NULL, user_id TEXT NOT NULL, username TEXT NOT NULL, role TEXT NOT NULL,
    entity_id TEXT, json TEXT NOT NULL, PRIMARY KEY (workspace_id, user_id)
);
CREATE TABLE boards (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0, json TEXT NOT NULL
);
CREATE INDEX ix_boards_workspace ON boards (workspace_id, key);
CREATE TABLE columns (
    id TEXT PRIMARY KEY, board_id TEXT NOT NULL, workspace_id TEXT NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, rank TEXT NOT NULL, json TEXT NOT NULL
);
CREATE INDEX ix_columns_board ON columns (board_id, rank);
CREATE TABLE cards (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, board_id TEXT NOT NULL,
    key TEXT, number INTEGER, column_id TEXT NOT NULL, rank TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0,
    json TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 0, server_json TEXT
);
CREATE INDEX ix_cards_workspace ON cards (workspace_id);
CREATE INDEX ix_cards_board_number ON cards (board_id, number);
CREATE INDEX ix_cards_key ON cards (key);
CREATE INDEX ix_cards_column_rank ON cards (column_id, rank);
CREATE INDEX ix_cards_deleted ON cards (deleted);
CREATE TABLE comments (
    id TEXT PRIMARY KEY, card_id TEXT NOT NULL, workspace_id TEXT NOT NULL, created_at TEXT NOT NULL,
    json TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 0, server_json TEXT
);
CREATE INDEX ix_comments_card ON comments (card_id, created_at);
CREATE TABLE sprints (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, board_id TEXT NOT NULL, name TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 0,
    json TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 0, server_json TEXT
);
CREATE INDEX ix_sprints_board ON sprints (board_id, deleted);
CREATE TABLE notifications (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, workspace_id TEXT NOT NULL, card_key TEXT,
    created_at TEXT NOT NULL, read_at TEXT, json TEXT NOT NULL
);
CREATE INDEX ix_notifications_unread ON notifications (read_at, created_at);
CREATE INDEX ix_notifications_seq ON notifications (seq);
CREATE TABLE entities (
    entity_type TEXT NOT NULL, id TEXT NOT NULL, workspace_id TEXT NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (entity_type, id)
);
CREATE INDEX ix_entities_workspace ON entities (workspace_id, entity_type);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    payload TEXT,
    base_version INTEGER,
    local TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    error_code TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_outbox_entity ON outbox (entity_id, state);
CREATE INDEX ix_outbox_state ON outbox (state, id);

CREATE TABLE pushed (
    mutation_id TEXT PRIMARY KEY, entity_id TEXT NOT NULL, fields TEXT NOT NULL,
    version INTEGER, pushed_at TEXT NOT NULL
);
CREATE INDEX ix_pushed_entity ON pushed (entity_id);

CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    entity_key TEXT,
    field TEXT NOT NULL,
    overwritten TEXT,
    value TEXT,
    source TEXT NOT NULL,
    actor TEXT,
    mutation_id TEXT,
    seq INTEGER,
    created_at TEXT NOT NULL,
    seen_at TEXT
);
CREATE INDEX ix_conflicts_seen ON conflicts (seen_at);
"""

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",  # up to 16 MB: a 10,000-card snapshot loads without page-cache churn
    "PRAGMA secure_delete=FAST",  # a pushed write's bytes are zeroed: salvaging a damaged file never revives it
)
