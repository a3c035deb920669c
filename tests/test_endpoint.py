"""The CLI as a separate process against the local endpoint (moto server + realism layer)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, REGION, cli_command, cli_env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")


class Endpoint:
    def __init__(self, tmp: Path, *args: str) -> None:
        self.calls_file = tmp / "calls.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "moto_endpoint.py"), "--calls-file", str(self.calls_file), *args],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("endpoint: "), line
        self.url = line.split(" ", 1)[1].strip()

    def stop(self) -> dict[str, int]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=20) == 0
        return dict(json.loads(self.calls_file.read_text()))

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cli_command(self.url, *args),
            capture_output=True,
            text=True,
            env=cli_env(),
            cwd=ROOT,
            timeout=120,
        )


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    ep = Endpoint(tmp_path, "--async-seconds", "0.3")
    yield ep
    if ep.proc.poll() is None:
        ep.proc.kill()


def test_apply_against_the_endpoint_then_plan_is_clean(endpoint: Endpoint) -> None:
    first = endpoint.cli("apply", "-f", EXAMPLE, "--yes")
    assert first.returncode == 0, first.stderr + first.stdout
    plan = endpoint.cli("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    served = endpoint.stop()
    assert served["sso-admin:DescribeAccountAssignmentCreationStatus"] >= 1  # IN_PROGRESS at first
    assert served["sso-admin:CreateAccountAssignment"] == 1
    assert served["identitystore:CreateUser"] == 1


def on_a_terminal(endpoint: Endpoint, *args: str) -> tuple[int, str]:
    """Run the CLI with its stderr on a pseudo-terminal, as a person at a shell has it; the
    exit code and what the terminal received."""
    import os
    import pty

    main, child = pty.openpty()
    proc = subprocess.Popen(
        cli_command(endpoint.url, *args), stdout=subprocess.PIPE, stderr=child, env=cli_env(), cwd=ROOT
    )
    os.close(child)
    received = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the child side closed: the process is gone
            break
        if not chunk:
            break
        received += chunk
    os.close(main)
    return proc.wait(timeout=120), received.decode()


def test_progress_shows_on_a_terminal_and_nowhere_else(endpoint: Endpoint) -> None:
    code, terminal = on_a_terminal(endpoint, "apply", "-f", EXAMPLE, "--yes")
    assert code == 0, terminal
    # Each line as the terminal shows it in the end (\r rewrites it; the terminal sends \r\n).
    shown = [line.split("\r")[-1].replace("\x1b[K", "") for line in terminal.replace("\r\n", "\n").split("\n")]
    # Creates as well as polled requests, a line ending once all its phases are done.
    done = [phase for line in shown for phase in line.strip().split(" | ") if phase.endswith(" 1/1")]
    assert sorted(done) == [
        f"{kind} 1/1" for kind in ("assignments", "groups", "memberships", "permission sets", "users")
    ]
    code, terminal = on_a_terminal(endpoint, "--output", "json", "destroy", "-f", EXAMPLE, "--yes")
    assert code == 0 and "deleting" not in terminal and "\r" not in terminal, terminal
    again = endpoint.cli("apply", "-f", EXAMPLE, "--yes")  # no terminal: a log, not a progress line
    assert again.returncode == 0 and "assignments" not in again.stderr and "\r" not in again.stderr


@pytest.mark.parametrize(
    ("args", "root_mfa", "code"),
    [((), "PASS  root MFA", 0), (("--root-without-mfa",), "FAIL  root MFA", 1)],
    ids=["a well-kept account", "root without MFA"],
)
def test_doctor_against_the_endpoint_runs_its_checks(
    tmp_path: Path, args: tuple[str, ...], root_mfa: str, code: int
) -> None:
    ep = Endpoint(tmp_path, *args)
    try:
        result = ep.cli("doctor")
    finally:
        ep.proc.kill()
    assert "internal error" not in result.stderr and "error:" not in result.stderr, result.stderr
    assert result.returncode == code, result.stdout
    assert root_mfa in result.stdout
    for check in ("caller", "root MFA", "IAM Identity Center", "organization", "permissions"):
        assert f"  {check}" in result.stdout
    # The endpoint lacks iam:SimulatePrincipalPolicy: a warning, which does not fail doctor.
    assert "WARN  permissions              could not simulate (InvalidAction)" in result.stdout


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        # query protocol: an XML ErrorResponse
        (
            "iam",
            lambda c: c.simulate_custom_policy(PolicyInputList=["{}"], ActionNames=["s3:GetObject"]),
            "InvalidAction",
        ),
        # JSON protocol: a JSON body with __type
        (
            "sso-admin",
            lambda c: c.list_applications(InstanceArn="arn:aws:sso:::instance/ssoins-1234567890abcdef"),
            "UnknownOperationException",
        ),
    ],
)
def test_the_endpoint_answers_an_operation_it_lacks_as_aws_does(
    endpoint: Endpoint, service: str, call: Callable[[Any], Any], code: str
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    client = boto3.client(
        service,
        endpoint_url=endpoint.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(ClientError) as raised:
        call(client)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400



def plain_client(url: str, service: str) -> Any:
    """A boto3 client of the endpoint that makes each call once (botocore's retries would hide
    what the endpoint answered)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_a_dropped_call_is_a_dropped_connection(tmp_path: Path) -> None:
    from botocore.exceptions import ConnectionClosedError

    ep = Endpoint(tmp_path, "--drop-rate", "1")
    try:
        client = plain_client(ep.url, "sso-admin")
        for _ in range(2):  # the connection a drop closed is not reused for the next call
            with pytest.raises(ConnectionClosedError):
                client.list_instances()
        assert ep.stop()["sso-admin:ListInstances"] == 2
    finally:
        if ep.proc.poll() is None:
            ep.proc.kill()


def test_an_injected_server_error_is_a_500_in_the_services_protocol(tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    ep = Endpoint(tmp_path, "--error-rate", "1")
    try:
        with pytest.raises(ClientError) as raised:
            plain_client(ep.url, "identitystore").list_users(IdentityStoreId="d-1234567890")
    finally:
        ep.proc.kill()
    response = raised.value.response
    assert response["Error"]["Code"] == "InternalServerException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"

def test_an_endpoint_nobody_listens_on_fails_in_seconds(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    result = subprocess.run(
        cli_command(url, "doctor"), capture_output=True, text=True, env=cli_env(), cwd=ROOT, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: GetCallerIdentity: cannot reach {url}: the connection was refused. "
        "Check --endpoint-url (or AWS_ENDPOINT_URL), the Region, and the network"
    )
    assert time.monotonic() - started < 15


def test_a_port_in_use_is_an_error_naming_it_not_a_hang() -> None:
    with socket.socket() as taken:  # another program (another endpoint, say) listens there
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "moto_endpoint.py"), "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is in use by another program (an endpoint started earlier?): "
        "stop it, or choose another port with --port (--port 0 takes a free one)"
    )


MULTI_TEAM = str(EXAMPLES / "multi-team.yaml")
# The README's endpoint flow: the organization's members, and the customer managed policy the
# example's Billing set references, in the account it assigns Billing on.
README_MEMBERS = ("--member", "111122223333", "--member", "444455556666", "--member", "777788889999")
BILLING_POLICY = "123456789012:/finance/CostReportsReader"


@pytest.mark.parametrize("policy", [False, True])
def test_the_readme_flow_applies_once_the_endpoint_has_the_customer_policy(tmp_path: Path, policy: bool) -> None:
    extra = ("--policy", BILLING_POLICY) if policy else ()
    endpoint = Endpoint(tmp_path, "--async-seconds", "0.2", "--quotas", *README_MEMBERS, *extra)
    try:
        result = endpoint.cli("--output", "json", "apply", "-f", MULTI_TEAM, "--yes")
    finally:
        endpoint.stop()
    out = json.loads(result.stdout)
    warned = [w for w in out["plan"]["warnings"] if "/finance/CostReportsReader" in w]
    failed = [o for o in out["result"]["outcomes"] if o["status"] != "done"]
    if policy:
        assert result.returncode == 0 and not warned and not failed, result.stderr + result.stdout
    else:
        assert result.returncode != 0 and warned
        assert sorted(o["key"] for o in failed) == [
            "group Finance -> Billing on 123456789012",
            "user admin -> Billing on 123456789012",
        ]
        assert all("'/finance/CostReportsReader'" in o["detail"] and o["request_id"] for o in failed)


def parse_endpoint_args(argv: list[str]) -> Any:
    """scripts/moto_endpoint.py's parse_args (the scripts folder is no package)."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    from moto_endpoint import parse_args

    return parse_args(argv)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("CostReportsReader", "write it ACCOUNT:/PATH/NAME"),
        ("12345:/finance/CostReportsReader", "ACCOUNT is 12 digits"),
        ("123456789012:finance/CostReportsReader", "the path starts with /"),
        ("123456789012:/finance/", "the policy's name comes last"),
    ],
)
def test_a_policy_option_the_endpoint_cannot_use_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_endpoint_args(["--policy", value])
    assert exit_info.value.code == 2
    assert f"--policy {value}: {problem}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--async-seconds", "-1", "is not a number of seconds (0 or more)"),
        ("--latency", "nan", "is not a number of seconds (0 or more)"),
        ("--error-rate", "5", "is not a fraction from 0 to 1"),
        ("--tps", "0", "is not a number above 0"),
    ],
)
def test_an_endpoint_knob_out_of_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], option: str, value: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_endpoint_args([option, value])
    assert exit_info.value.code == 2
    assert f"argument {option}: '{value}' {problem}" in capsys.readouterr().err
