"""The clients: which connection failures are retried, and how botocore errors read."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError
from urllib3.exceptions import NameResolutionError, NewConnectionError

from provisioner.aws import Api, Clients
from provisioner.errors import AwsError, EndpointUnreachable
from provisioner.retry import FakeClock
from tests import realism
from tests.conftest import load_example, plan_and_apply

URL = "https://sso.ap-northeast-2.amazonaws.com/"


def refused() -> Exception:
    error = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return EndpointConnectionError(endpoint_url=URL, error=error)


def unresolved() -> Exception:
    error = NameResolutionError(
        "sso.ap-northeast-2.amazonaws.com", None, socket.gaierror(-2, "Name or service not known")
    )  # type: ignore[arg-type]
    return EndpointConnectionError(endpoint_url=URL, error=error)


def timed_out() -> Exception:
    return ConnectTimeoutError(endpoint_url=URL, error="timed out")


CONNECT_FAILURES: dict[str, tuple[Callable[[], Exception], str]] = {
    "connection refused": (refused, "the connection was refused"),
    "unknown host": (unresolved, "its host name does not resolve"),
    "connect timeout": (timed_out, "the connection timed out"),
}


def fail_connecting(api: Api[Any], failure: Callable[[], Exception], on_calls: set[int]) -> list[int]:
    """Make the given attempts (1-based) of `api` fail to connect, before anything is sent."""
    attempts: list[int] = []

    def before_send(**_: Any) -> None:
        attempts.append(len(attempts) + 1)
        if attempts[-1] in on_calls:
            raise failure()

    api.client.meta.events.register_first("before-send", before_send)
    return attempts


@pytest.mark.parametrize("case", list(CONNECT_FAILURES))
def test_a_connect_failure_before_any_answer_fails_at_once(clients: Clients, clock: FakeClock, case: str) -> None:
    failure, why = CONNECT_FAILURES[case]
    attempts = fail_connecting(clients.sso_admin, failure, on_calls={1})
    with pytest.raises(EndpointUnreachable) as raised:
        clients.sso_admin.call(lambda c: c.list_instances())
    assert str(raised.value) == (
        f"ListInstances: cannot reach https://sso.ap-northeast-2.amazonaws.com: {why}. "
        "Check --endpoint-url (or AWS_ENDPOINT_URL), the Region, and the network"
    )
    assert attempts == [1] and clock.slept == []


@pytest.mark.parametrize("case", list(CONNECT_FAILURES))
def test_a_connect_failure_after_an_answer_is_a_drop_and_retried(clients: Clients, clock: FakeClock, case: str) -> None:
    failure, _ = CONNECT_FAILURES[case]
    attempts = fail_connecting(clients.sso_admin, failure, on_calls={2, 3})
    clients.sso_admin.call(lambda c: c.list_instances())
    assert clients.sso_admin.call(lambda c: c.list_instances())["Instances"]
    assert attempts == [1, 2, 3, 4] and len(clock.slept) == 2


def test_a_run_converges_through_refused_connections_once_the_endpoint_answered(
    clients: Clients, clock: FakeClock
) -> None:
    # Every 3rd sso-admin attempt after the first is refused, as by an endpoint restarting.
    refusals = set(range(4, 400, 3))
    attempts = fail_connecting(clients.sso_admin, refused, on_calls=refusals)
    plan, result, _ = plan_and_apply(clients, load_example())
    assert result.ok, [o.detail for o in result.failed]
    refused_attempts = refusals & set(attempts)
    assert len(refused_attempts) >= 2  # the run met refusals, retried each, and AWS saw the rest
    served = sum(n for call, n in realism.STATE.calls.items() if call.startswith("sso-admin:"))
    assert served == len(attempts) - len(refused_attempts)


def test_a_botocore_error_names_the_operation(clients: Clients) -> None:
    with pytest.raises(AwsError) as raised:
        clients.sso_admin.call(lambda c: c.describe_permission_set(InstanceArn="x", PermissionSetArn="y"))
    assert raised.value.operation == "DescribePermissionSet" and raised.value.code == "ParamValidationError"
    assert str(raised.value).startswith("DescribePermissionSet: ParamValidationError: Parameter validation failed:")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        (
            "iam",
            lambda c: c.simulate_principal_policy(
                PolicySourceArn="arn:aws:iam::123456789012:user/x", ActionNames=["s3:GetObject"]
            ),
            "InvalidAction",
        ),
        (
            "sso_admin",
            lambda c: c.list_applications(InstanceArn="arn:aws:sso:::instance/ssoins-1234567890abcdef"),
            "UnknownOperationException",
        ),
    ],
)
def test_an_operation_moto_lacks_is_a_client_error(
    clients: Clients, aws: realism.State, service: str, call: Callable[[Any], Any], code: str
) -> None:
    with pytest.raises(AwsError) as raised:
        getattr(clients, service).call(call)
    assert raised.value.code == code and "is not served by this endpoint" in raised.value.aws_message
