"""Account assignments as AWS lists them: rows that name their own principal."""

from __future__ import annotations

import copy
from typing import Any

from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory

CURRENT = "123456789012"
# Three accounts for one group: more (set, account) pairs than principals, so the plain plan
# reads assignments by principal.
GROUP_ACCESS: dict[str, Any] = {
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
