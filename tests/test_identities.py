"""Users, groups and memberships: principals from an external identity provider, and the
identity store's uniqueness rules and conflicts. State is checked with plain boto3 calls."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from provisioner.errors import ConfigError
from provisioner.plan import Action, Plan
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply, run_settings


def ids() -> Any:
    return boto3.client("identitystore", region_name=REGION)


def store() -> str:
    return str(boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"])


def user_id(name: str) -> str:
    key = {"AttributePath": "userName", "AttributeValue": name}
    return str(ids().get_user_id(IdentityStoreId=store(), AlternateIdentifier={"UniqueAttribute": key})["UserId"])


def group_id(name: str) -> str:
    key = {"AttributePath": "displayName", "AttributeValue": name}
    return str(ids().get_group_id(IdentityStoreId=store(), AlternateIdentifier={"UniqueAttribute": key})["GroupId"])


def make_user(name: str, email: str | None = None) -> str:
    return str(
        ids().create_user(
            IdentityStoreId=store(),
            UserName=name,
            DisplayName=name,
            Name={"GivenName": name, "FamilyName": name},
            Emails=[{"Value": email or f"{name}@example.com", "Type": "work", "Primary": True}],
        )["UserId"]
    )


def make_group(name: str, description: str | None = None) -> str:
    extra = {"Description": description} if description else {}
    return str(ids().create_group(IdentityStoreId=store(), DisplayName=name, **extra)["GroupId"])


def add_member(user: str, group: str) -> None:
    ids().create_group_membership(IdentityStoreId=store(), GroupId=group_id(group), MemberId={"UserId": user_id(user)})


def members(group: str) -> set[str]:
    names = {u["UserId"]: u["UserName"] for u in ids().list_users(IdentityStoreId=store())["Users"]}
    listing = ids().list_group_memberships(IdentityStoreId=store(), GroupId=group_id(group))["GroupMemberships"]
    return {names[m["MemberId"]["UserId"]] for m in listing}


def exists(kind: str, name: str) -> bool:
    listing = ids().list_users if kind == "user" else ids().list_groups
    key, field = ("Users", "UserName") if kind == "user" else ("Groups", "DisplayName")
    return name in {p[field] for p in listing(IdentityStoreId=store())[key]}


def plan_of(doc: dict[str, Any], clock: Any, **kwargs: Any) -> tuple[Plan, Runner]:
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    return runner.plan(**kwargs), runner


# -- principals from an identity provider are never changed or deleted -----------------------
IDP: dict[str, Any] = {
    "groups": [{"name": "Okta-Admins", "description": "Admins"}, {"name": "Local"}],
    "users": [
        {"user_name": "sam", "email": "sam@example.com", "groups": ["Okta-Admins", "Local"]},
        {"user_name": "ana", "email": "ana@example.com", "groups": ["Local"]},
    ],
}


def synced_from_idp(clients: Any) -> None:
    """Build IDP, then let the identity provider take over Okta-Admins and sam (as a SCIM sync
    of principals with the same names would)."""
    plan_and_apply(clients, parse(IDP))
    realism.mark_external(group_id("Okta-Admins"))
    realism.mark_external(user_id("sam"))


def notes_about(plan: Plan, name: str) -> list[str]:
    return [n for n in plan.notes if f"{name!r}" in n]


def test_destroy_leaves_idp_principals_and_their_memberships(clients: Any, clock: Any) -> None:
    synced_from_idp(clients)
    runner = Runner(make_clients(clock), parse(IDP), run_settings())
    plan = runner.plan_destroy()
    assert sorted((c.resource, c.key) for c in plan.changes) == [
        ("group", "Local"),
        ("membership", "ana in Local"),
        ("user", "ana"),
    ]
    assert len(notes_about(plan, "Okta-Admins")) == 1 and len(notes_about(plan, "sam")) == 1
    assert runner.apply(plan).ok
    assert exists("group", "Okta-Admins") and exists("user", "sam") and members("Okta-Admins") == {"sam"}
    assert not exists("group", "Local") and not exists("user", "ana")


def test_apply_leaves_an_idp_groups_description_alone(clients: Any, clock: Any) -> None:
    synced_from_idp(clients)
    ids().update_group(
        IdentityStoreId=store(),
        GroupId=group_id("Okta-Admins"),
        Operations=[{"AttributePath": "description", "AttributeValue": "Synced from Okta"}],
    )
    again = make_clients(clock)
    plan, result, _ = plan_and_apply(again, parse(IDP))
    assert plan.empty and result.ok and again.log.writes() == {}
    [note] = notes_about(plan, "Okta-Admins")
    assert "description" in note and "external identity provider" in note
    described = ids().describe_group(IdentityStoreId=store(), GroupId=group_id("Okta-Admins"))
    assert described["Description"] == "Synced from Okta"


def test_apply_never_adds_members_to_or_for_idp_principals(clients: Any, clock: Any) -> None:
    synced_from_idp(clients)
    for group in ("Okta-Admins", "Local"):
        for m in ids().list_group_memberships(IdentityStoreId=store(), GroupId=group_id(group))["GroupMemberships"]:
            ids().delete_group_membership(IdentityStoreId=store(), MembershipId=m["MembershipId"])
    doc = copy.deepcopy(IDP)
    doc["users"][1]["groups"] = ["Local", "Okta-Admins"]
    again = make_clients(clock)
    plan, result, _ = plan_and_apply(again, parse(doc))
    assert [c.key for c in plan.changes] == ["ana in Local"]
    assert result.ok and members("Local") == {"ana"} and members("Okta-Admins") == set()
    left = [n for n in plan.notes if "not created" in n]
    assert sorted(n.split(":")[0] for n in left) == [
        "membership ana in Okta-Admins",
        "membership sam in Local",
        "membership sam in Okta-Admins",
    ]


def test_prune_leaves_an_absent_idp_group_and_its_members(clients: Any, clock: Any) -> None:
    synced_from_idp(clients)
    doc = {
        "name": "platform",
        "groups": [{"name": "Local"}],
        "users": [IDP["users"][1]],
        "absent": {"groups": ["Okta-Admins"]},
    }
    plan, runner = plan_of(doc, clock, prune=True)
    assert not [c for c in plan.changes if "Okta-Admins" in c.key or c.key == "sam"]
    assert len(notes_about(plan, "Okta-Admins")) == 1
    assert runner.apply(plan).ok and members("Okta-Admins") == {"sam"}


# -- principals marked `external: true` -------------------------------------------------------
def test_an_external_user_needs_only_its_user_name() -> None:
    config = parse({"users": [{"user_name": "sam", "external": True}, {"user_name": "kim", "external": True}]})
    assert [(u.user_name, u.email) for u in config.users] == [("sam", None), ("kim", None)]


def test_a_local_user_still_needs_an_email() -> None:
    with pytest.raises(ConfigError) as info:
        parse({"users": [{"user_name": "ana"}]})
    [(field, reason)] = info.value.problems
    assert field == "users[0].email" and "required" in reason and "external: true" in reason


EXTERNAL: dict[str, Any] = {
    "groups": [{"name": "Okta-Admins", "external": True}, {"name": "Local"}],
    "users": [
        {"user_name": "sam", "external": True, "groups": ["Okta-Admins", "Local"]},
        {"user_name": "ana", "email": "ana@example.com", "groups": ["Local"]},
    ],
}


def test_missing_external_principals_are_plan_errors_and_never_created(clients: Any, clock: Any) -> None:
    plan, _ = plan_of(EXTERNAL, clock)
    assert plan.errors == [
        "group 'Okta-Admins' is marked external but does not exist: not synced from your identity provider yet; "
        "sync it there first, or drop `external: true` to create it here",
        "user 'sam' is marked external but does not exist: not synced from your identity provider yet; "
        "sync it there first, or drop `external: true` to create it here",
    ]
    assert sorted(c.key for c in plan.changes) == ["Local", "ana", "ana in Local"]


def test_external_principals_that_exist_are_used_and_left_alone(clients: Any, clock: Any) -> None:
    make_group("Okta-Admins", "Synced")
    make_user("sam", "sam@corp.example.com")  # created by hand: `external: true` protects it all the same
    doc = copy.deepcopy(EXTERNAL)
    doc["groups"][0]["description"] = "Admins"
    doc["users"][0]["email"] = "sam@example.com"
    plan, result, _ = plan_and_apply(clients, parse(doc))
    assert not plan.errors and result.ok
    assert sorted(c.key for c in plan.changes) == ["Local", "ana", "ana in Local"]
    assert any("'Okta-Admins'" in n and "description" in n for n in plan.notes)
    assert any("'sam'" in n and "email" in n for n in plan.notes)
    assert members("Local") == {"ana"} and members("Okta-Admins") == set()
    destroy = Runner(make_clients(clock), parse(doc), run_settings())
    assert destroy.apply(destroy.plan_destroy()).ok
    assert exists("group", "Okta-Admins") and exists("user", "sam") and not exists("user", "ana")


@pytest.mark.parametrize("synced", [True, False])
def test_creating_locally_in_a_synced_store_is_warned(clients: Any, clock: Any, synced: bool) -> None:
    if synced:
        realism.mark_external(make_user("someone"))
    plan, _ = plan_of({"groups": [{"name": "Ops"}], "users": [{"user_name": "kim", "email": "k@example.com"}]}, clock)
    warned = [w for w in plan.warnings if "external: true" in w and "clash" in w]
    assert [w.split()[1] for w in warned] == (["'Ops'", "'kim'"] if synced else [])


# -- the realism layer: uniqueness and conflicts ---------------------------------------------
# -- uniqueness and conflicts ----------------------------------------------------------------
TEAM: dict[str, Any] = {
    "groups": [{"name": "Ops"}],
    "users": [
        {"user_name": "kim", "email": "ana@example.com", "groups": ["Ops"]},
        {"user_name": "lee", "email": "lee@example.com", "groups": ["Ops"]},
    ],
}


@pytest.mark.parametrize("without_reason", [False, True])
def test_an_email_another_user_holds_fails_that_user_only(clients: Any, clock: Any, without_reason: bool) -> None:
    make_user("ana", "Ana@Example.com")
    realism.configure(conflict_without_reason=without_reason)
    plan, result, _ = plan_and_apply(clients, parse(TEAM))
    assert any("'kim'" in w and "'ana'" in w for w in plan.warnings), plan.warnings
    assert sorted(o.change.key for o in result.failed) == ["kim", "kim in Ops"]
    failure = next(o.detail for o in result.failed if o.change.key == "kim")
    assert "ana@example.com" in failure and "'ana'" in failure, failure
    assert members("Ops") == {"lee"} and not exists("user", "kim")
    assert clients.log.counts["identitystore:CreateUser"] == 2  # a uniqueness clash is not retried


def test_an_email_change_to_one_another_user_holds_fails_naming_it(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse({"users": [{"user_name": "kim", "email": "kim@example.com"}]}))
    make_user("ana", "ana@example.com")
    doc = {"users": [{"user_name": "kim", "email": "ANA@example.com", "display_name": "Kim"}]}
    plan, result, _ = plan_and_apply(make_clients(clock), parse(doc))
    [failed] = result.failed
    assert failed.change.action is Action.UPDATE and "ANA@example.com" in failed.detail and "'ana'" in failed.detail


@pytest.mark.parametrize("operation", ["CreateGroup", "CreateUser", "CreateGroupMembership"])
def test_a_conflict_without_a_reason_is_reread_never_taken_as_success(clients: Any, clock: Any, operation: str) -> None:
    realism.configure(conflict_without_reason=True, concurrent_modification={operation: 1})
    plan, result, _ = plan_and_apply(clients, parse(TEAM | {"users": TEAM["users"][1:]}))
    assert result.ok, result.to_json()
    assert members("Ops") == {"lee"}
    again = make_clients(clock)
    plan2, _, _ = plan_and_apply(again, parse(TEAM | {"users": TEAM["users"][1:]}))
    assert plan2.empty and again.log.writes() == {}


@pytest.mark.parametrize("without_reason", [False, True])
def test_a_user_created_meanwhile_is_adopted_with_or_without_a_reason(
    clients: Any, clock: Any, without_reason: bool
) -> None:
    realism.configure(conflict_without_reason=without_reason)
    runner = Runner(clients, parse({"users": [TEAM["users"][1]], "groups": TEAM["groups"]}), run_settings())
    plan = runner.plan()
    make_user("lee", "lee@example.com")
    result = runner.apply(plan)
    assert result.ok and [o.detail for o in result.outcomes if o.change.key == "lee"] == ["already existed: adopted"]
    assert clients.log.counts["identitystore:CreateUser"] == 1


def test_concurrent_modification_waits_as_long_as_asked_then_succeeds(clients: Any, clock: Any) -> None:
    realism.configure(concurrent_modification={"CreateUser": 2}, retry_after_seconds=7)
    plan, result, _ = plan_and_apply(clients, parse(TEAM | {"users": TEAM["users"][1:]}))
    assert result.ok and exists("user", "lee")
    assert clients.log.counts["identitystore:CreateUser"] == 3
    assert len([s for s in clock.slept if s >= 7]) == 2, clock.slept


def test_a_conflict_nothing_explains_fails_that_change_once_the_conflict_budget_is_spent(
    clients: Any, clock: Any
) -> None:
    realism.configure(conflict_without_reason=True, concurrent_modification={"CreateGroup": 10**6})
    doc = {"groups": [{"name": "Ops"}], "users": [{"user_name": "lee", "email": "lee@example.com"}]}
    plan, result, _ = plan_and_apply(clients, parse(doc))
    [failed] = result.failed
    assert failed.change.key == "Ops" and "refused for 120s; nothing found explains the conflict" in failed.detail
    # Bounded by the conflict time budget (120 s here), as every retry is, not by a count.
    assert 120 <= sum(clock.slept) < 120 + 20 and exists("user", "lee")
