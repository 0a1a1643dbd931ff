"""A card's details (`enter`): its fields, markdown description, comments and activity.

The card and its cached comments show at once; fresher comments and the activity (which only the
server has) arrive from workers run by the app. Editing and commenting are asked of the app.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Markdown, Static

from ...core.errors import Offline
from ...core.output import printable
from ...core.render import pull_details
from ..bindings import DETAIL
from ..messages import (
    BrowseRequested,
    CacheChanged,
    CardEditRequested,
    CommentDeleteRequested,
    CommentEditRequested,
    CommentRequested,
    WriteDone,
)
from ..model import ago, card_key, due_text, is_overdue
from ..widgets.comment_item import CommentItem

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, CommentOut

    from ..context import BoardContext

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


CHECK_MARKS = {"success": ("✓", "green"), "failure": ("✗", "red"), "pending": ("…", "yellow"),
               "neutral": ("-", "")}
STATE_STYLES = {"open": "green", "draft": "dim", "merged": "magenta", "closed": "red"}


def pulls_text(card: CardOut) -> Content:
    """Each linked pull request: state, CI with its checks, reviews, branches. GitHub's text goes
    in as plain text (escaped, never parsed as markup); only our own parts are styled."""
    if not card.pull_requests:
        return Content(f"None linked: a pull request links when its branch, title or body names "
                       f"{printable(card_key(card))}.")
    lines: list[Content] = []
    for pull in card.pull_requests:
        state = pull.state.value
        lines.append(Content.assemble((f"{printable(pull.repository)}#{pull.number}", "bold"), "  ",
                                      printable(pull.title), "  ", (state, STATE_STYLES.get(state, ""))))
        checks: list[str | tuple[str, str]] = []
        for check in pull.checks:
            checks += ["  " if checks else ":  ", CHECK_MARKS.get(check.state, ("?", "")), f" {printable(check.name)}"]
        lines.append(Content.assemble(f"    CI {pull.ci.value}", *checks))
        lines.append(Content(f"    reviews: {pull.approvals} approved, {pull.changes_requested} changes requested"))
        branches = printable(f"{pull.head_branch or '?'} → {pull.base_branch or '?'}")
        lines.append(Content(f"    {branches}" + (f" by {printable(pull.author)}" if pull.author else "")))
        details = pull_details(pull)
        if details:
            lines.append(Content(f"    {details}"))
    return Content("\n").join(lines)


def _short(value: object, width: int = 30) -> str:
    text = "—" if value in (None, "", []) else ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


class CardDetail(Screen[None]):
    """Everything about one card."""

    BINDINGS = DETAIL

    def __init__(self, context: BoardContext, card_id: str) -> None:
        super().__init__(classes="detail-screen")
        self.context = context
        self.card_id = card_id
        self.activity: list[ChangeOut] | None = None
        self.activity_note = "Loading activity…"

    @property
    def card(self) -> CardOut | None:
        return self.context.card(self.card_id)

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
        await self.show_comments(self.context.comments(self.card_id))
        self.show_activity()
        self.app.run_worker(self._fetch_comments(), name="load comments", group="detail", exit_on_error=False)
        self.app.run_worker(self._fetch_activity(), name="load activity", group="detail", exit_on_error=False)

    async def show_card(self) -> None:
        card = self.card
        if card is None:
            self.query_one("#detail-title", Static).update("This card is gone.")
            return
        today = self.context.clock.today()
        deleted = "  (deleted)" if card.deleted_at else ""
        self.query_one("#detail-title", Static).update(f"{card_key(card, self.context.board_key)}  {printable(card.title)}{deleted}")
        due: Content | str = "—"
        if card.due is not None:
            due = Content.assemble(due_text(card.due, today),
                                   ("  overdue", "bold red") if is_overdue(card, today) else "")
        rows: list[tuple[str, Content | str]] = [
            ("Column", card.column), ("Priority", card.priority.value), ("Points", _short(card.points)),
            ("Due", due), ("Labels", self._labels(card.labels)),
            ("Assignees", ", ".join(card.assignees) or "—"),
            ("Repeats", card.recurrence.value if card.recurrence.value == "none"
             else f"{card.recurrence.value} (every {card.recurrence_interval})"),
            ("Branch", card.branch or "—"), ("Created by", card.created_by or "—"),
        ]
        if card.remind_at is not None:  # in the user's zone, as `taskly show` prints it
            from ...core.when import local

            rows.insert(7, ("Reminder", local(card.remind_at, self.context.user_zone())))
        # plain text parts, never markup: a label like `[link=…]` or `[/]` shows as written
        table = Content("\n").join(
            Content.assemble((f"{name:<11}", "bold"), value if isinstance(value, Content) else printable(value))
            for name, value in rows)
        self.query_one("#detail-fields", Static).update(table)
        description = printable(card.description, multiline=True)
        await self.query_one("#detail-description", Markdown).update(description or "*No description.*")
        self.query_one("#detail-pulls-title", Static).update(f"Pull requests ({len(card.pull_requests)})")
        self.query_one("#detail-pulls", Static).update(pulls_text(card))

    def _labels(self, names: list[str]) -> Content | str:
        """The card's labels in their colours (textual drops colours under NO_COLOR)."""
        from ...core.labels import chip_style, color_of

        if not names:
            return "—"
        parts: list[str | tuple[str, str]] = []
        for name in names:
            parts += [", "] if parts else []
            parts.append((printable(name), chip_style(color_of(name, self.context.label_colors))))
        return Content.assemble(*parts)

    async def show_comments(self, comments: list[CommentOut]) -> None:
        now = self.context.clock.now()
        self.query_one("#detail-comments-title", Static).update(f"Comments ({len(comments)})")
        box = self.query_one("#detail-comments", VerticalScroll)
        await box.remove_children()
        focused = self.app.focused
        keep = str(focused.comment.id) if isinstance(focused, CommentItem) else None
        widgets: list = [CommentItem(comment, ago(comment.created_at, now)) for comment in comments]
        if not widgets:
            widgets.append(Static("No comments yet: c writes one.", classes="muted", markup=False))
        await box.mount_all(widgets)
        for widget in widgets:  # the focused comment keeps the focus when the list is redrawn
            if keep is not None and isinstance(widget, CommentItem) and str(widget.comment.id) == keep:
                widget.focus()

    def show_activity(self) -> None:
        now = self.context.clock.now()
        if self.activity is None:
            text = self.activity_note
        elif not self.activity:
            text = "No activity."
        else:
            text = "\n".join(f"{printable(describe_change(c))}  · {ago(c.created_at, now)}" for c in self.activity)
        self.query_one("#detail-activity", Static).update(text)

    # --- workers (run by the app, so its one handler reports their failures) ------------------------

    async def _fetch_comments(self) -> None:
        import asyncio

        engine = await asyncio.to_thread(self.context.engine)
        try:
            comments = await asyncio.to_thread(engine.fetch_comments, self.card_id, timeout=5)
        except Offline:
            return
        if self._open:
            with suppress(NoMatches):  # closed while the comments were drawn
                await self.show_comments(comments)

    async def _fetch_activity(self) -> None:
        import asyncio

        engine = await asyncio.to_thread(self.context.engine)
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
        if self._open:
            self.show_activity()

    @property
    def _open(self) -> bool:
        """Still on the app's screen stack: a closed screen may be mounted a while longer, its
        widgets already gone."""
        return self.is_mounted and self in self.app.screen_stack

    # --- keys and news ---------------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_edit_card(self) -> None:
        card = self.card
        if card is not None:
            self.post_message(CardEditRequested(card))

    def action_comment(self) -> None:
        card = self.card
        if card is not None:
            self.post_message(CommentRequested(card))

    def action_open_on_github(self) -> None:
        card = self.card
        if card is not None:
            self.post_message(BrowseRequested(card))

    @on(CommentItem.EditRequested)
    def _edit_comment(self, message: CommentItem.EditRequested) -> None:
        message.stop()
        self.post_message(CommentEditRequested(message.comment))

    @on(CommentItem.DeleteRequested)
    def _delete_comment(self, message: CommentItem.DeleteRequested) -> None:
        message.stop()
        self.post_message(CommentDeleteRequested(message.comment))

    @on(WriteDone)
    async def _write_done(self, message: WriteDone) -> None:
        entity = message.result.entity
        if getattr(entity, "card_id", None) is not None and str(entity.card_id) == self.card_id:
            await self.show_comments(self.context.comments(self.card_id))
        elif entity is not None and str(entity.id) == self.card_id:
            await self.show_card()

    @on(CacheChanged)
    async def _cache_changed(self, message: CacheChanged) -> None:
        ids = {str(change.entity_id) for change in message.changes}
        touched = {str((change.data or {}).get("card_id")) for change in message.changes}
        if message.full or self.card_id in ids:
            await self.show_card()
        if message.full or self.card_id in touched:
            await self.show_comments(self.context.comments(self.card_id))

