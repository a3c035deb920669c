"""Permission sets as AWS has them: read in one call per aspect."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...config import canonical_policy
from ...errors import AwsError, ProvisionerError
from ...retry import Mapper, sequential

if TYPE_CHECKING:
    from ...aws import Clients
    from ...context import Context

CustomerRef = tuple[str, str]  # (name, path)
NOT_FOUND = ("ResourceNotFoundException",)


@dataclass(frozen=True)
class LivePermissionSet:
    arn: str
    name: str
    description: str | None
    session_duration: str | int | None
    relay_state: str | None
    managed: frozenset[str] = frozenset()
    customer: frozenset[CustomerRef] = frozenset()
    inline: str | None = None  # canonical JSON
    boundary: Mapping[str, Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PermissionSets:
    """What was read of the instance's permission sets.

    `described`: name -> DescribePermissionSet of every set the caller may describe (names
    need a describe); `unreadable`: ARN -> the action denied on the others (a policy scoped by
    tags), whose names are unknown. `live`: the sets read whole (the declared ones, or those
    exported); `denied`: name -> the action denied while reading one whole. With prune,
    `tags` of the sets the config does not declare (whose they are), and `hidden`: name ->
    the action denied reading those tags. Run from another account than the management
    account: `on_management`, the ARNs of the sets provisioned to the management account (its
    delegated administrator may not change them), or `management_unread`, the action denied
    listing them. `missing_policies`: ARN -> a close match (or None), of the policies a run would
    attach that IAM does not know; `policies_unchecked`: the action denied looking them up.
    """

    described: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)
    live: Mapping[str, LivePermissionSet] = field(default_factory=dict)
    denied: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    hidden: Mapping[str, str] = field(default_factory=dict)
    on_management: frozenset[str] = frozenset()
    management_unread: str | None = None
    missing_policies: Mapping[str, str | None] = field(default_factory=dict)
    policies_unchecked: str | None = None

    def arn(self, name: str) -> str | None:
        described = self.described.get(name)
        return str(described["PermissionSetArn"]) if described else None


def describe_all(
    clients: Clients, ctx: Context, parallel: Mapper = sequential, known: Collection[str] = ()
) -> tuple[dict[str, Mapping[str, Any]], dict[str, str]]:
    """(name -> DescribePermissionSet, ARN -> action denied) of every set in the instance but
    those whose ARN is `known` (names need a describe: one call a set, made with `parallel`)."""
    sso = clients.sso_admin
    listed = sso.pages(lambda c, more: c.list_permission_sets(InstanceArn=ctx.instance_arn, **more), "PermissionSets")
    return describe_each(clients, ctx, [arn for arn in listed if arn not in known], parallel)


def describe_each(
    clients: Clients, ctx: Context, arns: Collection[str], parallel: Mapper = sequential
) -> tuple[dict[str, Mapping[str, Any]], dict[str, str]]:
    """(name -> DescribePermissionSet, ARN -> action denied) of these sets: one call each."""
    sso = clients.sso_admin
    described: dict[str, Mapping[str, Any]] = {}
    unreadable: dict[str, str] = {}

    def describe(arn: str) -> None:
        try:
            found = sso.call(lambda c: c.describe_permission_set(InstanceArn=ctx.instance_arn, PermissionSetArn=arn))
        except AwsError as exc:
            if not exc.denied:
                raise
            unreadable[arn] = exc.action  # its name is unknown: it may even be a declared one
            return
        described[found["PermissionSet"]["Name"]] = found["PermissionSet"]

    parallel(describe, list(arns))
    return described, unreadable


def refuse_unknown_sets(
    wanted: Collection[str], described: Mapping[str, Mapping[str, Any]], unreadable: Mapping[str, str]
) -> None:
    """A clear error for a `--permission-set` that names no set of the instance."""
    if unknown := sorted(set(wanted) - set(described)):
        hidden = f" ({len(unreadable)} set(s) could not be described)" if unreadable else ""
        raise ProvisionerError(
            f"--permission-set {unknown[0]}: the instance has no permission set with that name{hidden}"
        )


def read_one(clients: Clients, ctx: Context, described: Mapping[str, Any]) -> LivePermissionSet:
    """One set whole: its policies, inline policy, boundary and tags (one call each)."""
    instance, arn = ctx.instance_arn, described["PermissionSetArn"]
    managed, customer = attached(clients, instance, arn), referenced(clients, instance, arn)
    inline = inline_of(clients, instance, arn)
    boundary = clients.sso_admin.call(
        lambda c: c.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=arn),
        ignore=NOT_FOUND,
    )
    return LivePermissionSet(
        arn=arn,
        name=described["Name"],
        description=described.get("Description"),
        session_duration=described.get("SessionDuration"),
        relay_state=described.get("RelayState") or None,
        managed=frozenset(managed),
        customer=frozenset(customer),
        inline=inline,
        boundary=normalize_boundary(boundary.get("PermissionsBoundary") if boundary else None),
        tags=tags_of(clients, ctx, arn),
    )


def tags_of(clients: Clients, ctx: Context, arn: str) -> dict[str, str]:
    tags = clients.sso_admin.pages(
        lambda c, more: c.list_tags_for_resource(InstanceArn=ctx.instance_arn, ResourceArn=arn, **more), "Tags"
    )
    return {t["Key"]: t.get("Value", "") for t in tags}


def inline_of(clients: Clients, instance: str, arn: str) -> str | None:
    """A set's inline policy as canonical JSON (None: it has none), read now."""
    found = clients.sso_admin.call(
        lambda c: c.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    )
    return normalize_inline(found.get("InlinePolicy"))


def attached(clients: Clients, instance: str, arn: str) -> set[str]:
    """The AWS managed policies on a set, read now."""
    return {
        p["Arn"]
        for p in clients.sso_admin.pages(
            lambda c, more: c.list_managed_policies_in_permission_set(
                InstanceArn=instance, PermissionSetArn=arn, **more
            ),
            "AttachedManagedPolicies",
        )
    }


def referenced(clients: Clients, instance: str, arn: str) -> set[CustomerRef]:
    """The customer managed policy references on a set, read now."""
    return {
        (p["Name"], p.get("Path", "/"))
        for p in clients.sso_admin.pages(
            lambda c, more: c.list_customer_managed_policy_references_in_permission_set(
                InstanceArn=instance, PermissionSetArn=arn, **more
            ),
            "CustomerManagedPolicyReferences",
        )
    }


def provisioned_accounts(clients: Clients, ctx: Context, arn: str, stale_only: bool = False) -> list[str]:
    """Accounts a set is provisioned to; with `stale_only`, those that have an older version
    of it (edited since, never re-provisioned: e.g. a run killed in between)."""
    status: dict[str, Any] = {"ProvisioningStatus": "LATEST_PERMISSION_SET_NOT_PROVISIONED"} if stale_only else {}
    return list(
        clients.sso_admin.pages(
            lambda c, more: c.list_accounts_for_provisioned_permission_set(
                InstanceArn=ctx.instance_arn, PermissionSetArn=arn, **status, **more
            ),
            "AccountIds",
        )
    )


def provisioned_to(clients: Clients, ctx: Context, account: str) -> list[str]:
    """ARNs of the sets provisioned to an account: one listing, however many sets there are."""
    return list(
        clients.sso_admin.pages(
            lambda c, more: c.list_permission_sets_provisioned_to_account(
                InstanceArn=ctx.instance_arn, AccountId=account, **more
            ),
            "PermissionSets",
        )
    )


def normalize_inline(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return canonical_policy(json.loads(text))
    except json.JSONDecodeError:
        return text


def normalize_boundary(boundary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not boundary:
        return None
    if boundary.get("ManagedPolicyArn"):
        return {"ManagedPolicyArn": boundary["ManagedPolicyArn"]}
    ref = boundary.get("CustomerManagedPolicyReference")
    if ref:
        return {"CustomerManagedPolicyReference": {"Name": ref["Name"], "Path": ref.get("Path", "/")}}
    return None
