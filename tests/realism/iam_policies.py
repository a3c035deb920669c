"""IAM's AWS managed policies, as every account sees them.

Every account can read AWS's managed policies: `iam:GetPolicy` on
`arn:<partition>:iam::aws:policy<path><name>` answers the policy, and ListPolicies with
Scope=AWS lists them (IAM API reference, GetPolicy and ListPolicies; IAM user guide, "AWS
managed policies"). moto knows them only when MOTO_IAM_LOAD_MANAGED_POLICIES is set, and
then builds all of them (about 1,500) in every account's backend; here a policy is built
when it is first asked for, from the same data that the sso-admin layer attaches from, so
what IAM finds and what AttachManagedPolicyToPermissionSet accepts always agree. An ARN
with the wrong path (arn:aws:iam::aws:policy/ViewOnlyAccess for job-function/ViewOnlyAccess)
is NoSuchEntity, as in IAM.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any


@cache
def _data() -> dict[str, Any]:
    """Name -> the policy's data, parsed once per process (the document is megabytes)."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    parsed: dict[str, Any] = json.loads(aws_managed_policies_data)
    return parsed


def _add(backend: Any, name: str) -> None:
    from moto.iam.models import AWSManagedPolicy

    policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, _data()[name])
    backend.managed_policies.setdefault(policy.arn, policy)


def install() -> None:
    from moto.iam.models import IAMBackend

    original_get, original_list = IAMBackend.get_policy, IAMBackend.list_policies

    def get_policy(self: Any, policy_arn: str) -> Any:
        name = policy_arn.rsplit("/", 1)[-1]
        if policy_arn not in self.managed_policies and ":iam::aws:policy/" in policy_arn and name in _data():
            _add(self, name)  # under its own path: a wrong path stays NoSuchEntity
        return original_get(self, policy_arn)

    def list_policies(self: Any, *args: Any, **kwargs: Any) -> Any:
        for name in _data():
            _add(self, name)
        return original_list(self, *args, **kwargs)

    IAMBackend.get_policy = get_policy  # type: ignore[method-assign]
    IAMBackend.list_policies = list_policies  # type: ignore[method-assign]


# A policy that allows little: what it allows does not matter to IAM Identity Center, only
# that a policy of that name and path exists in the account (user guide, "Use IAM policies in
# permission sets": "The permissions that the policy grants don't have to be an exact match").
CUSTOMER_POLICY_DOCUMENT = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ce:Get*", "Resource": "*"}]}'
)


def create_customer_policy(account: str, path_and_name: str, partition: str = "aws") -> str:
    """Create the customer managed policy `/path/Name` in `account`'s IAM (moto's backend for
    that account), as an operator prepares a member account; return its ARN. One that
    exists already is kept."""
    from moto.iam.models import iam_backends

    path, _, name = path_and_name.rpartition("/")
    backend = iam_backends[account][partition]
    arn = f"arn:{partition}:iam::{account}:policy{path}/{name}"
    if arn not in backend.managed_policies:
        backend.create_policy("", f"{path}/", CUSTOMER_POLICY_DOCUMENT, name, [])
    return arn


def missing_customer_policies(account: str, references: list[tuple[str, str]], partition: str = "aws") -> list[str]:
    """Of the (path, name) references, the `/path/Name` of those `account`'s IAM lacks."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account][partition]
    return [
        f"{path}{name}"
        for path, name in references
        if f"arn:{partition}:iam::{account}:policy{path}{name}" not in backend.managed_policies
    ]
