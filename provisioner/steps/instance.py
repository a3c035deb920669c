"""Enable check: resolve the one usable IAM Identity Center instance in the Region.

An organization instance can only be enabled in the console of the management account, so
this is a check with an actionable message, never a create.
"""

from __future__ import annotations

from ..aws import Clients
from ..errors import PreflightError
from .base import Context

ENABLE_HINT = (
    "Enable it in the AWS console of the organization's management account "
    "(IAM Identity Center > Enable), or, if it is enabled in another Region, pass that Region "
    "with --region or region: in the config. `provisioner doctor` looks in every Region."
)


def caller(clients: Clients) -> tuple[str, str, str]:
    """(account id, caller ARN, partition) of the credentials in use."""
    identity = clients.sts.call(lambda c: c.get_caller_identity())
    arn = str(identity["Arn"])
    return str(identity["Account"]), arn, arn.split(":")[1]


def resolve(clients: Clients, allow_root: bool = True) -> Context:
    """The frozen Context of the single ACTIVE instance; PreflightError otherwise.

    With `allow_root=False`, root credentials are refused before anything else is read.
    """
    account_id, caller_arn, partition = caller(clients)
    if not allow_root and caller_arn.endswith(":root"):
        raise PreflightError(
            f"refusing to change account {account_id} as its root user: sign in through IAM Identity "
            "Center or a role with administrator rights (or pass --allow-root for the very first bootstrap, "
            "then stop using root)"
        )
    region = clients.region or ""
    instances = list(clients.sso_admin.pages(lambda c, more: c.list_instances(**more), "Instances"))
    if not instances:
        raise PreflightError(f"IAM Identity Center has no instance in {region}. {ENABLE_HINT}")
    if len(instances) > 1:
        listed = "; ".join(
            f"{i['InstanceArn']} (owner {i.get('OwnerAccountId', '?')}, {i.get('Status', '?')})" for i in instances
        )
        raise PreflightError(
            f"{len(instances)} IAM Identity Center instances in {region}: {listed}. provisioner "
            "manages exactly one; run it with credentials of the account that owns the "
            "organization instance, or delete the unused account instance."
        )
    instance = instances[0]
    status = instance.get("Status", "ACTIVE")
    if status != "ACTIVE":
        reason = instance.get("StatusReason")
        advice = {
            "CREATE_IN_PROGRESS": "wait a few minutes until it is ACTIVE and run again",
            "CREATE_FAILED": "fix the cause in the console and enable IAM Identity Center again",
            "DELETE_IN_PROGRESS": "it is being deleted; enable it again once the deletion ends",
        }.get(status, "wait until it is ACTIVE")
        raise PreflightError(
            f"the IAM Identity Center instance {instance['InstanceArn']} in {region} is {status}"
            + (f" ({reason})" if reason else "")
            + f": {advice}."
        )
    return Context(
        instance_arn=instance["InstanceArn"],
        identity_store_id=instance["IdentityStoreId"],
        account_id=account_id,
        partition=partition,
        region=region,
        caller_arn=caller_arn,
    )
