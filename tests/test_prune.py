"""apply --prune: deletes only what provisioner owns and the config no longer declares."""

from __future__ import annotations

import copy
from typing import Any

import boto3

from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory

BASE: dict[str, Any] = {
    "name": "platform",  # prune needs to know whose sets are whose
    "groups": [{"name": "Ops"}, {"name": "Dev"}],
    "users": [
        {"user_name": "ana", "email": "ana@example.com", "groups": ["Ops"]},
        {"user_name": "bo", "email": "bo@example.com", "groups": ["Dev"]},
    ],
    "permission_sets": [
        {"name": "OpsAdmin", "managed_policies": ["AdministratorAccess"]},
        {"name": "DevPower", "managed_policies": ["PowerUserAccess"]},
    ],
    "assignments": [
        {"permission_set": "OpsAdmin", "groups": ["Ops"], "accounts": ["current", "111122223333"]},
        {"permission_set": "DevPower", "groups": ["Dev"], "users": ["bo"], "accounts": ["current"]},
    ],
}


def prune(doc: dict[str, Any], clock: Any) -> tuple[Any, Any, Any]:
    clients = make_clients(clock)
    runner = Runner(clients, parse(doc), run_settings())
    plan = runner.plan(prune=True)
    return plan, runner.apply(plan), clients


def test_dropped_owned_set_goes_after_its_assignments(clients: Any, clock: Any) -> None:
    realism.configure(async_seconds=2, clock=clock.now)
    plan_and_apply(clients, parse(BASE))
    doc = copy.deepcopy(BASE)
    doc["permission_sets"] = doc["permission_sets"][:1]
    doc["assignments"] = doc["assignments"][:1]
    plan, result, pruner = prune(doc, clock)
    assert result.ok, result.to_json()
    deletions = [(c.resource, c.key) for c in plan.changes if c.action is Action.DELETE]
    assert ("permission_set", "DevPower") in deletions
    assert len([d for d in deletions if d[0] == "assignment"]) == 2
    calls = [op for op in pruner.log.sequence if op.startswith("Delete")]
    assert calls.index("DeletePermissionSet") > max(i for i, op in enumerate(calls) if op == "DeleteAccountAssignment")
    found = inventory()
    assert (found["permission_sets"], found["assignments"]) == (1, 2)
    again, _, _ = prune(doc, clock)
    assert again.empty


def test_sets_not_created_by_provisioner_are_never_pruned(clients: Any, clock: Any) -> None:
    sso = boto3.client("sso-admin", region_name=REGION)
    arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    sso.create_permission_set(InstanceArn=arn, Name="HandMade", SessionDuration="PT1H")
    plan_and_apply(clients, parse(BASE))
    plan, result, _ = prune(BASE, clock)
    assert plan.empty and inventory()["permission_sets"] == 3


def test_assignment_dropped_from_a_managed_set_is_pruned(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(BASE))
    doc = copy.deepcopy(BASE)
    doc["assignments"][0]["accounts"] = ["current"]
    plan, result, _ = prune(doc, clock)
    assert [c.key for c in plan.changes] == ["group Ops -> OpsAdmin on 111122223333"]
    assert result.ok and inventory()["assignments"] == 3


def add_bo_to_ops_by_hand() -> None:
    """A membership made outside the config: bo in Ops."""
    ids = boto3.client("identitystore", region_name=REGION)
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    groups = {g["DisplayName"]: g["GroupId"] for g in ids.list_groups(IdentityStoreId=store)["Groups"]}
    users = {u["UserName"]: u["UserId"] for u in ids.list_users(IdentityStoreId=store)["Users"]}
    ids.create_group_membership(IdentityStoreId=store, GroupId=groups["Ops"], MemberId={"UserId": users["bo"]})


def test_hand_added_membership_is_reported_then_pruned(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(BASE))
    add_bo_to_ops_by_hand()
    plain = Runner(make_clients(clock), parse(BASE), run_settings()).plan()
    assert plain.empty and any("bo in Ops" in note and "--prune" in note for note in plain.notes)
    plan, result, _ = prune(BASE, clock)
    assert [(c.resource, c.key) for c in plan.changes] == [("membership", "bo in Ops")]
    assert result.ok and inventory()["memberships"] == 2


def test_absent_users_and_groups_are_deleted_with_their_access(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(BASE))
    doc = copy.deepcopy(BASE)
    doc["groups"] = [{"name": "Ops"}]
    doc["users"] = doc["users"][:1]
    doc["permission_sets"] = doc["permission_sets"][:1]
    doc["assignments"] = doc["assignments"][:1]
    doc["absent"] = {"users": ["bo"], "groups": ["Dev"]}
    plan, result, _ = prune(doc, clock)
    assert result.ok, result.to_json()
    found = inventory()
    assert (found["users"], found["groups"], found["memberships"]) == (1, 1, 1)
    assert (found["permission_sets"], found["assignments"]) == (1, 2)


def test_externally_provisioned_user_is_never_deleted(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(BASE))
    ids = boto3.client("identitystore", region_name=REGION)
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    realism.mark_external(
        next(u["UserId"] for u in ids.list_users(IdentityStoreId=store)["Users"] if u["UserName"] == "bo")
    )
    doc = copy.deepcopy(BASE)
    doc["users"] = doc["users"][:1]
    doc["assignments"][1]["users"] = []
    doc["absent"] = {"users": ["bo"]}
    plan, result, _ = prune(doc, clock)
    assert not [c for c in plan.changes if c.resource in ("user", "membership")]
    assert any("external identity provider" in n for n in plan.notes)
    assert inventory()["users"] == 2


def test_pruned_set_takes_its_hand_made_assignments_along(clients: Any, clock: Any) -> None:
    from tests.test_destroy import assign_by_hand

    plan_and_apply(clients, parse(BASE))
    assign_by_hand("DevPower", "ana", "111122223333")
    doc = copy.deepcopy(BASE)
    doc["permission_sets"] = doc["permission_sets"][:1]
    doc["assignments"] = doc["assignments"][:1]
    plan, result, _ = prune(doc, clock)
    reasons = {c.key: {f.name: f.new for f in c.fields} for c in plan.changes if c.resource == "assignment"}
    assert reasons["user ana -> DevPower on 111122223333"] == {"reason": "not in the config"}
    assert result.ok and inventory()["permission_sets"] == 1


def test_an_absent_user_in_a_declared_group_is_removed_from_it_once(clients: Any, clock: Any) -> None:
    """bo is under absent: and, added by hand, a member of the declared group Ops: both reasons
    find the same membership, and its kind plans one deletion of it."""
    from provisioner.kinds import memberships
    from provisioner.kinds.base import Mode

    plan_and_apply(clients, parse(BASE))
    add_bo_to_ops_by_hand()
    doc = copy.deepcopy(BASE)
    doc["users"] = doc["users"][:1]
    doc["assignments"][1]["users"] = []
    doc["absent"] = {"users": ["bo"]}
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    runner.plan(prune=True)
    assert runner.live is not None
    keys = [c.key for c in memberships.KIND.diff(parse(doc), runner.live, Mode.PRUNE).changes]
    assert sorted(keys) == ["bo in Dev", "bo in Ops"]


def dropped(doc: dict[str, Any]) -> dict[str, Any]:
    """BASE without DevPower (and its assignment), with bo under absent: (and out of the config)."""
    doc = copy.deepcopy(doc)
    doc["users"] = doc["users"][:1]
    doc["permission_sets"] = doc["permission_sets"][:1]
    doc["assignments"] = doc["assignments"][:1]
    doc["absent"] = {"users": ["bo"]}
    return doc


def test_a_plan_without_prune_notes_what_prune_would_delete(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(BASE))
    plan = Runner(make_clients(clock), parse(dropped(BASE)), run_settings()).plan()
    assert not [c for c in plan.changes if c.action is Action.DELETE]
    assert (
        "2 object(s) --prune would delete (user bo, permission set DevPower): plan --prune shows them"
        in plan.notes
    )
    pruning = Runner(make_clients(clock), parse(dropped(BASE)), run_settings()).plan(prune=True)
    assert {("user", "bo"), ("permission_set", "DevPower")} <= {
        (c.resource, c.key) for c in pruning.changes if c.action is Action.DELETE
    }


def test_a_plan_notes_nothing_to_prune_when_nothing_is_left(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(BASE))
    prune(dropped(BASE), clock)
    plan = Runner(make_clients(clock), parse(dropped(BASE)), run_settings()).plan()
    assert plan.empty and not [n for n in plan.notes if "not declared" in n]


def test_a_config_without_a_name_is_told_prune_needs_one(clients: Any, clock: Any) -> None:
    unnamed = {key: value for key, value in BASE.items() if key != "name"}
    plan_and_apply(clients, parse(unnamed))
    plan = Runner(make_clients(clock), parse(dropped(unnamed)), run_settings()).plan()
    # Its sets are every unnamed config's: only the absent user is counted.
    assert (
        "1 object(s) --prune would delete (user bo): --prune deletes them once the config has a "
        "name (a top-level name:)" in plan.notes
    )
