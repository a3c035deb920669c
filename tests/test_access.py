"""doctor, the root refusal, the handoff after apply, and sso-config (checked with botocore)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.configloader import load_config
from click.testing import CliRunner, Result

from provisioner import doctor
from provisioner.cli import cli
from tests import realism
from tests.conftest import EXAMPLES, REGION

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")
MULTI = str(EXAMPLES / "multi-team.yaml")
ACCOUNT = "123456789012"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args])


def as_caller(monkeypatch: pytest.MonkeyPatch, arn: str) -> None:
    from moto.sts.models import STSBackend

    monkeypatch.setattr(STSBackend, "get_caller_identity", lambda self, key, region: ("AIDA", arn, ACCOUNT))


def summary(mfa: int, keys: int) -> None:
    from moto.iam.models import iam_backends

    account_summary = iam_backends[ACCOUNT]["aws"].account_summary
    account_summary._account_mfa_enabled = mfa
    account_summary._account_access_keys_present = keys


def checks(*args: str) -> dict[str, doctor.Check]:
    result = invoke("--output", "json", "doctor", *args)
    import json

    return {
        c["check"]: doctor.Check(c["check"], c["status"], c["detail"], c["fix"])
        for c in json.loads(result.stdout)["checks"]
    }


@pytest.mark.parametrize(
    ("arn", "key", "status"),
    [
        (f"arn:aws:iam::{ACCOUNT}:root", "ASIAEXAMPLE", "FAIL"),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "AKIAEXAMPLE", "WARN"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice", "ASIAEXAMPLE", "PASS"),
    ],
)
def test_caller_check(aws: realism.State, monkeypatch: pytest.MonkeyPatch, arn: str, key: str, status: str) -> None:
    as_caller(monkeypatch, arn)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    assert checks()["caller"].status == status


@pytest.mark.parametrize(
    ("mfa", "keys", "mfa_status", "keys_status"),
    [(1, 0, "PASS", "PASS"), (0, 0, "FAIL", "PASS"), (1, 1, "PASS", "FAIL")],
)
def test_root_hygiene_checks(aws: realism.State, mfa: int, keys: int, mfa_status: str, keys_status: str) -> None:
    boto3.client("iam").get_account_summary()  # create the backend
    summary(mfa, keys)
    found = checks()
    assert (found["root MFA"].status, found["root access keys"].status) == (mfa_status, keys_status)


def test_instance_in_another_region_is_named(aws: realism.State) -> None:
    from moto.ssoadmin.models import ssoadmin_backends

    for region in boto3.session.Session().get_available_regions("sso-admin"):
        if region != "eu-west-1":
            ssoadmin_backends[ACCOUNT][region].instances.clear()
    check = checks()["IAM Identity Center"]
    assert check.status == "FAIL" and "eu-west-1" in check.detail and "--region eu-west-1" in check.fix


def test_no_instance_anywhere(aws: realism.State) -> None:
    from moto.ssoadmin.models import ssoadmin_backends

    for region in boto3.session.Session().get_available_regions("sso-admin"):
        ssoadmin_backends[ACCOUNT][region].instances.clear()
    check = checks()["IAM Identity Center"]
    assert check.status == "FAIL" and "management account" in check.fix


def test_organization_instance_in_the_management_account(aws: realism.State) -> None:
    boto3.client("organizations").create_organization(FeatureSet="ALL")
    found = checks()
    assert found["organization"].status == "PASS" and "IAMFullAccess" in found["organization"].detail
    assert (
        found["IAM Identity Center"].status == "PASS" and "organization instance" in found["IAM Identity Center"].detail
    )


def test_member_account_is_a_warning(aws: realism.State) -> None:
    from moto.organizations.models import organizations_backends

    boto3.client("organizations").create_organization(FeatureSet="ALL")
    organizations_backends[ACCOUNT]["aws"].org.master_account_id = "999999999999"
    assert checks()["organization"].status == "WARN"


def test_standalone_account_is_a_warning(aws: realism.State) -> None:
    found = checks()
    assert found["organization"].status == "WARN" and "not in an organization" in found["organization"].detail


def test_doctor_lists_the_actions_a_config_needs(aws: realism.State) -> None:
    check = checks("-f", EXAMPLE)["permissions"]
    assert "sso:CreatePermissionSet" in check.fix and "sso:CreateAccountAssignment" in check.fix


def test_doctor_exits_1_when_a_check_fails(aws: realism.State) -> None:
    result = invoke("doctor")  # moto reports root MFA off
    assert result.exit_code == 1 and "FAIL  root MFA" in result.output and "fix:" in result.output


def test_apply_refuses_root_unless_allowed(aws: realism.State, monkeypatch: pytest.MonkeyPatch) -> None:
    as_caller(monkeypatch, f"arn:aws:iam::{ACCOUNT}:root")
    refused = invoke("apply", "-f", EXAMPLE, "--yes")
    assert refused.exit_code == 1 and "root user" in refused.output and "--allow-root" in refused.output
    assert realism.STATE.writes() == 0 and realism.STATE.calls["sso-admin:ListInstances"] == 0
    allowed = invoke("apply", "-f", EXAMPLE, "--yes", "--allow-root")
    assert allowed.exit_code == 0


def test_handoff_names_the_portal_and_the_new_user_once(aws: realism.State) -> None:
    first = invoke("bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--yes")
    store = boto3.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    assert f"Access portal: https://{store}.awsapps.com/start" in first.output
    assert "admin <admin@example.com>" in first.output
    assert "Send email OTP for users created from API" in first.output
    assert "aws sso login --profile IdentityCenterAdmin-123456789012" in first.output
    second = invoke("bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--yes")
    assert "Access portal" in second.output and "admin <admin@example.com>" not in second.output


def test_portal_url_override(aws: realism.State) -> None:
    result = invoke("apply", "-f", EXAMPLE, "--yes", "--portal-url", "https://my-org.awsapps.com/start")
    assert "Access portal: https://my-org.awsapps.com/start" in result.output


def sso_config(tmp_path: Path, *args: str) -> dict[str, Any]:
    result = invoke("sso-config", "-f", MULTI, *args)
    assert result.exit_code == 0, result.output
    path = tmp_path / "config"
    path.write_text(result.stdout)
    return load_config(str(path))


def test_sso_config_is_what_botocore_loads(aws: realism.State, tmp_path: Path) -> None:
    loaded = sso_config(tmp_path, "--user", "joon")
    store = boto3.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    assert loaded["sso_sessions"]["identity-center"]["sso_start_url"] == f"https://{store}.awsapps.com/start"
    assert loaded["sso_sessions"]["identity-center"]["sso_region"] == REGION
    assert set(loaded["profiles"]) == {"Developer-111122223333", "Developer-444455556666", "ReadOnly-777788889999"}
    profile = loaded["profiles"]["Developer-111122223333"]
    assert (profile["sso_session"], profile["sso_account_id"], profile["sso_role_name"]) == (
        "identity-center",
        "111122223333",
        "Developer",
    )


def test_sso_config_reaches_direct_and_group_assignments(aws: realism.State, tmp_path: Path) -> None:
    loaded = sso_config(tmp_path, "--user", "admin")
    assert f"Billing-{ACCOUNT}" in loaded["profiles"]  # direct
    assert f"IdentityCenterAdmin-{ACCOUNT}" in loaded["profiles"]  # through a group


def test_sso_config_write_merges_keeps_a_backup_and_is_idempotent(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("# my settings\n[default]\nregion = us-east-1\n\n[profile Developer-111122223333]\nregion = old\n")
    assert invoke("sso-config", "-f", MULTI, "--user", "joon", "--write", str(path)).exit_code == 0
    loaded = load_config(str(path))
    assert loaded["profiles"]["default"]["region"] == "us-east-1"
    assert loaded["profiles"]["Developer-111122223333"]["region"] == REGION
    assert path.read_text().startswith("# my settings\n[default]")
    backups = list(tmp_path.glob("config.*.bak"))
    assert len(backups) == 1 and "region = old" in backups[0].read_text()
    before = path.read_text()
    assert invoke("sso-config", "-f", MULTI, "--user", "joon", "--write", str(path)).exit_code == 0
    assert path.read_text() == before and len(list(tmp_path.glob("config.*.bak"))) == 1


def test_sso_config_unknown_user(aws: realism.State) -> None:
    result = invoke("sso-config", "-f", MULTI, "--user", "nobody")
    assert result.exit_code == 1 and "nobody" in result.output and realism.STATE.calls == {}


@pytest.mark.parametrize(("state", "words"), [("not_active", "CREATE_IN_PROGRESS"), ("several", "2 instances")])
def test_unusable_instance_fails(aws: realism.State, state: str, words: str) -> None:
    from moto.ssoadmin.models import Instance, ssoadmin_backends

    backend = ssoadmin_backends[ACCOUNT][REGION]
    if state == "not_active":
        backend.instances[0].status = "CREATE_IN_PROGRESS"
    else:
        backend.instances.append(Instance(ACCOUNT, REGION))
    check = checks()["IAM Identity Center"]
    assert check.status == "FAIL" and words in check.detail


class FakeIam:
    """Answers SimulatePrincipalPolicy (moto does not implement it) with chosen decisions."""

    def __init__(self, denied: set[str]) -> None:
        self.denied = denied
        self.sources: list[str] = []

    def get_role(self, RoleName: str) -> dict[str, Any]:  # noqa: N803
        return {"Role": {"Arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{RoleName}"}}

    def simulate_principal_policy(self, PolicySourceArn: str, ActionNames: list[str]) -> dict[str, Any]:  # noqa: N803
        self.sources.append(PolicySourceArn)
        return {
            "EvaluationResults": [
                {"EvalActionName": a, "EvalDecision": "implicitDeny" if a in self.denied else "allowed"}
                for a in ActionNames
            ]
        }


class FakeClients:
    def __init__(self, iam: FakeIam) -> None:
        from types import SimpleNamespace

        self.iam = SimpleNamespace(call=lambda fn: fn(iam))


@pytest.mark.parametrize(("denied", "status"), [(set(), "PASS"), ({"sso:CreateAccountAssignment"}, "FAIL")])
def test_permissions_are_simulated_for_the_callers_role(denied: set[str], status: str) -> None:
    from provisioner.config import load

    iam = FakeIam(denied)
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_abc/alice"
    check = doctor.permissions_check(FakeClients(iam), caller, load(EXAMPLE))  # type: ignore[arg-type]
    role = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc"
    assert check.status == status and iam.sources == [role]
    if denied:
        assert "sso:CreateAccountAssignment" in check.fix
