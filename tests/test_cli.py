"""The CLI through click's CliRunner, in-process against moto with the realism layer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from tests import realism
from tests.conftest import EXAMPLES, REGION

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args], input=input, catch_exceptions=False)


def writes() -> int:
    return realism.STATE.writes()


def test_help_teaches_and_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for word in ("bootstrap", "plan", "apply", "Exit codes", "idempotent"):
        assert word in result.output


def test_help_does_not_import_boto3() -> None:
    code = (
        "import sys; from provisioner.cli import main; sys.argv=['provisioner','--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint('boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_apply_then_plan_is_clean(aws: realism.State) -> None:
    first = invoke("apply", "-f", EXAMPLE, "--yes")
    assert first.exit_code == 0, first.output
    assert "5 to create" in first.output and "Apply complete: 5 done" in first.output
    before = writes()
    second = invoke("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert second.exit_code == 0 and "No changes" in second.output
    third = invoke("apply", "-f", EXAMPLE, "--yes")
    assert third.exit_code == 0 and writes() == before


def test_detailed_exitcode_is_2_when_changes_are_pending(aws: realism.State) -> None:
    result = invoke("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert result.exit_code == 2
    assert writes() == 0
    assert invoke("plan", "-f", EXAMPLE).exit_code == 0


def test_apply_without_a_terminal_refuses_without_yes(aws: realism.State) -> None:
    result = invoke("apply", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert "--yes" in result.output
    assert writes() == 0


def test_plan_json_is_one_document(aws: realism.State) -> None:
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "plan", "-f", EXAMPLE])
    doc = json.loads(result.stdout)
    assert doc["command"] == "plan" and doc["plan"]["summary"]["create"] == 5
    assert {c["resource"] for c in doc["plan"]["changes"]} == {
        "group",
        "user",
        "membership",
        "permission_set",
        "assignment",
    }


def test_apply_json_reports_outcomes(aws: realism.State) -> None:
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "apply", "-f", EXAMPLE, "--yes"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0
    assert doc["result"]["failed"] == 0 and len(doc["result"]["outcomes"]) == 5


BAD_CONFIGS = {
    "session_duration: PT13H": (
        "session_duration: PT4H",
        "session_duration: PT13H",
        "permission_sets[0].session_duration",
    ),
    "unknown group in assignments": (
        "groups: [IdentityCenterAdmins]\n    accounts",
        "groups: [Nobody]\n    accounts",
        "assignments[0].groups[0]",
    ),
    "13-digit account": ("accounts: [current]", "accounts: ['1234567890123']", "assignments[0].accounts"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_invalid_config_exits_1_naming_the_field_before_any_call(aws: realism.State, tmp_path: Path, case: str) -> None:
    old, new, field = BAD_CONFIGS[case]
    text = Path(EXAMPLE).read_text()
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new))
    result = invoke("apply", "-f", str(path), "--yes")
    assert result.exit_code == 1
    assert f"config error: {path}: {field}" in result.output
    assert "Traceback" not in result.output
    assert sum(realism.STATE.calls.values()) == 0


def test_bootstrap_builds_the_seed_and_is_idempotent(aws: realism.State) -> None:
    args = ["bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--yes"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    assert "AWSSSOMasterAccountAdministrator" in first.output
    before = writes()
    second = invoke(*args)
    assert second.exit_code == 0 and "No changes" in second.output and writes() == before


def test_bootstrap_matches_the_example_config(aws: realism.State) -> None:
    invoke(
        "bootstrap",
        "--user-name",
        "admin",
        "--email",
        "admin@example.com",
        "--given-name",
        "Admin",
        "--family-name",
        "User",
        "--display-name",
        "Admin User",
        "--yes",
    )
    assert invoke("plan", "-f", EXAMPLE, "--detailed-exitcode").exit_code == 0


def test_bootstrap_writes_its_config(aws: realism.State, tmp_path: Path) -> None:
    out = tmp_path / "ic.yaml"
    invoke("bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--write-config", str(out), "--yes")
    assert invoke("plan", "-f", str(out), "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--email", "nope", "--email"),
        ("--session-duration", "PT24H", "--session-duration"),
        ("--account", "12", "--account"),
        ("--user-name", "two words", "--user-name"),
    ],
)
def test_bootstrap_bad_flag_is_named(aws: realism.State, flag: str, value: str, words: str) -> None:
    args = {"--user-name": "admin", "--email": "admin@example.com", flag: value}
    flat: list[Any] = [x for pair in args.items() for x in pair]
    result = invoke("bootstrap", *flat, "--yes")
    assert result.exit_code == 1 and words in result.output
    assert sum(realism.STATE.calls.values()) == 0


def test_failed_assignment_exits_1_with_reason(aws: realism.State) -> None:
    realism.configure(fail_assignment=lambda payload: "Role quota exceeded")
    result = invoke("apply", "-f", EXAMPLE, "--yes")
    assert result.exit_code == 1
    assert "FAILED" in result.output and "Role quota exceeded" in result.output and "request id" in result.output


def test_no_region_is_a_clear_error(aws: realism.State, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = CliRunner().invoke(cli, ["plan", "-f", EXAMPLE])
    assert result.exit_code == 1 and "no AWS Region" in result.output and "Traceback" not in result.output


def test_missing_credentials_is_a_one_line_error(aws: realism.State, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = invoke("plan", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert result.output.startswith("error: no AWS credentials found")
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_profile_is_a_clear_error(aws: realism.State) -> None:
    result = invoke("--profile", "nosuch", "plan", "-f", EXAMPLE)
    assert result.exit_code == 1 and "nosuch" in result.output and "Traceback" not in result.output


def test_schema_is_json() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert "permission_sets" in json.loads(result.output)["properties"]


def test_access_denied_on_a_write_names_the_action_and_account(aws: realism.State) -> None:
    realism.configure(
        refuse={
            "CreatePermissionSet": (
                "AccessDeniedException",
                "User is not authorized to perform: sso:CreatePermissionSet",
            )
        }
    )
    result = invoke("apply", "-f", EXAMPLE, "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    # The denial fails that change (and what needs it); the rest goes on.
    failed = [line for line in result.output.splitlines() if "FAILED create permission set" in line]
    assert len(failed) == 1 and "sso:CreatePermissionSet" in failed[0] and "account 123456789012" in failed[0]
    assert failed[0].count("[request id") == 1
    assert "ok     create group IdentityCenterAdmins" in result.output


def test_expired_credentials_say_how_to_refresh(aws: realism.State) -> None:
    realism.configure(
        refuse={"ListInstances": ("ExpiredTokenException", "The security token included in the request is expired")}
    )
    result = invoke("plan", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert "expired" in result.output and "aws sso login" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_deletions_are_red_end_to_end_on_a_terminal() -> None:
    from provisioner.plan import Action, Change
    from provisioner.report import render_change

    deletion = render_change(Change("permission_set", Action.DELETE, "Old"), color=True)[0]
    creation = render_change(Change("permission_set", Action.CREATE, "New"), color=True)[0]
    assert deletion.strip().startswith("\x1b[31m- permission set Old")
    assert creation.strip().startswith("\x1b[32m+\x1b[0m permission set New")


@pytest.fixture
def plan_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.runner import Runner

    original = Runner.plan

    def plan(self: Runner, *args: Any, **kwargs: Any) -> Any:
        found = original(self, *args, **kwargs)
        found.errors.append("account 111122223333 is SUSPENDED")
        return found

    monkeypatch.setattr(Runner, "plan", plan)


def test_plan_with_an_error_exits_1_and_names_it(aws: realism.State, plan_with_an_error: None) -> None:
    result = invoke("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert result.exit_code == 1
    assert "error: account 111122223333 is SUSPENDED" in result.output


def test_apply_refuses_a_plan_with_an_error_and_changes_nothing(aws: realism.State, plan_with_an_error: None) -> None:
    result = invoke("apply", "-f", EXAMPLE, "--yes")
    assert result.exit_code == 1 and "refusing to apply" in result.output
    assert writes() == 0
