"""doctor with a config (-f): the config's plan from here as checks, and the permissions its
kinds need from where the caller stands; a long list of actions only in JSON or with -v."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.cli import cli
from tests import realism
from tests.conftest import REGION
from tests.test_delegation_realism import DELEGATED, as_account, organization

GROUPS_ONLY = {"groups": [{"name": "Ops"}]}
TYPO = {
    "groups": [{"name": "Ops"}],
    "permission_sets": [{"name": "Ops", "managed_policies": ["ReadOnlyAccess"]}],
    "assignments": [{"permission_set": "Ops", "groups": ["Ops"], "accounts": ["111122223334"]}],
}


def doctor(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args, "doctor"])


def checks(tmp_path: Path, doc: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    args = ["--output", "json"]
    result = CliRunner().invoke(cli, ["--region", REGION, *args, "doctor", *config_args(tmp_path, doc)])
    return list(json.loads(result.stdout)["checks"])


def config_args(tmp_path: Path, doc: dict[str, Any] | None) -> list[str]:
    if doc is None:
        return []
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return ["-f", str(path)]


def named(found: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [c for c in found if c["check"] == name]


def test_a_plan_error_of_the_config_is_a_failed_check(aws: realism.State, tmp_path: Path) -> None:
    organization()
    before = realism.STATE.writes()
    [check] = named(checks(tmp_path, TYPO), "config")
    assert check["status"] == "FAIL" and "account 111122223334 is not in the organization" in check["detail"]
    result = CliRunner().invoke(cli, ["--region", REGION, "doctor", *config_args(tmp_path, TYPO)])
    assert result.exit_code == 1 and "FAIL  config" in result.output
    assert realism.STATE.writes() == before


def test_a_config_that_plans_clean_passes_and_without_one_there_is_no_config_check(
    aws: realism.State, tmp_path: Path
) -> None:
    [check] = named(checks(tmp_path, GROUPS_ONLY), "config")
    assert check["status"] == "PASS" and "1 to create" in check["detail"]
    assert named(checks(tmp_path), "config") == []


def test_the_permissions_narrow_to_the_configs_kinds(aws: realism.State, tmp_path: Path) -> None:
    every = named(checks(tmp_path), "permissions")[0]["actions"]
    [narrowed] = named(checks(tmp_path, GROUPS_ONLY), "permissions")
    assert "identitystore:CreateGroup" in narrowed["actions"] and "sso:CreateAccountAssignment" in every
    assert not [a for a in narrowed["actions"] if a.startswith("sso:") and a != "sso:ListInstances"]


def test_from_the_delegated_administrator_management_only_actions_are_not_asked_for(
    aws: realism.State, tmp_path: Path
) -> None:
    organization()  # registers DELEGATED
    as_account(DELEGATED)
    [check] = named(checks(tmp_path), "permissions")
    asked = set(check["actions"])
    assert "sso:CreateAccountAssignment" in asked and "organizations:ListDelegatedAdministrators" in asked
    # IAM's roles in the management account are made by AWS there; only the policy lookups
    # of the plan (iam:GetPolicy, ListPolicies) are asked for here.
    assert {a for a in asked if a.startswith("iam:")} == {"iam:GetPolicy", "iam:ListPolicies"}
    assert not asked & {"organizations:RegisterDelegatedAdministrator", "sso:ListAccountAssignmentsForPrincipal"}


def test_a_warning_does_not_print_the_actions_unless_verbose(aws: realism.State) -> None:
    quiet, verbose = doctor(), doctor("-v")
    [line] = [li for li in quiet.output.splitlines() if "grant the" in li]
    assert "actions listed by `doctor -v`" in line and "sso:" not in quiet.output
    assert "actions: " in verbose.output and "sso:CreateAccountAssignment" in verbose.output


def test_with_a_config_the_checks_and_the_plan_share_the_clients_and_what_they_read(
    aws: realism.State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provisioner.aws import Clients
    from provisioner.commands.common import Options
    from provisioner.commands.doctor import doctor as doctor_command

    built: list[Clients] = []
    original = Clients.from_settings.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Clients], *args: Any, **kwargs: Any) -> Clients:
        built.append(original(cls, *args, **kwargs))
        return built[-1]

    monkeypatch.setattr(Clients, "from_settings", classmethod(counting))
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(GROUPS_ONLY))
    found = doctor_command(Options(region=REGION), str(path))
    assert [c.status for c in found if c.name == "config"] == ["PASS"]
    # One session and one call log; the plan works where the checks found the run works.
    [api] = built
    assert api.log.counts["identitystore:ListGroups"] == 1
    assert api.log.counts["sts:GetCallerIdentity"] == api.log.counts["sso-admin:ListInstances"] == 1


def test_with_the_organization_unreadable_the_delegated_administrator_is_told_by_the_instances_owner(
    aws: realism.State, tmp_path: Path
) -> None:
    """As a run does (context.standing): the instance's owner is the management account."""
    organization()
    as_account(DELEGATED, deny=lambda operation, request: operation == "DescribeOrganization")
    found = checks(tmp_path)
    assert named(found, "organization")[0]["status"] == "WARN"
    asked = set(named(found, "permissions")[0]["actions"])
    assert "sso:CreateAccountAssignment" in asked
    assert not asked & {"organizations:RegisterDelegatedAdministrator", "sso:ListAccountAssignmentsForPrincipal"}
