"""AccessDenied on one resource (tag-scoped delegation, a delegated administrator) fails
that resource, not the run; a denial of the whole run still stops it at once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.aws import is_write
from provisioner.cli import cli
from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory

MANAGEMENT = "123456789012"  # the account moto calls from


def team(name: str, *accounts: str) -> dict[str, Any]:
    """A team's group and set (tagged team=<name>), assigned on `accounts`."""
    return {
        "groups": [{"name": f"{name}-people"}],
        "permission_sets": [{"name": f"{name}-deploy", "managed_policies": ["ReadOnlyAccess"], "tags": {"team": name}}],
        "assignments": [{"permission_set": f"{name}-deploy", "groups": [f"{name}-people"], "accounts": list(accounts)}],
    }


def both_teams() -> dict[str, Any]:
    a, b = team("a", "111122223333"), team("b", "111122223333")
    return {key: a[key] + b[key] for key in a}


def set_arn(name: str) -> str:
    sso = boto3.client("sso-admin", region_name=REGION)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    for arn in sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]:
        if sso.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)["PermissionSet"]["Name"] == name:
            return str(arn)
    raise AssertionError(name)


def plan(doc: dict[str, Any], clock: Any, prune: bool = False) -> Any:
    return Runner(make_clients(clock), parse(doc), run_settings()).plan(prune=prune)


# -- planning ---------------------------------------------------------------------------------
def test_an_undeclared_set_that_cannot_be_described_is_a_warning_and_skipped(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("b", "111122223333")))
    b_arn = set_arn("b-deploy")
    realism.configure(deny=realism.unless_tagged("team", "a"))
    found = plan(team("a", "111122223333"), clock)
    assert not found.errors
    assert [w for w in found.warnings if b_arn in w and "sso:DescribePermissionSet" in w], found.warnings
    result = Runner(make_clients(clock), parse(team("a", "111122223333")), run_settings())
    applied = result.apply(result.plan())
    assert applied.ok, applied.to_json()
    realism.configure()
    assert inventory()["permission_sets"] == 2


def test_prune_skips_an_undeclared_set_whose_tags_are_denied(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(both_teams() | {"name": "platform"}))
    realism.configure(deny=realism.unless_tagged("team", "a", operations={"ListTagsForResource"}))
    found = plan(team("a", "111122223333") | {"name": "platform"}, clock, prune=True)
    assert not found.errors and not [c for c in found.changes if c.key == "b-deploy"]
    assert [w for w in found.warnings if "b-deploy" in w and "sso:ListTagsForResource" in w], found.warnings


@pytest.mark.parametrize(
    "operation",
    [
        "ListManagedPoliciesInPermissionSet",
        "ListCustomerManagedPolicyReferencesInPermissionSet",
        "GetInlinePolicyForPermissionSet",
        "GetPermissionsBoundaryForPermissionSet",
        "ListTagsForResource",
        "ListAccountsForProvisionedPermissionSet",
    ],
)
def test_a_declared_set_that_cannot_be_read_is_a_plan_error(clients: Any, clock: Any, operation: str) -> None:
    plan_and_apply(clients, parse(both_teams()))
    realism.configure(deny=realism.unless_tagged("team", "a", operations={operation}))
    found = plan(both_teams(), clock)
    assert [e for e in found.errors if "b-deploy" in e and f"sso:{operation}" in e], found.errors
    assert not [e for e in found.errors if "a-deploy" in e]


def test_plan_with_an_unreadable_declared_set_does_not_claim_to_match(clients: Any, tmp_path: Path) -> None:
    plan_and_apply(clients, parse(both_teams()))
    realism.configure(deny=realism.unless_tagged("team", "a", operations={"ListTagsForResource"}))
    path = tmp_path / "ic.yaml"
    path.write_text(yaml.safe_dump(both_teams()))
    result = invoke("plan", "-f", str(path), "--detailed-exitcode")
    assert result.exit_code == 1 and "matches the config" not in result.output
    assert "error: permission set b-deploy: the caller may not call sso:ListTagsForResource" in result.output


def test_a_declared_name_hidden_by_a_denied_describe_fails_its_create_at_once(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("b", "111122223333")))
    realism.configure(deny=realism.unless_tagged("team", "a", operations={"DescribePermissionSet"}))
    doc = both_teams()
    found = plan(doc, clock)
    assert [w for w in found.warnings if "b-deploy" in w], found.warnings  # the warning names the risk
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    result = runner.apply(runner.plan())
    failed = {o.change.key: o.detail for o in result.failed if o.change.resource == "permission_set"}
    assert list(failed) == ["b-deploy"] and "sso:DescribePermissionSet" in failed["b-deploy"]
    assert runner.clients.log.counts["sso-admin:CreatePermissionSet"] == 2  # one each, never retried
    assert clock.t < 60  # no retrying of the conflict for minutes


# -- applying ---------------------------------------------------------------------------------
def test_a_denied_write_fails_that_change_and_the_rest_goes_on(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(both_teams()))
    writes_on_a = realism.unless_tagged("team", "a")
    realism.configure(deny=lambda operation, request: is_write(operation) and writes_on_a(operation, request))
    changed = copy.deepcopy(both_teams())
    for ps in changed["permission_sets"]:
        ps["session_duration"] = "PT2H"
    found, result, _ = plan_and_apply(make_clients(clock), parse(changed))
    assert not found.errors
    outcomes = {(o.change.resource, o.change.key): o for o in result.outcomes}
    assert outcomes[("permission_set", "a-deploy")].ok and outcomes[("provisioning", "a-deploy")].ok
    for what, action in (("permission_set", "UpdatePermissionSet"), ("provisioning", "ProvisionPermissionSet")):
        outcome = outcomes[(what, "b-deploy")]
        assert not outcome.ok and f"sso:{action}" in outcome.detail and f"account {MANAGEMENT}" in outcome.detail


def test_a_denied_assignment_leaves_the_others_polled_to_their_end(clients: Any, clock: Any) -> None:
    # A delegated administrator may not assign on the management account (user guide,
    # delegated administration); the other accounts' requests are already in flight.
    realism.configure(
        async_seconds=3,
        clock=clock.now,
        deny=lambda operation, request: operation == "CreateAccountAssignment" and request["TargetId"] == MANAGEMENT,
    )
    doc = team("a", "111122223333", MANAGEMENT, "444455556666")
    found, result, _ = plan_and_apply(clients, parse(doc))
    outcomes = {o.change.key: o for o in result.outcomes if o.change.resource == "assignment"}
    denied = outcomes.pop(f"group a-people -> a-deploy on {MANAGEMENT}")
    assert not denied.ok and "sso:CreateAccountAssignment" in denied.detail
    assert all(o.ok for o in outcomes.values()) and len(outcomes) == 2
    assert inventory()["assignments"] == 2
    assert not [r for r in realism.STATE.requests.values() if r.status == "IN_PROGRESS"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args])


@pytest.mark.parametrize("operation", ["ListInstances", "ListGroups", "ListUsers"])
def test_a_denial_of_the_whole_run_still_stops_at_once(aws: realism.State, operation: str) -> None:
    realism.configure(deny=lambda op, request: op == operation)
    result = invoke("apply", "-f", str(EXAMPLES / "identity-center-admin.yaml"), "--yes")
    assert result.exit_code == 1 and realism.STATE.writes() == 0
    assert result.output.startswith(f"error: {operation}: AccessDeniedException: User: ")
    assert len(result.output.strip().splitlines()) == 1


def test_expired_credentials_on_a_write_still_stop_at_once(aws: realism.State) -> None:
    realism.configure(refuse={"CreatePermissionSet": ("ExpiredTokenException", "The security token is expired")})
    result = invoke("apply", "-f", str(EXAMPLES / "identity-center-admin.yaml"), "--yes")
    assert result.exit_code == 1 and "aws sso login" in result.output
    assert result.output.strip().splitlines()[-1].startswith("error: CreatePermissionSet: ExpiredToken")
    assert realism.STATE.calls["sso-admin:CreateAccountAssignment"] == 0
    # What it did before it stopped is reported, and what it never reached is not started.
    assert "ok     create group IdentityCenterAdmins" in result.output
    assert "Stopped: " in result.output and " not started" in result.output


def test_changes_are_unaffected_when_nothing_is_denied(clients: Any, clock: Any) -> None:
    from tests.realism.orgs import join_organization

    join_organization(both_teams())
    found, result, _ = plan_and_apply(clients, parse(both_teams()))
    assert result.ok and not found.warnings and {c.action for c in found.changes} == {Action.CREATE}


DELEGATE_DOC = {
    "users": [{"user_name": "dee", "email": "dee@example.com"}],
    "permission_sets": [{"name": "Reader", "managed_policies": ["ReadOnlyAccess"]}],
    "assignments": [{"permission_set": "Reader", "users": ["dee"], "all_accounts": True}],
}


@pytest.mark.parametrize(
    ("command", "denied"),
    [(["export"], "ListGroups"), (["access"], "ListPermissionSets"), (["sso-config", "-f", "CONFIG"], "ListAccounts")],
)
def test_from_the_delegated_administrator_a_denial_suggests_the_member_policy(
    aws: realism.State, tmp_path: Path, command: list[str], denied: str
) -> None:
    from tests.test_delegation_realism import DELEGATED, as_account, organization

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(DELEGATE_DOC))
    organization()
    as_account(DELEGATED, deny=lambda operation, request: operation == denied)
    result = CliRunner().invoke(cli, ["--region", REGION, *[str(config) if a == "CONFIG" else a for a in command]])
    assert result.exit_code != 0 and denied in result.output
    assert "AWSSSOMemberAccountAdministrator policy" in result.output and "AWSSSOMasterAccount" not in result.output
    assert f"in account {DELEGATED} as arn:" in result.output
