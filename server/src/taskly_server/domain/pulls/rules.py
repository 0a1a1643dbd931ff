"""Automation rules of a board: which column a pull-request event moves linked cards to.

A board stores only the rules it changed (`Board.automation`, by event):
`{"column_id": "<uuid>"}`, `{"kind": "review"}` or `{"off": true}`; every other event follows
`DEFAULTS`. A rule whose column was deleted moves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taskly_shared.models import AutomationEvent, AutomationRuleOut, ColumnKind

from ...db.models import BoardColumn

DEFAULTS: dict[AutomationEvent, ColumnKind | None] = {
    AutomationEvent.PR_OPENED: ColumnKind.REVIEW,
    AutomationEvent.PR_READY_FOR_REVIEW: ColumnKind.REVIEW,
    AutomationEvent.PR_REVIEW_REQUESTED: ColumnKind.REVIEW,
    AutomationEvent.PR_APPROVED: None,
    AutomationEvent.PR_CHANGES_REQUESTED: ColumnKind.IN_PROGRESS,
    AutomationEvent.PR_CONVERTED_TO_DRAFT: None,
    AutomationEvent.PR_MERGED: ColumnKind.DONE,
    AutomationEvent.PR_CLOSED: None,
}
"""Taskly's rules: opened, ready or review requested → review; changes requested → in progress;
merged → done (once every linked PR is closed); approved, back to draft, closed unmerged → stay."""


PR_COMMENT = "pr_comment"
"""`Board.automation["pr_comment"] = {"off": true}`: no comment on this board's pull requests."""


def pr_comment_on(automation: dict[str, Any] | None) -> bool:
    rule = (automation or {}).get(PR_COMMENT)
    return not (isinstance(rule, dict) and rule.get("off"))


@dataclass(frozen=True, slots=True)
class Target:
    """Where a rule moves a card: the column, and the rule's name in the activity."""

    column: BoardColumn
    kind: ColumnKind | None

    def actor(self, event: AutomationEvent) -> str:
        """`pr_merged → done` for a rule by kind, `pr_opened → QA` for a rule naming a column."""
        return f"{event.value} → {self.kind.value if self.kind else self.column.name}"


def stored_rule(automation: dict[str, Any] | None, event: AutomationEvent) -> dict[str, Any] | None:
    rule = (automation or {}).get(event.value)
    return rule if isinstance(rule, dict) else None


def first_of_kind(columns: Sequence[BoardColumn], kind: ColumnKind) -> BoardColumn | None:
    """The board's first column (by rank) of `kind`."""
    ordered = sorted(columns, key=lambda c: (c.rank, str(c.id)))
    return next((c for c in ordered if c.kind == kind.value), None)


def target(automation: dict[str, Any] | None, event: AutomationEvent,
           columns: Sequence[BoardColumn]) -> Target | None:
    """The column `event` moves a card of this board to; None when it moves nothing."""
    rule = stored_rule(automation, event)
    if rule is None:
        kind = DEFAULTS[event]
        column = first_of_kind(columns, kind) if kind else None
        return Target(column, kind) if column is not None else None
    if rule.get("off"):
        return None
    if rule.get("kind"):
        try:
            kind = ColumnKind(rule["kind"])
        except ValueError:
            return None
        column = first_of_kind(columns, kind)
        return Target(column, kind) if column is not None else None
    column_id = str(rule.get("column_id") or "")
    column = next((c for c in columns if str(c.id) == column_id), None)
    return Target(column, None) if column is not None else None


def rule_out(automation: dict[str, Any] | None, event: AutomationEvent,
             columns: Sequence[BoardColumn]) -> AutomationRuleOut:
    rule = stored_rule(automation, event)
    found = target(automation, event, columns)
    if rule is None:
        kind = DEFAULTS[event]
    elif rule.get("kind"):
        kind = ColumnKind(rule["kind"]) if rule["kind"] in ColumnKind._value2member_map_ else None
    else:
        kind = None
    enabled = DEFAULTS[event] is not None if rule is None else not rule.get("off")
    return AutomationRuleOut(
        event=event, enabled=enabled, kind=kind,
        column_id=found.column.id if found else None, column=found.column.name if found else None,
        default=rule is None,
    )


def rules_out(automation: dict[str, Any] | None,
              columns: Sequence[BoardColumn]) -> list[AutomationRuleOut]:
    return [rule_out(automation, event, columns) for event in AutomationEvent]


def stored_form(column: BoardColumn | None, kind: ColumnKind | None, enabled: bool) -> dict[str, Any]:
    """What `Board.automation` keeps for one rule."""
    if not enabled:
        return {"off": True}
    if kind is not None:
        return {"kind": kind.value}
    assert column is not None
    return {"column_id": str(column.id)}

