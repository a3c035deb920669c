"""The clients: how botocore errors read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from provisioner.aws import Clients
from provisioner.errors import AwsError
from tests import realism


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
