"""cards: move cards in one statement (fractional ranks and the card's wire form in SQL)

A move is the hottest write: locking the card and the target column, reading the neighbours'
ranks, updating the card, numbering its Change and storing the idempotent answer took six round
trips through the ORM (~2.3 ms of server CPU each), and every move held its workspace's row (its
seq) through its own commit. `taskly_move_cards` makes a batch of moves in one statement: one
round trip, one transaction, one commit and one hold of the workspace row for all of them.

- `taskly_rank_between` is fractional-indexing 0.1.3's `generate_key_between` (base 62) plus the
  "keep the current rank when it already fits" rule of `cards.lookup.rank_between`; a test
  compares it with the Python library on many key pairs.
- `taskly_card_json` renders a card as `CardOut.model_dump(mode="json")` does; a test compares the
  two on cards with assignees, pull requests, checks, dates and deletions.
- `taskly_move_cards` skips (answers NULL for) everything but a permitted, well-formed move, so
  every error message still comes from the Python path.

The functions' texts are frozen in migrations/sql/0003/; their current texts are in db/sql/.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:20:00

"""
from typing import Sequence, Union

from alembic import op

from taskly_server.db.functions import create_functions

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

FUNCTIONS = [  # frozen in migrations/sql/0003/<name>.sql, created in this order
    "taskly_rank_int_length", "taskly_rank_int_part", "taskly_rank_validate", "taskly_rank_midpoint",
    "taskly_rank_increment", "taskly_rank_decrement", "taskly_rank_key_between", "taskly_rank_between",
    "taskly_json_time", "taskly_pull_request_json", "taskly_card_json", "taskly_move_cards",
]

NAMES = [
    "taskly_move_cards(text[], text[], uuid[], uuid[], text[], int[], uuid[], text[], text[], uuid[], "
    "text[], int[], int[], text[], uuid[], text[], text[], text[])",
    "taskly_card_json(uuid)",
    "taskly_pull_request_json(pull_requests, text)",
    "taskly_json_time(timestamptz)",
    "taskly_rank_between(text, text, text)",
    "taskly_rank_key_between(text, text)",
    "taskly_rank_decrement(text)",
    "taskly_rank_increment(text)",
    "taskly_rank_midpoint(text, text)",
    "taskly_rank_validate(text)",
    "taskly_rank_int_part(text)",
    "taskly_rank_int_length(text)",
]


def upgrade() -> None:
    create_functions(revision, *FUNCTIONS)


def downgrade() -> None:
    for name in NAMES:
        op.execute(f"DROP FUNCTION {name}")
