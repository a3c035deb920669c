"""Human and JSON renderings of plans and results. No click here: plain strings."""

from __future__ import annotations

import csv
import difflib
import io
import json
from typing import TYPE_CHECKING, Any

from .context import Context
from .plan import NOT_STARTED, UNKNOWN, Action, ApplyResult, Change, Plan

if TYPE_CHECKING:
    from .access import AccessReport
    from .commands.access import AccessResult
    from .commands.change import ChangeResult

SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.PROVISION: ">"}
COLORS = {Action.CREATE: "32", Action.UPDATE: "33", Action.DELETE: "31", Action.PROVISION: "36"}
VALUE_WIDTH = 100
# Unchanged lines shown around each change in a document diff.
DIFF_CONTEXT = 3
DIFF_COLORS = {"-": "31", "+": "32", "@": "36"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)) and not value:
        return "[]" if isinstance(value, list) else "{}"
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def render_change(change: Change[Any], color: bool = False) -> list[str]:
    head = f"{SYMBOLS[change.action]} {change.kind.label} {change.key}"
    # A deletion is red from end to end; other changes colour only their symbol.
    if change.action is Action.DELETE:
        head = _paint(head, COLORS[change.action], color)
    else:
        head = _paint(head[0], COLORS[change.action], color) + head[1:]
    lines = [f"  {head}"]
    width = max((len(f.name) for f in change.fields), default=0)
    for f in change.fields:
        label = f"{f.name}:".ljust(width + 1)
        if f.name in {"managed_policies", "customer_managed_policies"}:
            lines.append(f"      {label}")
            lines.extend(f"          - {p}" for p in f.old or [])
            lines.extend(f"          + {p}" for p in f.new)
        elif change.action is Action.UPDATE and f.name == "inline_policy":
            lines.append(f"      {f.name}:")
            lines.extend(f"          {line}" for line in document_diff(f.old, f.new, color))
        elif change.action is Action.UPDATE and f.name == "tags":
            lines.append(f"      {f.name}:")
            lines.extend(f"          {line}" for line in tag_changes(f.old, f.new))
        elif change.action is Action.UPDATE:
            lines.append(f"      {label} {_value(f.old)} -> {_value(f.new)}")
        elif change.action is Action.DELETE:
            # What goes (whose set it is), or why (a reason has no old value).
            lines.append(f"      {label} {_value(f.new if f.old is None else f.old)}")
        else:
            lines.append(f"      {label} {_value(f.new)}")
    return lines


def tag_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """One line per tag: removed (-), added (+), or its value changed, old -> new."""
    lines = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            lines.append(f"- {key}={old[key]}")
        elif key not in old:
            lines.append(f"+ {key}={new[key]}")
        else:
            lines.append(f"{key}: {_value(old[key])} -> {_value(new[key])}")
    return lines


def document_diff(old: Any, new: Any, color: bool = False) -> list[str]:
    """A unified diff of two JSON documents, pretty-printed with sorted keys: only the
    changed lines and a few around them, so one statement in a 30 KB policy is two lines."""

    def pretty(document: Any) -> list[str]:
        return [] if document is None else json.dumps(document, indent=2, sort_keys=True).splitlines()

    out = []
    for line in difflib.unified_diff(pretty(old), pretty(new), lineterm="", n=DIFF_CONTEXT):
        if line.startswith(("---", "+++")):
            continue  # file headers: there are no files
        code = DIFF_COLORS.get(line[:1])
        out.append(_paint(line, code, color) if code else line)
    return out


def render_context(ctx: Context | None) -> str:
    if ctx is None:
        return ""
    return (
        f"IAM Identity Center {ctx.instance_arn} (identity store {ctx.identity_store_id}) "
        f"in {ctx.region}, account {ctx.account_id} ({render_role(ctx)})"
    )


def render_role(ctx: Context) -> str:
    """Where the caller's account stands: "management account", or "delegated administrator;
    management account 123456789012"."""
    if ctx.in_management_account:
        return ctx.account_role.value
    return f"{ctx.account_role.value}; management account {ctx.management}"


NO_CHANGES = "No changes: IAM Identity Center matches the config."
NOTHING_TO_DESTROY = "Nothing to destroy: none of what the config declares exists."
# When what exists is left because it is not this config's (a set another config owns).
NOTHING_OURS_TO_DESTROY = "Nothing to destroy: what the config declares and exists is not this config's to delete."
NOTHING_TO_EXPIRE = "Nothing to expire: no assignment the config declares is past its until."


def render_owner(plan: Plan) -> str:
    """Which config plans, and which permission sets it owns (and so may prune)."""
    tag = plan.context.get("ownership_tag")
    if not tag:
        return ""
    name = plan.context.get("config")
    owned = f"owns the permission sets tagged {tag['key']}={tag['value']}"
    if name:
        return f"config {name}: {owned}"
    return f"config without a name: {owned} (as does every config without one; add name: to tell them apart)"


def render_plan(plan: Plan, ctx: Context | None, color: bool = False, when_empty: str = NO_CHANGES) -> str:
    """The plan for people; `when_empty` is the command's own words for a plan with no change."""
    lines = [render_context(ctx)] if ctx else []
    if owner := render_owner(plan):
        lines.append(owner)
    if lines:
        lines.append("")
    if plan.empty and plan.errors:
        lines.append("No changes found in what could be read.")
    elif plan.empty and when_empty == NOTHING_TO_DESTROY and any(plan.unchanged.values()):
        lines.append(NOTHING_OURS_TO_DESTROY)
    elif plan.empty:
        lines.append(when_empty)
    else:
        for change in plan.changes:
            lines.extend(render_change(change, color))
        lines.append("")
    lines.extend(f"note: {note}" for note in plan.notes)
    lines.extend(_paint(f"warning: {warning}", "33", color) for warning in plan.warnings)
    lines.extend(_paint(f"error: {error}", "31", color) for error in plan.errors)
    lines.append(f"Plan: {plan.summary()}.")
    if plan.errors:
        lines.append(f"The plan has {len(plan.errors)} error(s): fix them before applying; nothing will be changed.")
    return "\n".join(lines)


# How each outcome's line begins, and its colour (none for a change not started).
RESULT_MARKS = {
    "done": ("ok", "32"),
    "failed": ("FAILED", "31"),
    UNKNOWN: ("unknown", "33"),
    NOT_STARTED: ("not started", ""),
}


def change_words(change: Change[Any]) -> str:
    """What a change does, in words: `create user kim`, or `provisioning Dev` where the
    kind's name says the action already."""
    if change.kind.label.startswith(change.action.value):
        return f"{change.kind.label} {change.key}"
    return f"{change.action.value} {change.kind.label} {change.key}"


def render_result(result: ApplyResult, plan: Plan, color: bool = False, verb: str = "Apply") -> str:
    """One line per change: done, failed, not started or unknown; then the counts."""
    lines = []
    for outcome in result.outcomes:
        label, paint = RESULT_MARKS[outcome.status]
        mark = _paint(label.ljust(6), paint, color and bool(paint))  # padded first: colour codes have width 0
        line = f"  {mark} {change_words(outcome.change)}"
        if outcome.detail:
            line += f": {outcome.detail}"
        if outcome.request_id and not outcome.ok and outcome.request_id not in outcome.detail:
            line += f" [request id {outcome.request_id}]"
        lines.append(line)
    counts, unchanged = result.counts(), plan.counts()["unchanged"]
    lines.append("")
    if result.stopped:
        lines.append(
            f"Stopped: {counts['done']} done, {counts['failed']} failed, {counts[NOT_STARTED]} not started, "
            f"{counts[UNKNOWN]} unknown."
        )
        lines.append(f"error: {result.stopped}")
    elif result.interrupted:
        lines.append(
            f"Interrupted: {counts['done']} done, {counts['failed']} failed, {counts[NOT_STARTED]} not started, "
            f"{counts[UNKNOWN]} unknown."
        )
        lines.append(
            "Requests in flight may still finish: run `provisioner plan` to see where things stand; "
            "the same command again finishes the job."
        )
    elif counts["failed"]:
        lines.append(f"{verb}: {counts['done']} done, {counts['failed']} failed, {unchanged} unchanged.")
    else:
        lines.append(f"{verb} complete: {counts['done']} done, {unchanged} unchanged.")
    return "\n".join(lines)


def context_json(ctx: Context | None) -> dict[str, Any] | None:
    if ctx is None:
        return None
    return {
        "instance_arn": ctx.instance_arn,
        "identity_store_id": ctx.identity_store_id,
        "account_id": ctx.account_id,
        "region": ctx.region,
        "account_role": ctx.account_role.value,
        "management_account": ctx.management,
    }


def document(
    command: str, ctx: Context | None, plan: Plan | None = None, result: ApplyResult | None = None, **extra: Any
) -> str:
    """The one JSON document a command prints on stdout with --output json."""
    doc: dict[str, Any] = {"command": command, "context": context_json(ctx)}
    if plan is not None:
        if doc["context"] is not None:
            doc["context"].update(plan.context)
        doc["plan"] = plan.to_json()
    if result is not None:
        doc["result"] = result.to_json()
    doc.update(extra)
    return json.dumps(doc, indent=2, sort_keys=False, default=str)


def change_document(outcome: ChangeResult) -> str:
    """The JSON document of apply, destroy and bootstrap."""
    extra: dict[str, Any] = {"applied": outcome.result is not None}
    if outcome.refused is None:
        extra["interrupted"] = outcome.interrupted
    extra["api_calls"] = outcome.api_calls
    if outcome.refused is None:
        extra["handoff"] = outcome.handoff.to_json() if outcome.handoff else {"text": ""}
    return document(outcome.command, outcome.ctx, outcome.plan, outcome.result, **extra, **outcome.extra)


# -- the access report ---------------------------------------------------------------------
# (title in the text table and Markdown, key in CSV and JSON) of each column; "declared" only
# when a config was given.
ACCESS_COLUMNS = (
    ("USER", "user"),
    ("ACCOUNT", "account_id"),
    ("ACCOUNT NAME", "account_name"),
    ("PERMISSION SET", "permission_set"),
    ("VIA", "via"),
    ("ADMIN", "admin"),
    ("DECLARED", "declared"),
)
CSV_COLUMNS = (
    "user",
    "account_id",
    "account_name",
    "permission_set",
    "via",
    "group",
    "admin",
    "admin_reasons",
    "declared",
)
NO_GRANTS = "Nobody reaches any account"
YES_NO = {True: "yes", False: "no", None: "?"}


def _columns(report: AccessReport) -> list[tuple[str, str]]:
    return [c for c in ACCESS_COLUMNS if c[1] != "declared" or report.config is not None]


def _cells(report: AccessReport) -> list[dict[str, str]]:
    """Each grant as the text table and Markdown show it, on one line each."""
    rows = []
    for g in report.grants:
        rows.append(
            {
                "user": g.user,
                "account_id": g.account_id,
                "account_name": g.account_name if g.account_name is not None else "-",
                "permission_set": g.permission_set,
                "via": "direct" if g.group is None else f"group {g.group}",
                "admin": YES_NO[None if g.admin is None else bool(g.admin)],
                "declared": YES_NO[g.declared],
            }
        )
    # Names may hold any character (an account name is any text up to 128): one line per cell.
    return [{k: " ".join(v.split()) or "-" for k, v in row.items()} for row in rows]


def access_summary(report: AccessReport) -> str:
    """The closing line: how many grants, users, sets and accounts; admin-grade; undeclared."""
    counts = report.summary()
    if not counts["grants"]:
        return f"{NO_GRANTS}{' with these filters' if report.filtered else ''}."
    text = (
        f"{counts['grants']} grant(s): {counts['users']} user(s) reach {counts['permission_sets']} permission "
        f"set(s) on {counts['accounts']} account(s); {counts['admin']} admin-grade"
    )
    if report.config is not None:
        text += f"; {counts['undeclared']} not declared in {report.config}"
    return text + "."


def _admin_line(report: AccessReport) -> str:
    sets = "; ".join(f"{name} ({', '.join(reasons)})" for name, reasons in report.admin_sets.items())
    return f"admin-grade permission sets: {sets}" if sets else ""


def render_access(report: AccessReport, ctx: Context | None, color: bool = False) -> str:
    """The text table, then the admin-grade sets, notes, warnings and the counts."""
    lines = [render_context(ctx), ""] if ctx else []
    columns, rows = _columns(report), _cells(report)
    if rows:
        widths = {key: max([len(title)] + [len(r[key]) for r in rows]) for title, key in columns}
        lines.append("  ".join(title.ljust(widths[key]) for title, key in columns).rstrip())
        for row in rows:
            cells = []
            for _, key in columns:
                cell = row[key].ljust(widths[key])
                if (key == "admin" and row[key] != "no") or (key == "declared" and row[key] == "no"):
                    cell = _paint(cell, "31" if key == "admin" else "33", color)
                cells.append(cell)
            lines.append("  ".join(cells).rstrip())
        lines.append("")
    if admin := _admin_line(report):
        lines.append(admin)
    lines.extend(f"note: {note}" for note in report.notes)
    lines.extend(_paint(f"warning: {warning}", "33", color) for warning in report.warnings)
    lines.append(access_summary(report))
    return "\n".join(lines)


def _markdown_cell(text: str) -> str:
    """Backslash-escaped where Markdown would read it as table, emphasis, link, code or HTML."""
    return "".join(f"\\{c}" if c in "\\|*_`[]<>~@#" else c for c in text)


def render_access_markdown(report: AccessReport, ctx: Context | None) -> str:
    """A Markdown table for a pull request or a job summary, then the same closing lines."""
    lines = ["### Who can reach what", ""]
    if ctx:
        lines += [f"IAM Identity Center `{ctx.instance_arn}` (identity store `{ctx.identity_store_id}`)", ""]
    columns, rows = _columns(report), _cells(report)
    if rows:
        lines.append("| " + " | ".join(title.capitalize() for title, _ in columns) + " |")
        lines.append("|" + " --- |" * len(columns))
        lines += ["| " + " | ".join(_markdown_cell(row[key]) for _, key in columns) + " |" for row in rows]
        lines.append("")
    if admin := _admin_line(report):
        lines += [_markdown_cell(admin), ""]
    items = [f"note: {n}" for n in report.notes] + [f"warning: {w}" for w in report.warnings]
    if items:
        lines += [f"- {_markdown_cell(item)}" for item in items] + [""]
    lines.append(_markdown_cell(access_summary(report)))
    return "\n".join(lines)


def render_access_csv(report: AccessReport) -> str:
    """One row per grant, every value as it is (a list joined with "; "; a boolean as
    true/false, empty when unknown or, for declared, without a config)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for grant in report.grants:
        item = grant.to_json()
        row = {key: item[key] for key in CSV_COLUMNS}
        row["admin_reasons"] = "; ".join(item["admin_reasons"])
        for key in ("admin", "declared"):
            row[key] = "" if item[key] is None else str(item[key]).lower()
        row["account_name"] = item["account_name"] or ""
        row["group"] = item["group"] or ""
        writer.writerow(row)
    return out.getvalue()


def access_document(result: AccessResult) -> str:
    """The JSON document of `access`."""
    report = result.report
    return document(
        "access",
        result.ctx,
        config=report.config,
        filters=result.filters.to_json(),
        grants=[g.to_json() for g in report.grants],
        admin_permission_sets=report.admin_sets,
        notes=report.notes,
        warnings=report.warnings,
        summary=report.summary(),
        api_calls=result.api_calls,
    )
