"""export: a hand-built instance round-trips to a config that plans clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner

from provisioner import config as config_module
from provisioner.cli import cli
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, run_settings
from tests.realism.iam_policies import create_customer_policy
from tests.test_access_report import ids_store, principal_id
from tests.test_denied import set_arn


def build_by_hand() -> None:
    """An instance made with plain boto3 calls, as someone in the console would."""
    sso = boto3.client("sso-admin", region_name=REGION)
    ids = boto3.client("identitystore", region_name=REGION)
    instance = sso.list_instances()["Instances"][0]
    arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
    group = ids.create_group(IdentityStoreId=store, DisplayName="Ops", Description="Operations")["GroupId"]
    ids.create_group(IdentityStoreId=store, DisplayName="Empty")
    user = ids.create_user(
        IdentityStoreId=store,
        UserName="lee",
        DisplayName="Lee Kim",
        Name={"GivenName": "Lee", "FamilyName": "Kim"},
        Emails=[{"Value": "lee@example.com", "Type": "work", "Primary": True}],
    )["UserId"]
    ids.create_group_membership(IdentityStoreId=store, GroupId=group, MemberId={"UserId": user})
    ps = sso.create_permission_set(
        InstanceArn=arn,
        Name="OpsAdmin",
        Description="Ops admin",
        SessionDuration="PT2H",
        RelayState="https://console.aws.amazon.com/",
        Tags=[{"Key": "team", "Value": "ops"}],
    )["PermissionSet"]["PermissionSetArn"]
    sso.attach_managed_policy_to_permission_set(
        InstanceArn=arn, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    )
    sso.attach_customer_managed_policy_reference_to_permission_set(
        InstanceArn=arn, PermissionSetArn=ps, CustomerManagedPolicyReference={"Name": "OpsExtra", "Path": "/ops/"}
    )
    sso.put_inline_policy_to_permission_set(
        InstanceArn=arn,
        PermissionSetArn=ps,
        InlinePolicy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
        ),
    )
    sso.put_permissions_boundary_to_permission_set(
        InstanceArn=arn,
        PermissionSetArn=ps,
        PermissionsBoundary={"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"},
    )
    for account in ("123456789012", "111122223333"):
        create_customer_policy(account, "/ops/OpsExtra")  # the set's role needs it in each account
    for account in ("123456789012", "111122223333"):
        sso.create_account_assignment(
            InstanceArn=arn,
            TargetId=account,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType="GROUP",
            PrincipalId=group,
        )
    sso.create_account_assignment(
        InstanceArn=arn,
        TargetId="111122223333",
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=user,
    )


def export(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["--region", REGION, "export", *args])
    assert result.exit_code == 0, result.output
    return dict(yaml.safe_load(result.stdout))


def test_export_round_trips_to_a_clean_plan(aws: realism.State, clock: Any, tmp_path: Path) -> None:
    build_by_hand()
    path = tmp_path / "exported.yaml"
    assert CliRunner().invoke(cli, ["--region", REGION, "export", "-o", str(path)]).exit_code == 0
    config = config_module.load(path)
    plan = Runner(make_clients(clock), config, run_settings()).plan()
    assert plan.empty, plan.to_json()


def test_export_uses_short_names_and_yaml_policies(aws: realism.State) -> None:
    build_by_hand()
    doc = export()
    ps = doc["permission_sets"][0]
    assert ps["managed_policies"] == ["job-function/ViewOnlyAccess"]
    assert ps["inline_policy"]["Statement"][0]["Effect"] == "Deny"
    assert ps["permissions_boundary"] == {"managed_policy": "PowerUserAccess"}
    assert {"permission_set": "OpsAdmin", "groups": ["Ops"], "accounts": ["111122223333", "123456789012"]} in doc[
        "assignments"
    ]


def test_export_can_be_limited_to_a_group(aws: realism.State) -> None:
    build_by_hand()
    doc = export("--group", "Empty")
    assert [g["name"] for g in doc["groups"]] == ["Empty"] and doc["users"] == [] and doc["assignments"] == []
    assert doc["permission_sets"] == []  # Empty is assigned none


def test_export_in_json_mode_prints_the_document_as_json(aws: realism.State) -> None:
    build_by_hand()
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "export"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == export()
    config_module.parse(json.loads(result.stdout), "stdout")


@pytest.mark.parametrize(("name", "read"), [("ic.yaml", yaml.safe_load), ("ic.json", json.loads)])
def test_export_to_a_file_in_json_mode_prints_a_summary(
    aws: realism.State, tmp_path: Path, name: str, read: Any
) -> None:
    build_by_hand()
    path = tmp_path / name
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "export", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "command": "export",
        "path": str(path),
        "format": name.rsplit(".", 1)[1],
        "counts": {"groups": 2, "users": 1, "permission_sets": 1, "assignments": 2},
    }
    assert read(path.read_text()) == export()
    config_module.load(path)


def another_team() -> None:
    """A second team's set, assigned to its own group only."""
    sso = boto3.client("sso-admin", region_name=REGION)
    ids = boto3.client("identitystore", region_name=REGION)
    instance = sso.list_instances()["Instances"][0]
    arn, store = instance["InstanceArn"], instance["IdentityStoreId"]
    group = ids.create_group(IdentityStoreId=store, DisplayName="Audit")["GroupId"]
    ps = sso.create_permission_set(InstanceArn=arn, Name="Auditor", SessionDuration="PT1H")["PermissionSet"]
    sso.create_account_assignment(
        InstanceArn=arn,
        TargetId="111122223333",
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps["PermissionSetArn"],
        PrincipalType="GROUP",
        PrincipalId=group,
    )


def test_export_of_a_group_has_only_its_sets_and_plans_clean(aws: realism.State, clock: Any, tmp_path: Path) -> None:
    build_by_hand()
    another_team()
    path = tmp_path / "ops.yaml"
    assert CliRunner().invoke(cli, ["--region", REGION, "export", "--group", "Ops", "-o", str(path)]).exit_code == 0
    doc = yaml.safe_load(path.read_text())
    assert [ps["name"] for ps in doc["permission_sets"]] == ["OpsAdmin"]
    assert doc["assignments"] == [
        {"permission_set": "OpsAdmin", "groups": ["Ops"], "accounts": ["111122223333", "123456789012"]}
    ]
    plan = Runner(make_clients(clock), config_module.load(path), run_settings()).plan()
    assert plan.empty, plan.to_json()


@pytest.mark.parametrize(
    ("operations", "named"),
    [(None, "arn:"), ({"GetInlinePolicyForPermissionSet"}, "Auditor")],
)
def test_export_skips_the_sets_the_caller_may_not_read_and_says_so(
    aws: realism.State, operations: set[str] | None, named: str
) -> None:
    build_by_hand()  # OpsAdmin is tagged team=ops
    another_team()
    realism.configure(deny=realism.unless_tagged("team", "ops", operations))
    result = CliRunner().invoke(cli, ["--region", REGION, "export"])
    assert result.exit_code == 0, result.output
    assert [ps["name"] for ps in yaml.safe_load(result.stdout)["permission_sets"]] == ["OpsAdmin"]
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and named in warning[0] and "skipped" in warning[0], result.stderr


def build_abac_by_hand() -> None:
    """A user with every ABAC attribute, and the instance's access control attributes, made
    with plain boto3 calls."""
    sso = boto3.client("sso-admin", region_name=REGION)
    ids = boto3.client("identitystore", region_name=REGION)
    instance = sso.list_instances()["Instances"][0]
    ids.create_user(
        IdentityStoreId=instance["IdentityStoreId"],
        UserName="minji",
        DisplayName="Minji Kim",
        Name={"GivenName": "Minji", "FamilyName": "Kim"},
        Emails=[{"Value": "minji@example.com", "Type": "work", "Primary": True}],
        Title="SRE",
        Timezone="Asia/Seoul",
        PhoneNumbers=[{"Value": "+82 2 555 0100", "Type": "work"}],
        Addresses=[{"Locality": "Seoul", "Country": "KR", "Primary": True}],
        Extensions={"aws:identitystore:enterprise": {"department": "Platform", "manager": {"value": "kim"}}},
    )
    sso.create_instance_access_control_attribute_configuration(
        InstanceArn=instance["InstanceArn"],
        InstanceAccessControlAttributeConfiguration={
            "AccessControlAttributes": [
                {"Key": "Department", "Value": {"Source": ["${path:enterprise.department}"]}},
                {"Key": "Title", "Value": {"Source": ["${path:title}"]}},
            ]
        },
    )


def test_export_round_trips_user_attributes_and_access_control_attributes(
    aws: realism.State, clock: Any, tmp_path: Path
) -> None:
    build_abac_by_hand()
    path = tmp_path / "abac.yaml"
    assert CliRunner().invoke(cli, ["--region", REGION, "export", "-o", str(path)]).exit_code == 0
    doc = yaml.safe_load(path.read_text())
    [user] = doc["users"]
    assert user["title"] == "SRE" and user["enterprise"] == {"department": "Platform", "manager": "kim"}
    assert user["phone_numbers"] == [{"value": "+82 2 555 0100", "type": "work", "primary": False}]
    assert user["addresses"] == [{"locality": "Seoul", "country": "KR"}]
    assert doc["access_control_attributes"] == {
        "Department": "${path:enterprise.department}",
        "Title": "${path:title}",
    }
    plan = Runner(make_clients(clock), config_module.load(path), run_settings()).plan()
    assert plan.empty, plan.to_json()


def test_a_partial_export_leaves_the_access_control_attributes_out(aws: realism.State) -> None:
    build_abac_by_hand()
    build_by_hand()
    assert "access_control_attributes" not in export("--group", "Ops")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--permission-set", "Nope"], "--permission-set Nope: the instance has no permission set with that name"),
        (["--permission-set", "OpsAdmin", "--permission-set", "Nope"], "--permission-set Nope"),
        (["--group", "Nope"], "--group Nope: identity store"),
        (["--group", "Ops", "--group", "ops"], "--group ops"),  # names match exactly
    ],
)
def test_export_of_a_name_that_does_not_exist_is_an_error(
    aws: realism.State, tmp_path: Path, args: list[str], words: str
) -> None:
    build_by_hand()
    path = tmp_path / "ic.yaml"
    result = CliRunner().invoke(cli, ["--region", REGION, "export", *args, "-o", str(path)])
    assert result.exit_code == 1 and words in result.stderr, result.output
    assert not path.exists() and "Traceback" not in result.output


def in_audit_too() -> None:
    """Lee is in the Audit group as well, and kai only there."""
    ids = boto3.client("identitystore", region_name=REGION)
    kai = ids.create_user(
        IdentityStoreId=ids_store(),
        UserName="kai",
        DisplayName="Kai Park",
        Name={"GivenName": "Kai", "FamilyName": "Park"},
        Emails=[{"Value": "kai@example.com", "Type": "work", "Primary": True}],
    )["UserId"]
    for member in (principal_id("USER", "lee"), kai):
        ids.create_group_membership(
            IdentityStoreId=ids_store(), GroupId=principal_id("GROUP", "Audit"), MemberId={"UserId": member}
        )


def test_export_of_a_permission_set_has_only_the_principals_it_reaches(
    aws: realism.State, clock: Any, tmp_path: Path
) -> None:
    """OpsAdmin is assigned to the Ops group and to lee: Empty, Audit and kai are not exported,
    and lee keeps only the groups exported."""
    build_by_hand()
    another_team()
    in_audit_too()
    path = tmp_path / "ops.yaml"
    result = CliRunner().invoke(cli, ["--region", REGION, "export", "--permission-set", "OpsAdmin", "-o", str(path)])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(path.read_text())
    assert [ps["name"] for ps in doc["permission_sets"]] == ["OpsAdmin"]
    assert [g["name"] for g in doc["groups"]] == ["Ops"]
    assert [(u["user_name"], u.get("groups")) for u in doc["users"]] == [("lee", ["Ops"])]
    plan = Runner(make_clients(clock), config_module.load(path), run_settings()).plan()
    assert plan.empty, plan.to_json()


def test_export_of_a_permission_set_keeps_a_directly_assigned_user_without_groups(aws: realism.State) -> None:
    build_by_hand()
    another_team()
    in_audit_too()
    sso = boto3.client("sso-admin", region_name=REGION)
    sso.create_account_assignment(
        InstanceArn=sso.list_instances()["Instances"][0]["InstanceArn"],
        TargetId="111122223333",
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=set_arn("Auditor"),
        PrincipalType="USER",
        PrincipalId=principal_id("USER", "kai"),
    )
    doc = export("--permission-set", "OpsAdmin")
    assert [u["user_name"] for u in doc["users"]] == ["lee"]
    doc = export("--permission-set", "Auditor")
    assert [g["name"] for g in doc["groups"]] == ["Audit"]
    assert [(u["user_name"], u.get("groups")) for u in doc["users"]] == [("kai", ["Audit"]), ("lee", ["Audit"])]


def test_export_counts_what_it_wrote_in_words(aws: realism.State, tmp_path: Path) -> None:
    build_by_hand()
    path = tmp_path / "ops.yaml"
    result = CliRunner().invoke(cli, ["--region", REGION, "export", "--group", "Ops", "-o", str(path)])
    assert f"wrote {path}: 1 group, " in result.output and "1 permission set, " in result.output
