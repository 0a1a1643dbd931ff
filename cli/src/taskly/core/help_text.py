"""Help as people read it: each command's examples and the names of option values (`--due DATE`).

Imported only when help is rendered (`taskly.main`'s help context calls `decorate`), so running a
command never pays for these tables. Help text is data: add a command's examples here.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    # the "Examples:" section that ends each command's help, keyed by command path (help text is data)
    "taskly": ("taskly login --server https://taskly.example.com", "taskly add \"Fix the login page\"",
               "taskly mv WEB-12 review"),
    "login": ("taskly login --server https://taskly.example.com",
              "taskly login --dev alice --server http://localhost:8000",
              "echo \"$TASKLY_TOKEN\" | taskly login --with-token"),
    "logout": ("taskly logout",),
    "whoami": ("taskly whoami", "taskly whoami --json"),
    "token": ("taskly token create ci", "taskly token ls", "taskly token revoke ID"),
    "token create": ("taskly token create ci", "taskly token create hooks --json"),
    "token ls": ("taskly token ls", "taskly token ls --json"),
    "token revoke": ("taskly token revoke ID",),
    "workspace": ("taskly workspace create acme", "taskly workspace use acme", "taskly workspace members"),
    "workspace create": ("taskly workspace create acme",),
    "workspace ls": ("taskly workspace ls", "taskly workspace ls --json"),
    "workspace use": ("taskly workspace use acme",),
    "workspace members": ("taskly workspace members", "taskly workspace members --json"),
    "workspace invite": ("taskly workspace invite", "taskly workspace invite --role viewer"),
    "workspace join": ("taskly workspace join TOKEN",),
    "workspace invitations": ("taskly workspace invitations", "taskly workspace invitations revoke ID"),
    "workspace invitations revoke": ("taskly workspace invitations revoke ID",),
    "workspace rename": ("taskly workspace rename acme \"Acme Inc\"",),
    "workspace rm": ("taskly workspace rm acme", "taskly workspace rm acme --yes --json"),
    "workspace leave": ("taskly workspace leave", "taskly workspace leave acme"),
    "member": ("taskly member ls", "taskly member role alice admin", "taskly member rm bob"),
    "member ls": ("taskly member ls", "taskly member ls --json"),
    "member role": ("taskly member role alice admin", "taskly member role bob viewer --json"),
    "member rm": ("taskly member rm bob",),
    "label": ("taskly label ls", "taskly label create bug --color \"#d73a4a\"", "taskly label edit bug --name defect"),
    "label ls": ("taskly label ls", "taskly label ls --json"),
    "label create": ("taskly label create bug", "taskly label create bug --color \"#d73a4a\" --description \"Broken\""),
    "label edit": ("taskly label edit bug --name defect", "taskly label edit bug --color 0e8a16"),
    "label rm": ("taskly label rm defect", "taskly label rm defect --yes"),
    "board": ("taskly board", "taskly board create Web --key WEB", "taskly board use WEB"),
    "board create": ("taskly board create Web --key WEB",),
    "board ls": ("taskly board ls", "taskly board ls --json"),
    "board use": ("taskly board use WEB",),
    "board set-repo": ("taskly board set-repo acme/web",),
    "board rename": ("taskly board rename WEB \"Web app\"",),
    "board archive": ("taskly board archive OLD", "taskly board ls --all"),
    "board unarchive": ("taskly board unarchive OLD",),
    "board rm": ("taskly board rm OLD", "taskly board rm OLD --yes"),
    "board automation": ("taskly board automation show", "taskly board automation set opened review"),
    "board automation show": ("taskly board automation show",),
    "board automation set": ("taskly board automation set opened review", "taskly board automation set pr_comment off"),
    "board automation off": ("taskly board automation off merged",),
    "board automation reset": ("taskly board automation reset merged",),
    "column": ("taskly column ls", "taskly column add QA --position 3", "taskly column rm QA --move-to done"),
    "column ls": ("taskly column ls", "taskly column ls --json"),
    "column add": ("taskly column add QA", "taskly column add QA --kind review --position 3"),
    "column rename": ("taskly column rename QA Testing",),
    "column mv": ("taskly column mv QA 1", "taskly column mv Review 3"),
    "column rm": ("taskly column rm QA --move-to done",),
    "column wip": ("taskly column wip review 3", "taskly column wip review none"),
    "init": ("taskly init", "taskly init --server https://taskly.example.com --workspace acme --board WEB"),
    "ls": ("taskly ls", "taskly ls --sort due --limit 10 --no-done", "taskly ls --where 'label:bug overdue' --json"),
    "show": ("taskly show", "taskly show WEB-12", "taskly show 12 --json"),
    "add": ("taskly add \"Fix the login page\"", "taskly add \"Write docs\" --column todo", "taskly add -e"),
    "edit": ("taskly edit WEB-12 --title \"New title\"", "taskly edit 12 13 --label +triage -p high",
             "taskly edit --where 'label:bug column:todo' --priority high --dry-run"),
    "mv": ("taskly mv WEB-12 review", "taskly mv 12 13 14 done", "taskly mv --where 'label:bug overdue' todo"),
    "assign": ("taskly assign WEB-12 alice", "taskly assign 12 13 bob --add", "taskly assign 12 --remove alice"),
    "comment": ("taskly comment WEB-12 \"Looks good\"", "taskly comment edit 3f2a9c1b \"Looks good to me\"",
                "taskly comment rm 3f2a9c1b"),
    "comment edit": ("taskly comment edit 3f2a9c1b \"Looks good to me\"", "taskly comment edit 3f2a9c1b -e"),
    "comment rm": ("taskly comment rm 3f2a9c1b",),
    "comments": ("taskly comments WEB-12", "taskly comments 12 --json"),
    "log": ("taskly log WEB-12", "taskly log --workspace --user alice --since 7d",
            "taskly log --workspace --entity member --json"),
    "search": ("taskly search login", "taskly search \"login page\" --json", "taskly search login --sort updated --desc"),
    "rm": ("taskly rm WEB-12", "taskly rm 12 13", "taskly rm --where 'label:spam' --dry-run"),
    "restore": ("taskly restore WEB-12",),
    "open": ("taskly open", "taskly open WEB-12"),
    "sprint": ("taskly sprint create \"Sprint 1\" --start today --end +2w", "taskly sprint show",
               "taskly sprint burndown"),
    "sprint create": ("taskly sprint create \"Sprint 1\" --start today --end +2w",
                      "taskly sprint create S2 --start 2026-12-21 --end 2027-01-03 --goal \"Ship search\" --capacity 30"),
    "sprint ls": ("taskly sprint ls", "taskly sprint ls --open --json"),
    "sprint show": ("taskly sprint show", "taskly sprint show \"Sprint 1\" --json"),
    "sprint burndown": ("taskly sprint burndown", "taskly sprint burndown \"Sprint 1\" --json"),
    "sprint add": ("taskly sprint add \"Sprint 1\" WEB-12 WEB-14", "taskly sprint add S2 12 13"),
    "sprint remove": ("taskly sprint remove WEB-12",),
    "sprint close": ("taskly sprint close", "taskly sprint close \"Sprint 1\" --carry-over-to S2"),
    "sprint edit": ("taskly sprint edit \"Sprint 1\" --end +3d --capacity 35",),
    "sprint rm": ("taskly sprint rm S2",),
    "status": ("taskly status", "taskly status --json", "taskly status --prompt"),
    "inbox": ("taskly inbox", "taskly inbox --all --json", "taskly inbox --watch --bell"),
    "inbox read": ("taskly inbox read 6f0c1a2b", "taskly inbox read --all"),
    "config": ("taskly config show", "taskly config set timezone Europe/Berlin",
               "taskly config set notify.reminder off"),
    "config show": ("taskly config show", "taskly config show --json"),
    "config set": ("taskly config set timezone Europe/Berlin", "taskly config set notify.due_soon off"),
    "sync": ("taskly sync", "taskly sync --json"),
    "watch": ("taskly watch", "taskly watch | jq .type"),
    "demo": ("taskly demo", "taskly demo --stop"),
    "repo": ("taskly repo connect acme/web", "taskly repo ls", "taskly repo disconnect acme/web"),
    "repo connect": ("taskly repo connect acme/web", "taskly repo connect"),
    "repo ls": ("taskly repo ls", "taskly repo ls --json", "taskly repo ls --available"),
    "repo status": ("taskly repo status acme/web", "taskly repo status acme/web --json"),
    "repo disconnect": ("taskly repo disconnect acme/web",),
    "start": ("taskly start WEB-12", "taskly start 12"),
    "done": ("taskly done", "taskly done WEB-12"),
    "hooks": ("taskly hooks install",),
    "hooks install": ("taskly hooks install",),
    "wait": ("taskly wait", "taskly wait WEB-12 --timeout 600"),
    "pr": ("taskly pr ls --mine", "taskly pr sync WEB-12", "taskly pr sync --repo acme/web"),
    "pr ls": ("taskly pr ls", "taskly pr ls --mine --json"),
    "pr sync": ("taskly pr sync", "taskly pr sync WEB-12", "taskly pr sync --repo acme/web --json"),
}
"""Each command's examples, printed as the last section of its help (`decorate`)."""

METAVARS: dict[str, str] = {
    # what an option's value is, by its long flag, where the command did not name it (typer would
    # show `<str>` or `<int range>`)
    "--column": "COLUMN", "--move-to": "COLUMN", "--board": "BOARD", "--workspace": "WORKSPACE",
    "--label": "LABEL", "--add-label": "LABEL", "--remove-label": "LABEL",
    "--assign": "USER", "--assignee": "USER", "--priority": "PRIORITY", "--points": "N",
    "--due": "DATE", "--title": "TITLE", "--description": "MARKDOWN", "--key": "KEY", "--kind": "KIND",
    "--role": "ROLE", "--sprint": "SPRINT", "--limit": "N", "--position": "N", "--wip": "N",
    "--expires-days": "DAYS", "--expires-hours": "HOURS", "--interval": "SECONDS",
    "--timeout": "SECONDS", "--wait-timeout": "SECONDS", "--server": "URL", "--base": "BRANCH",
    "--after": "CARD", "--before": "CARD", "--since": "SEQ", "--worktree": "PATH",
    "--color": "HEX", "--name": "NAME", "--user": "USER", "--until": "DATE", "--entity": "ENTITY",
}
"""The metavar of each option that takes a value; an option not listed gets its name upper-cased
(`--goal` → GOAL), N for a whole number, NUMBER for a decimal one."""


def decorate(command, path: str) -> None:
    """One help style for `command` (its path, e.g. `column rm`) and the commands under it: plain
    click help (no rich boxes), a meaningful upper-case name for every option value, and the
    command's examples as the last section, line breaks kept (click's `\\b`)."""
    if getattr(command, "_taskly_help", False):
        return
    command._taskly_help = True
    command.rich_markup_mode = None
    examples = EXAMPLES.get(path)
    if examples:
        command.epilog = "\b\nExamples:\n" + "\n".join(f"  $ {line}" for line in examples)
    for param in command.params:
        if param.param_type_name == "option" and not param.is_flag and not param.metavar:
            param.metavar = option_metavar(param)
    for name, child in getattr(command, "commands", {}).items():
        decorate(child, f"{path} {name}")


def option_metavar(param) -> str:
    """`--due` → DATE: the table's name, else the option's own name (N for a whole number)."""
    flag = next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
    if flag in METAVARS:
        return METAVARS[flag]
    kind = str(getattr(param.type, "name", ""))
    if kind.startswith("int"):
        return "N"
    if kind.startswith("float"):
        return "NUMBER"
    return (param.name or flag.lstrip("-")).upper().replace("-", "_")
