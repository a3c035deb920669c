"""Where a run works: the caller, the one usable IAM Identity Center instance, and where the
caller's account stands: the management account, IAM Identity Center's delegated
administrator, or neither.

An organization instance can only be enabled in the console of the management account, so
finding it is a check with an actionable message, never a create. `doctor` reports the same
diagnosis as a check; a run stops on it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .aws import IDENTITY_CENTER_PRINCIPAL
from .config import CURRENT_ACCOUNT
from .errors import MANAGEMENT_POLICY, MEMBER_POLICY, NOT_IN_USE, AwsError, PreflightError

if TYPE_CHECKING:
    from .aws import Clients

# What reading where a run works calls (doctor checks them with the kinds' own).
ACTIONS = frozenset(
    {
        "sts:GetCallerIdentity",
        "sso:ListInstances",
        "organizations:DescribeOrganization",
        "organizations:ListDelegatedAdministrators",
    }
)


class AccountRole(str, enum.Enum):
    """Where the caller's account stands for IAM Identity Center."""

    MANAGEMENT = "management account"
    DELEGATED_ADMINISTRATOR = "delegated administrator"
    # Neither: a member account not registered (or not seen to be: Organizations unreadable).
    OTHER = "not the management account nor the delegated administrator"


ENABLE_HINT = (
    "Enable it in the AWS console of the organization's management account "
    "(IAM Identity Center > Enable), or, if it is enabled in another Region, pass that Region "
    "with --region or region: in the config. `provisioner doctor` looks in every Region."
)
STATUS_ADVICE = {
    "CREATE_IN_PROGRESS": "wait a few minutes until it is ACTIVE and run again",
    "CREATE_FAILED": "fix the cause in the console and enable IAM Identity Center again",
    "DELETE_IN_PROGRESS": "it is being deleted; enable it again once the deletion ends",
}


@dataclass(frozen=True)
class Caller:
    """Who is calling: sts GetCallerIdentity."""

    account_id: str
    arn: str

    @property
    def partition(self) -> str:
        return self.arn.split(":")[1]

    @property
    def is_root(self) -> bool:
        """The root user's ARN is arn:aws:iam::<account>:root."""
        return self.arn.endswith(":root")


def caller(clients: Clients) -> Caller:
    identity = clients.sts.call(lambda c: c.get_caller_identity())
    return Caller(str(identity["Account"]), str(identity["Arn"]))


@dataclass(frozen=True)
class Context:
    """The instance and caller every kind works in; resolved once per run."""

    instance_arn: str
    identity_store_id: str
    account_id: str
    partition: str
    region: str
    caller_arn: str = ""
    account_role: AccountRole = AccountRole.MANAGEMENT
    # The organization's management account (the instance's owner): `resolve` always knows it;
    # a context made in the management account may leave it out (it is the caller's).
    management_account: str | None = None
    # IAM Identity Center's delegated administrators, when read to find the account's role.
    delegated_administrators: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.management_account is None and not self.in_management_account:
            raise ValueError(f"a context outside the management account ({self.account_role.value}) needs its id")

    def account(self, name: str) -> str:
        """'current' -> the caller's account id; a 12-digit id unchanged."""
        return self.account_id if name == CURRENT_ACCOUNT else name

    @property
    def in_management_account(self) -> bool:
        return self.account_role is AccountRole.MANAGEMENT

    @property
    def admin_policy(self) -> str:
        """The AWS managed policy that grants what a run from here calls."""
        return MANAGEMENT_POLICY if self.in_management_account else MEMBER_POLICY

    @property
    def management(self) -> str:
        """The management account's id: ours when we run there."""
        return self.management_account or self.account_id  # None only in the management account


def name_the_caller(exc: AwsError, ctx: Context | None) -> None:
    """Say which account and caller an AWS error is about, and which managed policy grants what a
    run from there calls (a delegated administrator's is not the management account's)."""
    if ctx is not None:
        exc.where = f"account {ctx.account_id} as {ctx.caller_arn}"
        exc.policy = ctx.admin_policy


@contextmanager
def naming_the_caller(ctx: Context) -> Iterator[None]:
    """Errors raised inside name the caller of `ctx` (see name_the_caller)."""
    try:
        yield
    except AwsError as exc:
        name_the_caller(exc, ctx)
        raise


def delegated_administrators(clients: Clients) -> tuple[str, ...]:
    """The member accounts registered to administer IAM Identity Center (AWS allows one). Only
    the management account and delegated administrators may list them."""
    listed = clients.organizations.pages(
        lambda c, more: c.list_delegated_administrators(ServicePrincipal=IDENTITY_CENTER_PRINCIPAL, **more),
        "DelegatedAdministrators",
    )
    return tuple(sorted(str(a["Id"]) for a in listed))


@dataclass(frozen=True)
class Standing:
    """Where an account stands, and what was read to tell."""

    role: AccountRole
    management_account: str  # the instance's owner; the caller's account when nothing tells otherwise
    delegated: tuple[str, ...] | None = None  # None: not read (or not readable)


def standing(clients: Clients, account: str, instance: Mapping[str, Any]) -> Standing:
    """The account's role, from the instance's owner (an organization instance lives in the
    management account), and only otherwise from Organizations: a run from the management
    account reads nothing more."""
    owner = instance.get("OwnerAccountId")
    if owner is None:
        try:
            owner = str(
                clients.organizations.call(lambda c: c.describe_organization())["Organization"]["MasterAccountId"]
            )
        except AwsError as exc:
            if not exc.denied and exc.code != NOT_IN_USE:
                raise
            owner = account  # no organization to tell otherwise: the instance is the caller's
    owner = str(owner)
    if owner == account:
        return Standing(AccountRole.MANAGEMENT, owner)
    try:
        delegated = delegated_administrators(clients)
    except AwsError as exc:
        if not exc.denied and exc.code != NOT_IN_USE:
            raise
        return Standing(AccountRole.OTHER, owner)  # only the two roles may list them
    return Standing(role_of(account, owner, delegated), owner, delegated)


def role_of(account: str, management: str | None, delegated: Sequence[str] | None) -> AccountRole:
    """Where an account stands, from the management account's id and the delegated
    administrators (None: unknown, so neither)."""
    if account == management:
        return AccountRole.MANAGEMENT
    return AccountRole.DELEGATED_ADMINISTRATOR if account in (delegated or ()) else AccountRole.OTHER


def list_instances(clients: Clients, region: str | None = None) -> list[dict[str, Any]]:
    """The instances in `region` (default: the run's)."""
    api = clients.for_region("sso-admin", region) if region else clients.sso_admin
    return [dict(i) for i in api.pages(lambda c, more: c.list_instances(**more), "Instances")]


def instance_problem(instances: Sequence[Mapping[str, Any]], region: str) -> tuple[str, str] | None:
    """Why these instances of a Region leave no single usable one, as (problem, fix); None
    when there is exactly one and it is ACTIVE."""
    if not instances:
        return f"IAM Identity Center has no instance in {region}", ENABLE_HINT
    if len(instances) > 1:
        listed = "; ".join(
            f"{i['InstanceArn']} (owner {i.get('OwnerAccountId', '?')}, {i.get('Status', '?')})" for i in instances
        )
        return (
            f"{len(instances)} instances of IAM Identity Center in {region}: {listed}",
            "provisioner manages exactly one; run it with credentials of the account that owns the "
            "organization instance, or delete the unused account instance",
        )
    instance = instances[0]
    status = instance.get("Status", "ACTIVE")
    if status == "ACTIVE":
        return None
    reason = instance.get("StatusReason")
    return (
        f"the IAM Identity Center instance {instance['InstanceArn']} in {region} is {status}"
        + (f" ({reason})" if reason else ""),
        STATUS_ADVICE.get(status, "wait until it is ACTIVE"),
    )


def member_problem(account: str, organization: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """Why no instance is visible when the caller's account is a member of an organization
    (not its management account), as (problem, fix); None otherwise. The organization instance
    lives in the management account, and a member account sees it only as IAM Identity
    Center's delegated administrator: enabling one here would make an account instance, which
    cannot hold permission sets (user guide, "Organization and account instances")."""
    management = (organization or {}).get("MasterAccountId")
    if not management or management == account:
        return None
    return (
        f"no IAM Identity Center instance is visible from account {account}, a member account of the organization "
        f"{organization.get('Id') if organization else ''} whose management account {management} holds its instance; "
        "a member account sees it only once registered as IAM Identity Center's delegated administrator",
        f"run from the management account {management}, or register this account as delegated administrator from "
        f'there (`provisioner bootstrap --delegate-to {account}`, or delegated_administrator: "{account}"); do not '
        "enable IAM Identity Center in this account: that makes an account instance, which cannot hold permission sets",
    )


def organization_of(clients: Clients) -> dict[str, Any] | None:
    """The caller's organization (DescribeOrganization); None when it is in none or may not read it."""
    try:
        return dict(clients.organizations.call(lambda c: c.describe_organization())["Organization"])
    except AwsError as exc:
        if not exc.denied and exc.code != NOT_IN_USE:
            raise
        return None


def _refusal(problem: tuple[str, str]) -> PreflightError:
    text, fix = problem
    return PreflightError(f"{text}: {fix[0].lower()}{fix[1:]}{'' if fix.endswith('.') else '.'}")


def root_refusal(who: Caller) -> str:
    return (
        f"refusing to change account {who.account_id} as its root user: sign in through IAM Identity "
        "Center or a role with administrator rights (or pass --allow-root for the very first bootstrap, "
        "then stop using root)"
    )


def resolve(clients: Clients, allow_root: bool = True) -> Context:
    """The Context of the single ACTIVE instance; PreflightError otherwise.

    With `allow_root=False`, root credentials are refused before anything else is read.
    """
    who = caller(clients)
    if not allow_root and who.is_root:
        raise PreflightError(root_refusal(who))
    region = clients.region or ""
    instances = list_instances(clients)
    if not instances and (problem := member_problem(who.account_id, organization_of(clients))):
        raise _refusal(problem)
    if problem := instance_problem(instances, region):
        raise _refusal(problem)
    instance = instances[0]
    return context_of(who, instance, region, standing(clients, who.account_id, instance))


def context_of(who: Caller, instance: Mapping[str, Any], region: str, where: Standing) -> Context:
    """The Context of what was read: the caller, its instance, and where its account stands."""
    return Context(
        instance_arn=instance["InstanceArn"],
        identity_store_id=instance["IdentityStoreId"],
        account_id=who.account_id,
        partition=who.partition,
        region=region,
        caller_arn=who.arn,
        account_role=where.role,
        management_account=where.management_account,
        delegated_administrators=where.delegated,
    )
