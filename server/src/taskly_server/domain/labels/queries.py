"""SQL of the label catalogue: cards' label arrays changed in one statement, new names added."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String
from taskly_shared.labels import palette_color

from ...db.models import Label

# Every card of the workspace naming :old gets it replaced by :new (or removed: :new NULL, or
# already on the card), in one statement; the old array comes from the locking sub-select.
_RELABEL = text("""
UPDATE cards AS c
   SET labels = CASE WHEN CAST(:new AS varchar) IS NULL OR CAST(:new AS varchar) = ANY (o.labels)
                     THEN array_remove(o.labels, CAST(:old AS varchar))
                     ELSE array_replace(o.labels, CAST(:old AS varchar), CAST(:new AS varchar)) END,
       version = c.version + 1,
       updated_at = now()
  FROM (SELECT id, labels FROM cards
         WHERE workspace_id = :workspace_id AND labels @> ARRAY[CAST(:old AS varchar)]
         ORDER BY id FOR UPDATE) AS o
 WHERE c.id = o.id
RETURNING c.id, c.version, o.labels AS old_labels, c.labels AS new_labels
""")

_CARDS_JSON = text("SELECT taskly_cards_json(:ids)::text").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))

_ADD_MISSING = text("""
INSERT INTO labels (id, workspace_id, name, color, version, created_at, updated_at)
SELECT gen_random_uuid(), :workspace_id, t.name, t.color, 1, now(), now()
  FROM unnest(:names, :colors) AS t(name, color)
 WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.workspace_id = :workspace_id AND l.name = t.name)
ON CONFLICT (workspace_id, name) DO NOTHING
RETURNING id
""").bindparams(bindparam("names", type_=ARRAY(String())), bindparam("colors", type_=ARRAY(String())))


@dataclass(frozen=True, slots=True)
class Relabelled:
    """A card whose labels a rename or delete changed: what its Change records."""

    card_id: uuid.UUID
    version: int
    old: list[str]
    new: list[str]
    data: dict[str, Any]


async def relabel_cards(db: AsyncSession, workspace_id: uuid.UUID, old: str,
                        new: str | None) -> list[Relabelled]:
    """Rename label `old` to `new` (None: remove it) on every card of the workspace that names it
    (deleted cards too): one UPDATE, then the cards' wire forms in one query."""
    rows = (await db.execute(_RELABEL, {"workspace_id": workspace_id, "old": old, "new": new})).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    rendered = await db.scalar(_CARDS_JSON, {"ids": ids})
    by_id = {card["id"]: card for card in json.loads(rendered)}
    return [Relabelled(row.id, row.version, list(row.old_labels), list(row.new_labels),
                       by_id[str(row.id)]) for row in rows]


async def add_missing(db: AsyncSession, workspace_id: uuid.UUID, names: Iterable[str]) -> list[Label]:
    """The labels among `names` the catalogue lacks, added in their palette colours."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    ids = (await db.scalars(_ADD_MISSING, {
        "workspace_id": workspace_id, "names": wanted, "colors": [palette_color(n) for n in wanted],
    })).all()
    if not ids:
        return []
    return list((await db.scalars(select(Label).where(Label.id.in_(ids)).order_by(Label.name))).all())


async def workspace_labels(db: AsyncSession, workspace_id: uuid.UUID) -> list[Label]:
    """The catalogue by name (case-insensitive, then as written)."""
    return list((await db.scalars(
        select(Label).where(Label.workspace_id == workspace_id)
        .order_by(func.lower(Label.name), Label.name)
    )).all())
