"""Cost follows the config, not the identity store: a plan reads what the config declares,
however many users and groups an identity provider has synced (tests/realism/directory.py
fills the store; its principals come before the declared ones, the harsh order)."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import boto3

from provisioner.export import export
from provisioner.kinds import users as users_kind
from provisioner.plan import Action, Plan
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, load_example, make_clients, parse, plan_and_apply, run_settings
from tests.realism.directory import populate


def plan_with_counts(config: Any, clock: Any, **kwargs: Any) -> tuple[Plan, dict[str, int], Runner]:
    clients = make_clients(clock)
    runner = Runner(clients, config, run_settings())
    plan = runner.plan(**kwargs)
    assert clients.log.writes() == {}
    return plan, dict(clients.log.counts), runner


def identity_reads(counts: dict[str, int]) -> int:
    return sum(n for call, n in counts.items() if call.startswith("identitystore:"))


# -- users and groups: looked up when listing would cost more --------------------------------
def test_a_plan_of_the_seed_reads_as_little_on_a_store_of_thousands(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    _, alone, _ = plan_with_counts(load_example(), clock)
    populate(users=3000, groups=300)
    plan, crowded, _ = plan_with_counts(load_example(), clock)
    assert plan.empty and not plan.warnings
    assert sum(crowded.values()) <= 2 * sum(alone.values()), crowded
    populate(users=3000, groups=300, start=3000)
    _, twice, _ = plan_with_counts(load_example(), clock)
    assert twice == crowded  # reads independent of the store's size
    # Two pages of each listing, then the lookups of the one user and the one group.
    assert (crowded["identitystore:ListUsers"], crowded["identitystore:GetUserId"]) == (2, 1)
    assert (crowded["identitystore:ListGroups"], crowded["identitystore:GetGroupId"]) == (2, 1)


def test_a_store_that_fits_a_page_is_listed_and_nothing_looked_up(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    populate(users=50, groups=20)
    plan, counts, runner = plan_with_counts(load_example(), clock)
    assert plan.empty
    assert (counts["identitystore:ListUsers"], counts["identitystore:ListGroups"]) == (1, 1)
    assert not any(call.split(":")[1].startswith(("Get", "Describe")) for call in counts if "identitystore" in call)
    directory = runner.live.get(users_kind.KIND) if runner.live else None
    assert directory is not None and directory.complete and len(directory.seen) == 51


def test_only_the_declared_principals_are_kept_whole(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    populate(users=3000, groups=10)
    _, _, runner = plan_with_counts(load_example(), clock)
    assert runner.live is not None
    directory = runner.live.get(users_kind.KIND)
    assert list(directory.by_name) == ["admin"] and not directory.complete
    assert len(directory.seen) <= 201  # two pages and the lookup: the rest was never read


def test_a_user_to_create_is_warned_of_an_email_a_synced_user_holds(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    populate(users=3000, groups=10)
    doc: dict[str, Any] = {"users": [{"user_name": "kim", "email": "Staff02042@corp.example.com"}]}
    plan, counts, _ = plan_with_counts(parse(doc), clock)
    assert [c.key for c in plan.changes] == ["kim"]
    assert any("'kim'" in w and "'staff02042'" in w and "email" in w for w in plan.warnings), plan.warnings
    assert counts["identitystore:ListUsers"] <= 2


def test_absent_users_are_found_and_pruned_on_a_large_store(clients: Any, clock: Any) -> None:
    doc: dict[str, Any] = {"name": "platform", "users": [{"user_name": "ana", "email": "ana@example.com"}]}
    leaving = copy.deepcopy(doc)
    leaving["users"].append({"user_name": "bo", "email": "bo@example.com"})
    plan_and_apply(clients, parse(leaving))
    populate(users=3000, groups=10)
    doc["absent"] = {"users": ["bo"]}
    plan, counts, runner = plan_with_counts(parse(doc), clock, prune=True)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.DELETE, "bo")]
    assert counts["identitystore:ListUsers"] <= 4 and counts["identitystore:GetUserId"] == 2
    assert runner.apply(plan).ok
    again, _, _ = plan_with_counts(parse(doc), clock, prune=True)
    assert again.empty


def test_export_still_lists_every_user_and_group(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    populate(users=250, groups=120)
    reader = make_clients(clock)
    from provisioner import context

    exported = export(reader, context.resolve(reader, allow_root=True), datetime.now(timezone.utc))
    assert len(exported.document["users"]) == 251 and len(exported.document["groups"]) == 121
    assert reader.log.counts["identitystore:ListUsers"] == 3 and reader.log.counts["identitystore:ListGroups"] == 2


# -- large groups: their declared members checked one by one ---------------------------------
def everyone(*members: str) -> dict[str, Any]:
    """A local group of everyone (filled by `populate`, not synced), declaring a few members."""
    return {
        "groups": [{"name": "Everyone"}],
        "users": [{"user_name": name, "email": f"{name}@corp.example.com", "groups": ["Everyone"]} for name in members],
    }


EVERYONE = everyone("staff00001", "staff00900")


def test_a_large_groups_declared_members_are_checked_not_listed(aws: realism.State, clock: Any) -> None:
    populate(users=1000, groups=0, members={"Everyone": 1000}, synced=False)
    plan, counts, _ = plan_with_counts(parse(EVERYONE), clock)
    assert plan.empty and plan.unchanged["membership"] == 2
    # Two pages (what checking the two members costs), then one IsMemberInGroups for the one not seen.
    assert counts["identitystore:ListGroupMemberships"] == 2
    assert counts["identitystore:IsMemberInGroups"] == 1
    assert not [n for n in plan.notes if "exist that the config does not declare" in n]
    [note] = [n for n in plan.notes if "checked one by one" in n]
    assert "Everyone" in note and "not looked for" in note


def test_a_missing_member_of_a_large_group_is_added_once(aws: realism.State, clock: Any) -> None:
    populate(users=1000, groups=0, members={"Everyone": 800}, synced=False)
    plan, result, _ = plan_and_apply(make_clients(clock), parse(EVERYONE))
    assert [c.key for c in plan.changes] == ["staff00900 in Everyone"] and result.ok
    again = make_clients(clock)
    plan2, _, _ = plan_and_apply(again, parse(EVERYONE))
    assert plan2.empty and again.log.writes() == {}


def test_destroy_finds_the_membership_ids_in_a_large_group(aws: realism.State, clock: Any) -> None:
    populate(users=1000, groups=0, members={"Everyone": 1000}, synced=False)
    runner = Runner(make_clients(clock), parse(EVERYONE), run_settings())
    plan = runner.plan_destroy()
    assert sorted(c.key for c in plan.changes if c.resource == "membership") == [
        "staff00001 in Everyone",
        "staff00900 in Everyone",
    ]
    # From the two deleted users' own listings: no page of the large group, no check per pair.
    counts = runner.clients.log.counts
    assert counts["identitystore:ListGroupMembershipsForMember"] == 2
    assert counts["identitystore:ListGroupMemberships"] + counts["identitystore:GetGroupMembershipId"] == 0
    assert runner.apply(plan).ok
    assert {c.key for c in plan.changes if c.resource != "membership"} == {"Everyone", "staff00001", "staff00900"}
    assert user_names() == {f"staff{n:05d}" for n in range(1000)} - {"staff00001", "staff00900"}


def user_names() -> set[str]:
    ids = boto3.client("identitystore", region_name=REGION)
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    pages = ids.get_paginator("list_users").paginate(IdentityStoreId=store)
    return {u["UserName"] for page in pages for u in page["Users"]}


def test_a_small_group_is_listed_and_its_undeclared_members_noted(aws: realism.State, clock: Any) -> None:
    populate(users=120, groups=0, members={"Everyone": 120}, synced=False)
    plan, counts, _ = plan_with_counts(parse(everyone("staff00001", "staff00100")), clock)
    assert counts["identitystore:ListGroupMemberships"] == 2 and "identitystore:IsMemberInGroups" not in counts
    [note] = [n for n in plan.notes if "exist that the config does not declare" in n]
    assert note.startswith("118 group membership(s)") and note.count(" in Everyone") == 3 and ", ...)" in note
    assert not [n for n in plan.notes if "checked one by one" in n]


def test_prune_lists_a_large_group_whole(aws: realism.State, clock: Any) -> None:
    populate(users=300, groups=0, members={"Everyone": 300}, synced=False)
    doc = {"name": "platform", **everyone("staff00001", "staff00200")}
    plan, counts, _ = plan_with_counts(parse(doc), clock, prune=True)
    assert counts["identitystore:ListGroupMemberships"] == 3
    assert len([c for c in plan.changes if c.action is Action.DELETE and c.resource == "membership"]) == 298
