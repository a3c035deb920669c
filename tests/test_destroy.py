"""destroy: reverse order, idempotent, converges after a killed run."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory, organization
from tests.test_resilience import Endpoint, endpoint, finish  # noqa: F401
from tests.test_resilience import cli as cli_process

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")
EMPTY = {
    "users": 0,
    "distinct_user_names": 0,
    "groups": 0,
    "distinct_group_names": 0,
    "memberships": 0,
    "permission_sets": 0,
    "policies": 0,
    "assignments": 0,
    "distinct_assignments": 0,
}


def test_destroy_removes_what_the_config_declares_in_reverse_order(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(organization(4, 8, 3, 5, 24)))
    remover = make_clients(clock)
    runner = Runner(remover, parse(organization(4, 8, 3, 5, 24)), run_settings())
    plan = runner.plan_destroy()
    assert [c.resource for c in plan.changes] == sorted(
        (c.resource for c in plan.changes),
        key=["assignment", "permission_set", "membership", "user", "group"].index,
    )
    assert runner.apply(plan).ok
    assert inventory() == EMPTY
    order = [op for op in remover.log.sequence if op.startswith("Delete")]
    assert order.index("DeletePermissionSet") > max(i for i, op in enumerate(order) if op == "DeleteAccountAssignment")


def test_destroy_leaves_what_the_config_does_not_name(aws: realism.State) -> None:
    import boto3

    store = boto3.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    boto3.client("identitystore").create_group(IdentityStoreId=store, DisplayName="Keep")
    assert CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", EXAMPLE, "--yes"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--region", REGION, "destroy", "-f", EXAMPLE, "--yes"])
    assert result.exit_code == 0, result.output
    assert inventory()["groups"] == 1 and inventory()["permission_sets"] == 0
    again = CliRunner().invoke(cli, ["--region", REGION, "destroy", "-f", EXAMPLE, "--yes"])
    assert again.exit_code == 0
    assert "Nothing to destroy: none of what the config declares exists." in again.stdout
    assert "No changes" not in again.stdout


def test_destroy_without_a_terminal_needs_yes(aws: realism.State) -> None:
    CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", EXAMPLE, "--yes"])
    result = CliRunner().invoke(cli, ["--region", REGION, "destroy", "-f", EXAMPLE])
    assert result.exit_code == 1 and inventory()["users"] == 1


def test_destroy_after_a_killed_destroy_converges(endpoint: Endpoint, tmp_path: Path) -> None:  # noqa: F811
    doc = organization(groups=4, users=12, permission_sets=3, accounts=10, assignments=40)
    config = tmp_path / "org.yaml"
    import json

    config.write_text(json.dumps(doc))
    code, out = finish(cli_process(endpoint.url, "apply", "-f", str(config), "--yes", "--poll-interval", "0.05"))
    assert code == 0, out
    start = realism.STATE.calls["sso-admin:DeleteAccountAssignment"]
    proc = cli_process(endpoint.url, "destroy", "-f", str(config), "--yes", "--poll-interval", "0.05")
    deadline = time.monotonic() + 60
    while realism.STATE.calls["sso-admin:DeleteAccountAssignment"] - start < 20:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    code, out = finish(cli_process(endpoint.url, "destroy", "-f", str(config), "--yes", "--poll-interval", "0.05"))
    assert code == 0, out
    realism.configure()
    assert inventory(endpoint.url) == EMPTY
