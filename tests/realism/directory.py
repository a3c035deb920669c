"""A large identity store, as an identity provider's sync leaves it: tens of thousands of users
and thousands of groups, each with the ExternalIds SCIM gives it, and groups as big as a
company's all staff.

`populate` writes them straight into moto's backend (no API calls: 20,000 users take about
a second), ahead of what the store already holds, so a listing meets them first and the
principals a config declares come last: the harsh order, as the API reference says nothing
of the order ListUsers, ListGroups and ListGroupMemberships return.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT = "123456789012"  # the account moto serves by default
ISSUER = "https://scim.example.com"


@dataclass(frozen=True)
class Filled:
    """What `populate` added: the identity store, and the ids it gave by name."""

    store: str
    users: Mapping[str, str]
    groups: Mapping[str, str]


def populate(
    users: int,
    groups: int,
    members: Mapping[str, int] | None = None,
    synced: bool = True,
    start: int = 0,
    region: str = "ap-northeast-2",
    account: str = ACCOUNT,
) -> Filled:
    """Add `users` users (staff00000...; numbered from `start`) and `groups` groups
    (dept0000...) to the identity store of the Region's instance, placed before what the
    store holds; `synced`: they come from an identity provider (ExternalIds). `members`:
    more groups, by name, each with that many of the new users as members (an all-staff
    group)."""
    from moto.identitystore.models import Group, Name, User, identitystore_backends
    from moto.ssoadmin.models import ssoadmin_backends

    from . import STATE

    store_id = ssoadmin_backends[account][region].instances[0].identity_store_id
    backend = identitystore_backends[account][region]
    store = backend._IdentityStoreBackend__get_identity_store(store_id)  # noqa: SLF001 - moto keeps it private
    new_users: dict[str, Any] = {}
    by_name: dict[str, str] = {}
    for n in range(users):
        user_id, name = str(uuid.uuid4()), f"staff{start + n:05d}"
        new_users[user_id] = User(
            user_id, store_id, name, Name(None, f"{n:05d}", "Staff", None, None, None), f"Staff {n:05d}",
            None, None, [{"Value": f"{name}@corp.example.com", "Type": "work", "Primary": True}],
            [], [], None, None, None, None, None,
        )  # fmt: skip
        by_name[name] = user_id
    new_groups: dict[str, Any] = {}
    group_ids: dict[str, str] = {}
    for name in [f"dept{start + g:04d}" for g in range(groups)] + list(members or {}):
        group_id = str(uuid.uuid4())
        new_groups[group_id] = Group(group_id, name, [], f"Department {name}", store_id)
        group_ids[name] = group_id
    new_memberships: dict[str, Any] = {}
    staff = list(new_users)
    for name, count in (members or {}).items():
        for user_id in staff[:count]:
            membership_id = str(uuid.uuid4())
            new_memberships[membership_id] = {
                "IdentityStoreId": store_id,
                "MembershipId": membership_id,
                "GroupId": group_ids[name],
                "MemberId": {"UserId": user_id},
            }
    # Ahead of what is there: dicts keep their order, and moto lists in it.
    store.users = {**new_users, **store.users}
    store.groups = {**new_groups, **store.groups}
    store.group_memberships = {**new_memberships, **store.group_memberships}
    with STATE.lock:
        for principal_id in [*new_users, *new_groups] if synced else []:
            STATE.external[principal_id] = [{"Issuer": ISSUER, "Id": f"idp-{principal_id}"}]
    return Filled(store_id, by_name, group_ids)
