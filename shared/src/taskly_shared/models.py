"""Request and response bodies: the wire contract between server and clients."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

CONTROL_CHARACTERS = "must not contain control characters"
A_BOOLEAN = "a boolean is not a number"
UNPROCESSABLE = (CONTROL_CHARACTERS, A_BOOLEAN)
"""Messages of values that are well-formed JSON of the right type but cannot be taken as given:
the server answers them with 422 instead of the 400 of other invalid bodies."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 (tab and newline included), DEL and C1: never in a one-line value such as a name or title."""
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""The same, less tab, newline and carriage return: what multi-line text (descriptions, comments) refuses."""


def _refuse(pattern: re.Pattern[str], value: str) -> str:
    found = pattern.search(value)
    if found is not None:
        raise ValueError(f"{CONTROL_CHARACTERS} (found U+{ord(found.group()):04X} "
                         f"at position {found.start()})")
    return value


def single_line(value: str) -> str:
    """Refuse control characters in a name, title or label: text shown on one line of a terminal."""
    return _refuse(_CONTROL, value)


def plain_text(value: str) -> str:
    """Refuse control characters other than tab and line breaks in multi-line text."""
    return _refuse(_CONTROL_IN_TEXT, value)


OneLine = AfterValidator(single_line)
MultiLine = AfterValidator(plain_text)


def _not_a_boolean(value: Any) -> Any:
    """`true`/`false` are not numbers (pydantic's lax mode would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError(A_BOOLEAN)
    return value


Integer = Annotated[int, BeforeValidator(_not_a_boolean)]
"""An integer in a request body: a JSON number, never `true` or `false`."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,37}[A-Za-z0-9])?$")]
BoardKey = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,10}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), OneLine]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), OneLine]
Markdown = Annotated[str, StringConstraints(max_length=65_535), MultiLine]
CommentBody = Annotated[str, StringConstraints(min_length=1, max_length=65_535), MultiLine]
CardRef = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _git_ref_name(name: str) -> str:
    """Refuse what `git check-ref-format --branch` refuses (the common cases)."""
    bad = (name.startswith(("/", "-", ".")) or name.endswith(("/", ".", ".lock"))
           or any(part in name for part in ("..", "//", "@{", "/.")))
    if bad:
        raise ValueError("not a valid git branch name")
    return name


GitRefName = Annotated[str, StringConstraints(min_length=1, max_length=255,
                                              pattern=r"^[^\x00-\x20~^:?*\[\\\x7f]+$"),
                       AfterValidator(_git_ref_name), OneLine]


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class ColumnKind(StrEnum):
    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    DONE = "done"


class Priority(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class Recurrence(StrEnum):
    NONE = "none"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Input(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- users and auth -------------------------------------------------------------------------


class UserOut(Output):
    id: UUID
    username: str
    name: str | None = None
    email: str | None = None
    avatar_url: str | None = None
    github_sign_in_required: bool = Field(
        default=False, description="GitHub refused the stored token (401): sign in again with `taskly login`.")


class DevLogin(Input):
    username: Username


class RefreshRequest(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class LogoutRequest(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None


class AuthTokens(Output):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    user: UserOut


class ApiTokenCreate(Input):
    name: Name
    expires_in_days: Annotated[Integer, Field(ge=1, le=3650)] | None = None


class ApiTokenOut(Output):
    id: UUID
    name: str
    scopes: list[str] = []
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The secret, shown only in this response.")


# --- workspaces and members ------------------------------------------------------------------


class WorkspaceCreate(Input):
    id: UUID | None = None
    name: Name


class WorkspacePatch(Input):
    name: Name | None = None


class WorkspaceOut(Output):
    id: UUID
    name: str
    role: Role
    seq: int
    version: int
    created_at: datetime
    updated_at: datetime


class MemberOut(Output):
    user_id: UUID
    username: str
    name: str | None = None
    role: Role
    joined_at: datetime


class MemberPatch(Input):
    role: Role


class InvitationCreate(Input):
    role: Role = Role.MEMBER
    expires_in_hours: Annotated[Integer, Field(ge=1, le=24 * 90)] = 24 * 7


class InvitationOut(Output):
    id: UUID | None = Field(default=None, description="What `DELETE /invitations/{id}` revokes.")
    token: str
    workspace_id: UUID
    role: Role
    expires_at: datetime


class PendingInvitationOut(Output):
    """An open invitation as admins list it: never its token."""

    id: UUID
    workspace_id: UUID
    role: Role
    created_by: UUID | None = None
    created_by_username: str | None = None
    created_at: datetime
    expires_at: datetime


# --- boards and columns ----------------------------------------------------------------------


class ColumnOut(Output):
    id: UUID
    board_id: UUID
    name: str
    kind: ColumnKind
    rank: str
    wip_limit: int | None = None
    version: int


class ColumnCreate(Input):
    id: UUID | None = None
    name: Name
    kind: ColumnKind = ColumnKind.TODO
    wip_limit: Annotated[Integer, Field(ge=1, le=999)] | None = None
    position: Annotated[Integer, Field(ge=0, le=999)] | None = Field(
        default=None, description="0-based place among the columns; the end when absent."
    )


class ColumnPatch(Input):
    name: Name | None = None
    kind: ColumnKind | None = None
    wip_limit: Annotated[Integer, Field(ge=1, le=999)] | None = None
    position: Annotated[Integer, Field(ge=0, le=999)] | None = None


class BoardCreate(Input):
    id: UUID | None = None
    name: Name
    key: BoardKey


class BoardPatch(Input):
    name: Name | None = None
    archived: bool | None = None
    branch_template: Annotated[str, StringConstraints(min_length=1, max_length=200), OneLine] | None = None
    default_repository_id: UUID | None = Field(
        default=None, description="A connected repository of the board's workspace; null clears it.")


class BoardOut(Output):
    id: UUID
    workspace_id: UUID
    name: str
    key: str
    archived: bool
    next_card_number: int
    branch_template: str | None = None
    default_repository_id: UUID | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    columns: list[ColumnOut] = []


# --- cards -----------------------------------------------------------------------------------


class FieldConflict(Output):
    """A field this write overwrote although its client had not seen the current value."""

    field: str
    overwritten: Any = None
    value: Any = None


class PullRequestState(StrEnum):
    OPEN = "open"
    DRAFT = "draft"
    CLOSED = "closed"
    MERGED = "merged"


class CiState(StrEnum):
    """CI of a pull request's head commit: any failure fails it, then any pending keeps it pending."""

    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"
    NONE = "none"


class CheckOut(Output):
    """One check of a commit: a check run, a check suite or a commit status."""

    name: str
    kind: Literal["check_run", "check_suite", "status"]
    state: Literal["success", "failure", "pending", "neutral"]
    url: str | None = None
    at: datetime | None = Field(default=None, description="GitHub's time of this state.")


class PullRequestOut(Output):
    """A GitHub pull request linked to a card, as its webhooks last described it."""

    id: UUID
    repository: str = Field(description="`owner/name`.")
    number: int
    title: str
    state: PullRequestState
    url: str | None = None
    author: str | None = None
    head_branch: str | None = None
    base_branch: str | None = None
    head_sha: str | None = None
    commit_count: int | None = None
    draft: bool = False
    mergeable: bool | None = Field(default=None, description="GitHub's answer; null while it computes it.")
    mergeable_state: str | None = Field(default=None, description="clean, dirty (conflicts), blocked, "
                                                                  "behind, unstable, draft, unknown.")
    additions: int | None = None
    deletions: int | None = None
    ci: CiState = CiState.NONE
    checks: list[CheckOut] = []
    approvals: int = 0
    changes_requested: int = 0
    merged_at: datetime | None = None
    updated_at: datetime | None = Field(default=None, description="GitHub's updated_at.")


class LinkedPullRequest(Output):
    """`taskly pr ls --json`: a pull request and the card of the board it is linked to."""

    card: str = Field(description="The card's key.")
    card_id: UUID
    card_title: str
    column: str
    pull_request: PullRequestOut


class CardOut(Output):
    id: UUID
    key: str
    number: int
    board_id: UUID
    workspace_id: UUID
    title: str
    description: str = ""
    column: str
    column_id: UUID
    column_kind: ColumnKind
    rank: str
    labels: list[str] = []
    priority: Priority = Priority.NONE
    points: int | None = None
    due: date | None = None
    remind_at: datetime | None = None
    recurrence: Recurrence = Recurrence.NONE
    recurrence_interval: int = 1
    assignees: list[str] = []
    sprint_id: UUID | None = None
    branch: str | None = None
    created_by: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    pull_requests: list[PullRequestOut] = Field(
        default=[], description="Linked GitHub pull requests, by repository and number.")
    conflicts: list[FieldConflict] = Field(
        default=[], description="Only in the answer to a write: same-field conflicts it overwrote."
    )


class BoardDetail(BoardOut):
    cards: list[CardOut] = []


class CardFields(Input):
    """The editable fields of a card; a PATCH changes only the fields it names."""

    title: Title | None = None
    description: Markdown | None = None
    labels: Annotated[list[Label], Field(max_length=50)] | None = None
    priority: Priority | None = None
    points: Annotated[Integer, Field(ge=0, le=99)] | None = None
    due: date | None = None
    remind_at: datetime | None = None
    recurrence: Recurrence | None = None
    recurrence_interval: Annotated[Integer, Field(ge=1, le=365)] | None = None
    assignees: Annotated[list[Username], Field(max_length=20)] | None = None
    sprint_id: UUID | None = None


class CardCreate(CardFields):
    id: UUID | None = Field(default=None, description="Chosen by a client that creates offline.")
    title: Title
    column: CardRef | None = Field(default=None, description="Column name or id; first column when absent.")


class CardPatch(CardFields):
    column: CardRef | None = Field(default=None, description="Move to the bottom of this column.")
    branch: GitRefName | None = Field(
        default=None, description="The card's git branch (set by `taskly start` offline); null clears it.")
    base_version: Annotated[Integer, Field(ge=0)] | None = Field(
        default=None, description="The card version the client saw (also accepted as If-Match)."
    )


class CardMove(Input):
    column: CardRef = Field(description="Target column: name (case-insensitive) or id.")
    before: CardRef | None = Field(default=None, description="Place just before this card.")
    after: CardRef | None = Field(default=None, description="Place just after this card.")
    position: Literal["top", "bottom"] | None = None
    base_version: Annotated[Integer, Field(ge=0)] | None = None


class BulkCardPatch(CardPatch):
    card: CardRef
    deleted: bool | None = Field(
        default=None, description="true: delete the card (soft, restorable); false: restore it.")


class BulkUpdate(Input):
    cards: Annotated[list[BulkCardPatch], Field(min_length=1, max_length=500)]


class CommentCreate(Input):
    id: UUID | None = None
    body: CommentBody


class CommentPatch(Input):
    body: CommentBody


class CommentOut(Output):
    id: UUID
    card_id: UUID
    author_id: UUID | None = None
    author: str | None = None
    body: str
    edited: bool
    deleted: bool
    version: int
    created_at: datetime
    updated_at: datetime


# --- labels ----------------------------------------------------------------------------------


def _hex_color(value: str) -> str:
    from .labels import normal_color

    return normal_color(value)


HexColor = Annotated[str, StringConstraints(max_length=16), AfterValidator(_hex_color)]
"""A label colour: `#rrggbb` (also read: `RRGGBB`, `#rgb`), stored lower case."""
LabelDescription = Annotated[str, StringConstraints(max_length=500), OneLine]


class LabelCreate(Input):
    id: UUID | None = None
    name: Label
    color: HexColor | None = Field(default=None, description="`#rrggbb`; a palette colour when absent.")
    description: LabelDescription | None = None


class LabelPatch(Input):
    name: Label | None = Field(default=None, description="Renames the label on every card, in one transaction.")
    color: HexColor | None = None
    description: LabelDescription | None = Field(default=None, description="null or \"\" clears it.")
    base_version: Annotated[Integer, Field(ge=0)] | None = Field(
        default=None, description="The label version the client saw: 409 when it moved on.")


class LabelOut(Output):
    """A label of the workspace's catalogue: cards name it by `name`."""

    id: UUID
    workspace_id: UUID
    name: str
    color: str
    description: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime


class LabelChanged(Output):
    """A label rename or delete: the label and how many cards it changed."""

    label: LabelOut
    cards: int = Field(description="Cards whose labels changed (one Change each).")


# --- activity (the audit log) -------------------------------------------------------------------


class ActivityPage(Output):
    """A page of a workspace's activity, newest first."""

    changes: list[ChangeOut]
    next_cursor: int | None = Field(
        default=None, description="Pass as `cursor` for the next (older) page; null at the end.")


# --- sprints ---------------------------------------------------------------------------------


class SprintStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"


SprintGoal = Annotated[str, StringConstraints(max_length=500), MultiLine]
Points = Annotated[Integer, Field(ge=0, le=9999)]


class SprintCreate(Input):
    id: UUID | None = Field(default=None, description="Chosen by a client that creates offline.")
    name: Name = Field(description="Unique on the board (case-insensitive) among live sprints.")
    start_date: date
    end_date: date = Field(description="On or after start_date (422 otherwise).")
    goal: SprintGoal | None = None
    capacity_points: Points = 40


class SprintPatch(Input):
    """Changes only the fields it names; null clears the goal."""

    name: Name | None = None
    start_date: date | None = None
    end_date: date | None = None
    goal: SprintGoal | None = None
    capacity_points: Points | None = None
    base_version: Annotated[Integer, Field(ge=0)] | None = Field(
        default=None, description="The sprint version the client saw (also accepted as If-Match): "
                                  "another one is 409.")


class SprintClose(Input):
    carry_over_to: UUID | None = Field(
        default=None, description="An open sprint of the same board that takes the unfinished "
                                  "cards; null: they leave the sprint.")


class SprintOut(Output):
    """A sprint; the counts and points are over its live cards, `status` is as of today (UTC)."""

    id: UUID
    board_id: UUID
    workspace_id: UUID
    name: str
    start_date: date
    end_date: date
    goal: str | None = None
    capacity_points: int
    status: SprintStatus
    overdue: bool = Field(description="Open past its end date (status stays active until closed).")
    closed_at: datetime | None = None
    card_count: int = 0
    committed_points: int = Field(default=0, description="Points of its cards.")
    completed_points: int = Field(default=0, description="Points of its cards in a done column.")
    remaining_points: int = 0
    over_capacity: bool = False
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class SprintClosed(Output):
    """The answer to a close: the closed sprint, the cards carried over and where to."""

    sprint: SprintOut
    carried_over: list[str] = Field(description="Keys of the unfinished cards that left the sprint.")
    carry_over_to: SprintOut | None = None


class BurndownDay(Output):
    """The sprint at the end of one day (UTC)."""

    date: date
    remaining_points: int
    completed_points: int
    scope_points: int = Field(description="Points of the cards in the sprint.")
    ideal_points: float = Field(description="Linear from the first day's scope to 0 at the end date.")


class SprintBurndown(Output):
    sprint: SprintOut
    days: list[BurndownDay] = Field(description="From start_date to min(end_date, today).")


# --- the change feed -------------------------------------------------------------------------


class Actor(Output):
    type: Literal["user", "token", "automation", "system"]
    id: UUID | None = None
    name: str | None = None
    delivery_id: str | None = None


class FieldChange(Output):
    old: Any = None
    new: Any = None


class ChangeOut(Output):
    seq: int
    workspace_id: UUID
    entity_type: str
    entity_id: UUID
    op: Literal["create", "update", "delete", "restore", "move"]
    version: int | None = None
    changes: dict[str, FieldChange] = {}
    data: dict[str, Any] | None = Field(default=None, description="The entity after the change.")
    actor: Actor
    mutation_id: str | None = None
    conflicts: list[str] = []
    created_at: datetime


class Problem(Output):
    """RFC 9457 problem details, with a stable `code`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    code: str


class ChangesPage(Output):
    """A page of the change feed: changes with seq > since, oldest first."""

    changes: list[ChangeOut]
    next_since: int = Field(description="Pass as `since` for the next page.")
    has_more: bool
    seq: int = Field(description="The workspace's newest seq when this page was read.")


class WorkspaceData(Output):
    """A workspace as it appears in the feed and the snapshot (no per-user role)."""

    id: UUID
    name: str
    version: int
    created_at: datetime
    updated_at: datetime


class Snapshot(Output):
    """Everything a client caches for one workspace, valid at `seq`."""

    seq: int
    workspace: WorkspaceOut
    members: list[MemberOut]
    boards: list[BoardOut]
    cards: list[CardOut] = Field(description="Soft-deleted cards included, with deleted_at set.")
    sprints: list[SprintOut] = Field(default=[], description="The live boards' sprints, not deleted.")
    labels: list[LabelOut] = Field(default=[], description="The workspace's label catalogue, by name.")


# --- GitHub: login, repositories, branches, jobs ----------------------------------------------


class DeviceCodeOut(Output):
    """The start of `taskly login`: show `user_code`, open `verification_uri`, poll every `interval` s."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


class DevicePoll(Input):
    device_code: Annotated[str, StringConstraints(min_length=1, max_length=200)]


GitHubFullName = Annotated[str, StringConstraints(
    strip_whitespace=True, max_length=201,
    pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")]


class RepositoryConnect(Input):
    full_name: GitHubFullName = Field(description="`owner/name` on GitHub.")
    board_id: UUID | None = Field(
        default=None, description="Also make it this board's default repository (if it has none).")


class RepositoryOut(Output):
    id: UUID
    workspace_id: UUID
    github_id: int | None = None
    owner: str
    name: str
    full_name: str
    default_branch: str
    active: bool
    webhook: Literal["registered", "manual", "none"] = Field(
        description="registered: Taskly created the hook; manual: set by hand with the secret shown once.")
    html_url: str
    version: int
    created_at: datetime
    updated_at: datetime


class GitHubRepositoryOut(Output):
    """A repository on GitHub as the signed-in user sees it (`GET /user/repos`): what `taskly repo
    connect` offers to connect."""

    github_id: int
    owner: str
    name: str
    full_name: str
    private: bool
    description: str | None = None
    default_branch: str
    html_url: str
    admin: bool = Field(description="The user can administer it (connect it, register its webhook).")
    push: bool
    pushed_at: datetime | None = None


class JobStatus(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    COMPLETE = "complete"
    FAILED = "failed"
    ABORTED = "aborted"


class JobOut(Output):
    """A background job (SAQ); readable by whoever may act on its subject."""

    id: str
    function: str
    status: JobStatus
    result: Any = None
    error: str | None = Field(default=None, description="Why the last attempt failed, in one line.")
    attempts: int = 0
    retries: int = Field(default=1, description="Attempts allowed in total.")


class JobAccepted(Output):
    """202: the work runs in a job; poll `GET /api/v1/jobs/{job_id}`."""

    job_id: str
    status: JobStatus = JobStatus.QUEUED


class RepositoryConnectOut(JobAccepted):
    full_name: str


class RepositorySync(Input):
    numbers: list[Annotated[int, Field(ge=1, lt=2**31)]] | None = Field(
        default=None, max_length=100,
        description="Only these pull requests; else every pull request changed since the last reconcile.")


class DeliveryFailure(Output):
    delivery_id: str
    event: str
    received_at: datetime
    error: str | None = None


class GitHubBudget(Output):
    """A GitHub token's REST budget, as GitHub's last answer to it said (`X-RateLimit-*`)."""

    remaining: int
    limit: int
    reset_at: datetime


class RepositoryStatus(Output):
    """`taskly repo status`: how the repository's webhooks and reconcile are doing."""

    repository: RepositoryOut
    last_delivery_at: datetime | None = Field(default=None, description="The last webhook received.")
    deliveries_24h: int = 0
    failed_24h: int = Field(default=0, description="Deliveries of the last 24 h that could not be "
                                                   "processed (invalid, or unprocessed after their retries).")
    last_failure: DeliveryFailure | None = None
    reconciled_at: datetime | None = Field(default=None, description="The last reconcile or backfill.")
    github_budget: GitHubBudget | None = Field(
        default=None, description="What is left of the GitHub budget of the token repository work uses; "
                                  "under 5 %, background work waits for the reset.")


class RepositorySyncOut(JobAccepted):
    """`reconcile_repository` queued: its result lists what changed."""

    repository_id: UUID
    full_name: str


class CreateBranch(Input):
    base: GitRefName | None = Field(default=None, description="Base branch; the repository default.")


class CreateBranchOut(JobAccepted):
    card_id: UUID
    key: str
    branch: str
    repository: str = Field(description="`owner/name` the branch is created in.")
    base: str | None = None


# --- GitHub: webhooks and board automation ----------------------------------------------------


class WebhookAccepted(Output):
    """The answer to a GitHub delivery: queued for processing, a redelivery, or not acted on."""

    delivery_id: str
    event: str
    status: Literal["queued", "duplicate", "ignored"]


class AutomationEvent(StrEnum):
    """What a pull request does that may move its cards."""

    PR_OPENED = "pr_opened"
    PR_READY_FOR_REVIEW = "pr_ready_for_review"
    PR_REVIEW_REQUESTED = "pr_review_requested"
    PR_APPROVED = "pr_approved"
    PR_CHANGES_REQUESTED = "pr_changes_requested"
    PR_CONVERTED_TO_DRAFT = "pr_converted_to_draft"
    PR_MERGED = "pr_merged"
    PR_CLOSED = "pr_closed"


class AutomationRuleOut(Output):
    """Where a board moves a linked card when `event` happens; no column: the card stays."""

    event: AutomationEvent
    enabled: bool = Field(description="False: the event moves no card.")
    kind: ColumnKind | None = Field(default=None, description="Targets the board's first column of this kind.")
    column_id: UUID | None = Field(default=None, description="The column cards move to now.")
    column: str | None = Field(default=None, description="Its name.")
    default: bool = Field(description="Taskly's default rule (never set on this board).")


class BoardAutomation(Output):
    board_id: UUID
    rules: list[AutomationRuleOut]
    pr_comment: bool = Field(default=True, description="Taskly keeps one comment on each linked pull "
                                                      "request naming its cards (key, title, column, assignees).")
    version: int = Field(description="The board's version.")


class AutomationRuleSet(Input):
    """One rule: a column (name or id), or a column kind, or off."""

    column: CardRef | None = None
    kind: ColumnKind | None = None
    enabled: bool = True


class AutomationUpdate(Input):
    """Rules to change; null resets an event to Taskly's default. Events not named keep theirs.
    `pr_comment`: the comment on linked pull requests on or off (not given: unchanged)."""

    rules: dict[AutomationEvent, AutomationRuleSet | None] = Field(default_factory=dict)
    pr_comment: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> AutomationUpdate:
        if not self.rules and self.pr_comment is None:
            raise ValueError("give rules to change, or pr_comment")
        return self


# --- notifications and user settings ------------------------------------------------------------


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"
    MENTIONED = "mentioned"
    COMMENTED = "commented"
    CI_FAILED = "ci_failed"
    CHANGES_REQUESTED = "changes_requested"
    MOVED_BY_AUTOMATION = "moved_by_automation"
    REMINDER = "reminder"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


class NotificationOut(Output):
    id: UUID
    seq: int = Field(description="Per user, in commit order: the WebSocket catch-up cursor.")
    kind: NotificationKind
    workspace_id: UUID
    card_id: UUID | None = None
    card_key: str | None = None
    card_title: str | None = None
    actor: str | None = Field(default=None, description="Who caused it (username, or the rule).")
    message: str
    created_at: datetime
    read_at: datetime | None = None


class NotificationsPage(Output):
    """Newest first; pass `next_cursor` as `cursor` for the next (older) page."""

    notifications: list[NotificationOut]
    next_cursor: str | None = None
    unread: int = Field(description="The user's unread notifications in all.")


class NotificationsRead(Input):
    """Mark notifications read: some by id, or all of them."""

    ids: Annotated[list[UUID], Field(max_length=500)] | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> NotificationsRead:
        if (self.ids is None) == (not self.all):
            raise ValueError('give either "ids" or "all": true')
        return self


class NotificationsReadResult(Output):
    marked: int = Field(description="Notifications newly marked read.")
    unread: int


def _time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # stdlib; only when a zone is checked

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/Berlin)") from None
    return value


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_time_zone)]


class UserSettings(Output):
    timezone: str = "UTC"
    notify: dict[NotificationKind, bool] = Field(
        default_factory=dict, description="Kinds turned off (false) or on; absent: on.")


class UserSettingsPatch(Input):
    timezone: TimeZone | None = None
    notify: dict[NotificationKind, bool] | None = Field(
        default=None, description="Kinds to turn on or off; kinds not named keep their setting.")


class ConsumerLag(Output):
    consumer: str
    workspace_id: UUID
    cursor: int
    head: int
    lag: int
