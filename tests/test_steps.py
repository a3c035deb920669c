"""Each step both ways: missing -> created; present -> untouched with zero writes; drifted ->
corrected. State is checked with direct boto3 calls, as a person would look in the console."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from provisioner.aws import Clients
from provisioner.runner import Runner, RunSettings
from tests import realism
from tests.conftest import REGION, load_example, make_clients, parse, plan_and_apply, run_settings
from tests.realism.iam_policies import create_customer_policy

ADMIN_POLICIES = {
    "arn:aws:iam::aws:policy/AWSSSOMasterAccountAdministrator",
    "arn:aws:iam::aws:policy/AWSSSOMemberAccountAdministrator",
    "arn:aws:iam::aws:policy/AWSSSODirectoryAdministrator",
}


def sso() -> Any:
    return boto3.client("sso-admin", region_name=REGION)


def ids() -> Any:
    return boto3.client("identitystore", region_name=REGION)


def instance() -> tuple[str, str]:
    i = sso().list_instances()["Instances"][0]
    return i["InstanceArn"], i["IdentityStoreId"]


def permission_set_arn(name: str) -> str:
    arn, _ = instance()
    for ps in sso().list_permission_sets(InstanceArn=arn)["PermissionSets"]:
        if sso().describe_permission_set(InstanceArn=arn, PermissionSetArn=ps)["PermissionSet"]["Name"] == name:
            return str(ps)
    raise AssertionError(f"no permission set {name}")


def second_run_writes(config: Any, clock: Any) -> tuple[Any, dict[str, int]]:
    clients = make_clients(clock)
    plan, result, _ = plan_and_apply(clients, config)
    assert result.ok
    return plan, clients.log.writes()


def test_seed_scenario_builds_everything(clients: Clients) -> None:
    plan, result, runner = plan_and_apply(clients, load_example())
    assert result.ok and plan.counts()["create"] == 5
    arn, store = instance()
    group_id = ids().get_group_id(
        IdentityStoreId=store,
        AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "IdentityCenterAdmins"}
        },
    )["GroupId"]
    user = ids().list_users(IdentityStoreId=store)["Users"][0]
    assert user["UserName"] == "admin" and user["Emails"][0]["Value"] == "admin@example.com"
    members = ids().list_group_memberships(IdentityStoreId=store, GroupId=group_id)["GroupMemberships"]
    assert [m["MemberId"]["UserId"] for m in members] == [user["UserId"]]
    ps = permission_set_arn("IdentityCenterAdmin")
    attached = sso().list_managed_policies_in_permission_set(InstanceArn=arn, PermissionSetArn=ps)
    assert {p["Arn"] for p in attached["AttachedManagedPolicies"]} == ADMIN_POLICIES
    assignments = sso().list_account_assignments(InstanceArn=arn, AccountId="123456789012", PermissionSetArn=ps)
    assert [(a["PrincipalType"], a["PrincipalId"]) for a in assignments["AccountAssignments"]] == [("GROUP", group_id)]


def test_second_run_plans_nothing_and_writes_nothing(clients: Clients, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    before = realism.STATE.writes()
    plan, writes = second_run_writes(load_example(), clock)
    assert plan.empty and plan.counts()["unchanged"] == 5
    assert writes == {} and realism.STATE.writes() == before  # as the client counts, and as AWS does


FULL: dict[str, Any] = {
    "groups": [{"name": "Platform", "description": "Platform team"}],
    "users": [
        {
            "user_name": "kim",
            "email": "kim@example.com",
            "given_name": "Min",
            "family_name": "Kim",
            "display_name": "Min Kim",
            "groups": ["Platform"],
        }
    ],
    "permission_sets": [
        {
            "name": "PowerUser",
            "description": "Power users",
            "session_duration": "PT8H",
            "relay_state": "https://console.aws.amazon.com/",
            "managed_policies": ["PowerUserAccess", "job-function/ViewOnlyAccess"],
            "customer_managed_policies": [{"name": "AllowBilling", "path": "/"}],
            "inline_policy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}],
            },
            "permissions_boundary": {"managed_policy": "PowerUserAccess"},
            "tags": {"team": "platform"},
        }
    ],
    "assignments": [
        {
            "permission_set": "PowerUser",
            "groups": ["Platform"],
            "users": ["kim"],
            "accounts": ["current", "111122223333"],
        }
    ],
}


def prepare_full_accounts() -> None:
    """Create the customer managed policy FULL's set references in each account FULL assigns it
    on, as an operator prepares them: without it the assignments there fail (user guide,
    "Use IAM policies in permission sets")."""
    for account in ("123456789012", "111122223333"):
        create_customer_policy(account, "/AllowBilling")


def test_every_permission_set_attribute_is_applied_then_left_alone(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan, result, _ = plan_and_apply(clients, parse(FULL))
    assert result.ok, result.to_json()
    arn, _ = instance()
    ps = permission_set_arn("PowerUser")
    described = sso().describe_permission_set(InstanceArn=arn, PermissionSetArn=ps)["PermissionSet"]
    assert (described["SessionDuration"], described["RelayState"]) == ("PT8H", "https://console.aws.amazon.com/")
    inline = sso().get_inline_policy_for_permission_set(InstanceArn=arn, PermissionSetArn=ps)["InlinePolicy"]
    assert json.loads(inline)["Statement"][0]["Effect"] == "Deny"
    boundary = sso().get_permissions_boundary_for_permission_set(InstanceArn=arn, PermissionSetArn=ps)
    assert boundary["PermissionsBoundary"]["ManagedPolicyArn"].endswith("/PowerUserAccess")
    tags = sso().list_tags_for_resource(InstanceArn=arn, ResourceArn=ps)["Tags"]
    assert tags == [{"Key": "managed-by", "Value": "provisioner"}, {"Key": "team", "Value": "platform"}]
    assignments = {
        (a["PrincipalType"], a["AccountId"])
        for a in sso().list_account_assignments_for_principal(
            InstanceArn=arn, PrincipalId=clients_ids(clients, "users", "kim"), PrincipalType="USER"
        )["AccountAssignments"]
    }
    assert assignments == {("USER", "123456789012"), ("USER", "111122223333")}
    plan2, writes = second_run_writes(parse(FULL), clock)
    assert plan2.empty and writes == {}


def clients_ids(clients: Clients, kind: str, name: str) -> str:
    _, store = instance()
    path = "userName" if kind == "users" else "displayName"
    key = "UserId" if kind == "users" else "GroupId"
    getter = ids().get_user_id if kind == "users" else ids().get_group_id
    return str(
        getter(
            IdentityStoreId=store,
            AlternateIdentifier={"UniqueAttribute": {"AttributePath": path, "AttributeValue": name}},
        )[key]
    )


def drift(kind: str) -> None:
    """Change one thing by hand, as someone in the console would."""
    arn, store = instance()
    ps = permission_set_arn("PowerUser")
    if kind == "duration":
        sso().update_permission_set(
            InstanceArn=arn,
            PermissionSetArn=ps,
            SessionDuration="PT1H",
            Description="Power users",
            RelayState="https://console.aws.amazon.com/",
        )
    elif kind == "extra_policy":
        sso().attach_managed_policy_to_permission_set(
            InstanceArn=arn, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/IAMFullAccess"
        )
    elif kind == "missing_policy":
        sso().detach_managed_policy_from_permission_set(
            InstanceArn=arn, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/PowerUserAccess"
        )
    elif kind == "inline":
        sso().put_inline_policy_to_permission_set(
            InstanceArn=arn,
            PermissionSetArn=ps,
            InlinePolicy=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
    elif kind == "boundary":
        sso().delete_permissions_boundary_from_permission_set(InstanceArn=arn, PermissionSetArn=ps)
    elif kind == "tags":
        sso().tag_resource(
            InstanceArn=arn, ResourceArn=ps, Tags=[{"Key": "team", "Value": "other"}, {"Key": "extra", "Value": "x"}]
        )
    elif kind == "customer_policy":
        sso().detach_customer_managed_policy_reference_from_permission_set(
            InstanceArn=arn, PermissionSetArn=ps, CustomerManagedPolicyReference={"Name": "AllowBilling", "Path": "/"}
        )
    elif kind == "user_email":
        ids().update_user(
            IdentityStoreId=store,
            UserId=clients_ids(None, "users", "kim"),  # type: ignore[arg-type]
            Operations=[
                {
                    "AttributePath": "emails",
                    "AttributeValue": [{"Value": "old@example.com", "Type": "work", "Primary": True}],
                }
            ],
        )
    elif kind == "group_description":
        ids().update_group(
            IdentityStoreId=store,
            GroupId=clients_ids(None, "groups", "Platform"),  # type: ignore[arg-type]
            Operations=[{"AttributePath": "description", "AttributeValue": "changed"}],
        )
    elif kind == "membership":
        ids().delete_group_membership(
            IdentityStoreId=store,
            MembershipId=ids().list_group_memberships(
                IdentityStoreId=store,
                GroupId=clients_ids(None, "groups", "Platform"),  # type: ignore[arg-type]
            )["GroupMemberships"][0]["MembershipId"],
        )


@pytest.mark.parametrize(
    ("kind", "resource", "field"),
    [
        ("duration", "permission_set", "session_duration"),
        ("extra_policy", "permission_set", "managed_policies"),
        ("missing_policy", "permission_set", "managed_policies"),
        ("customer_policy", "permission_set", "customer_managed_policies"),
        ("inline", "permission_set", "inline_policy"),
        ("boundary", "permission_set", "permissions_boundary"),
        ("tags", "permission_set", "tags"),
        ("user_email", "user", "email"),
        ("group_description", "group", "description"),
        ("membership", "membership", "user"),
    ],
)
def test_drift_is_reported_and_corrected(clients: Clients, clock: Any, kind: str, resource: str, field: str) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    drift(kind)
    runner = Runner(make_clients(clock), parse(FULL), run_settings())
    plan = runner.plan()
    changed = [c for c in plan.changes if c.resource == resource]
    assert changed and field in {f.name for f in changed[0].fields}, plan.to_json()
    assert runner.apply(plan).ok
    plan2, writes = second_run_writes(parse(FULL), clock)
    assert plan2.empty, plan2.to_json()


def test_changed_provisioned_set_is_provisioned_once(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["session_duration"] = "PT2H"
    changed["permission_sets"][0]["managed_policies"] = ["ReadOnlyAccess"]
    changed["permission_sets"][0]["tags"] = {"team": "data"}
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(changed))
    assert result.ok
    assert [c.resource for c in plan.changes] == ["permission_set", "provisioning"]
    assert second.log.counts["sso-admin:ProvisionPermissionSet"] == 1


def stale_accounts(name: str) -> list[str]:
    arn, _ = instance()
    return list(
        sso().list_accounts_for_provisioned_permission_set(
            InstanceArn=arn,
            PermissionSetArn=permission_set_arn(name),
            ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED",
        )["AccountIds"]
    )


def test_tag_only_edit_is_not_provisioned(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["tags"] = {"cost-center": "42"}  # one tag changed, one removed
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(changed))
    assert result.ok and [c.resource for c in plan.changes] == ["permission_set"], plan.to_json()
    assert second.log.writes() == {"sso-admin:TagResource": 1, "sso-admin:UntagResource": 1}
    # Tags live on the set, not on its roles: AWS does not mark the set stale for them.
    assert stale_accounts("PowerUser") == []


def test_a_tag_changed_out_of_band_shows_its_old_value_and_converges_in_one_tagging(
    clients: Clients, clock: Any
) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    drift("tags")  # team=other over team=platform, and extra=x
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(FULL))
    [change] = plan.changes
    assert change.to_json()["fields"] == {"tags": {"old": {"team": "other", "extra": "x"}, "new": {"team": "platform"}}}
    assert result.ok and second.log.writes() == {"sso-admin:TagResource": 1, "sso-admin:UntagResource": 1}
    assert sso().list_tags_for_resource(InstanceArn=instance()[0], ResourceArn=permission_set_arn("PowerUser"))[
        "Tags"
    ] == [{"Key": "managed-by", "Value": "provisioner"}, {"Key": "team", "Value": "platform"}]
    plan2, writes = second_run_writes(parse(FULL), clock)
    assert plan2.empty and writes == {}


def test_tags_aws_put_on_a_set_are_left_on_it(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    realism.STATE.tags[permission_set_arn("PowerUser")]["aws:cloudformation:stack-name"] = "identity"
    plan, writes = second_run_writes(parse(FULL), clock)
    assert plan.empty and writes == {}


def test_unprovisioned_set_is_not_provisioned(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    doc = json.loads(json.dumps(FULL))
    doc["assignments"] = []
    plan_and_apply(clients, parse(doc))
    doc["permission_sets"][0]["session_duration"] = "PT2H"
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(doc))
    assert result.ok and [c.resource for c in plan.changes] == ["permission_set"]
    assert second.log.counts["sso-admin:ProvisionPermissionSet"] == 0


def test_relay_state_survives_an_update(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["description"] = "Power users, renamed"
    plan_and_apply(make_clients(clock), parse(changed))
    arn, _ = instance()
    described = sso().describe_permission_set(InstanceArn=arn, PermissionSetArn=permission_set_arn("PowerUser"))
    assert described["PermissionSet"]["RelayState"] == "https://console.aws.amazon.com/"


def test_permission_set_created_meanwhile_is_adopted(clients: Clients) -> None:
    runner = Runner(clients, load_example(), run_settings())
    plan = runner.plan()
    arn, _ = instance()
    sso().create_permission_set(InstanceArn=arn, Name="IdentityCenterAdmin", SessionDuration="PT1H")
    result = runner.apply(plan)
    assert result.ok
    outcome = next(o for o in result.outcomes if o.change.resource == "permission_set")
    assert "adopted" in outcome.detail
    names = [
        sso().describe_permission_set(InstanceArn=arn, PermissionSetArn=p)["PermissionSet"]["Name"]
        for p in sso().list_permission_sets(InstanceArn=arn)["PermissionSets"]
    ]
    assert names == ["IdentityCenterAdmin"]
    attached = sso().list_managed_policies_in_permission_set(
        InstanceArn=arn, PermissionSetArn=permission_set_arn("IdentityCenterAdmin")
    )
    assert {p["Arn"] for p in attached["AttachedManagedPolicies"]} == ADMIN_POLICIES
    assert clients.log.counts["sso-admin:CreatePermissionSet"] == 1  # a duplicate name is never retried


def test_group_and_user_created_meanwhile_are_adopted(clients: Clients) -> None:
    runner = Runner(clients, load_example(), run_settings())
    plan = runner.plan()
    _, store = instance()
    ids().create_group(IdentityStoreId=store, DisplayName="IdentityCenterAdmins")
    ids().create_user(
        IdentityStoreId=store,
        UserName="admin",
        DisplayName="A",
        Name={"GivenName": "A", "FamilyName": "B"},
        Emails=[{"Value": "admin@example.com", "Primary": True}],
    )
    result = runner.apply(plan)
    assert result.ok
    assert len(ids().list_groups(IdentityStoreId=store)["Groups"]) == 1
    assert len(ids().list_users(IdentityStoreId=store)["Users"]) == 1


def test_objects_the_config_does_not_mention_are_left_alone(clients: Clients, clock: Any) -> None:
    arn, store = instance()
    sso().create_permission_set(InstanceArn=arn, Name="Unrelated", SessionDuration="PT1H")
    ids().create_group(IdentityStoreId=store, DisplayName="Unrelated")
    plan, result, _ = plan_and_apply(clients, load_example())
    assert result.ok and not [c for c in plan.changes if c.key == "Unrelated"]
    assert len(sso().list_permission_sets(InstanceArn=arn)["PermissionSets"]) == 2


def test_failed_change_does_not_stop_the_rest(clients: Clients) -> None:
    prepare_full_accounts()
    doc = json.loads(json.dumps(FULL))
    doc["permission_sets"].append({"name": "Broken", "managed_policies": ["NoSuchPolicyAnywhere"]})
    plan, result, _ = plan_and_apply(clients, parse(doc))
    failed = [o for o in result.failed]
    assert [o.change.key for o in failed] == ["Broken"]
    assert "ResourceNotFoundException" in failed[0].detail
    assert all(o.ok for o in result.outcomes if o.change.key != "Broken")


@pytest.mark.parametrize("workers", [1, 4])
def test_apply_follows_dependency_order(aws: realism.State, clock: Any, workers: int) -> None:
    prepare_full_accounts()
    clients = make_clients(clock)
    runner = Runner(clients, parse(FULL), RunSettings(workers=workers))
    runner.apply(runner.plan())
    calls = clients.log.sequence
    first, last = calls.index, lambda op: len(calls) - 1 - calls[::-1].index(op)
    assert last("CreateGroup") < first("CreateGroupMembership") and last("CreateUser") < first("CreateGroupMembership")
    assert last("CreatePermissionSet") < first("CreateAccountAssignment")
    assert last("AttachManagedPolicyToPermissionSet") < first("CreateAccountAssignment")
    assert last("CreateGroup") < first("CreateAccountAssignment")


def test_no_instance_is_an_actionable_error(aws: realism.State, clock: Any) -> None:
    from moto.ssoadmin.models import ssoadmin_backends

    ssoadmin_backends["123456789012"][REGION].instances.clear()
    with pytest.raises(Exception, match="no instance in ap-northeast-2.*management account"):
        Runner(make_clients(clock), load_example(), run_settings()).plan()


def test_instance_not_active_is_an_actionable_error(aws: realism.State, clock: Any) -> None:
    from moto.ssoadmin.models import ssoadmin_backends

    ssoadmin_backends["123456789012"][REGION].instances[0].status = "CREATE_IN_PROGRESS"
    with pytest.raises(Exception, match="CREATE_IN_PROGRESS: wait"):
        Runner(make_clients(clock), load_example(), run_settings()).plan()


def test_multi_team_example_applies_and_converges(clients: Clients, clock: Any) -> None:
    from tests.realism.delegation import add_member
    from tests.test_policies import create_policy

    for account in ("111122223333", "444455556666", "777788889999"):  # as the example's header says
        add_member(account, account)
    create_policy("CostReportsReader", "/finance/")  # the example's customer managed policy
    config = load_example("multi-team.yaml")
    plan, result, _ = plan_and_apply(clients, config)
    assert plan.errors == [] and plan.warnings == []
    assert result.ok, [o.detail for o in result.failed]
    plan2, writes = second_run_writes(config, clock)
    assert plan2.empty and writes == {}


def test_noop_plan_of_the_seed_reads_in_bulk(clients: Clients, clock: Any) -> None:
    plan_and_apply(clients, load_example())
    reader = make_clients(clock)
    Runner(reader, load_example(), run_settings()).plan()
    # One set on one account: its assignments are read by set (the accounts it is on, then
    # one listing there), which sees every principal, for one read more than by principal.
    assert reader.log.counts["sso-admin:ListAccountAssignments"] == 1
    assert reader.log.total() == 15 and reader.log.writes() == {}


def test_stale_provisioning_left_by_an_interrupted_run_is_finished(clients: Clients, clock: Any) -> None:
    prepare_full_accounts()
    plan_and_apply(clients, parse(FULL))
    changed = json.loads(json.dumps(FULL))
    changed["permission_sets"][0]["session_duration"] = "PT2H"
    # A run that edited the set and died before ProvisionPermissionSet:
    arn, _ = instance()
    sso().update_permission_set(
        InstanceArn=arn,
        PermissionSetArn=permission_set_arn("PowerUser"),
        SessionDuration="PT2H",
        Description="Power users",
        RelayState="https://console.aws.amazon.com/",
    )
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(changed))
    assert [c.resource for c in plan.changes] == ["provisioning"]
    assert result.ok and second.log.counts["sso-admin:ProvisionPermissionSet"] == 1
    plan3, _ = second_run_writes(parse(changed), clock)
    assert plan3.empty


def test_a_set_created_meanwhile_is_found_with_one_describe(clients: Clients) -> None:
    """The name conflict is read with the sets this run did not know, not every set again."""
    arn, _ = instance()
    for n in range(5):
        sso().create_permission_set(InstanceArn=arn, Name=f"Other{n}", SessionDuration="PT1H")
    runner = Runner(clients, load_example(), run_settings())
    plan = runner.plan()
    described = clients.log.counts["sso-admin:DescribePermissionSet"]
    sso().create_permission_set(InstanceArn=arn, Name="IdentityCenterAdmin", SessionDuration="PT1H")
    assert runner.apply(plan).ok
    # One describe of the newcomer, to find it by name; converging it reuses what that read.
    assert clients.log.counts["sso-admin:DescribePermissionSet"] - described == 1


def test_a_burst_of_conflicts_describes_each_unknown_set_once(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A creation refused again and again while a write is in flight looks the name up each
    time; a set described once (its name never changes) is not described again."""
    from moto.ssoadmin.responses import SSOAdminResponse

    runner = Runner(clients, load_example(), run_settings())
    plan = runner.plan()
    arn, _ = instance()
    sso().create_permission_set(InstanceArn=arn, Name="Stranger", SessionDuration="PT1H")
    original, calls = SSOAdminResponse.create_permission_set, []

    def in_flight(self: Any) -> Any:
        calls.append(self)
        if len(calls) <= 3:
            return realism._error_response(realism._Error("ConflictException", "Another write is in progress"))
        return original(self)

    monkeypatch.setattr(SSOAdminResponse, "create_permission_set", in_flight)
    described = clients.log.counts["sso-admin:DescribePermissionSet"]
    assert runner.apply(plan).ok and len(calls) == 4
    assert clients.log.counts["sso-admin:DescribePermissionSet"] - described == 1  # Stranger, once
