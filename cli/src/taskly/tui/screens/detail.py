"""A card's details (`enter`): its fields, markdown description, comments and activity.

The card and its cached comments show at once; fresher comments and the activity (which only the
server has) arrive from workers run by the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static

from ...errors import Offline
from ..bindings import DETAIL
from ..messages import CacheChanged, WriteDone
from ..model import ago, card_key, due_text, is_overdue

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, CommentOut

    from ..app import TasklyApp

ACTIVITY_LIMIT = 30


def describe_change(change: ChangeOut) -> str:
    """`maya moved it: column Todo → Review` and the like, for the activity list."""
    who = change.actor.name or change.actor.type
    if change.entity_type == "comment":
        verb = {"create": "commented", "update": "edited a comment", "delete": "deleted a comment"}
        return f"{who} {verb.get(change.op, change.op + 'd a comment')}"
    verbs = {"create": "created it", "update": "changed", "delete": "deleted it", "restore": "restored it",
             "move": "moved it"}
    text = f"{who} {verbs.get(change.op, change.op)}"
    if change.op == "create":
        column = change.changes.get("column")
        return text + (f" in {column.new}" if column is not None and column.new else "")
    shown = []
    for name, values in change.changes.items():
        if name in ("rank", "version", "updated_at", "column_id"):
            continue
        if name in ("title", "column", "priority", "points", "due"):
            shown.append(f"{name} {_short(values.old)} → {_short(values.new)}")
        else:
            shown.append(name)
    return text + (": " + ", ".join(shown) if shown else "")


CHECK_MARKS = {"success": "[green]✓[/]", "failure": "[red]✗[/]", "pending": "[yellow]…[/]", "neutral": "-"}
STATE_STYLES = {"open": "green", "draft": "dim", "merged": "magenta", "closed": "red"}


def pulls_text(card: CardOut) -> str:
    """Each linked pull request: state, CI with its checks, reviews, branches (rich markup)."""
    if not card.pull_requests:
        return (f"None linked: a pull request links when its branch, title or body names "
                f"{_escape(card_key(card))}.")
    lines = []
    for pull in card.pull_requests:
        state = pull.state.value
        lines.append(f"[b]{_escape(pull.repository)}#{pull.number}[/]  {_escape(pull.title)}  "
                     f"[{STATE_STYLES.get(state, 'default')}]{state}[/]")
        checks = "  ".join(f"{CHECK_MARKS.get(c.state, '?')} {_escape(c.name)}" for c in pull.checks)
        lines.append(f"    CI {pull.ci.value}" + (f":  {checks}" if checks else ""))
        lines.append(f"    reviews: {pull.approvals} approved, {pull.changes_requested} changes requested")
        branches = f"{pull.head_branch or '?'} → {pull.base_branch or '?'}"
        lines.append(f"    {_escape(branches)}" + (f" by {_escape(pull.author)}" if pull.author else ""))
    return "\n".join(lines)


def _short(value: object, width: int = 30) -> str:
    text = "—" if value in (None, "", []) else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


class CardDetail(Screen[None]):
    """Everything about one card."""

    BINDINGS = DETAIL
    app: TasklyApp

    def __init__(self, card_id: str) -> None:
        super().__init__(classes="detail-screen")
        self.card_id = card_id
        self.activity: list[ChangeOut] | None = None
        self.activity_note = "Loading activity…"

    @property
    def card(self) -> CardOut | None:
        return self.app.store.card(self.card_id)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static("", id="detail-title", markup=False)
            yield Static("", id="detail-fields")
            yield Static("Description", classes="section-title")
            yield Markdown("", id="detail-description")
            yield Static("", id="detail-pulls-title", classes="section-title")
            yield Static("", id="detail-pulls")
            yield Static("", id="detail-comments-title", classes="section-title")
            yield VerticalScroll(id="detail-comments")
            yield Static("Activity", classes="section-title")
            yield Static("", id="detail-activity", markup=False)
        yield Footer(show_command_palette=False)

    async def on_mount(self) -> None:
        await self.show_card()
        await self.show_comments(self.app.store.comments(self.card_id))
        self.show_activity()
        self.app.run_worker(self._fetch_comments(), name="load comments", group="detail", exit_on_error=False)
        self.app.run_worker(self._fetch_activity(), name="load activity", group="detail", exit_on_error=False)

    async def show_card(self) -> None:
        card = self.card
        if card is None:
            self.query_one("#detail-title", Static).update("This card is gone.")
            return
        today = self.app.clock.today()
        deleted = "  (deleted)" if card.deleted_at else ""
        self.query_one("#detail-title", Static).update(f"{card_key(card)}  {card.title}{deleted}")
        due = ""
        if card.due is not None:
            due = due_text(card.due, today) + ("  [b red]overdue[/]" if is_overdue(card, today) else "")
        rows = [
            ("Column", card.column), ("Priority", card.priority.value), ("Points", _short(card.points)),
            ("Due", due or "—"), ("Labels", ", ".join(card.labels) or "—"),
            ("Assignees", ", ".join(card.assignees) or "—"),
            ("Repeats", card.recurrence.value if card.recurrence.value == "none"
             else f"{card.recurrence.value} (every {card.recurrence_interval})"),
            ("Branch", card.branch or "—"), ("Created by", card.created_by or "—"),
        ]
        table = "\n".join(f"[b]{name:<11}[/]{_escape(value)}" if name != "Due" else f"[b]{name:<11}[/]{value}"
                          for name, value in rows)
        self.query_one("#detail-fields", Static).update(table)
        await self.query_one("#detail-description", Markdown).update(card.description or "*No description.*")
        self.query_one("#detail-pulls-title", Static).update(f"Pull requests ({len(card.pull_requests)})")
        self.query_one("#detail-pulls", Static).update(pulls_text(card))

    async def show_comments(self, comments: list[CommentOut]) -> None:
        now = self.app.clock.now()
        self.query_one("#detail-comments-title", Static).update(f"Comments ({len(comments)})")
        box = self.query_one("#detail-comments", VerticalScroll)
        await box.remove_children()
        widgets = []
        for comment in comments:
            widgets.append(Static(f"{comment.author or '?'} · {ago(comment.created_at, now)}",
                                  classes="comment-author", markup=False))
            widgets.append(Markdown(comment.body, classes="comment-body"))
        if not widgets:
            widgets.append(Static("No comments yet: c writes one.", classes="muted", markup=False))
        await box.mount_all(widgets)

    def show_activity(self) -> None:
        now = self.app.clock.now()
        if self.activity is None:
            text = self.activity_note
        elif not self.activity:
            text = "No activity."
        else:
            text = "\n".join(f"{describe_change(c)}  · {ago(c.created_at, now)}" for c in self.activity)
        self.query_one("#detail-activity", Static).update(text)

    # --- workers (run by the app, so its one handler reports their failures) ------------------------

    async def _fetch_comments(self) -> None:
        import asyncio

        engine = await asyncio.to_thread(lambda: self.app.engine)
        try:
            comments = await asyncio.to_thread(engine.fetch_comments, self.card_id, timeout=5)
        except Offline:
            return
        if self.is_mounted:
            await self.show_comments(comments)

    async def _fetch_activity(self) -> None:
        import asyncio

        engine = await asyncio.to_thread(lambda: self.app.engine)
        card = self.card
        if engine.offline or card is None or not card.number:
            self.activity_note = ("Activity needs the server (offline mode)." if engine.offline
                                  else "No activity until the card reaches the server.")
        else:
            try:
                self.activity = await asyncio.to_thread(engine.api.card_activity, card.key or self.card_id,
                                                        limit=ACTIVITY_LIMIT, timeout=5)
            except Offline:
                self.activity_note = "Activity needs the server, which cannot be reached now."
        if self.is_mounted:
            self.show_activity()

    # --- keys and news ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_edit_card(self) -> None:
        card = self.card
        if card is not None:
            self.app.edit_card(card)

    def action_comment(self) -> None:
        card = self.card
        if card is not None:
            self.app.comment_on(card)

    @on(WriteDone)
    async def _write_done(self, message: WriteDone) -> None:
        entity = message.result.entity
        if getattr(entity, "card_id", None) is not None and str(entity.card_id) == self.card_id:
            await self.show_comments(self.app.store.comments(self.card_id))
        elif entity is not None and str(entity.id) == self.card_id:
            await self.show_card()

    @on(CacheChanged)
    async def _cache_changed(self, message: CacheChanged) -> None:
        ids = {str(change.entity_id) for change in message.changes}
        touched = {str((change.data or {}).get("card_id")) for change in message.changes}
        if message.full or self.card_id in ids:
            await self.show_card()
        if message.full or self.card_id in touched:
            await self.show_comments(self.app.store.comments(self.card_id))


def _escape(value: object) -> str:
    from rich.markup import escape

    return escape(str(value))
