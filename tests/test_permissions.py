"""The IAM actions doctor asks for are the ones the kinds declare, and they cover every call."""

from __future__ import annotations

import copy
import json
from typing import Any

from click.testing import CliRunner

from provisioner import doctor
from provisioner.aws import Clients
from provisioner.cli import cli
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, make_clients, parse, plan_and_apply, run_settings
from tests.test_prune import BASE


def test_a_whole_lifecycle_calls_only_declared_actions(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=1.0, clock=clock.now)
    seen: set[str] = set()
    plan_and_apply(clients, parse(BASE))
    dropped = copy.deepcopy(BASE)
    dropped["permission_sets"] = dropped["permission_sets"][:1]
    dropped["assignments"] = dropped["assignments"][:1]
    dropped["absent"] = {"users": ["bo"], "groups": ["Dev"]}
    dropped["users"] = dropped["users"][:1]
    dropped["groups"] = dropped["groups"][:1]
    pruner = make_clients(clock)
    runner = Runner(pruner, parse(dropped), run_settings())
    assert runner.apply(runner.plan(prune=True)).ok
    destroyer = make_clients(clock)
    runner = Runner(destroyer, parse(dropped), run_settings())
    assert runner.apply(runner.plan_destroy()).ok
    for run in (clients, pruner, destroyer):
        seen |= {
            f"{'sso' if op.startswith('sso-admin') else op.split(':')[0]}:{op.split(':')[1]}" for op in run.log.counts
        }
    assert {"sso:DeleteAccountAssignment", "sso:DeletePermissionSet", "identitystore:DeleteUser"} <= seen
    assert seen <= set(doctor.required_actions()), sorted(seen - set(doctor.required_actions()))


def test_doctor_asks_for_what_deleting_and_reading_need(aws: realism.State) -> None:
    result = CliRunner().invoke(
        cli, ["--region", REGION, "--output", "json", "doctor", "-f", str(EXAMPLES / "identity-center-admin.yaml")]
    )
    fix = next(c["actions"] for c in json.loads(result.stdout)["checks"] if c["check"] == "permissions")
    for action in (
        "sso:DeletePermissionSet",
        "sso:ListAccountAssignments",
        "identitystore:DeleteGroup",
        "organizations:ListAccounts",
    ):
        assert action in fix


def test_the_access_reports_actions_are_every_read_a_run_declares() -> None:
    from provisioner import access

    organizations = {"DescribeOrganization", "ListDelegatedAdministrators", "ListAccounts", "DescribeAccount"}
    assert {f"organizations:{a}" for a in organizations} <= access.REPORT_ACTIONS
    assert not [a for a in access.REPORT_ACTIONS if a.split(":")[1].startswith(("Create", "Delete", "Register"))]
