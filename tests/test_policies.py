"""The policies a permission set is to get are checked with IAM in the plan, before any change:
a misspelled AWS managed policy is a plan error, not a set left half made by apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply, run_settings


def dev(**spec: Any) -> dict[str, Any]:
    """A set Dev, assigned to a group on this run's account."""
    return {
        "groups": [{"name": "Developers"}],
        "permission_sets": [{"name": "Dev", **spec}],
        "assignments": [{"permission_set": "Dev", "groups": ["Developers"], "accounts": ["current"]}],
    }


def planned(doc: dict[str, Any], clock: Any) -> Any:
    return Runner(make_clients(clock), parse(doc), run_settings()).plan()


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            {"managed_policies": ["ReadOnlyAccess", "PowerUserAcess"]},
            "permission_sets[0] Dev: managed_policies: no AWS managed policy PowerUserAcess "
            "(arn:aws:iam::aws:policy/PowerUserAcess does not exist): did you mean PowerUserAccess?",
        ),
        (  # the name without its path
            {"managed_policies": ["ViewOnlyAccess"]},
            "permission_sets[0] Dev: managed_policies: no AWS managed policy ViewOnlyAccess "
            "(arn:aws:iam::aws:policy/ViewOnlyAccess does not exist): did you mean job-function/ViewOnlyAccess?",
        ),
        (
            {"permissions_boundary": {"managed_policy": "PowerUserAccesss"}},
            "permission_sets[0] Dev: permissions_boundary.managed_policy: no AWS managed policy PowerUserAccesss "
            "(arn:aws:iam::aws:policy/PowerUserAccesss does not exist): did you mean PowerUserAccess?",
        ),
        (
            {"managed_policies": ["NothingLikeAnyPolicyAtAll"]},
            "permission_sets[0] Dev: managed_policies: no AWS managed policy NothingLikeAnyPolicyAtAll "
            "(arn:aws:iam::aws:policy/NothingLikeAnyPolicyAtAll does not exist): correct its name "
            "(IAM console, Policies, filter by AWS managed)",
        ),
    ],
    ids=["misspelled", "without its path", "boundary", "no close match"],
)
def test_an_unknown_aws_managed_policy_is_a_plan_error(
    aws: realism.State, clock: Any, spec: dict[str, Any], error: str
) -> None:
    assert planned(dev(**spec), clock).errors == [error]


def test_apply_of_a_misspelled_policy_changes_nothing(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "ic.yaml"
    path.write_text(yaml.safe_dump(dev(managed_policies=["PowerUserAcess"])))
    result = CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", str(path), "--yes"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "did you mean PowerUserAccess?" in result.output
    assert aws.writes() == 0


def test_policies_already_attached_are_not_looked_up_again(aws: realism.State, clock: Any) -> None:
    doc = dev(managed_policies=["ReadOnlyAccess"], permissions_boundary={"managed_policy": "PowerUserAccess"})
    first = make_clients(clock)
    plan_and_apply(first, parse(doc))
    assert first.log.counts["iam:GetPolicy"] == 2 and first.log.counts["iam:ListPolicies"] == 0
    again = make_clients(clock)
    assert Runner(again, parse(doc), run_settings()).plan().empty
    assert "iam:GetPolicy" not in again.log.counts


def test_a_caller_that_may_not_read_policies_gets_a_warning(aws: realism.State, clock: Any) -> None:
    realism.configure(refuse={"GetPolicy": ("AccessDenied", "not authorized to perform iam:GetPolicy")})
    plan = planned(dev(managed_policies=["PowerUserAcess"]), clock)
    assert not plan.errors and [c.resource for c in plan.changes] == ["group", "permission_set", "assignment"]
    assert any("may not call iam:GetPolicy" in w and "not checked" in w for w in plan.warnings), plan.warnings


def create_policy(name: str, path: str = "/") -> None:
    document = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ce:Get*", "Resource": "*"}]}'
    boto3.client("iam", region_name=REGION).create_policy(PolicyName=name, Path=path, PolicyDocument=document)


@pytest.mark.parametrize("exists", [False, True])
def test_a_customer_managed_policy_missing_from_this_account_is_a_warning(
    aws: realism.State, clock: Any, exists: bool
) -> None:
    if exists:
        create_policy("CostReportsReader", "/finance/")
    plan = planned(dev(customer_managed_policies=[{"name": "CostReportsReader", "path": "/finance/"}]), clock)
    warned = [w for w in plan.warnings if "/finance/CostReportsReader" in w]
    assert not plan.errors
    assert warned == (
        []
        if exists
        else [
            "permission_sets[0] Dev: customer_managed_policies: no policy /finance/CostReportsReader in account "
            "123456789012, where the config assigns Dev: its assignment there fails until the policy exists; "
            "create it in that account (and in every account the set is assigned on), or correct its name and path"
        ]
    )



@pytest.mark.parametrize(
    "spec",
    [
        {"customer_managed_policies": [{"name": "CostReportsReader", "path": "/finance/"}]},
        {"permissions_boundary": {"customer_managed_policy": {"name": "CostReportsReader", "path": "/finance/"}}},
    ],
    ids=["policy", "boundary"],
)
def test_an_assignment_failed_for_a_missing_customer_policy_is_made_once_it_exists(
    clients: Any, clock: Any, spec: dict[str, Any]
) -> None:
    _, result, _ = plan_and_apply(clients, parse(dev(**spec)))
    assert [(o.change.resource, o.status) for o in result.failed] == [("assignment", "failed")]
    assert "'/finance/CostReportsReader'" in result.failed[0].detail
    create_policy("CostReportsReader", "/finance/")
    plan, result, _ = plan_and_apply(make_clients(clock), parse(dev(**spec)))
    assert [c.resource for c in plan.changes] == ["assignment"] and result.ok, result.to_json()
    assert Runner(make_clients(clock), parse(dev(**spec)), run_settings()).plan().empty


def test_the_plan_after_a_failed_assignment_still_warns_of_the_missing_policy(clients: Any, clock: Any) -> None:
    """The reference is attached by then, but the set is not on this account: the assignment
    would fail again, so the policy is looked up again."""
    doc = dev(customer_managed_policies=[{"name": "CostReportsReader", "path": "/finance/"}])
    plan_and_apply(clients, parse(doc))
    plan = Runner(make_clients(clock), parse(doc), run_settings()).plan()
    assert [c.resource for c in plan.changes] == ["assignment"]
    assert [w for w in plan.warnings if "no policy /finance/CostReportsReader in account" in w], plan.warnings


def test_a_noop_plan_of_a_set_with_customer_policies_looks_none_up(clients: Any, clock: Any) -> None:
    create_policy("CostReportsReader", "/finance/")
    doc = dev(customer_managed_policies=[{"name": "CostReportsReader", "path": "/finance/"}])
    plan_and_apply(clients, parse(doc))
    reader = make_clients(clock)
    assert Runner(reader, parse(doc), run_settings()).plan().empty
    assert "iam:GetPolicy" not in reader.log.counts


def test_a_customer_managed_policy_of_other_accounts_is_not_looked_up(aws: realism.State, clock: Any) -> None:
    doc = dev(customer_managed_policies=[{"name": "CostReportsReader", "path": "/"}])
    doc["assignments"][0]["accounts"] = ["111122223333"]  # not readable with this run's credentials
    clients = make_clients(clock)
    plan = Runner(clients, parse(doc), run_settings()).plan()
    assert not [w for w in plan.warnings if "customer_managed_policies" in w]
    assert "iam:GetPolicy" not in clients.log.counts


def test_a_set_whose_policy_failed_to_attach_is_finished_by_the_next_run(aws: realism.State, clock: Any) -> None:
    doc = dev(managed_policies=["ReadOnlyAccess"])
    realism.configure(refuse={"AttachManagedPolicyToPermissionSet": ("AccessDeniedException", "not now")})
    plan, result, _ = plan_and_apply(make_clients(clock), parse(doc))
    failed = {o.change.resource: o.detail for o in result.outcomes if not o.ok}
    assert "AttachManagedPolicyToPermissionSet" in failed["permission_set"]
    assert failed["assignment"].startswith("not tried")
    realism.configure()
    again = make_clients(clock)
    plan, result, _ = plan_and_apply(again, parse(doc))
    # The set exists (created, tagged ours): it is finished, not created again, then assigned.
    assert [(c.resource, c.action.value) for c in plan.changes] == [
        ("permission_set", "update"),
        ("assignment", "create"),
    ]
    assert result.ok and again.log.writes() == {
        "sso-admin:AttachManagedPolicyToPermissionSet": 1,
        "sso-admin:CreateAccountAssignment": 1,
    }
    last = make_clients(clock)
    assert plan_and_apply(last, parse(doc))[0].empty and last.log.writes() == {}
