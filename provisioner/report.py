"""Human and JSON renderings of plans and results. No click here: plain strings."""

from __future__ import annotations

import difflib
import json
from typing import TYPE_CHECKING, Any

from .context import Context
from .plan import NOT_STARTED, UNKNOWN, Action, ApplyResult, Change, Plan

if TYPE_CHECKING:
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
            parts = [f"-{k}" for k in f.old] + [f"+{k}={v}" for k, v in f.new.items()]
            lines.append(f"      {label} {' '.join(parts)}")
        elif change.action is Action.UPDATE:
            lines.append(f"      {label} {_value(f.old)} -> {_value(f.new)}")
        elif change.action is Action.DELETE:
            # What goes (whose set it is), or why (a reason has no old value).
            lines.append(f"      {label} {_value(f.new if f.old is None else f.old)}")
        else:
            lines.append(f"      {label} {_value(f.new)}")
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
    management = (
        f"management account {ctx.management_account}" if ctx.management_account else "management account unknown"
    )
    return f"{ctx.account_role.value}; {management}"


NO_CHANGES = "No changes: IAM Identity Center matches the config."
NOTHING_TO_DESTROY = "Nothing to destroy: none of what the config declares exists."


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


def render_result(result: ApplyResult, plan: Plan, color: bool = False) -> str:
    """One line per change done, failed or unknown (not each one not started), then the counts."""
    lines = []
    marks = {"done": ("ok", "32"), "failed": ("FAILED", "31"), UNKNOWN: ("unknown", "33")}
    for outcome in result.outcomes:
        if outcome.status == NOT_STARTED:
            continue
        change = outcome.change
        label, paint = marks[outcome.status]
        mark = _paint(label, paint, color)
        what = f"{change.action.value} {change.kind.label} {change.key}"
        line = f"  {mark:<6} {what}"
        if outcome.detail:
            line += f": {outcome.detail}"
        if outcome.request_id and not outcome.ok and outcome.request_id not in outcome.detail:
            line += f" [request id {outcome.request_id}]"
        lines.append(line)
    counts, unchanged = result.counts(), plan.counts()["unchanged"]
    lines.append("")
    if result.interrupted:
        lines.append(
            f"Interrupted: {counts['done']} done, {counts['failed']} failed, {counts[NOT_STARTED]} not started, "
            f"{counts[UNKNOWN]} unknown."
        )
        lines.append(
            "Requests in flight may still finish: run `provisioner plan` to see where things stand; "
            "the same command again finishes the job."
        )
    elif counts["failed"]:
        lines.append(f"Apply: {counts['done']} done, {counts['failed']} failed, {unchanged} unchanged.")
    else:
        lines.append(f"Apply complete: {counts['done']} done, {unchanged} unchanged.")
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
