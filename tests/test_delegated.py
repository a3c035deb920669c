"""Running from IAM Identity Center's delegated administrator: where a run works, reads that
avoid what only the management account may call, and plan errors for what it may not do."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner

from provisioner import context
from provisioner.cli import cli
from provisioner.context import AccountRole, Context
from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory
from tests.test_delegated_administrator import export_and_plan
from tests.test_delegation_realism import DELEGATED, MANAGEMENT, OTHER_MEMBER, as_account, organization
from tests.test_prune import BASE

# A team's config, run from the delegated administrator: nothing on the management account.
# It declares more (set, account) pairs than principals: the management account reads it by
# principal.
TEAM: dict[str, Any] = {
    **copy.deepcopy(BASE),
    "assignments": [
        {"permission_set": "OpsAdmin", "groups": ["Ops"], "accounts": ["current", OTHER_MEMBER]},
        {"permission_set": "DevPower", "groups": ["Dev"], "accounts": [OTHER_MEMBER]},
    ],
}
# What the management account keeps for itself: a set assigned on it.
MANAGEMENT_ONLY: dict[str, Any] = {
    "name": "root",
    "groups": [{"name": "Billing"}],
    "permission_sets": [{"name": "BillingAdmin", "managed_policies": ["job-function/Billing"]}],
    "assignments": [{"permission_set": "BillingAdmin", "groups": ["Billing"], "accounts": ["current"]}],
}


@pytest.fixture
def delegated(aws: realism.State, clock: Any) -> Any:
    """An organization whose member DELEGATED is IAM Identity Center's delegated
    administrator; calls act as DELEGATED once `delegate()` is called."""
    organization()
    return clock


def delegate(clock: Any, **settings: Any) -> None:
    as_account(DELEGATED, async_seconds=1.0, clock=clock.now, **settings)


def runner(doc: dict[str, Any], clock: Any) -> Runner:
    return Runner(make_clients(clock), parse(doc), run_settings())


def plan(doc: dict[str, Any], clock: Any, prune: bool = False) -> Any:
    return runner(doc, clock).plan(prune=prune)


def apply(doc: dict[str, Any], clock: Any, prune: bool = False, destroy: bool = False) -> tuple[Any, Any, Any]:
    run = runner(doc, clock)
    planned = run.plan_destroy() if destroy else run.plan(prune=prune)
    return planned, run.apply(planned), run


def existing() -> dict[str, int]:
    """What exists, read as the management account (the only one that may list by principal)."""
    settings = realism.STATE.settings
    caller, settings.caller_account = settings.caller_account, None
    try:
        return inventory()
    finally:
        settings.caller_account = caller


def with_management_set(clock: Any) -> None:
    """The management account's own set, assigned on it (applied as the management account)."""
    plan_and_apply(make_clients(clock), parse(MANAGEMENT_ONLY))


# -- where it runs ------------------------------------------------------------------------------
def test_from_the_management_account_nothing_more_is_read(aws: realism.State, clock: Any) -> None:
    organization()
    plan_and_apply(make_clients(clock), parse(TEAM))
    run = runner(TEAM, clock)
    assert run.plan().empty
    assert run.ctx is not None and run.ctx.account_role is AccountRole.MANAGEMENT
    assert run.ctx.management == MANAGEMENT
    assert not [op for op in run.clients.log.counts if op.startswith("organizations:")]
    assert run.clients.log.counts["sso-admin:ListAccountAssignmentsForPrincipal"] == 2


def test_from_the_delegated_administrator_the_context_says_so(delegated: Any) -> None:
    delegate(delegated)
    run = runner(TEAM, delegated)
    run.plan()
    assert run.ctx is not None
    assert (run.ctx.account_role, run.ctx.account_id, run.ctx.management) == (
        AccountRole.DELEGATED_ADMINISTRATOR,
        DELEGATED,
        MANAGEMENT,
    )
    assert run.clients.log.counts["organizations:ListDelegatedAdministrators"] == 1


def test_a_member_that_cannot_tell_is_neither_and_reads_as_one(delegated: Any) -> None:
    delegate(delegated, deny=lambda operation, _: operation == "ListDelegatedAdministrators")
    run = runner(TEAM, delegated)
    found = run.plan()
    assert run.ctx is not None and run.ctx.account_role is AccountRole.OTHER
    assert run.ctx.management == MANAGEMENT
    assert "sso-admin:ListAccountAssignmentsForPrincipal" not in run.clients.log.counts
    assert not found.errors


# An instance read without OwnerAccountId: where it stands is then DescribeOrganization's to tell.
NO_OWNER = {"InstanceArn": "arn:aws:sso:::instance/ssoins-1", "IdentityStoreId": "d-1234567890"}


@pytest.mark.parametrize(
    ("caller", "in_organization", "refuse", "role", "management"),
    [
        (MANAGEMENT, True, None, AccountRole.MANAGEMENT, MANAGEMENT),
        (DELEGATED, True, None, AccountRole.DELEGATED_ADMINISTRATOR, MANAGEMENT),
        # Nothing tells another account: the instance is taken to be the caller's.
        (DELEGATED, True, "DescribeOrganization", AccountRole.MANAGEMENT, DELEGATED),
        (MANAGEMENT, False, None, AccountRole.MANAGEMENT, MANAGEMENT),
    ],
    ids=["management", "delegated", "describe-denied", "no-organization"],
)
def test_where_a_run_stands_always_names_the_management_account(
    aws: realism.State,
    clock: Any,
    caller: str,
    in_organization: bool,
    refuse: str | None,
    role: AccountRole,
    management: str,
) -> None:
    if in_organization:
        organization()
    as_account(caller, refuse={refuse: ("AccessDeniedException", "not authorized")} if refuse else {})
    where = context.standing(make_clients(clock), caller, NO_OWNER)
    assert (where.role, where.management_account) == (role, management)


def test_a_context_outside_the_management_account_needs_its_id() -> None:
    with pytest.raises(ValueError, match="outside the management account"):
        Context(
            "arn:aws:sso:::instance/ssoins-1",
            "d-1234567890",
            DELEGATED,
            "aws",
            REGION,
            account_role=AccountRole.DELEGATED_ADMINISTRATOR,
        )


@pytest.mark.standalone  # builds its own organization
def test_organization_targets_from_the_delegated_administrator_skip_the_management_account_unread(
    delegated: Any,
) -> None:
    """The context knows the management account: resolving targets does not describe the
    organization again."""
    delegate(delegated)
    doc = {**TEAM, "assignments": [{"permission_set": "OpsAdmin", "groups": ["Ops"], "all_accounts": True}]}
    run = runner(doc, delegated)
    found = run.plan()
    accounts = {f.new for c in found.changes if c.resource == "assignment" for f in c.fields if f.name == "account"}
    assert accounts == {DELEGATED, OTHER_MEMBER}
    assert run.clients.log.counts["organizations:DescribeOrganization"] == 0


def test_the_plan_header_and_json_say_where_it_runs(delegated: Any, tmp_path: Path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text(yaml.safe_dump(TEAM))
    delegate(delegated)
    text = CliRunner().invoke(cli, ["--region", REGION, "plan", "-f", str(config)], catch_exceptions=False)
    assert f"account {DELEGATED} (delegated administrator; management account {MANAGEMENT})" in text.output
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "plan", "-f", str(config)])
    context = json.loads(result.stdout)["context"]
    assert (context["account_role"], context["management_account"]) == ("delegated administrator", MANAGEMENT)


# -- reads and a day's work -------------------------------------------------------------------
def test_apply_then_a_no_op_plan_reads_by_set(delegated: Any) -> None:
    delegate(delegated)
    first, result, _ = apply(TEAM, delegated)
    assert result.ok, result.to_json()
    assert existing()["assignments"] == 3
    run = runner(TEAM, delegated)
    again = run.plan()
    assert again.empty and not again.errors
    counts = run.clients.log.counts
    assert "sso-admin:ListAccountAssignmentsForPrincipal" not in counts
    assert counts["sso-admin:ListAccountAssignments"] == 3  # OpsAdmin on 2 accounts, DevPower on 1
    assert run.apply(again).outcomes == [] and run.clients.log.writes() == {}


# Another config's set, on which bo has access of his own.
OTHER: dict[str, Any] = {
    "name": "other",
    "users": [{"user_name": "bo", "email": "bo@example.com", "groups": ["Dev"]}],
    "groups": [{"name": "Dev"}],
    "permission_sets": [{"name": "Shared", "managed_policies": ["ReadOnlyAccess"]}],
    "assignments": [{"permission_set": "Shared", "users": ["bo"], "accounts": [OTHER_MEMBER]}],
}


def without_bo() -> dict[str, Any]:
    """TEAM without DevPower, and bo under absent:."""
    dropped = copy.deepcopy(TEAM)
    dropped["permission_sets"] = dropped["permission_sets"][:1]
    dropped["assignments"] = dropped["assignments"][:1]
    dropped["users"] = dropped["users"][:1]
    dropped["absent"] = {"users": ["bo"]}
    return dropped


def test_prune_from_the_delegated_administrator(delegated: Any) -> None:
    delegate(delegated)
    apply(TEAM, delegated)
    apply(OTHER, delegated)
    dropped = without_bo()
    planned, result, _ = apply(dropped, delegated, prune=True)
    assert result.ok and not planned.errors, (result.to_json(), planned.errors)
    assert ("permission_set", "DevPower") in {(c.resource, c.key) for c in planned.changes}
    assert ("user", "bo") in {(c.resource, c.key) for c in planned.changes}
    assert ("assignment", f"user bo -> Shared on {OTHER_MEMBER}") in {(c.resource, c.key) for c in planned.changes}
    assert existing()["permission_sets"] == 2 and existing()["assignments"] == 2
    assert plan(dropped, delegated, prune=True).empty


def test_a_set_read_only_for_absent_principals_may_be_denied(delegated: Any) -> None:
    delegate(delegated)
    apply(TEAM, delegated)
    apply(OTHER, delegated)
    shared = next(s for s in exported_sets() if s["name"] == "Shared")["arn"]
    delegate(
        delegated,
        deny=lambda op, request: (
            op == "ListAccountsForProvisionedPermissionSet" and request["PermissionSetArn"] == shared
        ),
    )
    found = plan(without_bo(), delegated, prune=True)
    assert not found.errors
    assert any("absent: on Shared could not be read" in n for n in found.notes), found.notes


def test_destroy_from_the_delegated_administrator(delegated: Any) -> None:
    delegate(delegated)
    apply(TEAM, delegated)
    _, result, _ = apply(TEAM, delegated, destroy=True)
    assert result.ok, result.to_json()
    assert existing()["permission_sets"] == 0 and existing()["users"] == 0
    assert runner(TEAM, delegated).plan_destroy().empty


# -- what only the management account may do ------------------------------------------------------
def test_assigning_on_the_management_account_is_a_plan_error(delegated: Any) -> None:
    doc = copy.deepcopy(TEAM)
    doc["assignments"][1]["accounts"] = [OTHER_MEMBER, MANAGEMENT]
    delegate(delegated)
    found, result, run = apply(doc, delegated)
    assert any(
        e.startswith(f"assignments[1] assigns DevPower on the management account {MANAGEMENT}")
        and "run this part from the management account" in e
        and f"remove {MANAGEMENT} from assignments[1].accounts" in e
        for e in found.errors
    ), found.errors
    assert not [c for c in found.changes if c.resource == "assignment" and MANAGEMENT in c.key]


def test_editing_a_set_provisioned_to_the_management_account_is_a_plan_error(delegated: Any) -> None:
    with_management_set(delegated)
    edited = copy.deepcopy(MANAGEMENT_ONLY)
    edited["permission_sets"][0]["session_duration"] = "PT8H"
    edited["assignments"] = []
    delegate(delegated)
    found = plan(edited, delegated)
    assert [e for e in found.errors if e.startswith("permission set BillingAdmin is provisioned to the management")]
    assert f"management account {MANAGEMENT}" in found.errors[0] and "keep BillingAdmin" in found.errors[0]
    assert not [c for c in found.changes if c.resource in ("permission_set", "provisioning")]


def test_provisioning_a_set_stale_on_the_management_account_is_a_plan_error(delegated: Any) -> None:
    with_management_set(delegated)
    sso = boto3.client("sso-admin", region_name=REGION)  # edited by hand in the management account,
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]  # never provisioned again
    arn = sso.list_permission_sets(InstanceArn=instance)["PermissionSets"][0]
    sso.update_permission_set(InstanceArn=instance, PermissionSetArn=arn, SessionDuration="PT2H")
    doc = copy.deepcopy(MANAGEMENT_ONLY)
    doc["permission_sets"][0]["session_duration"] = "PT2H"
    doc["assignments"] = []
    delegate(delegated)
    found = plan(doc, delegated)
    assert [e for e in found.errors if e.startswith("permission set BillingAdmin is provisioned to the management")]
    assert found.empty


def test_assigning_a_set_provisioned_to_the_management_account_elsewhere_is_a_plan_error(delegated: Any) -> None:
    with_management_set(delegated)
    doc = copy.deepcopy(MANAGEMENT_ONLY)
    doc["assignments"][0]["accounts"] = [OTHER_MEMBER]
    delegate(delegated)
    found = plan(doc, delegated)
    assert found.errors == [
        next(e for e in found.errors if e.startswith("permission set BillingAdmin is provisioned to the management"))
    ]
    assert found.empty


def test_a_set_provisioned_to_the_management_account_may_be_declared_unchanged(delegated: Any) -> None:
    with_management_set(delegated)
    doc = copy.deepcopy(MANAGEMENT_ONLY)
    doc["assignments"] = []
    delegate(delegated)
    found = plan(doc, delegated)
    assert found.empty and not found.errors
    assert any("were not read" in n and "BillingAdmin" in n for n in found.notes)


def test_prune_leaves_an_owned_set_provisioned_to_the_management_account(delegated: Any) -> None:
    doc = copy.deepcopy(TEAM)
    doc["permission_sets"].append({"name": "Legacy", "managed_policies": ["ReadOnlyAccess"]})
    doc["assignments"].append({"permission_set": "Legacy", "groups": ["Ops"], "accounts": ["current"]})
    doc["assignments"][0]["accounts"] = [DELEGATED, OTHER_MEMBER]
    plan_and_apply(make_clients(delegated), parse(doc))  # as the management account: Legacy is on it
    delegate(delegated)
    apply(doc, delegated)
    dropped = copy.deepcopy(doc)
    dropped["permission_sets"] = dropped["permission_sets"][:2]
    dropped["assignments"] = dropped["assignments"][:2]
    found, result, _ = apply(dropped, delegated, prune=True)
    assert result.ok and not found.errors, found.errors
    assert not [c for c in found.changes if "Legacy" in c.key]
    assert any("Legacy" in n and "prune from the management account" in n for n in found.notes)
    assert "Legacy" in {s["name"] for s in exported_sets()}


def exported_sets() -> list[dict[str, Any]]:
    settings = realism.STATE.settings
    caller, settings.caller_account = settings.caller_account, None
    try:
        sso = boto3.client("sso-admin", region_name=REGION)
        arn = sso.list_instances()["Instances"][0]["InstanceArn"]
        return [
            {
                "name": sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=s)["PermissionSet"]["Name"],
                "arn": s,
            }
            for s in sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]
        ]
    finally:
        settings.caller_account = caller


def test_destroy_of_a_set_provisioned_to_the_management_account_is_a_plan_error(delegated: Any) -> None:
    with_management_set(delegated)
    doc = copy.deepcopy(MANAGEMENT_ONLY)
    doc["assignments"] = []
    delegate(delegated)
    found = runner(doc, delegated).plan_destroy()
    assert [e for e in found.errors if e.startswith("permission set BillingAdmin is provisioned to the management")]
    assert not [c for c in found.changes if c.resource in ("permission_set", "assignment")]


# -- export and sso-config -------------------------------------------------------------------------
def test_export_from_the_delegated_administrator_plans_clean(delegated: Any, tmp_path: Path) -> None:
    delegate(delegated)
    apply(TEAM, delegated)
    exported = export_and_plan(tmp_path)
    assert {s["name"] for s in exported["permission_sets"]} == {"OpsAdmin", "DevPower"}
    assert len(exported["assignments"]) == 2


def test_export_says_what_it_could_not_read_on_the_management_account(delegated: Any, tmp_path: Path) -> None:
    with_management_set(delegated)
    delegate(delegated)
    result = CliRunner().invoke(cli, ["--region", REGION, "export", "-o", str(tmp_path / "out.yaml")])
    assert result.exit_code == 0
    assert f"warning: assignments on the management account {MANAGEMENT} were not read" in result.stderr
    assert "BillingAdmin" in result.stderr


def test_sso_config_from_the_delegated_administrator(delegated: Any, tmp_path: Path) -> None:
    config = tmp_path / "team.yaml"
    config.write_text(yaml.safe_dump(TEAM))
    delegate(delegated)
    result = CliRunner().invoke(
        cli, ["--region", REGION, "sso-config", "-f", str(config), "--user", "ana"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert f"[profile OpsAdmin-{DELEGATED}]" in result.output and f"[profile OpsAdmin-{OTHER_MEMBER}]" in result.output


def test_an_assignment_past_its_until_is_removed_from_the_delegated_administrator(delegated: Any) -> None:
    delegate(delegated)
    _, result, _ = apply(TEAM, delegated)
    assert result.ok, result.to_json()
    expired = copy.deepcopy(TEAM)
    expired["assignments"][0]["until"] = "2020-01-01T00:00:00Z"
    plan = runner(expired, delegated).plan()
    removed = [c for c in plan.changes if c.action is Action.DELETE]
    assert removed and all("expired" in f.new for c in removed for f in c.fields if f.name == "reason")
    assert not [c for c in plan.changes if c.action is Action.CREATE]


@pytest.mark.parametrize(
    ("caller", "policy"),
    [(None, "AWSSSOMasterAccountAdministrator"), (DELEGATED, "AWSSSOMemberAccountAdministrator")],
    ids=["management account", "delegated administrator"],
)
def test_an_access_denied_names_the_managed_policy_for_where_it_runs(
    delegated: Any, caller: str | None, policy: str
) -> None:
    from provisioner.errors import AwsError

    deny = {"deny": lambda operation, request: operation == "ListPermissionSets"}
    if caller:
        delegate(delegated, **deny)
    else:
        realism.configure(**deny)
    with pytest.raises(AwsError) as denied:
        runner({"permission_sets": [{"name": "Ops", "managed_policies": ["ReadOnlyAccess"]}]}, delegated).plan()
    assert f"e.g. with the {policy} policy" in str(denied.value)


def test_current_says_what_it_is_from_the_delegated_administrator(delegated: Any) -> None:
    delegate(delegated)
    doc = {
        "groups": [{"name": "Ops"}],
        "permission_sets": [{"name": "Ops", "managed_policies": ["ReadOnlyAccess"]}],
        "assignments": [{"permission_set": "Ops", "groups": ["Ops"], "accounts": ["current", DELEGATED]}],
    }
    planned = runner(doc, delegated).plan()
    assert (
        f"current (in assignments[0].accounts) is account {DELEGATED}, where this run works (delegated "
        f"administrator), not the management account {MANAGEMENT}" in "\n".join(planned.notes)
    )
    assert [w for w in planned.warnings if w.startswith(f"assignments[0].accounts names account {DELEGATED} twice")]


def test_current_from_the_management_account_is_not_remarked_on(delegated: Any) -> None:
    doc = {"groups": [{"name": "Ops"}], "permission_sets": [{"name": "Ops"}]}
    doc["assignments"] = [{"permission_set": "Ops", "groups": ["Ops"], "accounts": ["current", DELEGATED]}]
    planned = runner(doc, delegated).plan()
    assert not [n for n in planned.notes + planned.warnings if "current" in n]
