"""Boards, columns and cards as the board shows them, decoded from the cache's JSON without pydantic.

Pydantic and the wire models cost ~110 ms to import, a quarter of the board's first paint: the
board reads `Store.board_json` / `Store.cards_json` into these small read-only views, and what
opens later (forms, details) reads the `CardOut` it needs. Fields keep the wire names; ids are
strings and enums their values (`card.priority == "high"`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskly_shared.models import CardOut


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


class PullView:
    """A pull request linked to a card: what its badges show."""

    __slots__ = ("approvals", "changes_requested", "ci", "number", "repository", "state")

    def __init__(self, data: dict[str, Any]) -> None:
        self.repository: str = data.get("repository") or ""
        self.number: int = data["number"]
        self.state: str = data.get("state") or "open"
        self.ci: str = data.get("ci") or "none"
        self.approvals: int = data.get("approvals") or 0
        self.changes_requested: int = data.get("changes_requested") or 0


class CardView:
    """A card (the wire fields the board uses)."""

    __slots__ = ("assignees", "board_id", "column", "column_id", "column_kind", "created_at", "deleted",
                 "description", "due", "id", "key", "labels", "number", "points", "priority", "pull_requests",
                 "rank", "recurrence", "recurrence_interval", "remind_at", "sprint_id", "title", "updated_at",
                 "version", "workspace_id")

    def __init__(self, data: dict[str, Any]) -> None:
        self.id: str = str(data["id"])
        self.key: str = data.get("key") or ""
        self.number: int = data.get("number") or 0
        self.board_id: str = str(data["board_id"])
        self.workspace_id: str = str(data["workspace_id"])
        self.title: str = data["title"]
        self.description: str = data.get("description") or ""
        self.column: str = data.get("column") or ""
        self.column_id: str = str(data["column_id"])
        self.column_kind: str = data.get("column_kind") or "todo"
        self.rank: str = data.get("rank") or ""
        self.labels: list[str] = list(data.get("labels") or [])
        self.priority: str = data.get("priority") or "none"
        self.points: int | None = data.get("points")
        due = data.get("due")
        self.due: date | None = date.fromisoformat(due) if isinstance(due, str) else due
        self.assignees: list[str] = list(data.get("assignees") or [])
        self.version: int = data.get("version") or 0
        sprint = data.get("sprint_id")
        self.sprint_id: str | None = str(sprint) if sprint else None
        self.deleted: bool = data.get("deleted_at") is not None
        self.created_at: str | None = _text(data.get("created_at"))
        self.updated_at: str | None = _text(data.get("updated_at"))
        """ISO times, as the wire has them (what sorting and `updated-since:` read)."""
        self.pull_requests = [PullView(pull) for pull in data.get("pull_requests") or []]
        self.remind_at: str | None = data.get("remind_at") or None
        """When the reminder fires (ISO, as stored); the board only shows that there is one."""
        self.recurrence: str = data.get("recurrence") or "none"
        self.recurrence_interval: int = data.get("recurrence_interval") or 1

    @classmethod
    def from_out(cls, card: CardOut) -> CardView:
        return cls(card.model_dump(mode="json"))

    def moved(self, column: ColumnView) -> CardView:
        """This card shown in another column (before the cache says where it is ranked)."""
        copy = object.__new__(CardView)
        for name in CardView.__slots__:
            setattr(copy, name, getattr(self, name))
        copy.column_id, copy.column, copy.column_kind = column.id, column.name, column.kind
        return copy


class ColumnView:
    __slots__ = ("id", "kind", "name", "rank", "wip_limit")

    def __init__(self, data: dict[str, Any]) -> None:
        self.id: str = str(data["id"])
        self.name: str = data["name"]
        self.kind: str = data.get("kind") or "todo"
        self.rank: str = data.get("rank") or ""
        self.wip_limit: int | None = data.get("wip_limit")


class BoardView:
    __slots__ = ("columns", "id", "key", "name", "workspace_id")

    def __init__(self, data: dict[str, Any]) -> None:
        self.id: str = str(data["id"])
        self.workspace_id: str = str(data["workspace_id"])
        self.key: str = data["key"]
        self.name: str = data["name"]
        self.columns = [ColumnView(column) for column in data.get("columns") or []]
