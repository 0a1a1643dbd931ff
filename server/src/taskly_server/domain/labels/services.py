"""The label catalogue of a workspace: list, create, edit (a rename renames it on every card),
delete (it leaves every card); and the names cards bring in, added with a palette colour.

Viewers read; members create and edit; admins delete. A rename or delete locks the label row and
changes the cards in one statement (`queries.relabel_cards`), one card Change each, all in the
write's transaction: every card shows the new name, or none does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode
from taskly_shared.labels import palette_color
from taskly_shared.models import LabelChanged, LabelCreate, LabelOut, LabelPatch, Role

from ...db.base import utcnow
from ...db.models import Label
from ...errors import Conflict, NotFound
from ...lib.access import require_role
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from . import queries
from .views import label_out

WIRE_FIELDS = ("name", "color", "description")


async def add_card_labels(mutation: Mutation, workspace_id: uuid.UUID, names: Iterable[str]) -> None:
    """Labels that cards name and the catalogue lacks join it (palette colours), each with its
    Change: what the card write paths call with the labels they set."""
    for label in await queries.add_missing(mutation.db, workspace_id, names):
        out = label_out(label)
        mutation.record(workspace_id, "label", label.id, "create",
                        changes={f: (None, getattr(out, f)) for f in WIRE_FIELDS}, data=out,
                        version=label.version)


class LabelService:
    """Reads take a session; writes take the Mutation of `execute` and record their changes."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target

    async def list(self, principal: Principal, workspace_id: uuid.UUID) -> list[LabelOut]:
        await require_role(self.db, workspace_id, principal.user_id)
        return [label_out(label) for label in await queries.workspace_labels(self.db, workspace_id)]

    async def create(self, principal: Principal, workspace_id: uuid.UUID, data: LabelCreate) -> LabelOut:
        await require_role(self.db, workspace_id, principal.user_id, Role.MEMBER)
        label_id = data.id or uuid.uuid4()
        if await self.db.get(Label, label_id) is not None:
            raise Conflict(f"a label with id {label_id} exists", code=ErrorCode.DUPLICATE)
        now = utcnow()
        label = Label(id=label_id, workspace_id=workspace_id, name=data.name,
                      color=data.color or palette_color(data.name),
                      description=data.description or None, version=1, created_at=now, updated_at=now)
        self.db.add(label)
        await self._flush(data.name)
        out = label_out(label)
        self.mutation.record(workspace_id, "label", label.id, "create",
                             changes={f: (None, getattr(out, f)) for f in WIRE_FIELDS}, data=out,
                             version=label.version)
        return out

    async def update(self, principal: Principal, label_id: uuid.UUID, data: LabelPatch) -> LabelChanged:
        """Recolour, describe or rename; a rename renames the label on every card that has it."""
        label = await self._label(principal, label_id, Role.MEMBER)
        if data.base_version is not None and data.base_version != label.version:
            raise Conflict(f"the label changed since version {data.base_version} (it is at "
                           f"{label.version}): read it again", version=label.version)
        names = data.model_fields_set
        changes: dict[str, tuple[Any, Any]] = {}
        if data.name is not None and data.name != label.name:
            changes["name"] = (label.name, data.name)
        if data.color is not None and data.color != label.color:
            changes["color"] = (label.color, data.color)
        if "description" in names and (data.description or None) != label.description:
            changes["description"] = (label.description, data.description or None)
        cards = 0
        if changes:
            for field, (_, new) in changes.items():
                setattr(label, field, new)
            label.version += 1
            label.updated_at = utcnow()
            await self._flush(data.name)
            if "name" in changes:
                cards = await self._relabel(label.workspace_id, changes["name"][0], label.name)
            out = label_out(label)
            self.mutation.record(label.workspace_id, "label", label.id, "update", changes=changes,
                                 data=out, version=label.version)
        return LabelChanged(label=label_out(label), cards=cards)

    async def delete(self, principal: Principal, label_id: uuid.UUID) -> LabelChanged:
        """The label leaves the catalogue and every card that has it."""
        label = await self._label(principal, label_id, Role.ADMIN)
        out = label_out(label)
        cards = await self._relabel(label.workspace_id, label.name, None)
        await self.db.delete(label)
        await self.db.flush()
        self.mutation.record(label.workspace_id, "label", label.id, "delete",
                             changes={f: (getattr(out, f), None) for f in WIRE_FIELDS},
                             version=label.version + 1)
        return LabelChanged(label=out, cards=cards)

    # --- helpers ---------------------------------------------------------------------------

    async def _relabel(self, workspace_id: uuid.UUID, old: str, new: str | None) -> int:
        """Every card naming `old` now names `new` (or not `old`): one Change per card."""
        changed = await queries.relabel_cards(self.db, workspace_id, old, new)
        for card in changed:
            self.mutation.record(workspace_id, "card", card.card_id, "update",
                                 changes={"labels": (card.old, card.new)}, data=card.data,
                                 version=card.version)
        return len(changed)

    async def _label(self, principal: Principal, label_id: uuid.UUID, minimum: Role) -> Label:
        """The label row, locked, once the caller has `minimum` in its workspace (404 otherwise)."""
        workspace_id = await self.db.scalar(select(Label.workspace_id).where(Label.id == label_id))
        if workspace_id is None:
            raise NotFound("label not found")
        await require_role(self.db, workspace_id, principal.user_id, minimum, what="label")
        label = await self.db.scalar(select(Label).where(Label.id == label_id).with_for_update()
                                     .execution_options(populate_existing=True))
        if label is None:
            raise NotFound("label not found")
        return label

    async def _flush(self, name: str | None) -> None:
        """Flush; a label of the same name in the workspace (the unique constraint) is a 409."""
        try:
            await self.db.flush()
        except IntegrityError:
            raise Conflict(f"a label named {name!r} exists in this workspace",
                           code=ErrorCode.DUPLICATE) from None
