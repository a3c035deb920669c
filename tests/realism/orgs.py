"""Deterministic organizations of any size, as config documents, and an inventory of the
live state to compare them with (counts a person would check in the console)."""

from __future__ import annotations

from typing import Any

POLICIES = ("ReadOnlyAccess", "job-function/ViewOnlyAccess", "AWSSupportAccess", "IAMReadOnlyAccess")


def organization(
    groups: int, users: int, permission_sets: int, accounts: int, assignments: int, policies_per_set: int = 3
) -> dict[str, Any]:
    """A config with exactly these counts. Each user is in one group; assignment k pairs
    permission set k % S with group k % G on a run of consecutive accounts."""
    group_names = [f"team-{g:02d}" for g in range(groups)]
    account_ids = [f"{100000000000 + a:012d}" for a in range(accounts)]
    specs = max(groups, permission_sets)
    while assignments % specs or assignments // specs > accounts:
        specs += 1
    per_spec = assignments // specs
    doc: dict[str, Any] = {
        "groups": [{"name": name, "description": f"Team {i}"} for i, name in enumerate(group_names)],
        "users": [
            {
                "user_name": f"user{u:03d}",
                "email": f"user{u:03d}@example.com",
                "given_name": "User",
                "family_name": f"{u:03d}",
                "groups": [group_names[u % groups]],
            }
            for u in range(users)
        ],
        "permission_sets": [
            {
                "name": f"Set{p:02d}",
                "description": f"Permission set {p}",
                "session_duration": "PT4H",
                "managed_policies": [POLICIES[(p + i) % len(POLICIES)] for i in range(policies_per_set)],
            }
            for p in range(permission_sets)
        ],
        "assignments": [
            {
                "permission_set": f"Set{k % permission_sets:02d}",
                "groups": [group_names[k % groups]],
                "accounts": [account_ids[(k * per_spec + i) % accounts] for i in range(per_spec)],
            }
            for k in range(specs)
        ],
    }
    return doc


def join_organization(doc: dict[str, Any]) -> None:
    """Make every account the config's assignments name a member of the management account's
    organization (created if there is none): AWS fails an assignment on any other account."""
    from .delegation import add_member

    accounts = sorted({a for entry in doc["assignments"] for a in entry["accounts"] if a != "current"})
    for index, account in enumerate(accounts):
        add_member(account, f"account-{index:03d}")


def inventory(endpoint_url: str | None = None, region: str = "ap-northeast-2") -> dict[str, int]:
    """Counts of what exists: users, groups, memberships, permission sets, attached
    policies, assignments (read with plain boto3, as a person would)."""
    import boto3

    sso = boto3.client("sso-admin", region_name=region, endpoint_url=endpoint_url)
    ids = boto3.client("identitystore", region_name=region, endpoint_url=endpoint_url)
    instance = sso.list_instances()["Instances"][0]
    arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
    users = [u for p in ids.get_paginator("list_users").paginate(IdentityStoreId=store) for u in p["Users"]]
    groups = [g for p in ids.get_paginator("list_groups").paginate(IdentityStoreId=store) for g in p["Groups"]]
    memberships = sum(
        len(m["GroupMemberships"])
        for g in groups
        for m in ids.get_paginator("list_group_memberships").paginate(IdentityStoreId=store, GroupId=g["GroupId"])
    )
    sets = [s for p in sso.get_paginator("list_permission_sets").paginate(InstanceArn=arn) for s in p["PermissionSets"]]
    policies = sum(
        len(sso.list_managed_policies_in_permission_set(InstanceArn=arn, PermissionSetArn=s)["AttachedManagedPolicies"])
        for s in sets
    )
    assignments: set[tuple[str, str, str]] = set()
    count = 0
    for principal_type, principals in (
        ("GROUP", [g["GroupId"] for g in groups]),
        ("USER", [u["UserId"] for u in users]),
    ):
        for principal in principals:
            for page in sso.get_paginator("list_account_assignments_for_principal").paginate(
                InstanceArn=arn, PrincipalId=principal, PrincipalType=principal_type
            ):
                # Each row names its principal; a USER query may also return its groups' rows.
                for a in page["AccountAssignments"]:
                    if (a["PrincipalType"], a["PrincipalId"]) != (principal_type, principal):
                        continue
                    count += 1
                    assignments.add((principal, a["PermissionSetArn"], a["AccountId"]))
    return {
        "users": len(users),
        "distinct_user_names": len({u["UserName"] for u in users}),
        "groups": len(groups),
        "distinct_group_names": len({g["DisplayName"] for g in groups}),
        "memberships": memberships,
        "permission_sets": len(sets),
        "policies": policies,
        "assignments": count,
        "distinct_assignments": len(assignments),
    }


def expected(doc: dict[str, Any]) -> dict[str, int]:
    """The inventory a converged run of `doc` must leave."""
    n_assign = sum(
        len(a["accounts"]) * (len(a.get("groups", [])) + len(a.get("users", []))) for a in doc["assignments"]
    )
    return {
        "users": len(doc["users"]),
        "distinct_user_names": len(doc["users"]),
        "groups": len(doc["groups"]),
        "distinct_group_names": len(doc["groups"]),
        "memberships": sum(len(u.get("groups", [])) for u in doc["users"]),
        "permission_sets": len(doc["permission_sets"]),
        "policies": sum(len(p.get("managed_policies", [])) for p in doc["permission_sets"]),
        "assignments": n_assign,
        "distinct_assignments": n_assign,
    }
