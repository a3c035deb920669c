"""The realism layer's caller accounts: a member account registered as IAM Identity Center's
delegated administrator, and one that is not, refused what AWS refuses them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply
from tests.realism.delegation import add_member

MANAGEMENT = "123456789012"  # the account moto keeps the data in
DELEGATED = "111122223333"
OTHER_MEMBER = "444455556666"
SSO = "sso.amazonaws.com"


def organization() -> Any:
    """An organization with two members; DELEGATED registered for IAM Identity Center."""
    add_member(DELEGATED, "security")
    add_member(OTHER_MEMBER, "workloads")
    org = boto3.client("organizations", region_name="us-east-1")
    org.register_delegated_administrator(AccountId=DELEGATED, ServicePrincipal=SSO)
    return org


def as_account(account: str, **settings: Any) -> None:
    """Every request from now on acts as `account`."""
    realism.configure(caller_account=account, **settings)


def refused(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response["Error"])


def sso() -> Any:
    return boto3.client("sso-admin", region_name=REGION)


def instance_arn() -> str:
    return str(sso().list_instances()["Instances"][0]["InstanceArn"])


def set_on(account: str, clock: Any, name: str = "Admin") -> str:
    """A permission set assigned (so provisioned) on `account`, made as the management account;
    its ARN."""
    doc = {
        "groups": [{"name": "Ops"}],
        "permission_sets": [{"name": name, "managed_policies": ["ReadOnlyAccess"]}],
        "assignments": [{"permission_set": name, "groups": ["Ops"], "accounts": [account]}],
    }
    plan_and_apply(make_clients(clock), parse(doc))
    client = sso()
    for arn in client.list_permission_sets(InstanceArn=instance_arn())["PermissionSets"]:
        if client.describe_permission_set(InstanceArn=instance_arn(), PermissionSetArn=arn)["PermissionSet"][
            "Name"
        ] == name:
            return str(arn)
    raise AssertionError(name)


def test_moto_takes_iam_identity_center_as_a_delegated_service(aws: realism.State) -> None:
    org = organization()
    listed = org.list_delegated_administrators(ServicePrincipal=SSO)["DelegatedAdministrators"]
    assert [a["Id"] for a in listed] == [DELEGATED]


def test_a_second_delegated_administrator_is_refused(aws: realism.State) -> None:
    org = organization()
    error = refused(lambda: org.register_delegated_administrator(AccountId=OTHER_MEMBER, ServicePrincipal=SSO))
    assert error["Code"] == "ConstraintViolationException"


def test_the_caller_is_the_member_account(aws: realism.State) -> None:
    organization()
    as_account(DELEGATED)
    identity = boto3.client("sts", region_name=REGION).get_caller_identity()
    assert identity["Account"] == DELEGATED and f"::{DELEGATED}:assumed-role/" in identity["Arn"]


def test_callers_are_told_apart_by_access_key(aws: realism.State) -> None:
    organization()
    realism.configure(callers={"ASIADELEGATED": DELEGATED})
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="ASIADELEGATED", aws_secret_access_key="x")
    assert sts.get_caller_identity()["Account"] == DELEGATED
    assert boto3.client("sts", region_name=REGION).get_caller_identity()["Account"] == MANAGEMENT


def test_the_delegated_administrator_sees_the_organization_instance(aws: realism.State) -> None:
    organization()
    as_account(DELEGATED)
    assert sso().list_instances()["Instances"][0]["OwnerAccountId"] == MANAGEMENT


def test_listing_by_principal_is_refused_outside_the_management_account(aws: realism.State) -> None:
    organization()
    arn = instance_arn()
    as_account(DELEGATED)
    error = refused(
        lambda: sso().list_account_assignments_for_principal(InstanceArn=arn, PrincipalId="p", PrincipalType="USER")
    )
    assert error["Code"] == "AccessDeniedException"
    assert "sso:ListAccountAssignmentsForPrincipal" in error["Message"]


def test_assigning_on_the_management_account_is_refused(aws: realism.State, clock: Any) -> None:
    organization()
    arn = set_on(OTHER_MEMBER, clock)
    as_account(DELEGATED)
    error = refused(
        lambda: sso().create_account_assignment(
            InstanceArn=instance_arn(),
            TargetId=MANAGEMENT,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=arn,
            PrincipalType="GROUP",
            PrincipalId="g",
        )
    )
    assert error["Code"] == "AccessDeniedException" and f"account/{MANAGEMENT}" in error["Message"]


def test_reading_the_management_accounts_assignments_is_refused(aws: realism.State, clock: Any) -> None:
    organization()
    arn = set_on(MANAGEMENT, clock)
    as_account(DELEGATED)
    error = refused(
        lambda: sso().list_account_assignments(InstanceArn=instance_arn(), AccountId=MANAGEMENT, PermissionSetArn=arn)
    )
    assert error["Code"] == "AccessDeniedException"


WRITES_TO_A_SET: dict[str, Callable[[Any, str, str], Any]] = {
    "UpdatePermissionSet": lambda c, i, a: c.update_permission_set(
        InstanceArn=i, PermissionSetArn=a, SessionDuration="PT2H"
    ),
    "AttachManagedPolicyToPermissionSet": lambda c, i, a: c.attach_managed_policy_to_permission_set(
        InstanceArn=i, PermissionSetArn=a, ManagedPolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    ),
    "PutInlinePolicyToPermissionSet": lambda c, i, a: c.put_inline_policy_to_permission_set(
        InstanceArn=i, PermissionSetArn=a, InlinePolicy='{"Version":"2012-10-17","Statement":[]}'
    ),
    "TagResource": lambda c, i, a: c.tag_resource(InstanceArn=i, ResourceArn=a, Tags=[{"Key": "k", "Value": "v"}]),
    "ProvisionPermissionSet": lambda c, i, a: c.provision_permission_set(
        InstanceArn=i, PermissionSetArn=a, TargetType="ALL_PROVISIONED_ACCOUNTS"
    ),
    "DeletePermissionSet": lambda c, i, a: c.delete_permission_set(InstanceArn=i, PermissionSetArn=a),
    "CreateAccountAssignment": lambda c, i, a: c.create_account_assignment(
        InstanceArn=i,
        TargetId=OTHER_MEMBER,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=a,
        PrincipalType="GROUP",
        PrincipalId="g",
    ),
}


@pytest.mark.parametrize("operation", sorted(WRITES_TO_A_SET))
def test_a_set_provisioned_to_the_management_account_is_refused_any_change(
    aws: realism.State, clock: Any, operation: str
) -> None:
    organization()
    arn = set_on(MANAGEMENT, clock)
    as_account(DELEGATED)
    error = refused(lambda: WRITES_TO_A_SET[operation](sso(), instance_arn(), arn))
    assert error["Code"] == "AccessDeniedException" and f"sso:{operation}" in error["Message"]


@pytest.mark.parametrize("operation", sorted(WRITES_TO_A_SET))
def test_a_set_on_member_accounts_only_may_be_changed(aws: realism.State, clock: Any, operation: str) -> None:
    organization()
    arn = set_on(OTHER_MEMBER, clock)
    as_account(DELEGATED)
    if operation == "DeletePermissionSet":
        error = refused(lambda: WRITES_TO_A_SET[operation](sso(), instance_arn(), arn))
        assert error["Code"] == "ConflictException"  # it still has an assignment: not a refusal of the caller
    else:
        WRITES_TO_A_SET[operation](sso(), instance_arn(), arn)


@pytest.mark.parametrize(
    "call",
    [
        lambda org: org.register_delegated_administrator(AccountId=OTHER_MEMBER, ServicePrincipal=SSO),
        lambda org: org.deregister_delegated_administrator(AccountId=DELEGATED, ServicePrincipal=SSO),
    ],
    ids=["register", "deregister"],
)
def test_only_the_management_account_registers_or_deregisters(aws: realism.State, call: Any) -> None:
    org = organization()
    as_account(DELEGATED)
    assert refused(lambda: call(org))["Code"] == "AccessDeniedException"


def test_the_delegated_administrator_reads_the_organization(aws: realism.State) -> None:
    org = organization()
    as_account(DELEGATED)
    assert org.describe_organization()["Organization"]["MasterAccountId"] == MANAGEMENT
    assert DELEGATED in {a["Id"] for a in org.list_accounts()["Accounts"]}


def test_a_member_that_is_not_delegated_sees_no_instance_and_may_not_list(aws: realism.State) -> None:
    org = organization()
    as_account(OTHER_MEMBER)
    assert sso().list_instances()["Instances"] == []
    assert org.describe_organization()["Organization"]["MasterAccountId"] == MANAGEMENT
    assert refused(lambda: org.list_delegated_administrators(ServicePrincipal=SSO))["Code"] == "AccessDeniedException"
    assert refused(lambda: org.list_accounts())["Code"] == "AccessDeniedException"
