"""The realism layer itself: each behaviour tests/realism claims, checked with plain boto3
calls against moto, as the product's tests rely on it (no provisioner code here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from provisioner.retry import FakeClock
from tests import realism
from tests.conftest import REGION
from tests.realism.iam_policies import create_customer_policy
from tests.realism.organizations import PAGE_SIZE, set_account_state

ACCOUNT = "123456789012"  # the account moto calls from
OTHER = "111122223333"


def client(service: str, region: str = REGION) -> Any:
    """A plain boto3 client that makes each call once: botocore's retries would hide what the
    layer answered."""
    return boto3.client(service, region_name=region, config=Config(retries={"total_max_attempts": 1}))


def sso() -> Any:
    return client("sso-admin")


def ids() -> Any:
    return client("identitystore")


def organizations() -> Any:
    return client("organizations", "us-east-1")


@pytest.fixture
def instance(aws: realism.State) -> tuple[str, str]:
    """The instance ARN and identity store id moto starts with."""
    found = sso().list_instances()["Instances"][0]
    return str(found["InstanceArn"]), str(found["IdentityStoreId"])


def error(call: Callable[[], Any]) -> dict[str, Any]:
    """The error response `call` answers with (it must fail with a ClientError)."""
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response)


def code(call: Callable[[], Any]) -> str:
    return str(error(call)["Error"]["Code"])


def new_set(instance: tuple[str, str], name: str = "Ops", **extra: Any) -> str:
    arn = sso().create_permission_set(InstanceArn=instance[0], Name=name, **extra)
    return str(arn["PermissionSet"]["PermissionSetArn"])


def new_group(instance: tuple[str, str], name: str = "Ops") -> str:
    return str(ids().create_group(IdentityStoreId=instance[1], DisplayName=name)["GroupId"])


def new_user(instance: tuple[str, str], name: str, email: str | None = None) -> str:
    return str(
        ids().create_user(
            IdentityStoreId=instance[1],
            UserName=name,
            DisplayName=name,
            Name={"GivenName": name, "FamilyName": "Kim"},
            Emails=[{"Value": email or f"{name}@example.com", "Type": "work", "Primary": True}],
        )["UserId"]
    )


def assign(instance: tuple[str, str], ps: str, group: str, account: str = ACCOUNT, delete: bool = False) -> Any:
    call = sso().delete_account_assignment if delete else sso().create_account_assignment
    key = "AccountAssignmentDeletionStatus" if delete else "AccountAssignmentCreationStatus"
    return call(
        InstanceArn=instance[0],
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="GROUP",
        PrincipalId=group,
    )[key]


def creation(instance: tuple[str, str], request_id: str) -> Any:
    return sso().describe_account_assignment_creation_status(
        InstanceArn=instance[0], AccountAssignmentCreationRequestId=request_id
    )["AccountAssignmentCreationStatus"]


def assignments(instance: tuple[str, str], ps: str, account: str = ACCOUNT) -> list[Any]:
    return list(
        sso().list_account_assignments(InstanceArn=instance[0], AccountId=account, PermissionSetArn=ps)[
            "AccountAssignments"
        ]
    )


def accounts_of(instance: tuple[str, str], ps: str, status: str | None = None) -> list[str]:
    extra = {"ProvisioningStatus": status} if status else {}
    return list(
        sso().list_accounts_for_provisioned_permission_set(InstanceArn=instance[0], PermissionSetArn=ps, **extra)[
            "AccountIds"
        ]
    )


def stale(instance: tuple[str, str], ps: str) -> list[str]:
    return accounts_of(instance, ps, "LATEST_PERMISSION_SET_NOT_PROVISIONED")


def provision(instance: tuple[str, str], ps: str) -> Any:
    return sso().provision_permission_set(
        InstanceArn=instance[0], PermissionSetArn=ps, TargetType="ALL_PROVISIONED_ACCOUNTS"
    )["PermissionSetProvisioningStatus"]


def provisioning(instance: tuple[str, str], request_id: str) -> Any:
    return sso().describe_permission_set_provisioning_status(
        InstanceArn=instance[0], ProvisionPermissionSetRequestId=request_id
    )["PermissionSetProvisioningStatus"]


def edit(instance: tuple[str, str], ps: str) -> None:
    """A policy edit: the set becomes stale where it is provisioned."""
    sso().attach_managed_policy_to_permission_set(
        InstanceArn=instance[0], PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )


# -- the call log: every service, with times; writes by AWS's access levels ----------------------
@pytest.mark.standalone  # creates its own organization
def test_every_call_to_every_service_is_counted_and_logged_with_its_time(instance: Any, clock: FakeClock) -> None:
    realism.configure(clock=clock.now)
    clock.t = 7.0
    client("sts").get_caller_identity()
    client("iam").get_account_summary()
    assert code(lambda: organizations().describe_organization()) == "AWSOrganizationsNotInUseException"
    ids().list_users(IdentityStoreId=instance[1])
    assert realism.STATE.calls == {
        "sso-admin:ListInstances": 1,  # the fixture's
        "sts:GetCallerIdentity": 1,
        "iam:GetAccountSummary": 1,
        "organizations:DescribeOrganization": 1,
        "identitystore:ListUsers": 1,
    }
    assert realism.STATE.log[1:] == [
        (7.0, "sts:GetCallerIdentity"),
        (7.0, "iam:GetAccountSummary"),
        (7.0, "organizations:DescribeOrganization"),
        (7.0, "identitystore:ListUsers"),
    ]
    assert realism.STATE.times("sts:GetCallerIdentity") == [7.0]


@pytest.mark.parametrize(
    ("call", "write"),
    [
        ("sso-admin:ProvisionPermissionSet", True),  # Write
        ("sso-admin:AttachManagedPolicyToPermissionSet", True),  # Permissions management
        ("sso-admin:TagResource", True),  # Tagging
        ("sso-admin:AddRegion", True),  # Write, and no prefix the product knows
        ("identitystore:CreateGroupMembership", True),
        ("organizations:CloseAccount", True),
        ("sts:AssumeRole", True),
        ("sso-admin:ListTagsForResource", False),  # Read
        ("sso-admin:ListAccountsForProvisionedPermissionSet", False),  # List
        ("identitystore:IsMemberInGroups", False),  # Read
        ("identitystore:GetGroupMembershipId", False),
        ("iam:SimulatePrincipalPolicy", False),  # Read, though not named Get or List
        ("sts:GetCallerIdentity", False),
        ("sso-admin:IssueNewThing", True),  # an operation the table does not know is a write
    ],
)
def test_writes_are_what_aws_classifies_as_write_permissions_or_tagging(call: str, write: bool) -> None:
    assert realism.is_write(call) is write


@pytest.mark.standalone  # creates its own organization
def test_writes_of_every_service_are_counted(aws: realism.State) -> None:
    organizations().create_organization(FeatureSet="ALL")
    assert realism.STATE.writes() == 1


# -- asynchronous requests: by time on the layer's clock, never by polls ---------------------------
def test_a_request_ends_when_its_time_has_passed_however_often_it_is_polled(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=10, clock=clock.now)
    ps, group = new_set(instance), new_group(instance)
    request = assign(instance, ps, group)["RequestId"]
    for _ in range(30):
        assert creation(instance, request)["Status"] == "IN_PROGRESS"
    clock.t = 9.9
    listed = sso().list_account_assignment_creation_status(InstanceArn=instance[0])["AccountAssignmentsCreationStatus"]
    assert [r["Status"] for r in listed] == ["IN_PROGRESS"] and assignments(instance, ps) == []
    clock.t = 10.0
    assert creation(instance, request)["Status"] == "SUCCEEDED"
    assert [a["PrincipalId"] for a in assignments(instance, ps)] == [group]


def listed_requests(instance: tuple[str, str], status: str | None = None) -> list[str]:
    """The creation request ids the status listing shows (every page), with that Status."""
    only = {"Filter": {"Status": status}} if status else {}
    pages = sso().get_paginator("list_account_assignment_creation_status").paginate(InstanceArn=instance[0], **only)
    return [r["RequestId"] for page in pages for r in page["AccountAssignmentsCreationStatus"]]


def test_status_listings_filter_by_status_and_come_100_a_page(instance: Any, clock: FakeClock) -> None:
    # ListAccountAssignmentCreationStatus: Filter (OperationStatusFilter) takes one Status of
    # IN_PROGRESS, FAILED or SUCCEEDED; MaxResults at most 100 (botocore sso-admin model).
    realism.configure(
        async_seconds=5, clock=clock.now, fail_assignment=lambda p: "quota" if p["TargetId"] == OTHER else None
    )
    ps, group = new_set(instance), new_group(instance)
    done = [assign(instance, ps, group)["RequestId"] for _ in range(110)]
    failed = assign(instance, ps, group, OTHER)["RequestId"]
    clock.t = 5
    later = assign(instance, ps, group)["RequestId"]
    assert listed_requests(instance, "IN_PROGRESS") == [later]
    assert listed_requests(instance, "FAILED") == [failed]
    assert sorted(listed_requests(instance, "SUCCEEDED")) == sorted(done)
    assert sorted(listed_requests(instance)) == sorted([*done, failed, later])
    page = sso().list_account_assignment_creation_status(InstanceArn=instance[0])
    assert len(page["AccountAssignmentsCreationStatus"]) == 100 and page["NextToken"]


def test_without_async_seconds_a_request_ends_at_once(instance: Any) -> None:
    ps, group = new_set(instance), new_group(instance)
    assert assign(instance, ps, group)["Status"] == "SUCCEEDED"
    assert len(assignments(instance, ps)) == 1


def test_a_scripted_assignment_failure_carries_its_reason_and_creates_nothing(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=1, clock=clock.now, fail_assignment=lambda p: "role quota exceeded")
    ps, group = new_set(instance), new_group(instance)
    request = assign(instance, ps, group)["RequestId"]
    clock.t = 1
    status = creation(instance, request)
    assert (status["Status"], status["FailureReason"]) == ("FAILED", "role quota exceeded")
    assert assignments(instance, ps) == []


def test_a_first_assignment_provisions_the_set_to_its_account(instance: Any) -> None:
    ps = new_set(instance)
    assert accounts_of(instance, ps) == []
    assign(instance, ps, new_group(instance), OTHER)
    assert accounts_of(instance, ps) == [OTHER] and stale(instance, ps) == []


@pytest.mark.standalone  # a standalone account: its instance is an account instance
@pytest.mark.parametrize("operation", ["ListPermissionSets", "CreatePermissionSet", "CreateAccountAssignment"])
def test_an_account_instance_takes_no_permission_set_nor_assignment(instance: Any, operation: str) -> None:
    group = new_group(instance)
    made_up_set = instance[0].replace(":instance/", ":permissionSet/") + "/ps-0123456789abcdef"
    calls = {
        "ListPermissionSets": lambda: sso().list_permission_sets(InstanceArn=instance[0]),
        "CreatePermissionSet": lambda: new_set(instance),
        "CreateAccountAssignment": lambda: assign(instance, made_up_set, group),
    }
    answer = error(calls[operation])["Error"]
    assert answer["Code"] == "ValidationException" and "account instances" in answer["Message"]


@pytest.mark.standalone  # creates its own organization
def test_an_assignment_on_an_account_outside_the_organization_fails_later(instance: Any, clock: FakeClock) -> None:
    organizations().create_organization(FeatureSet="ALL")
    realism.configure(async_seconds=1, clock=clock.now)
    ps = new_set(instance)
    request = assign(instance, ps, new_group(instance), "111122223334")
    assert request["Status"] == "IN_PROGRESS", "AWS takes the request"
    clock.t = 1
    status = creation(instance, request["RequestId"])
    assert status["Status"] == "FAILED" and "111122223334" in status["FailureReason"]
    assert assignments(instance, ps, "111122223334") == [] and accounts_of(instance, ps) == []


@pytest.mark.parametrize("outcome", ["SUCCEEDED", "FAILED"])
def test_a_set_stays_stale_where_its_provisioning_failed(instance: Any, clock: FakeClock, outcome: str) -> None:
    ps = new_set(instance)
    assign(instance, ps, new_group(instance))
    edit(instance, ps)
    assert stale(instance, ps) == [ACCOUNT]
    failure = "policy AllowBilling is missing" if outcome == "FAILED" else None
    realism.configure(async_seconds=5, clock=clock.now, fail_provisioning=lambda arn: failure)
    request = provision(instance, ps)["RequestId"]
    assert stale(instance, ps) == [ACCOUNT], "requesting a provisioning does not make the set up to date"
    clock.t = 5
    assert provisioning(instance, request)["Status"] == outcome
    assert stale(instance, ps) == ([ACCOUNT] if outcome == "FAILED" else [])


def reference(instance: tuple[str, str], ps: str, where: str, path_and_name: str) -> None:
    """Make the set reference a customer managed policy, as one of its policies or as its
    permissions boundary."""
    path, _, name = path_and_name.rpartition("/")
    ref = {"Name": name, "Path": f"{path}/"}
    if where == "boundary":
        sso().put_permissions_boundary_to_permission_set(
            InstanceArn=instance[0], PermissionSetArn=ps, PermissionsBoundary={"CustomerManagedPolicyReference": ref}
        )
    else:
        sso().attach_customer_managed_policy_reference_to_permission_set(
            InstanceArn=instance[0], PermissionSetArn=ps, CustomerManagedPolicyReference=ref
        )


@pytest.mark.parametrize("where", ["policy", "boundary"])
@pytest.mark.parametrize("account", [ACCOUNT, OTHER])
def test_an_assignment_where_a_referenced_customer_policy_is_missing_fails_later(
    instance: Any, clock: FakeClock, where: str, account: str
) -> None:
    realism.configure(async_seconds=1, clock=clock.now)
    ps, group = new_set(instance), new_group(instance)
    reference(instance, ps, where, "/finance/CostReportsReader")
    create_customer_policy(ACCOUNT if account == OTHER else OTHER, "/finance/CostReportsReader")  # elsewhere only
    create_customer_policy(account, "/CostReportsReader")  # same name, another path
    request = assign(instance, ps, group, account)
    assert request["Status"] == "IN_PROGRESS", "AWS takes the request"
    clock.t = 1
    status = creation(instance, request["RequestId"])
    assert status["Status"] == "FAILED"
    assert "/finance/CostReportsReader" in status["FailureReason"] and account in status["FailureReason"]
    assert assignments(instance, ps, account) == [] and accounts_of(instance, ps) == []


@pytest.mark.parametrize("where", ["policy", "boundary"])
def test_an_assignment_succeeds_once_the_customer_policy_exists_in_its_account(instance: Any, where: str) -> None:
    ps, group = new_set(instance), new_group(instance)
    reference(instance, ps, where, "/finance/CostReportsReader")
    assert assign(instance, ps, group, OTHER)["Status"] == "FAILED"
    create_customer_policy(OTHER, "/finance/CostReportsReader")
    assert assign(instance, ps, group, OTHER)["Status"] == "SUCCEEDED"
    assert len(assignments(instance, ps, OTHER)) == 1


@pytest.mark.parametrize("where", ["policy", "boundary"])
def test_provisioning_fails_where_a_referenced_customer_policy_is_missing(instance: Any, where: str) -> None:
    ps = new_set(instance)
    assign(instance, ps, new_group(instance), OTHER)
    assign(instance, ps, new_group(instance, "Dev"), ACCOUNT)
    create_customer_policy(ACCOUNT, "/finance/CostReportsReader")
    reference(instance, ps, where, "/finance/CostReportsReader")
    status = provision(instance, ps)
    assert status["Status"] == "FAILED"
    assert "/finance/CostReportsReader" in status["FailureReason"] and OTHER in status["FailureReason"]
    assert stale(instance, ps) == [OTHER], "provisioned where the policy exists, stale where it is missing"


def test_tags_do_not_make_a_set_stale_and_policy_edits_do(instance: Any) -> None:
    ps = new_set(instance)
    assign(instance, ps, new_group(instance))
    sso().tag_resource(InstanceArn=instance[0], ResourceArn=ps, Tags=[{"Key": "team", "Value": "a"}])
    assert stale(instance, ps) == []
    edit(instance, ps)
    assert stale(instance, ps) == [ACCOUNT]


@pytest.mark.standalone  # creates its own organization
def test_provisioning_to_an_account_that_is_not_active_fails(instance: Any) -> None:
    organizations().create_organization(FeatureSet="ALL")
    member = organizations().create_account(AccountName="m", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
    ps = new_set(instance)
    assign(instance, ps, new_group(instance), member)
    edit(instance, ps)
    set_account_state(member, "SUSPENDED")
    status = provision(instance, ps)
    assert status["Status"] == "FAILED" and member in status["FailureReason"]
    assert accounts_of(instance, ps) == [member] == stale(instance, ps)  # still listed, still stale


def test_the_peak_of_requests_in_flight_is_recorded(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=5, clock=clock.now)
    ps = new_set(instance)
    for name in ("a", "b", "c"):
        assign(instance, ps, new_group(instance, name))
    clock.t = 5
    assign(instance, ps, new_group(instance, "d"))
    assert realism.STATE.peak["assignment"] == 3



ELSEWHERE = "eu-central-1"


def in_flight(instance: tuple[str, str], clock: FakeClock, kind: str) -> str:
    """A set assigned to a group on ACCOUNT, then one request of `kind` on it left IN_PROGRESS
    until clock.t = 10: the set's ARN."""
    ps, group = new_set(instance), new_group(instance)
    assign(instance, ps, group)
    if kind == "provisioning":
        edit(instance, ps)
    realism.configure(async_seconds=10, clock=clock.now)
    if kind == "creation":
        assign(instance, ps, new_group(instance, "Later"))
    elif kind == "deletion":
        assign(instance, ps, group, delete=True)
    else:
        provision(instance, ps)
    return ps


@pytest.mark.parametrize(("kind", "assigned"), [("creation", 2), ("deletion", 0), ("provisioning", 1)])
def test_work_in_flight_ends_in_the_region_it_was_started_in(
    instance: Any, clock: FakeClock, kind: str, assigned: int
) -> None:
    # A request that comes due while a call arrives in another Region (an interrupted apply,
    # then a command with --region eu-central-1) takes effect on its own instance, and the
    # call in the other Region is answered as if the request did not exist.
    ps = in_flight(instance, clock, kind)
    clock.t = 10
    other = client("sso-admin", ELSEWHERE)
    there = other.list_instances()["Instances"][0]["InstanceArn"]
    assert other.list_permission_sets(InstanceArn=there)["PermissionSets"] == []
    assert len(assignments(instance, ps)) == assigned
    assert stale(instance, ps) == []

def test_requests_are_listed_only_on_the_instance_they_were_made_on(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=10, clock=clock.now)
    ps, group = new_set(instance), new_group(instance)
    request = assign(instance, ps, group)["RequestId"]
    other = client("sso-admin", ELSEWHERE)
    there = other.list_instances()["Instances"][0]["InstanceArn"]
    assert other.list_account_assignment_creation_status(InstanceArn=there)["AccountAssignmentsCreationStatus"] == []
    missing = error(
        lambda: other.describe_account_assignment_creation_status(
            InstanceArn=there, AccountAssignmentCreationRequestId=request
        )
    )
    assert missing["Error"]["Code"] == "ResourceNotFoundException"
    assert listed_requests(instance) == [request]

# -- quotas ----------------------------------------------------------------------------------------
def test_more_outstanding_assignment_requests_than_the_quota_are_throttled(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=5, clock=clock.now, max_outstanding_assignments=2)
    ps = new_set(instance)
    for name in ("a", "b"):
        assign(instance, ps, new_group(instance, name))
    late = new_group(instance, "c")
    assert code(lambda: assign(instance, ps, late)) == "ThrottlingException"
    clock.t = 5  # the first two have ended
    assert assign(instance, ps, late)["Status"] == "IN_PROGRESS"


def test_more_concurrent_provisionings_than_the_quota_are_throttled(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=5, clock=clock.now, max_concurrent_provisionings=3)
    sets = [new_set(instance, f"Set{i}") for i in range(4)]
    for ps in sets[:3]:
        provision(instance, ps)
    assert code(lambda: provision(instance, sets[3])) == "ThrottlingException"
    clock.t = 5
    assert provision(instance, sets[3])["Status"] == "IN_PROGRESS"


def test_a_write_to_a_set_being_provisioned_conflicts(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=5, clock=clock.now, conflict_while_provisioning=True)
    ps = new_set(instance)
    provision(instance, ps)
    assert code(lambda: edit(instance, ps)) == "ConflictException"
    clock.t = 5
    edit(instance, ps)


def test_each_service_has_a_token_bucket_of_tps(instance: Any, clock: FakeClock) -> None:
    realism.configure(tps=2, clock=clock.now)
    sso().list_permission_sets(InstanceArn=instance[0])
    sso().list_permission_sets(InstanceArn=instance[0])
    assert code(lambda: sso().list_permission_sets(InstanceArn=instance[0])) == "ThrottlingException"
    ids().list_users(IdentityStoreId=instance[1])  # another service, another bucket
    clock.t = 0.5  # one token back
    sso().list_permission_sets(InstanceArn=instance[0])


# -- faults ----------------------------------------------------------------------------------------
def outcomes(instance: Any, n: int = 40) -> list[str]:
    """What n reads answered: ok, or the error code (a dropped connection as 'dropped')."""
    out = []
    client = sso()
    for _ in range(n):
        try:
            client.list_permission_sets(InstanceArn=instance[0])
            out.append("ok")
        except ClientError as exc:
            out.append(exc.response["Error"]["Code"])
        except ConnectionClosedError:
            out.append("dropped")
    return out


def test_faults_are_drawn_from_a_seeded_generator(instance: Any) -> None:
    settings = {"throttle_rate": 0.3, "error_rate": 0.2, "drop_before_rate": 0.1, "seed": 4}
    realism.configure(**settings)
    first = outcomes(instance)
    realism.configure(**settings)
    assert outcomes(instance) == first
    assert {"ok", "ThrottlingException", "InternalServerException", "dropped"} == set(first)


def test_an_operation_can_be_throttled_harder_than_the_rest(instance: Any) -> None:
    realism.configure(throttle_operations={"ListPermissionSets": 1.0})
    assert set(outcomes(instance, 5)) == {"ThrottlingException"}
    sso().list_instances()


@pytest.mark.parametrize(("rate", "created"), [("drop_before_rate", 0), ("drop_after_rate", 1)])
def test_a_dropped_connection_happens_before_or_after_the_write(instance: Any, rate: str, created: int) -> None:
    realism.configure(**{rate: 1.0})
    with pytest.raises(ConnectionClosedError):
        ids().create_group(IdentityStoreId=instance[1], DisplayName="Ops")
    realism.configure()
    assert len(ids().list_groups(IdentityStoreId=instance[1])["Groups"]) == created


def test_refuse_answers_an_operation_with_a_chosen_error(instance: Any) -> None:
    realism.configure(refuse={"ListPermissionSets": ("ExpiredTokenException", "The token expired")})
    response = error(lambda: sso().list_permission_sets(InstanceArn=instance[0]))
    assert response["Error"] == {"Code": "ExpiredTokenException", "Message": "The token expired"}


# -- operations moto lacks, and operations nobody serves -------------------------------------------
def test_describe_instance_tags_and_boundaries_exist(instance: Any) -> None:
    ps = new_set(instance, Tags=[{"Key": "team", "Value": "a"}])
    assert sso().describe_instance(InstanceArn=instance[0])["IdentityStoreId"] == instance[1]
    sso().tag_resource(InstanceArn=instance[0], ResourceArn=ps, Tags=[{"Key": "cost", "Value": "1"}])
    sso().untag_resource(InstanceArn=instance[0], ResourceArn=ps, TagKeys=["team"])
    assert sso().list_tags_for_resource(InstanceArn=instance[0], ResourceArn=ps)["Tags"] == [
        {"Key": "cost", "Value": "1"}
    ]
    boundary = {"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}
    assert code(
        lambda: sso().get_permissions_boundary_for_permission_set(InstanceArn=instance[0], PermissionSetArn=ps)
    ) == ("ResourceNotFoundException")
    sso().put_permissions_boundary_to_permission_set(
        InstanceArn=instance[0], PermissionSetArn=ps, PermissionsBoundary=boundary
    )
    got = sso().get_permissions_boundary_for_permission_set(InstanceArn=instance[0], PermissionSetArn=ps)
    assert got["PermissionsBoundary"] == boundary


@pytest.mark.parametrize(
    ("service", "call", "expected"),
    [
        # JSON protocol (an X-Amz-Target header): a JSON body with __type
        (
            "sso-admin",
            lambda c: c.list_applications(InstanceArn="arn:aws:sso:::instance/ssoins-1234567890abcdef"),
            "UnknownOperationException",
        ),  # fmt: skip
        # query protocol: an XML ErrorResponse
        (
            "iam",
            lambda c: c.simulate_custom_policy(PolicyInputList=["{}"], ActionNames=["s3:GetObject"]),
            "InvalidAction",
        ),  # fmt: skip
    ],
)
def test_an_operation_moto_lacks_is_a_400_in_the_requests_protocol(
    aws: realism.State, service: str, call: Callable[[Any], Any], expected: str
) -> None:
    response = error(lambda: call(client(service)))
    assert response["Error"]["Code"] == expected
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400



@pytest.mark.parametrize("root_mfa", [False, True])
def test_the_root_user_has_mfa_when_the_setting_says_so(aws: realism.State, root_mfa: bool) -> None:
    realism.configure(root_mfa=root_mfa)
    summary = client("iam").get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == int(root_mfa)

# -- what AWS refuses and moto accepts -------------------------------------------------------------
def test_a_duplicate_permission_set_name_conflicts(instance: Any) -> None:
    new_set(instance)
    assert code(lambda: new_set(instance)) == "ConflictException"


def test_names_outside_the_service_models_pattern_are_refused(instance: Any) -> None:
    response = error(lambda: new_set(instance, "관리자"))
    assert response["Error"]["Code"] == "ValidationException"
    assert "[\\w+=,.@-]+" in response["Error"]["Message"]


@pytest.mark.parametrize(("size", "refused"), [(100, False), (101, True)])  # botocore itself checks the minimum
def test_a_page_size_outside_the_models_range_is_refused(instance: Any, size: int, refused: bool) -> None:
    listing = lambda: sso().list_permission_sets(InstanceArn=instance[0], MaxResults=size)  # noqa: E731
    if refused:
        assert code(listing) == "ValidationException"
    else:
        listing()


def test_a_list_longer_than_the_model_allows_is_refused(instance: Any) -> None:
    user = new_user(instance, "kim")
    groups = [new_group(instance, f"g{i}") for i in range(101)]

    def ask(n: int) -> Any:
        return ids().is_member_in_groups(IdentityStoreId=instance[1], MemberId={"UserId": user}, GroupIds=groups[:n])

    assert len(ask(100)["Results"]) == 100
    assert code(lambda: ask(101)) == "ValidationException"


@pytest.mark.parametrize("synced", [True, False])
def test_a_large_directory_comes_before_what_the_store_held(instance: Any, synced: bool) -> None:
    from tests.realism.directory import populate

    mine = new_user(instance, "admin")
    filled = populate(users=250, groups=3, members={"AllStaff": 150}, synced=synced)
    pages = list(ids().get_paginator("list_users").paginate(IdentityStoreId=instance[1]))
    assert [len(p["Users"]) for p in pages] == [100, 100, 51]
    assert pages[0]["Users"][0]["UserName"] == "staff00000" and pages[-1]["Users"][-1]["UserId"] == mine
    assert ("ExternalIds" in pages[0]["Users"][0]) is synced
    members = ids().list_group_memberships(IdentityStoreId=instance[1], GroupId=filled.groups["AllStaff"])
    assert len(members["GroupMemberships"]) == 100 and members["NextToken"]
    assert [g["DisplayName"] for g in ids().list_groups(IdentityStoreId=instance[1])["Groups"]] == [
        "dept0000", "dept0001", "dept0002", "AllStaff",
    ]  # fmt: skip


@pytest.mark.parametrize("key", ["aws:cloudformation:stack-name", "AWS:Team"])
def test_tags_aws_puts_on_cannot_be_changed_or_removed(instance: Any, key: str) -> None:
    ps = new_set(instance)
    realism.STATE.tags[ps] = {key: "made by AWS"}  # as CloudFormation leaves a set it made
    tag = [{"Key": key, "Value": "x"}]
    assert code(lambda: sso().tag_resource(InstanceArn=instance[0], ResourceArn=ps, Tags=tag)) == "ValidationException"
    assert code(lambda: sso().untag_resource(InstanceArn=instance[0], ResourceArn=ps, TagKeys=[key])) == (
        "ValidationException"
    )
    assert realism.STATE.tags[ps] == {key: "made by AWS"}


def test_aws_managed_policies_are_found_by_their_path(instance: Any) -> None:
    ps = new_set(instance)

    def attach(arn: str) -> None:
        sso().attach_managed_policy_to_permission_set(
            InstanceArn=instance[0], PermissionSetArn=ps, ManagedPolicyArn=arn
        )

    attach("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    assert code(lambda: attach("arn:aws:iam::aws:policy/ViewOnlyAccess")) == "ResourceNotFoundException"


def test_iam_finds_the_aws_managed_policies_sso_admin_attaches(aws: realism.State) -> None:
    iam = boto3.client("iam", region_name=REGION)
    found = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")["Policy"]
    assert (found["PolicyName"], found["Path"]) == ("ViewOnlyAccess", "/job-function/")
    for wrong in ("arn:aws:iam::aws:policy/ViewOnlyAccess", "arn:aws:iam::aws:policy/PowerUserAcess"):
        assert code(lambda: iam.get_policy(PolicyArn=wrong)) == "NoSuchEntity"  # noqa: B023
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS")
    names = {p["PolicyName"] for page in pages for p in page["Policies"]}
    assert {"PowerUserAccess", "ViewOnlyAccess", "AWSSSOMasterAccountAdministrator"} <= names


def test_a_set_created_without_a_duration_has_one_hour(instance: Any) -> None:
    ps = new_set(instance)
    described = sso().describe_permission_set(InstanceArn=instance[0], PermissionSetArn=ps)["PermissionSet"]
    assert described["SessionDuration"] == "PT1H"


def test_update_permission_set_replaces_what_it_is_not_sent(instance: Any) -> None:
    ps = new_set(instance, Description="d", SessionDuration="PT8H", RelayState="https://console.aws.amazon.com/")
    sso().update_permission_set(InstanceArn=instance[0], PermissionSetArn=ps, Description="kept")
    described = sso().describe_permission_set(InstanceArn=instance[0], PermissionSetArn=ps)["PermissionSet"]
    assert described["Description"] == "kept" and described["SessionDuration"] == "PT1H"
    assert "RelayState" not in described
    sso().update_permission_set(
        InstanceArn=instance[0], PermissionSetArn=ps, SessionDuration="PT2H", RelayState="https://example.com/"
    )
    described = sso().describe_permission_set(InstanceArn=instance[0], PermissionSetArn=ps)["PermissionSet"]
    assert (described.get("Description"), described["SessionDuration"], described["RelayState"]) == (
        None,
        "PT2H",
        "https://example.com/",
    )


def test_a_set_with_assignments_cannot_be_deleted(instance: Any, clock: FakeClock) -> None:
    realism.configure(async_seconds=5, removal_seconds=60, clock=clock.now)
    ps, group = new_set(instance), new_group(instance)
    assign(instance, ps, group)
    clock.t = 5
    delete = lambda: sso().delete_permission_set(InstanceArn=instance[0], PermissionSetArn=ps)  # noqa: E731
    assert code(delete) == "ConflictException"  # assigned
    assign(instance, ps, group, delete=True)
    assert code(delete) == "ConflictException"  # the deletion is in flight
    clock.t = 10
    assert assignments(instance, ps) == [] and accounts_of(instance, ps) == [ACCOUNT]
    assert code(delete) == "ConflictException"  # still being removed from the account
    clock.t = 70
    assert accounts_of(instance, ps) == []
    delete()


# -- identity store: uniqueness, conflicts, identity providers, updates ----------------------------
@pytest.mark.parametrize("operation", ["CreateUser", "UpdateUser"])
def test_an_email_another_user_holds_is_refused_whatever_its_case(instance: Any, operation: str) -> None:
    new_user(instance, "ana", "ana@example.com")
    if operation == "CreateUser":
        response = error(lambda: new_user(instance, "kim", "ANA@example.com"))
    else:
        kim = new_user(instance, "kim")
        email = [{"Value": "Ana@Example.com", "Type": "work", "Primary": True}]
        operations = [{"AttributePath": "emails", "AttributeValue": email}]
        response = error(lambda: ids().update_user(IdentityStoreId=instance[1], UserId=kim, Operations=operations))
    assert response["Error"]["Code"] == "ConflictException"
    assert response["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"


@pytest.mark.parametrize("kind", ["user name", "group name", "membership"])
def test_a_taken_unique_value_conflicts(instance: Any, kind: str) -> None:
    if kind == "user name":
        new_user(instance, "ana")
        call = lambda: new_user(instance, "ana", "other@example.com")  # noqa: E731
    elif kind == "group name":
        new_group(instance)
        call = lambda: new_group(instance)  # noqa: E731
    else:
        group, user = new_group(instance), new_user(instance, "ana")

        def call() -> Any:
            return ids().create_group_membership(IdentityStoreId=instance[1], GroupId=group, MemberId={"UserId": user})

        call()
    assert error(call)["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"


def test_conflicts_can_come_without_a_reason(instance: Any) -> None:
    new_group(instance)
    realism.configure(conflict_without_reason=True)
    response = error(lambda: new_group(instance))
    assert response["Error"]["Code"] == "ConflictException" and "Reason" not in response


def test_the_first_calls_of_an_operation_can_be_concurrent_modifications(instance: Any) -> None:
    realism.configure(concurrent_modification={"CreateGroup": 2}, retry_after_seconds=3)
    store = ids()
    bodies: list[Any] = []  # botocore drops RetryAfterSeconds here: ConflictException does not declare it
    store.meta.events.register("before-parse", lambda response_dict, **_: bodies.append(response_dict["body"]))
    for _ in range(2):
        create = lambda: store.create_group(IdentityStoreId=instance[1], DisplayName="Ops")  # noqa: E731
        assert error(create)["Reason"] == "CONCURRENT_MODIFICATION"
        assert json.loads(bodies[-1])["RetryAfterSeconds"] == 3
    new_group(instance)


@pytest.mark.parametrize("kind", ["group", "user"])
def test_principals_of_an_identity_provider_show_their_external_ids(instance: Any, kind: str) -> None:
    if kind == "group":
        synced, local = new_group(instance, "Okta-Admins"), new_group(instance, "Local")
        listed = ids().list_groups(IdentityStoreId=instance[1])["Groups"]
        described = ids().describe_group(IdentityStoreId=instance[1], GroupId=synced)
        key = "GroupId"
    else:
        synced, local = new_user(instance, "sam"), new_user(instance, "ana")
        listed = ids().list_users(IdentityStoreId=instance[1])["Users"]
        described = ids().describe_user(IdentityStoreId=instance[1], UserId=synced)
        key = "UserId"
    assert all("ExternalIds" not in p for p in listed) and "ExternalIds" not in described
    realism.mark_external(synced)
    listed = (
        ids().list_groups(IdentityStoreId=instance[1])["Groups"]
        if kind == "group"
        else (ids().list_users(IdentityStoreId=instance[1])["Users"])
    )
    by_id = {p[key]: p for p in listed}
    assert by_id[synced]["ExternalIds"] == [{"Issuer": "https://scim.example.com", "Id": f"idp-{synced}"}]
    assert "ExternalIds" not in by_id[local]
    again = (
        ids().describe_group(IdentityStoreId=instance[1], GroupId=synced)
        if kind == "group"
        else ids().describe_user(IdentityStoreId=instance[1], UserId=synced)
    )
    assert again["ExternalIds"] == by_id[synced]["ExternalIds"]


def update_user(instance: Any, user: str, *operations: tuple[str, Any]) -> None:
    ops = [{"AttributePath": path, "AttributeValue": value} for path, value in operations]
    ids().update_user(IdentityStoreId=instance[1], UserId=user, Operations=ops)


def test_update_user_changes_the_attributes_of_the_user_shape(instance: Any) -> None:
    kim = new_user(instance, "kim")
    update_user(
        instance,
        kim,
        ("name.givenName", "Minsu"),
        ("displayName", "Minsu Kim"),
        ("nickName", "mk"),
        ("userName", "minsu"),
        ("emails", [{"Value": "minsu@example.com", "Type": "work", "Primary": True}]),
    )
    user = ids().describe_user(IdentityStoreId=instance[1], UserId=kim)
    assert (user["UserName"], user["DisplayName"], user["NickName"]) == ("minsu", "Minsu Kim", "mk")
    assert (user["Name"]["GivenName"], user["Name"]["FamilyName"]) == ("Minsu", "Kim")  # the rest of Name kept
    assert user["Emails"][0]["Value"] == "minsu@example.com"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("favouriteColour", "blue"),  # no such member of User
        ("name.shortName", "K"),  # no such member of Name
        ("userId", "2f1e"),  # an identifier
        ("displayName", "x" * 1025),  # longer than the shape allows
        ("userName", "two words"),  # outside the pattern
    ],
)
def test_update_user_refuses_what_the_user_shape_does_not_allow(instance: Any, path: str, value: Any) -> None:
    kim = new_user(instance, "kim")
    assert code(lambda: update_user(instance, kim, (path, value))) == "ValidationException"


def test_update_user_to_a_taken_user_name_conflicts(instance: Any) -> None:
    new_user(instance, "ana")
    kim = new_user(instance, "kim")
    assert error(lambda: update_user(instance, kim, ("userName", "ana")))["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"


def test_update_group_changes_its_description_and_name(instance: Any) -> None:
    group = new_group(instance)
    new_group(instance, "Taken")

    def update(path: str, value: str) -> None:
        ops = [{"AttributePath": path, "AttributeValue": value}]
        ids().update_group(IdentityStoreId=instance[1], GroupId=group, Operations=ops)

    update("description", "Operations")
    update("displayName", "Operations")
    described = ids().describe_group(IdentityStoreId=instance[1], GroupId=group)
    assert (described["DisplayName"], described["Description"]) == ("Operations", "Operations")
    assert error(lambda: update("displayName", "Taken"))["Reason"] == "UNIQUENESS_CONSTRAINT_VIOLATION"
    assert code(lambda: update("members", "x")) == "ValidationException"


# -- access --------------------------------------------------------------------------------------
def test_deny_answers_as_iam_does_only_where_the_predicate_says(instance: Any) -> None:
    mine = new_set(instance, "a-deploy", Tags=[{"Key": "team", "Value": "a"}])
    theirs = new_set(instance, "b-deploy", Tags=[{"Key": "team", "Value": "b"}])
    realism.configure(deny=realism.unless_tagged("team", "a"))
    sso().describe_permission_set(InstanceArn=instance[0], PermissionSetArn=mine)
    sso().list_permission_sets(InstanceArn=instance[0])  # on no particular set: allowed
    response = error(lambda: sso().describe_permission_set(InstanceArn=instance[0], PermissionSetArn=theirs))
    assert response["Error"]["Code"] == "AccessDeniedException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        f"is not authorized to perform: sso:DescribePermissionSet on resource: {theirs}"
        in (response["Error"]["Message"])
    )


def test_unless_tagged_can_be_limited_to_some_operations(instance: Any) -> None:
    theirs = new_set(instance, "b-deploy", Tags=[{"Key": "team", "Value": "b"}])
    realism.configure(deny=realism.unless_tagged("team", "a", operations={"ListTagsForResource"}))
    sso().describe_permission_set(InstanceArn=instance[0], PermissionSetArn=theirs)
    assert code(lambda: sso().list_tags_for_resource(InstanceArn=instance[0], ResourceArn=theirs)) == (
        "AccessDeniedException"
    )


# -- assignments by principal ------------------------------------------------------------------------
@pytest.mark.parametrize("group_rows", [False, True])
def test_a_users_principal_listing_has_its_groups_rows_only_when_asked(instance: Any, group_rows: bool) -> None:
    realism.configure(user_query_returns_group_rows=group_rows)
    ps, group, user = new_set(instance), new_group(instance), new_user(instance, "ana")
    ids().create_group_membership(IdentityStoreId=instance[1], GroupId=group, MemberId={"UserId": user})
    assign(instance, ps, group)
    rows = sso().list_account_assignments_for_principal(InstanceArn=instance[0], PrincipalId=user, PrincipalType="USER")
    assert [(r["PrincipalType"], r["PrincipalId"]) for r in rows["AccountAssignments"]] == (
        [("GROUP", group)] if group_rows else []
    )


# -- organizations ---------------------------------------------------------------------------------
@pytest.mark.standalone  # the no-organization path
def test_without_an_organization_its_listings_say_so(aws: realism.State) -> None:
    assert code(lambda: organizations().list_accounts()) == "AWSOrganizationsNotInUseException"
    assert code(lambda: organizations().describe_account(AccountId=OTHER)) == "AWSOrganizationsNotInUseException"


@pytest.mark.standalone  # creates its own organization
def test_accounts_have_a_state_no_status_and_come_20_a_page(aws: realism.State) -> None:
    organizations().create_organization(FeatureSet="ALL")
    made = [
        organizations().create_account(AccountName=f"m{i}", Email=f"m{i}@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        for i in range(PAGE_SIZE)
    ]
    set_account_state(made[0], "PENDING_CLOSURE")
    page = organizations().list_accounts()
    assert len(page["Accounts"]) == PAGE_SIZE and "NextToken" in page
    assert all("Status" not in a and a["State"] for a in page["Accounts"])
    described = organizations().describe_account(AccountId=made[0])["Account"]
    assert described["State"] == "PENDING_CLOSURE" and "Status" not in described


# -- pauses ----------------------------------------------------------------------------------------
@pytest.fixture
def in_thread() -> Iterator[Callable[[Callable[[], Any]], threading.Thread]]:
    threads: list[threading.Thread] = []

    def start(fn: Callable[[], Any]) -> threading.Thread:
        thread = threading.Thread(target=fn, daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        thread.join(timeout=30)


@pytest.mark.parametrize("after", [False, True], ids=["before the call", "after the call"])
def test_pause_at_holds_the_nth_call_until_released(instance: Any, in_thread: Any, after: bool) -> None:
    held = realism.pause_at("identitystore:CreateGroup", 2, after=after)
    new_group(instance, "first")  # the first call passes
    in_thread(lambda: new_group(instance, "second"))
    assert held.reached.wait(30) and held.held()
    names = {g["DisplayName"] for g in ids().list_groups(IdentityStoreId=instance[1])["Groups"]}
    assert names == ({"first", "second"} if after else {"first"})  # took effect only with `after`
    held.release()
    assert held.over.wait(30) and not held.timed_out


def test_a_pause_nobody_releases_ends_at_its_limit(instance: Any) -> None:
    held = realism.pause_at("sts:GetCallerIdentity", 1, limit=0.05)  # any service can be paused
    client("sts").get_caller_identity()
    assert held.over.is_set() and held.timed_out


def test_a_pause_with_an_action_runs_it_instead_of_waiting(instance: Any) -> None:
    seen: list[int] = []
    realism.pause_at("identitystore:CreateGroup", 1, action=lambda: seen.append(realism.STATE.writes()))
    new_group(instance)
    assert seen == [0]  # held before it reached the layer's count
    assert realism.STATE.writes() == 1


def test_reset_forgets_calls_requests_and_pauses(instance: Any) -> None:
    held = realism.pause_at("identitystore:CreateGroup", 1)
    new_set(instance)
    realism.reset()
    assert realism.STATE.calls == {} and realism.STATE.log == [] and held.released.is_set()
    assert json.dumps(realism.STATE.peak) == "{}"


@pytest.mark.parametrize(
    ("service", "call"),
    [("iam", lambda c: c.get_account_summary()), ("organizations", lambda c: c.describe_organization())],
)
def test_refuse_holds_for_every_service_in_its_protocol(aws: realism.State, service: str, call: Any) -> None:
    """`refuse=` answers services the layer does not patch too (query XML for iam, JSON for
    organizations), so botocore parses the code as AWS would send it."""
    operation = {"iam": "GetAccountSummary", "organizations": "DescribeOrganization"}[service]
    realism.configure(refuse={operation: ("AccessDeniedException", "not authorized")})
    with pytest.raises(ClientError) as info:
        call(boto3.client(service, region_name=REGION))
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
