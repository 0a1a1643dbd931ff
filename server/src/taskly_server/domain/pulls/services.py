"""A board's automation rules: read them (viewers), change them (admins)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import (
    AutomationEvent,
    AutomationRuleSet,
    AutomationUpdate,
    BoardAutomation,
    Role,
)

from ...errors import Invalid
from ...lib.mutation import Mutation
from ...lib.principal import Principal
from ..boards.services import BoardService, board_out
from ..cards.queries import pick_column
from .rules import PR_COMMENT, pr_comment_on, rules_out, stored_form


class AutomationService:
    """Reads take a session; writes take the Mutation of `execute`."""

    def __init__(self, target: AsyncSession | Mutation) -> None:
        self.mutation = target if isinstance(target, Mutation) else None
        self.db = target.db if isinstance(target, Mutation) else target
        self.boards = BoardService(target)

    async def get(self, principal: Principal, board_id: uuid.UUID) -> BoardAutomation:
        board, _ = await self.boards.board(principal, board_id)
        columns = await self.boards.columns(board.id)
        return _automation(board, columns)

    async def update(self, principal: Principal, board_id: uuid.UUID,
                     data: AutomationUpdate) -> BoardAutomation:
        """Set, switch off or reset (null) the named rules; the board's version moves on."""
        board, _ = await self.boards.board(principal, board_id, Role.ADMIN, lock=True)
        columns = await self.boards.columns(board.id)
        before = dict(board.automation or {})
        after = dict(before)
        for event, rule in data.rules.items():
            if rule is None:
                after.pop(event.value, None)
            else:
                after[event.value] = self._stored(event, rule, columns)
        if data.pr_comment is not None:
            if data.pr_comment:
                after.pop(PR_COMMENT, None)
            else:
                after[PR_COMMENT] = {"off": True}
        if after != before:
            board.automation = after
            board.version += 1
            await self.db.flush()
            changed = {event: (before.get(event), after.get(event))
                       for event in sorted(before.keys() | after.keys())
                       if before.get(event) != after.get(event)}
            self.mutation.record(board.workspace_id, "board", board.id, "update",
                                 changes={"automation": (_only(before, changed), _only(after, changed))},
                                 data=board_out(board, columns), version=board.version)
        return _automation(board, columns)

    @staticmethod
    def _stored(event: AutomationEvent, rule: AutomationRuleSet, columns: list) -> dict[str, Any]:
        if not rule.enabled:
            if rule.column is not None or rule.kind is not None:
                raise Invalid(f"{event.value}: a rule that is off names no column")
            return stored_form(None, None, False)
        if (rule.column is None) == (rule.kind is None):
            raise Invalid(f"{event.value}: give a column (name or id) or a column kind, or enabled: false")
        if rule.kind is not None:
            if not any(c.kind == rule.kind.value for c in columns):
                raise Invalid(f"{event.value}: this board has no {rule.kind.value} column")
            return stored_form(None, rule.kind, True)
        return stored_form(pick_column(columns, rule.column), None, True)


def _automation(board: Any, columns: list) -> BoardAutomation:
    return BoardAutomation(board_id=board.id, rules=rules_out(board.automation, columns),
                           pr_comment=pr_comment_on(board.automation), version=board.version)


def _only(rules: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
    return {event: rules[event] for event in changed if event in rules}
