"""Whether the policies a permission set is to get exist, asked of IAM before anything is
changed: a misspelled AWS managed policy otherwise fails its set part-way through apply
(AttachManagedPolicyToPermissionSet: ResourceNotFoundException), after the set is created.

AWS managed policies are looked up one by one (iam:GetPolicy) rather than checked against a
shipped list: AWS adds managed policies every month and deprecates some, and each partition
has its own, so a list in the product would go stale and refuse new ones. Only the policies
a run would attach are looked up (a no-op plan reads none), and a listing of them all
(ListPolicies, a couple of pages) is read only to suggest a close match for one that is
missing. A customer managed policy must exist in every account the set is provisioned to;
only this run's own account can be read with the caller's credentials, so only there is it
checked, for the sets assigned there: the references a run would attach, and every one of a
set not yet on the account (one ListPermissionSetsProvisionedToAccount tells which).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...config import managed_policy_arn
from ...errors import AwsError
from ...retry import Mapper
from .desired import Desired, short_policy_name

if TYPE_CHECKING:
    from ...aws import Clients
    from ...config import Config
    from ...context import Context
    from .live import CustomerRef, LivePermissionSet

NO_SUCH_ENTITY = "NoSuchEntity"
ACTIONS = frozenset({"iam:GetPolicy", "iam:ListPolicies"})
# ARN -> a close match among the AWS managed policies (short name), or None: the policies IAM
# does not know.
Missing = Mapping[str, "str | None"]


def to_attach(desired: Desired, live: LivePermissionSet | None) -> set[str]:
    """The AWS managed policy ARNs (its boundary's too) a run would put on one set."""
    arns = set(desired.managed - (live.managed if live else frozenset()))
    boundary = (desired.boundary or {}).get("ManagedPolicyArn")
    if boundary and (live is None or live.boundary != desired.boundary):
        arns.add(boundary)
    return arns


def customer_arn(ctx: Context, ref: CustomerRef) -> str:
    name, path = ref
    return f"arn:{ctx.partition}:iam::{ctx.account_id}:policy{path}{name}"


def assigned_here(config: Config, ctx: Context, name: str) -> bool:
    """Whether the config assigns the set `name` on this run's own account."""
    return any(
        spec.permission_set == name and ctx.account_id in {ctx.account(a) for a in spec.accounts}
        for spec in config.assignments
    )


def boundary_refs(desired: Desired) -> set[CustomerRef]:
    """The customer managed policy a set's boundary names, if it names one."""
    boundary = (desired.boundary or {}).get("CustomerManagedPolicyReference")
    return {(boundary["Name"], boundary["Path"])} if boundary else set()


def customer_refs(desired: Desired) -> set[CustomerRef]:
    """The customer managed policies a set references, its boundary's included."""
    return set(desired.customer) | boundary_refs(desired)


def customer_to_check(
    config: Config, ctx: Context, desired: Desired, live: LivePermissionSet | None, provisioned_here: bool
) -> set[str]:
    """The ARNs, in this run's account, of the customer managed policies (boundary included)
    to look up for a set that the config assigns on this account: those a run would attach,
    and, while the set is not provisioned here (new, or its assignment here failed), every
    one, since the assignment fails while any is missing."""
    if not assigned_here(config, ctx, desired.spec.name):
        return set()
    if live is None or not provisioned_here:
        refs = customer_refs(desired)
    else:
        refs = set(desired.customer - live.customer)
        if live.boundary != desired.boundary:
            refs |= boundary_refs(desired)
    return {customer_arn(ctx, ref) for ref in refs}


def check(clients: Clients, arns: Iterable[str], parallel: Mapper) -> tuple[Missing, str | None]:
    """GetPolicy of each ARN (one call each): those IAM does not know, with a close match for
    an AWS managed one (from one listing of them all), and the action denied, if the caller
    may not look some up."""
    wanted = sorted(set(arns))
    if not wanted:
        return {}, None
    denied: list[str] = []

    def exists(arn: str) -> bool:
        try:
            clients.iam.call(lambda c: c.get_policy(PolicyArn=arn))
        except AwsError as exc:
            if exc.code == NO_SUCH_ENTITY:
                return False
            if not exc.denied:
                raise
            denied.append(exc.action)
        return True  # or not known: only a policy IAM says is missing is an error

    missing = [arn for arn, found in zip(wanted, parallel(exists, wanted), strict=True) if not found]
    known = aws_managed_names(clients) if any(":iam::aws:" in arn for arn in missing) else []
    matches = {arn: close_match(short_policy_name(arn), known) if ":iam::aws:" in arn else None for arn in missing}
    return matches, denied[0] if denied else None


def aws_managed_names(clients: Clients) -> list[str]:
    """Every AWS managed policy by short name (job-function/ViewOnlyAccess), or none when the
    caller may not list them: only a suggestion depends on it."""
    names: list[str] = []
    marker: dict[str, Any] = {}
    try:
        while True:
            page = clients.iam.call(lambda c: c.list_policies(Scope="AWS", MaxItems=1000, **marker))  # noqa: B023
            names += [short_policy_name(p["Arn"]) for p in page.get("Policies", [])]
            if not page.get("IsTruncated"):
                return names
            marker = {"Marker": page["Marker"]}
    except AwsError as exc:
        if not exc.denied:
            raise
        return []


def close_match(name: str, known: list[str]) -> str | None:
    """The AWS managed policy a misspelled or path-less name most likely means."""
    by_last = {known_name.rsplit("/", 1)[-1].lower(): known_name for known_name in known}
    if exact := by_last.get(name.rsplit("/", 1)[-1].lower()):
        return exact  # the name without its path (ViewOnlyAccess), or in another case
    lowered = {known_name.lower(): known_name for known_name in known}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[found[0]] if found else None


def missing_aws_managed(index: int, ctx: Context, desired: Desired, missing: Missing) -> list[str]:
    """The plan errors for the AWS managed policies of one set (permission_sets[index]) that
    IAM does not know: attaching one fails the set part-way."""
    prefix = f"permission_sets[{index}] {desired.spec.name}"
    out = []
    for policy in desired.spec.managed_policies:
        if (arn := managed_policy_arn(policy, ctx.partition)) in missing:
            out.append(f"{prefix}: managed_policies: {missing_aws(policy, arn, missing[arn])}")
    boundary = desired.boundary or {}
    boundary_arn = boundary.get("ManagedPolicyArn")
    if boundary_arn is not None and boundary_arn in missing:
        name = short_policy_name(boundary_arn)
        out.append(
            f"{prefix}: permissions_boundary.managed_policy: {missing_aws(name, boundary_arn, missing[boundary_arn])}"
        )
    return out


def missing_customer_managed(index: int, ctx: Context, desired: Desired, missing: Missing) -> list[str]:
    """The plan warnings for the customer managed policies of one set that this run's account
    lacks: the set is made, and its assignment there fails until the policy exists (it may
    be on its way, from a stack set, say)."""
    prefix = f"permission_sets[{index}] {desired.spec.name}"
    boundary = desired.boundary or {}
    out = []
    refs = [(ref.name, ref.path, "customer_managed_policies") for ref in desired.spec.customer_managed_policies]
    if (ref := boundary.get("CustomerManagedPolicyReference")) is not None:
        refs.append((ref["Name"], ref["Path"], "permissions_boundary.customer_managed_policy"))
    for name, path, where in refs:
        if customer_arn(ctx, (name, path)) in missing:
            out.append(
                f"{prefix}: {where}: no policy {path}{name} in account {ctx.account_id}, where the config assigns "
                f"{desired.spec.name}: its assignment there fails until the policy exists; create it in that "
                "account (and in every account the set is assigned on), or correct its name and path"
            )
    return out


def missing_aws(policy: str, arn: str, match: str | None) -> str:
    hint = f"did you mean {match}?" if match else "correct its name (IAM console, Policies, filter by AWS managed)"
    return f"no AWS managed policy {policy} ({arn} does not exist): {hint}"


def unchecked(denied: str) -> str:
    """The plan warning when the policies could not be looked up."""
    return (
        f"the caller may not call {denied}, so the policies this run would attach were not checked: a "
        f"misspelled one fails its permission set part-way through apply; grant {denied} to have the plan "
        "check them"
    )
