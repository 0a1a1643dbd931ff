"""The local SQLite cache and outbox (stdlib sqlite3 only: importing it stays cheap).

    store = Store.for_account(server_url, username)     # or Store(path) / Store(":memory:")
    with store.transaction() as tx:                       # one SQLite transaction
        tx.apply(op)                                      # optimistic cache update
        tx.outbox.add(op)                                 # queued for the sync engine
    store.cards(board_id=...)                             # reads return shared wire models

Readers see each entity as the server last confirmed it with the pending local writes applied on
top; `store.is_pending(id)`, `store.outbox.pending()/failed()/count()`, `store.conflicts()`,
`store.cursor(workspace_id)` and `store.last_synced()` describe the sync state.
"""

from .db import Store, StoreTransaction, is_corruption
from .ops import Op, OutboxEntry
from .reads import ConflictRecord

__all__ = ["ConflictRecord", "Op", "OutboxEntry", "Store", "StoreTransaction", "is_corruption"]
