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
