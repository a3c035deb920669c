"""Convergence under faults and after a killed run, judged by the final AWS state."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioner.aws import Clients
from tests import realism
from tests.conftest import cli_command, cli_env, make_clients, parse, plan_and_apply
from tests.realism.organizations import default_organization
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
        async_seconds=3,
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
    default_organization()  # the reset took the endpoint's organization with the rest
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


# Where to kill: the n-th call of an operation, held at the endpoint (before or after it takes
# effect) while the process is killed, so the point is the same on every run.
KILL_POINTS = {
    # the users exist; the first membership is on its way
    "after_users": ("identitystore:CreateGroupMembership", 1, False),
    # the 20th assignment request took effect (15 at most in flight), its reply is lost
    "mid_assignments": ("sso-admin:CreateAccountAssignment", 20, True),
    # with ProvisionPermissionSet requests in flight (the second apply changes every set)
    "during_provisioning": ("sso-admin:ProvisionPermissionSet", 2, False),
}


def kill_at(endpoint: Endpoint, operation: str, nth: int, after: bool, *args: str) -> None:
    """Run the CLI, SIGKILL it while the n-th call of `operation` is held, then let that call go."""
    held = endpoint.pause_at(operation, nth, after=after)
    proc = cli(endpoint.url, *args)
    try:
        assert held.reached.wait(60), f"the run never made call {nth} of {operation}: {proc.communicate()[0]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        held.release()


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
    kill_at(endpoint, *KILL_POINTS[point], *apply)
    converges(endpoint.url, doc, config)


# -- interruption: the CLI as a process, stopped with Ctrl-C (SIGINT) -----------------------
class Stream:
    """A pipe of a running process, read on a thread, so a test can wait for a line."""

    def __init__(self, pipe: Any) -> None:
        self.text = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._reader.start()

    def _read(self, pipe: Any) -> None:
        for chunk in iter(lambda: os.read(pipe.fileno(), 4096), b""):
            with self._changed:
                self.text += chunk.decode(errors="replace")
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: text in self.text, timeout)

    def rest(self) -> str:
        self._reader.join(timeout=30)
        return self.text


def started(url: str, *args: str, stdin: Any = subprocess.DEVNULL) -> tuple[subprocess.Popen[bytes], Stream, Stream]:
    proc = subprocess.Popen(
        cli_command(url, *args), env=cli_env(), cwd=ROOT, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return proc, Stream(proc.stdout), Stream(proc.stderr)


def converges(url: str, doc: dict[str, Any], config: Path) -> None:
    code, out = finish(cli(url, "apply", "-f", str(config), "--yes", "--poll-interval", "0.05"))
    assert code == 0, out
    code, out = finish(cli(url, "plan", "-f", str(config), "--detailed-exitcode"))
    assert code == 0, out
    realism.configure()
    assert inventory(url) == expected(doc)


def ctrl_c_mid_assignments(
    endpoint: Endpoint, config: Path
) -> tuple[subprocess.Popen[bytes], Stream, Stream, realism.Pause]:
    """Apply SMALL; press Ctrl-C while its first assignment request is held at AWS, and wait
    until the CLI has taken it. The request is still held: the caller releases it."""
    config.write_text(json.dumps(SMALL))
    held = endpoint.pause_at("sso-admin:CreateAccountAssignment", 1)
    proc, out, err = started(endpoint.url, "apply", "-f", str(config), "--yes", "--poll-interval", "0.05")
    assert held.reached.wait(60), err.rest()
    proc.send_signal(signal.SIGINT)
    assert err.wait_for("interrupted: starting nothing new"), err.text
    return proc, out, err, held


def test_ctrl_c_stops_apply_reports_and_the_next_run_converges(endpoint: Endpoint, tmp_path: Path) -> None:
    config = tmp_path / "org.yaml"
    proc, out, err, held = ctrl_c_mid_assignments(endpoint, config)
    held.release()
    assert proc.wait(timeout=60) == 130
    summary, messages = out.rest(), err.rest()
    assert "Interrupted:" in summary and "not started" in summary, summary
    assert "Aborted!" not in messages and "Traceback" not in messages
    # Only the first batch of the 40 assignments (the 15 allowed in flight) could have started.
    assert realism.STATE.calls["sso-admin:CreateAccountAssignment"] <= 15
    converges(endpoint.url, SMALL, config)


def test_a_second_ctrl_c_quits_at_once(endpoint: Endpoint, tmp_path: Path) -> None:
    config = tmp_path / "org.yaml"
    proc, out, err, held = ctrl_c_mid_assignments(endpoint, config)
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)  # the held request is still in flight: nothing waits for it
    assert proc.wait(timeout=30) == 130
    assert time.monotonic() - pressed < 5
    messages = err.rest()
    assert "Requests in flight may still finish: run `provisioner plan`" in messages, messages
    held.release()
    converges(endpoint.url, SMALL, config)


def waiting_for_input(proc: subprocess.Popen[bytes]) -> None:
    """Wait until the process sleeps in a system call (the read of the answer). A signal that
    lands just before the read starts is seen only after the read returns, as with any
    program; a person never presses Ctrl-C that fast."""
    stat = Path(f"/proc/{proc.pid}/stat")
    deadline = time.monotonic() + 30
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "S":
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_ctrl_c_at_the_question_changes_nothing(endpoint: Endpoint, tmp_path: Path) -> None:
    config = tmp_path / "org.yaml"
    config.write_text(json.dumps(SMALL))
    terminal, stdin = pty.openpty()  # a terminal, so apply asks before changing anything
    try:
        proc, out, err = started(endpoint.url, "apply", "-f", str(config), stdin=stdin)
        assert err.wait_for("Apply these"), err.text
        waiting_for_input(proc)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        os.close(stdin)
        os.close(terminal)
    messages = err.rest()
    assert "interrupted: nothing was changed" in messages and "Aborted!" not in messages
    assert realism.STATE.writes() == 0
