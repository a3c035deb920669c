"""A standalone account (in no organization) has an account instance of IAM Identity Center,
which holds no permission set nor account assignment: the plan refuses a config that declares
them, before any write, and still plans users and groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, run_settings

pytestmark = pytest.mark.standalone  # these tests are about the account that is in no organization

IDENTITIES: dict[str, Any] = {
    "groups": [{"name": "Ops"}],
    "users": [
        {"user_name": "bo", "email": "bo@example.com", "given_name": "Bo", "family_name": "B", "groups": ["Ops"]}
    ],
}
SET = {"permission_sets": [{"name": "Admin", "managed_policies": ["AdministratorAccess"]}]}


def assigned(*accounts: str) -> dict[str, Any]:
    return {**SET, "assignments": [{"permission_set": "Admin", "groups": ["Ops"], "accounts": list(accounts)}]}


@pytest.mark.parametrize(
    "declared",
    [SET, assigned("current"), assigned("111122223333")],
    ids=["permission set", "assignment on this account", "assignment on another account"],
)
def test_permission_sets_or_assignments_in_a_standalone_account_are_a_plan_error(
    aws: realism.State, clock: Any, declared: dict[str, Any]
) -> None:
    plan = Runner(make_clients(clock), parse({**IDENTITIES, **declared}), run_settings()).plan()
    [error] = [e for e in plan.errors if "account instance" in e]
    assert "in no organization" in error and "cannot hold permission sets" in error
    assert "create an organization and enable IAM Identity Center in its management account" in error


def test_apply_in_a_standalone_account_changes_nothing(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(json.dumps({**IDENTITIES, **assigned("current")}))
    result = CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", str(path), "--yes"])
    assert result.exit_code == 1 and "account instance" in result.output
    assert realism.STATE.writes() == 0


def test_users_and_groups_alone_plan_in_a_standalone_account(aws: realism.State, clock: Any) -> None:
    plan = Runner(make_clients(clock), parse(IDENTITIES), run_settings()).plan()
    assert not plan.errors and {c.resource for c in plan.changes} == {"group", "user", "membership"}

