"""Registering IAM Identity Center's delegated administrator: `delegated_administrator:` and
`bootstrap --delegate-to`, from the management account only, planned like any change,
idempotent, never deregistered; and what doctor says about it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.context import AccountRole, Context
from provisioner.kinds.base import LiveState, Mode
from provisioner.kinds.delegated_administrator import KIND, Delegation
from provisioner.plan import Action, KindName
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, run_settings
from tests.realism.delegation import add_member
from tests.realism.organizations import set_account_state
from tests.test_delegation_realism import DELEGATED, MANAGEMENT, OTHER_MEMBER, SSO, as_account

DECLARED = {"delegated_administrator": DELEGATED}


@pytest.fixture
def members(aws: realism.State) -> None:
    """An organization with two member accounts, neither registered yet."""
    add_member(DELEGATED, "security")
    add_member(OTHER_MEMBER, "workloads")


def registered() -> list[str]:
    settings = realism.STATE.settings
    caller, settings.caller_account = settings.caller_account, None
    try:
        org = boto3.client("organizations", region_name="us-east-1")
        return [a["Id"] for a in org.list_delegated_administrators(ServicePrincipal=SSO)["DelegatedAdministrators"]]
    finally:
        settings.caller_account = caller


def register(account: str = DELEGATED) -> None:
    boto3.client("organizations", region_name="us-east-1").register_delegated_administrator(
        AccountId=account, ServicePrincipal=SSO
    )


def run(doc: dict[str, Any], clock: Any) -> Runner:
    return Runner(make_clients(clock), parse(doc), run_settings())


def registrations(plan: Any) -> list[Any]:
    return [c for c in plan.changes if c.kind is KindName.DELEGATED_ADMINISTRATOR]


def test_it_is_registered_like_any_change_then_left_as_it_is(members: None, clock: Any) -> None:
    first = run(DECLARED, clock)
    planned = first.plan()
    assert [(c.action, c.key) for c in registrations(planned)] == [(Action.CREATE, DELEGATED)]
    assert registered() == []  # planning changed nothing
    assert first.apply(planned).ok
    assert registered() == [DELEGATED]
    second = run(DECLARED, clock)
    again = second.plan()
    assert again.empty and again.unchanged["delegated_administrator"] == 1
    assert second.apply(again).outcomes == [] and second.clients.log.writes() == {}


def test_one_registered_meanwhile_is_adopted(members: None, clock: Any) -> None:
    first = run(DECLARED, clock)
    planned = first.plan()
    register()
    outcome = first.apply(planned).outcomes[0]
    assert outcome.ok and "adopted" in outcome.detail


def test_not_read_when_the_config_names_none(members: None, clock: Any) -> None:
    runner = run({"groups": [{"name": "Ops"}]}, clock)
    assert not registrations(runner.plan())
    assert "organizations:ListDelegatedAdministrators" not in runner.clients.log.counts


@pytest.mark.parametrize(
    ("setup", "declared", "expected"),
    [
        (lambda: register(OTHER_MEMBER), DELEGATED, f"account {OTHER_MEMBER} is IAM Identity Center's delegated"),
        (lambda: None, MANAGEMENT, f"{MANAGEMENT} is the management account"),
        (lambda: set_account_state(DELEGATED, "SUSPENDED"), DELEGATED, f"account {DELEGATED} is SUSPENDED"),
    ],
    ids=["another account is registered", "the management account", "a suspended account"],
)
def test_what_aws_would_refuse_is_a_plan_error(
    members: None, clock: Any, setup: Any, declared: str, expected: str
) -> None:
    setup()
    planned = run({"delegated_administrator": declared}, clock).plan()
    assert not registrations(planned)
    assert [e for e in planned.errors if e.startswith("delegated_administrator: ") and expected in e], planned.errors


@pytest.mark.parametrize("organization", [False, True], ids=["no organization", "account not in it"])
@pytest.mark.standalone  # the no-organization path, and an account outside it
def test_an_account_that_cannot_be_registered_is_a_plan_error(
    aws: realism.State, clock: Any, organization: bool
) -> None:
    if organization:
        add_member(OTHER_MEMBER, "workloads")
    planned = run(DECLARED, clock).plan()
    assert not registrations(planned)
    expected = "is not in the organization" if organization else f"account {MANAGEMENT} is in no organization"
    assert [e for e in planned.errors if e.startswith("delegated_administrator: ") and expected in e], planned.errors


@pytest.mark.standalone  # the no-organization path
def test_bootstrap_delegate_to_without_an_organization_changes_nothing(aws: realism.State) -> None:
    args = ["--region", REGION, "bootstrap", "--user-name", "admin", "--email", "admin@example.com"]
    result = CliRunner().invoke(cli, [*args, "--delegate-to", DELEGATED, "--yes"])
    assert result.exit_code == 1, result.output
    assert "error: delegated_administrator: account 123456789012 is in no organization" in result.output
    assert realism.STATE.writes() == 0


def test_from_the_delegated_administrator_its_registration_is_unchanged(members: None, clock: Any) -> None:
    register()
    as_account(DELEGATED)
    runner = run(DECLARED, clock)
    planned = runner.plan()
    assert planned.empty and not planned.errors and planned.unchanged["delegated_administrator"] == 1
    assert runner.clients.log.counts["organizations:ListDelegatedAdministrators"] == 1  # read once, for both


def test_registering_outside_the_management_account_is_a_plan_error() -> None:
    ctx = Context(
        "arn:aws:sso:::instance/ssoins-1",
        "d-1234567890",
        OTHER_MEMBER,
        "aws",
        REGION,
        account_role=AccountRole.OTHER,
        management_account=MANAGEMENT,
    )
    live = LiveState(ctx, datetime.now(timezone.utc), {KindName.DELEGATED_ADMINISTRATOR: Delegation(registered=())})
    diff = KIND.diff(parse(DECLARED), live, Mode.PLAN)
    assert not diff.changes
    assert diff.errors == [
        f"delegated_administrator: only the management account {MANAGEMENT} may register {DELEGATED}, and this "
        f"run is from account {OTHER_MEMBER} (not the management account nor the delegated administrator): run "
        "this config from the management account once"
    ]


def test_destroy_never_deregisters(members: None, clock: Any) -> None:
    register()
    runner = run(DECLARED, clock)
    planned = runner.plan_destroy()
    assert planned.empty and any("stays registered" in n for n in planned.notes)
    runner.apply(planned)
    assert registered() == [DELEGATED]
    assert "organizations:DeregisterDelegatedAdministrator" not in runner.clients.log.counts


def export_and_plan(tmp_path: Path) -> dict[str, Any]:
    """`export -o FILE`, then `plan -f FILE --detailed-exitcode`, which must find nothing to do;
    the exported document."""
    out = tmp_path / "exported.yaml"
    result = CliRunner().invoke(cli, ["--region", REGION, "export", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    planned = CliRunner().invoke(cli, ["--region", REGION, "plan", "-f", str(out), "--detailed-exitcode"])
    assert planned.exit_code == 0, planned.output
    return dict(yaml.safe_load(out.read_text()))


def test_export_writes_the_registration(members: None, tmp_path: Path) -> None:
    register()
    assert export_and_plan(tmp_path)["delegated_administrator"] == DELEGATED


# -- bootstrap --delegate-to -------------------------------------------------------------------
def test_bootstrap_delegates_and_gives_the_admins_access_there(members: None, tmp_path: Path) -> None:
    written = tmp_path / "identity-center.yaml"
    args = ["--region", REGION, "bootstrap", "--user-name", "admin", "--email", "admin@example.com"]
    args += ["--delegate-to", DELEGATED, "--write-config", str(written), "--yes"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"+ delegated administrator {DELEGATED}" in result.output
    assert registered() == [DELEGATED]
    config = yaml.safe_load(written.read_text())
    assert config["delegated_administrator"] == DELEGATED
    assert config["assignments"][0]["accounts"] == [DELEGATED]
    again = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert again.exit_code == 0 and "No changes" in again.output


def test_bootstrap_delegate_to_takes_an_account_id(aws: realism.State) -> None:
    result = CliRunner().invoke(
        cli,
        ["--region", REGION, "bootstrap", "--user-name", "a", "--email", "a@example.com", "--delegate-to", "me"],
    )
    assert result.exit_code == 64  # a bad option value: a usage error
    assert "Invalid value for '--delegate-to': 'me' is not a 12-digit account id" in result.output
    assert realism.STATE.calls == {}


# -- doctor ------------------------------------------------------------------------------------
def doctor_check(name: str = "delegated administrator") -> dict[str, str]:
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "doctor"])
    return next(c for c in json.loads(result.stdout)["checks"] if c["check"] == name)


def test_doctor_recommends_a_delegated_administrator_when_there_is_none(members: None) -> None:
    check = doctor_check()
    assert check["status"] == "WARN" and "--delegate-to" in check["fix"]


def test_doctor_reports_the_registration(members: None) -> None:
    register()
    check = doctor_check()
    assert check["status"] == "PASS" and DELEGATED in check["detail"]


def test_doctor_from_the_delegated_administrator(members: None) -> None:
    register()
    as_account(DELEGATED)
    assert doctor_check()["status"] == "PASS" and "this account" in doctor_check()["detail"]
    organization = doctor_check("organization")
    assert organization["status"] == "PASS" and "delegated administrator" in organization["detail"]


# -- a member account that is not registered sees no instance --------------------------------
def test_doctor_from_an_unregistered_member_says_where_the_instance_is(members: None) -> None:
    register()
    as_account(OTHER_MEMBER)
    check = doctor_check("IAM Identity Center")
    assert check["status"] == "FAIL"
    assert f"account {OTHER_MEMBER}, a member account" in check["detail"] and MANAGEMENT in check["detail"]
    assert check["fix"].startswith(f"run from the management account {MANAGEMENT}, or register this account")
    assert "enable it" not in check["fix"] and "do not enable" in check["fix"]


def test_plan_from_an_unregistered_member_says_where_the_instance_is(members: None, tmp_path: Path) -> None:
    as_account(OTHER_MEMBER)
    config = tmp_path / "c.yaml"
    config.write_text("groups: [{name: Ops}]\n")
    result = CliRunner().invoke(cli, ["--region", REGION, "plan", "-f", str(config)])
    assert result.exit_code != 0
    assert f"no IAM Identity Center instance is visible from account {OTHER_MEMBER}" in result.output
    assert f"--delegate-to {OTHER_MEMBER}" in result.output and "enable it" not in result.output
