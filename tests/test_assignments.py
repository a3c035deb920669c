"""Account assignments as AWS lists them: rows that name their own principal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory

CURRENT = "123456789012"
# Three accounts for one group: more (set, account) pairs than principals, so the plain plan
# reads assignments by principal.
GROUP_ACCESS: dict[str, Any] = {
    "name": "ops",
    "groups": [{"name": "Ops"}],
    "users": [{"user_name": "ana", "email": "ana@example.com", "groups": ["Ops"]}],
    "permission_sets": [{"name": "Admin", "managed_policies": ["AdministratorAccess"]}],
    "assignments": [
        {"permission_set": "Admin", "groups": ["Ops"], "accounts": ["current", "111122223333", "444455556666"]}
    ],
}


def with_direct_access(doc: dict[str, Any]) -> dict[str, Any]:
    """The same config, and `ana` assigned directly on the current account as well."""
    out = copy.deepcopy(doc)
    out["assignments"].append({"permission_set": "Admin", "users": ["ana"], "accounts": ["current"]})
    return out


def deletions(plan: Any) -> list[str]:
    return [c.key for c in plan.changes if c.resource == "assignment" and c.action is Action.DELETE]


def test_direct_assignment_is_planned_when_a_group_gives_the_same_access(clients: Any, clock: Any) -> None:
    realism.configure(user_query_returns_group_rows=True)
    plan_and_apply(clients, parse(GROUP_ACCESS))
    plan, result, _ = plan_and_apply(make_clients(clock), parse(with_direct_access(GROUP_ACCESS)))
    assert [c.key for c in plan.changes] == [f"user ana -> Admin on {CURRENT}"]
    assert result.ok and inventory()["assignments"] == 4
    again = Runner(make_clients(clock), parse(with_direct_access(GROUP_ACCESS)), run_settings()).plan()
    assert again.empty


def test_prune_of_an_absent_user_removes_its_rows_and_never_its_groups(clients: Any, clock: Any) -> None:
    realism.configure(user_query_returns_group_rows=True)
    plan_and_apply(clients, parse(with_direct_access(GROUP_ACCESS)))
    doc = copy.deepcopy(GROUP_ACCESS)
    doc["users"] = []
    doc["absent"] = {"users": ["ana"]}
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    plan = runner.plan(prune=True)
    assert deletions(plan) == [f"user ana -> Admin on {CURRENT}"]
    assert runner.apply(plan).ok
    assert inventory()["assignments"] == 3  # the group's three rows


# -- a plain plan notes the assignments the config no longer declares ----------------------
SEED_LIKE: dict[str, Any] = {
    "name": "admins",
    "groups": [{"name": "Admins"}],
    "users": [{"user_name": "admin", "email": "admin@example.com", "groups": ["Admins"]}],
    "permission_sets": [{"name": "Admin", "managed_policies": ["AdministratorAccess"]}],
    "assignments": [{"permission_set": "Admin", "groups": ["Admins"], "users": ["admin"], "accounts": ["current"]}],
}


def dropped_user(doc: dict[str, Any]) -> None:
    doc["assignments"][0]["users"] = []


def renamed_group(doc: dict[str, Any]) -> None:
    doc["groups"] = [{"name": "Platform"}]
    doc["users"][0]["groups"] = ["Platform"]
    doc["assignments"][0]["groups"] = ["Platform"]


@pytest.mark.parametrize(
    ("edit", "left"),
    [(dropped_user, f"user admin -> Admin on {CURRENT}"), (renamed_group, f"group Admins -> Admin on {CURRENT}")],
)
def test_plain_plan_notes_an_assignment_the_config_dropped(clients: Any, clock: Any, edit: Any, left: str) -> None:
    plan_and_apply(clients, parse(SEED_LIKE))
    doc = copy.deepcopy(SEED_LIKE)
    edit(doc)
    plan = Runner(make_clients(clock), parse(doc), run_settings()).plan()
    assert left not in [c.key for c in plan.changes]
    note = next(n for n in plan.notes if "assignment(s) exist" in n)
    assert note.startswith("1 assignment(s)") and left in note and "apply --prune" in note
    assert not [n for n in plan.notes if "read by principal" in n], "read by set: nothing was unseen"
    pruned, result, _ = prune_plan_and_apply(doc, clock)
    assert deletions(pruned) == [left] and result.ok


def test_plan_read_by_principal_names_what_it_saw_and_says_what_it_did_not(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(with_direct_access(GROUP_ACCESS)))
    wider = copy.deepcopy(GROUP_ACCESS)
    wider["assignments"][0]["accounts"] = ["current", "111122223333"]  # 444455556666 dropped
    reader = make_clients(clock)
    plan = Runner(reader, parse(wider), run_settings()).plan()
    assert reader.log.counts["sso-admin:ListAccountAssignmentsForPrincipal"] == 1  # Ops only
    assert any("group Ops -> Admin on 444455556666" in n and "apply --prune" in n for n in plan.notes)
    assert not any("user ana" in n for n in plan.notes)  # ana was not read
    assert any("read by principal" in n and "plan --prune" in n for n in plan.notes)


def prune_plan_and_apply(doc: dict[str, Any], clock: Any) -> tuple[Any, Any, Any]:
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    plan = runner.plan(prune=True)
    return plan, runner.apply(plan), runner
