"""Convergence under faults and after a killed run, judged by the final AWS state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.aws import Clients
from tests import realism
from tests.conftest import cli_command, cli_env, make_clients, parse, plan_and_apply
from tests.realism.orgs import expected, inventory, organization

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from moto_endpoint import Endpoint  # noqa: E402

# 10 groups, 50 users, 5 permission sets, 100 assignments.
MEDIUM = organization(groups=10, users=50, permission_sets=5, accounts=10, assignments=100)
# Smaller for the process-level tests, where each call crosses HTTP.
SMALL = organization(groups=4, users=12, permission_sets=3, accounts=10, assignments=40)


STATUS_READS = (
    "DescribeAccountAssignmentCreationStatus",
    "ListAccountAssignmentCreationStatus",
    "DescribePermissionSetProvisioningStatus",
)


@pytest.mark.parametrize("status_throttle", [0.30, 0.80], ids=["status reads as the rest", "status reads harder"])
def test_medium_org_converges_under_throttling_errors_and_dropped_connections(
    clients: Clients, clock: Any, status_throttle: float
) -> None:
    realism.configure(
        throttle_rate=0.30,
        throttle_operations=dict.fromkeys(STATUS_READS, status_throttle),
        error_rate=0.05,
        drop_before_rate=0.01,
        drop_after_rate=0.01,
        async_polls=2,
        clock=clock.now,
        seed=11,
    )
    plan, result, _ = plan_and_apply(clients, parse(MEDIUM))
    assert result.ok, [o.detail for o in result.failed][:5]
    realism.configure()
    assert inventory() == expected(MEDIUM)
    again = make_clients(clock)
    plan2, _, _ = plan_and_apply(again, parse(MEDIUM))
    assert plan2.empty and again.log.writes() == {}


# -- interruption: the CLI as a process, killed with SIGKILL, then run again --------------
@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint(
        port=0,
        latency=0.002,
        async_seconds=0.3,
        max_outstanding_assignments=15,
        max_concurrent_provisionings=3,
        conflict_while_provisioning=True,
    )
    ep.start()
    urllib.request.urlopen(urllib.request.Request(f"{ep.url}/moto-api/reset", method="POST"))
    realism.reset()
    realism.configure(
        latency=0.002,
        async_seconds=0.3,
        max_outstanding_assignments=15,
        max_concurrent_provisionings=3,
        conflict_while_provisioning=True,
    )
    yield ep
    ep.stop()
    realism.reset()


def cli(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(url, *args),
        env=cli_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=180)
    return proc.returncode, out


KILL_POINTS = {
    # after the users exist, while memberships start
    "after_users": "identitystore:CreateGroupMembership",
    # with assignments fired and some still IN_PROGRESS
    "mid_assignments": "sso-admin:CreateAccountAssignment",
    # with ProvisionPermissionSet requests in flight (second apply changes every set)
    "during_provisioning": "sso-admin:ProvisionPermissionSet",
}
THRESHOLD = {"after_users": 1, "mid_assignments": 20, "during_provisioning": 2}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_killed_apply_converges_on_the_next_run(endpoint: Endpoint, tmp_path: Path, point: str) -> None:
    doc = json.loads(json.dumps(SMALL))
    config = tmp_path / "org.yaml"
    config.write_text(json.dumps(doc))
    apply = ("apply", "-f", str(config), "--yes", "--poll-interval", "0.05")
    if point == "during_provisioning":
        code, out = finish(cli(endpoint.url, *apply))
        assert code == 0, out
        for ps in doc["permission_sets"]:
            ps["session_duration"] = "PT2H"
        config.write_text(json.dumps(doc))
    operation = KILL_POINTS[point]
    start = realism.STATE.calls[operation]
    proc = cli(endpoint.url, *apply)
    deadline = time.monotonic() + 60
    while realism.STATE.calls[operation] - start < THRESHOLD[point]:
        assert proc.poll() is None, f"apply finished before reaching {point}: {proc.communicate()[0]}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    code, out = finish(cli(endpoint.url, *apply))
    assert code == 0, out
    code, out = finish(cli(endpoint.url, "plan", "-f", str(config), "--detailed-exitcode"))
    assert code == 0, out
    realism.configure()
    assert inventory(endpoint.url) == expected(doc)
