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
        c["check"]: doctor.Check(c["check"], c["status"], c["detail"], c["fix"], tuple(c.get("actions", ())))
        for c in json.loads(result.stdout)["checks"]
    }


@pytest.mark.parametrize(
    ("arn", "key", "status"),
    [
        (f"arn:aws:iam::{ACCOUNT}:root", "ASIAEXAMPLE", "FAIL"),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "AKIAEXAMPLE", "WARN"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice", "ASIAEXAMPLE", "PASS"),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "NOPREFIX", "WARN"),  # without a session token: long-term
    ],
)
def test_caller_check(aws: realism.State, monkeypatch: pytest.MonkeyPatch, arn: str, key: str, status: str) -> None:
    as_caller(monkeypatch, arn)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    if not key.startswith("ASIA"):  # only temporary credentials come with a session token
        monkeypatch.delenv("AWS_SESSION_TOKEN")
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


@pytest.mark.standalone  # creates its own organization
def test_organization_instance_in_the_management_account(aws: realism.State) -> None:
    boto3.client("organizations").create_organization(FeatureSet="ALL")
    found = checks()
    assert found["organization"].status == "PASS" and "IAMFullAccess" in found["organization"].detail
    assert (
        found["IAM Identity Center"].status == "PASS" and "organization instance" in found["IAM Identity Center"].detail
    )


@pytest.mark.standalone  # creates its own organization
def test_member_account_is_a_warning(aws: realism.State) -> None:
    from moto.organizations.models import organizations_backends

    boto3.client("organizations").create_organization(FeatureSet="ALL")
    organizations_backends[ACCOUNT]["aws"].org.master_account_id = "999999999999"
    assert checks()["organization"].status == "WARN"


@pytest.mark.standalone  # the no-organization path
def test_standalone_account_is_a_warning(aws: realism.State) -> None:
    found = checks()
    assert found["organization"].status == "WARN" and "not in an organization" in found["organization"].detail


def test_doctor_lists_the_actions_a_config_needs(aws: realism.State) -> None:
    check = checks("-f", EXAMPLE)["permissions"]
    assert "sso:CreatePermissionSet" in check.actions and "sso:CreateAccountAssignment" in check.actions


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
    mine = "# my settings\n[default]\nregion = us-east-1\n\n[profile mine]\nregion = eu-west-1\n"
    path.write_text(mine)
    assert write_sso_config(path).exit_code == 0
    loaded = load_config(str(path))
    assert loaded["profiles"]["default"]["region"] == "us-east-1"
    assert loaded["profiles"]["mine"]["region"] == "eu-west-1"
    assert loaded["profiles"]["Developer-111122223333"]["region"] == REGION
    assert path.read_text().startswith(mine)
    assert [b.read_text() for b in tmp_path.glob("config.*.bak")] == [mine]
    before = path.read_text()
    assert write_sso_config(path).exit_code == 0
    assert path.read_text() == before and len(list(tmp_path.glob("config.*.bak"))) == 1


def write_sso_config(path: Path, *args: str) -> Result:
    return invoke("sso-config", "-f", MULTI, "--user", "joon", "--write", str(path), *args)


def store_id() -> str:
    return str(boto3.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"])


OTHER_ORG_SESSION = (
    "[sso-session identity-center]\n"
    "sso_start_url = https://other-org.awsapps.com/start\n"
    "sso_region = us-east-1\n"
    "sso_registration_scopes = sso:account:access\n"
    "\n"
    "[profile other-org-admin]\n"
    "sso_session = identity-center\n"
    "sso_account_id = 999988887777\n"
    "sso_role_name = Admin\n"
)


def test_sso_config_refuses_to_repoint_a_session_it_did_not_write(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(OTHER_ORG_SESSION)
    refused = write_sso_config(path)
    assert refused.exit_code == 1
    assert "[sso-session identity-center]" in refused.stderr and "--session-name" in refused.stderr
    assert path.read_text() == OTHER_ORG_SESSION and list(tmp_path.glob("config.*.bak")) == []
    assert write_sso_config(path, "--session-name", "ours").exit_code == 0
    loaded = load_config(str(path))
    assert loaded["sso_sessions"]["identity-center"]["sso_start_url"] == "https://other-org.awsapps.com/start"
    assert loaded["profiles"]["Developer-111122223333"]["sso_session"] == "ours"


def test_sso_config_refuses_to_replace_a_profile_it_did_not_write(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "config"
    theirs = "[profile Developer-111122223333]\nsso_session = work\nregion = eu-west-1\noutput = json\n"
    path.write_text(theirs)
    refused = write_sso_config(path)
    assert refused.exit_code == 1 and "[profile Developer-111122223333]" in refused.stderr
    assert "[profile Developer-444455556666]" not in refused.stderr  # only the one at fault is named
    assert path.read_text() == theirs and list(tmp_path.glob("config.*.bak")) == []


def test_sso_config_refuses_sections_it_wrote_for_another_identity_store(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "config"
    assert write_sso_config(path).exit_code == 0
    other = path.read_text().replace(store_id(), "d-0000000000")
    path.write_text(other)
    refused = write_sso_config(path)
    assert refused.exit_code == 1 and "d-0000000000" in refused.stderr
    assert path.read_text() == other


def test_sso_config_marks_each_section_it_writes_and_botocore_still_loads_it(
    aws: realism.State, tmp_path: Path
) -> None:
    from provisioner.access import _sections

    path = tmp_path / "config"
    assert write_sso_config(path).exit_code == 0
    blocks = [lines for header, lines in _sections(path.read_text()) if header]
    assert len(blocks) == 4 and all(store_id() in lines[1] and lines[1].startswith("#") for lines in blocks)
    loaded = load_config(str(path))
    session, profile = loaded["sso_sessions"]["identity-center"], loaded["profiles"]["ReadOnly-777788889999"]
    assert set(session) == {"sso_start_url", "sso_region", "sso_registration_scopes"}
    assert set(profile) == {"sso_session", "sso_account_id", "sso_role_name", "region"}


def test_sso_config_rewrites_its_own_sections_and_keeps_the_comments_around_them(
    aws: realism.State, tmp_path: Path
) -> None:
    path = tmp_path / "config"
    assert write_sso_config(path).exit_code == 0
    ours = path.read_text()
    edited = ours.replace(f"\nregion = {REGION}", "\nregion = us-west-2", 1) + "# my work profile\n[profile mine]\n"
    second = "[profile Developer-444455556666]"
    edited = edited.replace(second, f"# joon's second account\n{second}")
    path.write_text(edited)
    assert write_sso_config(path).exit_code == 0
    assert path.read_text() == edited.replace("\nregion = us-west-2", f"\nregion = {REGION}")
    assert [b.read_text() for b in tmp_path.glob("config.*.bak")] == [edited]


def test_sso_config_adopts_an_unmarked_section_equal_to_its_own(aws: realism.State, tmp_path: Path) -> None:
    """A section written by hand, or by a version without marks, with the same values."""
    printed = invoke("sso-config", "-f", MULTI, "--user", "joon").stdout
    path = tmp_path / "config"
    path.write_text("\n".join(line for line in printed.splitlines() if not line.startswith("#")) + "\n")
    assert write_sso_config(path).exit_code == 0
    assert path.read_text() == printed


@pytest.mark.parametrize("write", [False, True])
def test_sso_config_for_a_user_without_access_says_so(aws: realism.State, tmp_path: Path, write: bool) -> None:
    import yaml

    doc = yaml.safe_load(Path(MULTI).read_text())
    doc["users"].append({"user_name": "bo", "email": "bo@example.com", "groups": ["Platform"]})
    doc["assignments"] = [a for a in doc["assignments"] if "Platform" not in a.get("groups", [])]
    config = tmp_path / "ic.yaml"
    config.write_text(yaml.safe_dump(doc))
    (tmp_path / "policies").symlink_to(Path(MULTI).parent / "policies")
    target = tmp_path / "config"
    result = invoke("sso-config", "-f", str(config), "--user", "bo", *(["--write", str(target)] if write else []))
    assert result.exit_code == 1
    assert "bo reaches no account" in result.stderr and "Platform" in result.stderr
    assert result.stdout == "" and not target.exists()


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


# The role behind an Identity Center session, as IAM lists it: under a path the session ARN
# does not show, aws-reserved/sso.amazonaws.com/, which can also name a Region (IAM Identity
# Center user guide, "Referencing permission sets in resource policies": role ARNs of the form
# .../role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_...). Only GetRole tells.
SSO_ROLE = "AWSReservedSSO_Admin_abc"
SSO_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{REGION}/{SSO_ROLE}"


class FakeIam:
    """IAM with one role, SSO_ROLE, answering SimulatePrincipalPolicy (moto does not implement
    it) with chosen decisions."""

    def __init__(self, denied: set[str]) -> None:
        self.denied = denied
        self.sources: list[str] = []

    def get_role(self, RoleName: str) -> dict[str, Any]:  # noqa: N803
        if RoleName != SSO_ROLE:
            raise AssertionError(f"no role {RoleName}")
        return {"Role": {"Arn": SSO_ROLE_ARN}}

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
    iam = FakeIam(denied)
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice"
    check = doctor.permissions_check(FakeClients(iam), caller)  # type: ignore[arg-type]
    # The role IAM holds is simulated: not the session, nor an ARN put together from its name.
    assert check.status == status and iam.sources == [SSO_ROLE_ARN]
    if denied:
        assert "sso:CreateAccountAssignment" in check.fix


@pytest.mark.parametrize(
    ("operation", "check", "fix"),
    [
        ("DescribeOrganization", "organization", "allow organizations:DescribeOrganization"),
        ("GetAccountSummary", "root MFA", "allow iam:GetAccountSummary"),
    ],
)
@pytest.mark.standalone  # creates its own organization
def test_a_denied_read_is_a_warning_and_doctor_goes_on(
    aws: realism.State, operation: str, check: str, fix: str
) -> None:
    boto3.client("organizations").create_organization(FeatureSet="ALL")
    realism.configure(refuse={operation: ("AccessDeniedException", f"not authorized to perform {operation}")})
    found = checks()
    assert found[check].status == "WARN" and fix in found[check].fix
    assert {"caller", "IAM Identity Center", "permissions"} <= set(found)


def test_an_unreadable_organization_is_not_called_standalone(aws: realism.State) -> None:
    realism.configure(refuse={"DescribeOrganization": ("AccessDeniedException", "not authorized")})
    instance = checks()["IAM Identity Center"]
    assert instance.status == "WARN" and "standalone" not in instance.detail and "unknown" in instance.detail


@pytest.mark.standalone  # creates its own organization
def test_an_account_instance_of_a_member_account_fails(aws: realism.State) -> None:
    from moto.organizations.models import organizations_backends

    boto3.client("organizations").create_organization(FeatureSet="ALL")
    organizations_backends[ACCOUNT]["aws"].org.master_account_id = "999999999999"  # the caller is a member
    instance = checks()["IAM Identity Center"]
    assert instance.status == "FAIL" and "account instance" in instance.detail and "999999999999" in instance.fix
