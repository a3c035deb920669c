"""The README's walkthrough, "From zero to temporary credentials", end to end on the local
endpoint: bootstrapped from the management account, administered from then on from the
member account it registers as IAM Identity Center's delegated administrator."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import cli_command, cli_env
from tests.test_endpoint import ROOT, Endpoint

DELEGATED = "111122223333"
DELEGATED_KEY = "DELEGATEDADMIN"  # the access key id the endpoint maps to DELEGATED
PROFILE = f"IdentityCenterAdmin-{DELEGATED}"


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    ep = Endpoint(tmp_path, "--async-seconds", "0.2", "--member", DELEGATED, "--caller", f"{DELEGATED_KEY}={DELEGATED}")
    yield ep
    if ep.proc.poll() is None:
        ep.proc.kill()


def provisioner(endpoint: Endpoint, *args: str, delegated: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI as a person runs it: with the management account's credentials, or (after step
    1) with those of the delegated administrator."""
    env = cli_env() | ({"AWS_ACCESS_KEY_ID": DELEGATED_KEY} if delegated else {})
    return subprocess.run(
        cli_command(endpoint.url, *args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def test_the_walkthrough_from_a_delegated_administrator(endpoint: Endpoint, tmp_path: Path) -> None:
    config = tmp_path / "identity-center.yaml"

    # 0. doctor, in the management account: no delegated administrator yet, and how to register one.
    doctor = provisioner(endpoint, "doctor")
    assert "WARN  delegated administrator  none registered" in doctor.stdout and "--delegate-to" in doctor.stdout

    # 1. The bootstrap, which also registers the delegated administrator.
    bootstrap = provisioner(
        endpoint,
        "bootstrap",
        "--user-name",
        "admin",
        "--email",
        "admin@example.com",
        "--delegate-to",
        DELEGATED,
        "--write-config",
        str(config),
        "--yes",
    )
    assert bootstrap.returncode == 0, bootstrap.stderr + bootstrap.stdout
    assert f"ok     create delegated administrator {DELEGATED}" in bootstrap.stdout
    assert f"aws sso login --profile {PROFILE}" in bootstrap.stdout

    # 3. From here on, as the delegated administrator: the AWS CLI profiles,
    aws_config = tmp_path / "aws-config"
    sso = provisioner(
        endpoint, "sso-config", "-f", str(config), "--user", "admin", "--write", str(aws_config), delegated=True
    )
    assert sso.returncode == 0, sso.stderr
    assert f"[profile {PROFILE}]" in aws_config.read_text()
    doctor = provisioner(endpoint, "doctor", delegated=True)
    assert f"PASS  delegated administrator  this account ({DELEGATED})" in doctor.stdout
    assert doctor.returncode == 0, doctor.stdout  # as the README shows it: a PASS, no FAIL

    # 4. and the config is the truth: a plan with nothing to do, an edit applied, a plan clean again.
    plan = provisioner(endpoint, "plan", "-f", str(config), "--detailed-exitcode", delegated=True)
    assert plan.returncode == 0, plan.stderr + plan.stdout
    assert f"account {DELEGATED} (delegated administrator; management account 123456789012)" in plan.stdout
    document = yaml.safe_load(config.read_text())
    document["permission_sets"][0]["session_duration"] = "PT8H"
    document["groups"].append({"name": "Auditors"})
    document["assignments"].append(
        {"permission_set": "IdentityCenterAdmin", "groups": ["Auditors"], "accounts": [DELEGATED]}
    )
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    apply = provisioner(endpoint, "--output", "json", "apply", "-f", str(config), "--yes", delegated=True)
    assert apply.returncode == 0, apply.stderr + apply.stdout
    done = {(o["resource"], o["action"], o["status"]) for o in json.loads(apply.stdout)["result"]["outcomes"]}
    assert ("provisioning", "provision", "done") in done and ("assignment", "create", "done") in done
    again = provisioner(endpoint, "plan", "-f", str(config), "--detailed-exitcode", delegated=True)
    assert again.returncode == 0, again.stdout
    served = endpoint.stop()
    assert "sso-admin:ListAccountAssignmentsForPrincipal" not in served  # neither run needed it
    assert served["organizations:RegisterDelegatedAdministrator"] == 1
