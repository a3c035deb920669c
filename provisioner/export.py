"""Live IAM Identity Center -> a config document in our format, which plans clean."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .aws import Clients
from .errors import AwsError
from .steps.assignments import assignments_of_set
from .steps.base import Context, Ids
from .steps.groups import GroupsStep
from .steps.permission_sets import PermissionSetsStep, short_policy_name
from .steps.users import UsersStep, primary_email


def export(
    clients: Clients,
    ctx: Context,
    permission_sets: Iterable[str] = (),
    groups: Iterable[str] = (),
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Read the instance and return a config document. With `permission_sets` or `groups`,
    only those are exported: with `groups`, their members, the permission sets assigned to
    them, and those assignments. Permission sets the caller may not read are left out and
    named in `warnings`."""
    warnings = [] if warnings is None else warnings
    ids = Ids()
    only_sets, only_groups = set(permission_sets), set(groups)
    live_groups = GroupsStep(clients, ctx, ids).read()
    live_users = UsersStep(clients, ctx, ids).read()
    sets_step = PermissionSetsStep(clients, ctx, ids)
    described = sets_step.list_names()
    if sets_step.unreadable:
        action = next(iter(sets_step.unreadable.values())).action
        warnings.append(
            f"{len(sets_step.unreadable)} permission set(s) skipped: the caller may not call {action} on "
            + ", ".join(sorted(sets_step.unreadable))
        )

    group_names = {g["GroupId"]: name for name, g in live_groups.items() if not only_groups or name in only_groups}
    user_names = {u["UserId"]: name for name, u in live_users.items()}
    members: dict[str, list[str]] = {}
    for group_id, group_name in sorted(group_names.items(), key=lambda kv: kv[1]):
        for m in clients.identitystore.pages(
            lambda c, more: c.list_group_memberships(IdentityStoreId=ctx.identity_store_id, GroupId=group_id, **more),
            "GroupMemberships",
        ):
            user = user_names.get(m["MemberId"].get("UserId", ""))
            if user:
                members.setdefault(user, []).append(group_name)

    doc: dict[str, Any] = {"region": ctx.region}
    doc["groups"] = [
        {"name": name, **({"description": g["Description"]} if g.get("Description") else {})}
        for name, g in sorted(live_groups.items())
        if not only_groups or name in only_groups
    ]
    users = []
    for name, u in sorted(live_users.items()):
        if only_groups and name not in members:
            continue
        person = u.get("Name") or {}
        entry: dict[str, Any] = {"user_name": name, "email": primary_email(u) or ""}
        for key, value in (("display_name", u.get("DisplayName")), ("given_name", person.get("GivenName")),
                           ("family_name", person.get("FamilyName"))):  # fmt: skip
            if value:
                entry[key] = value
        if members.get(name):
            entry["groups"] = sorted(members[name])
        users.append(entry)
    doc["users"] = users

    sets = []
    assignments = []
    for name in sorted(described):
        if only_sets and name not in only_sets:
            continue
        arn = described[name]["PermissionSetArn"]
        try:
            its_assignments = _assignments_of(clients, ctx, name, arn, group_names, user_names, only_groups)
            if only_groups and not its_assignments:
                continue  # not assigned to the groups asked for
            live = sets_step.read_one(described[name])
        except AwsError as exc:
            if not exc.denied:
                raise
            warnings.append(f"permission set {name} skipped: the caller may not call {exc.action} on it ({arn})")
            continue
        spec: dict[str, Any] = {"name": name}
        if live.description:
            spec["description"] = live.description
        duration = live.session_duration
        spec["session_duration"] = duration if isinstance(duration, str) else f"PT{int(duration or 3600) // 3600}H"
        if live.relay_state:
            spec["relay_state"] = live.relay_state
        if live.managed:
            spec["managed_policies"] = sorted(short_policy_name(a) for a in live.managed)
        if live.customer:
            spec["customer_managed_policies"] = [{"name": n, "path": p} for n, p in sorted(live.customer)]
        if live.inline:
            spec["inline_policy"] = json.loads(live.inline)
        if live.boundary:
            if "ManagedPolicyArn" in live.boundary:
                spec["permissions_boundary"] = {"managed_policy": short_policy_name(live.boundary["ManagedPolicyArn"])}
            else:
                ref = live.boundary["CustomerManagedPolicyReference"]
                spec["permissions_boundary"] = {"customer_managed_policy": {"name": ref["Name"], "path": ref["Path"]}}
        if live.tags:
            spec["tags"] = dict(sorted(live.tags.items()))
        sets.append(spec)
        assignments.extend(its_assignments)
    doc["permission_sets"] = sets
    doc["assignments"] = assignments
    return doc


def _assignments_of(
    clients: Clients, ctx: Context, set_name: str, set_arn: str, group_names: dict[str, str],
    user_names: dict[str, str], only_groups: set[str],
) -> list[dict[str, Any]]:  # fmt: skip
    """One entry per principal of this set, with every account it is assigned on."""
    by_principal: dict[tuple[str, str], list[str]] = {}
    for principal_type, principal_id, account in assignments_of_set(clients, ctx, set_arn):
        if principal_type == "GROUP":
            name = group_names.get(principal_id)
        else:
            name = None if only_groups else user_names.get(principal_id)
        if name is not None:
            by_principal.setdefault((principal_type, name), []).append(account)
    out = []
    for (kind, name), accts in sorted(by_principal.items()):
        key = "groups" if kind == "GROUP" else "users"
        out.append({"permission_set": set_name, key: [name], "accounts": sorted(set(accts))})
    return out
