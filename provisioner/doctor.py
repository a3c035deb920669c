"""Preflight and security posture: who is calling, root hygiene, the instance, the organization,
IAM Identity Center's delegated administrator, and the permissions a config needs. Each check
is PASS, WARN or FAIL with a one-line fix."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import context
from .context import AccountRole, Caller, caller, delegated_administrators, instance_problem, list_instances
from .errors import NOT_IN_USE, AccessError, AwsError, ProvisionerError

if TYPE_CHECKING:
    from .aws import Clients
    from .context import Context
    from .plan import Plan

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
    # Actions the check is about (the permissions to grant): in JSON, and in text with -v.
    actions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}
        if self.actions:
            out["actions"] = list(self.actions)
        return out


def caller_check(clients: Clients) -> tuple[Check, Caller]:
    who = caller(clients)
    if who.is_root:
        return Check(
            "caller",
            FAIL,
            f"the root user of account {who.account_id}",
            "sign in through IAM Identity Center (or a role) instead; keep root for root-only tasks",
        ), who
    credentials = clients.session.get_credentials()
    key = credentials.access_key if credentials else ""
    # AKIA keys are an IAM user's long-term keys; so is any key without a session token when
    # the caller is an IAM user (temporary credentials always come with one).
    long_term = key.startswith("AKIA") or (credentials is not None and not credentials.token and ":user/" in who.arn)
    if long_term:
        return Check(
            "caller",
            WARN,
            f"{who.arn} with long-term access keys ({key[:8]}...)",
            "use temporary credentials: `aws sso login --profile NAME`, or assume a role",
        ), who
    return Check("caller", PASS, f"{who.arn} (account {who.account_id}), temporary credentials"), who


def root_checks(clients: Clients) -> list[Check]:
    try:
        summary = clients.iam.call(lambda c: c.get_account_summary())["SummaryMap"]
    except AwsError as exc:
        if isinstance(exc, AccessError) and not exc.denied:
            raise  # credentials: no later check would fare better
        return [
            Check(
                "root MFA",
                WARN,
                f"cannot read the account summary: {exc.code}",
                "allow iam:GetAccountSummary to check root MFA and root access keys",
            )
        ]
    mfa = summary.get("AccountMFAEnabled", 0) == 1
    keys = summary.get("AccountAccessKeysPresent", 0) == 1
    return [
        Check("root MFA", PASS, "MFA is enabled on the root user")
        if mfa
        else Check(
            "root MFA",
            FAIL,
            "the root user has no MFA device",
            "sign in as root once and assign an MFA device (IAM > Security credentials)",
        ),
        Check(
            "root access keys",
            FAIL,
            "the root user has access keys",
            "delete the root access keys (IAM > Security credentials > Access keys)",
        )
        if keys
        else Check("root access keys", PASS, "the root user has no access keys"),
    ]


def instance_check(
    clients: Clients, account: str, org: dict[str, Any] | None, organization_known: bool = True
) -> tuple[Check, dict[str, Any] | None]:
    """The instance check (see _instance_check), and the instance here when there is one."""
    instances = list_instances(clients, clients.region or "")
    return _instance_check(clients, account, org, organization_known, instances), (
        instances[0] if len(instances) == 1 else None
    )


def _instance_check(
    clients: Clients,
    account: str,
    org: dict[str, Any] | None,
    organization_known: bool,
    instances: list[dict[str, Any]],
) -> Check:
    """The one usable instance here (else where one is), and whether it can hold permission
    sets: an organization instance, owned by the management account. `organization_known`:
    False when the organization could not be read (org is then None whatever it is)."""
    region = clients.region or ""
    if not instances:
        elsewhere = []
        for other in clients.session.get_available_regions("sso-admin"):
            if other == region:
                continue
            try:
                if list_instances(clients, other):
                    elsewhere.append(other)
            except ProvisionerError:
                continue
        if elsewhere:
            return Check(
                "IAM Identity Center",
                FAIL,
                f"no instance in {region}; found one in {', '.join(elsewhere)}",
                f"run with --region {elsewhere[0]}",
            )
        if member := context.member_problem(account, org):
            return Check("IAM Identity Center", FAIL, *member)
        return Check(
            "IAM Identity Center",
            FAIL,
            f"no instance in {region} or any other Region",
            "enable it in the console of the organization's management account",
        )
    if problem := instance_problem(instances, region):
        return Check("IAM Identity Center", FAIL, *problem)
    instance = instances[0]
    owner = instance.get("OwnerAccountId", account)
    store = f"identity store {instance['IdentityStoreId']}"
    if org is not None and owner == org.get("MasterAccountId"):
        kind = "organization instance (permission sets and account assignments available)"
        return Check("IAM Identity Center", PASS, f"{kind} in {region}, {store}")
    if org is not None:
        # Owned by a member account: an account instance, which cannot hold permission sets
        # (user guide, "Organization and account instances of IAM Identity Center").
        return Check(
            "IAM Identity Center",
            FAIL,
            f"the instance in {region} is an account instance of member account {owner}: it cannot hold "
            "permission sets or account assignments",
            f"use the organization instance: run from the management account {org.get('MasterAccountId')} "
            "or its delegated administrator, in the Region where it is enabled",
        )
    if organization_known:
        return Check(
            "IAM Identity Center",
            WARN,
            f"instance in {region} of a standalone account: an account instance cannot hold permission sets",
            "create an organization and enable IAM Identity Center in its management account",
        )
    return Check(
        "IAM Identity Center",
        WARN,
        f"instance in {region}, {store}; whether it is the organization instance is unknown (the organization "
        "could not be read)",
        "allow organizations:DescribeOrganization",
    )


def organization_check(
    clients: Clients, account: str, delegated: tuple[str, ...] | None = None
) -> tuple[Check, dict[str, Any] | None, bool]:
    """The organization check, the organization (None: not in one, or unreadable), and whether
    it could be told. Where the account stands is context's `role_of`, as a run tells it."""
    try:
        org = dict(clients.organizations.call(lambda c: c.describe_organization())["Organization"])
    except AwsError as exc:
        if isinstance(exc, AccessError) and not exc.denied:
            raise  # credentials: no later check would fare better
        if exc.code == NOT_IN_USE:
            return (
                Check(
                    "organization",
                    WARN,
                    "this account is not in an organization",
                    "permission sets need an organization instance: create an organization first",
                ),
                None,
                True,
            )
        return (
            Check(
                "organization",
                WARN,
                f"cannot describe the organization: {exc.code}",
                "allow organizations:DescribeOrganization",
            ),
            None,
            False,
        )
    management = org.get("MasterAccountId")
    role = context.role_of(account, str(management) if management else None, delegated)
    if role is AccountRole.MANAGEMENT:
        return (
            Check(
                "organization",
                PASS,
                f"management account of {org.get('Id')}; assignments on this account need IAMFullAccess "
                "besides AWSSSOMasterAccountAdministrator",
            ),
            org,
            True,
        )
    if role is AccountRole.DELEGATED_ADMINISTRATOR:
        return (
            Check(
                "organization",
                PASS,
                f"member account of {org.get('Id')}, IAM Identity Center's delegated administrator (management account "
                f"{org.get('MasterAccountId')})",
            ),
            org,
            True,
        )
    return (
        Check(
            "organization",
            WARN,
            f"member account of {org.get('Id')}",
            "run from the management account, or make this account the delegated administrator for IAM Identity Center",
        ),
        org,
        True,
    )


RECOMMEND_DELEGATION = (
    "register a member account to administer IAM Identity Center day to day, as AWS recommends, and keep the "
    "management account for what only it may do: `provisioner bootstrap --delegate-to ACCOUNT`, or "
    "delegated_administrator: in the config, applied from the management account"
)


def read_delegated(clients: Clients) -> tuple[tuple[str, ...] | None, str]:
    """IAM Identity Center's delegated administrators, or None and why they could not be read."""
    try:
        return delegated_administrators(clients), ""
    except AwsError as exc:
        if exc.code == NOT_IN_USE:
            return None, "this account is not in an organization"
        if isinstance(exc, AccessError) and not exc.denied:
            raise  # credentials: no later check would fare better
        return None, f"cannot list them: {exc.code} on {exc.action}"


def delegation_check(account: str, org: dict[str, Any] | None, delegated: tuple[str, ...] | None, why: str) -> Check:
    """Who administers IAM Identity Center besides the management account: PASS when a member
    account is registered, with a recommendation to register one when none is."""
    name = "delegated administrator"
    if org is None:
        return Check(name, WARN, why or "no organization", "permission sets need an organization first")
    management = org.get("MasterAccountId")
    if delegated is None:
        where = "allow organizations:ListDelegatedAdministrators" if account == management else "run doctor"
        return Check(name, WARN, f"unknown ({why})", f"{where} from the management account")
    if account in delegated:
        return Check(
            name,
            PASS,
            f"this account ({account}) is IAM Identity Center's delegated administrator; the management account "
            f"{management} alone changes the permission sets provisioned to it and the assignments on it",
        )
    if delegated:
        if account == management:
            return Check(name, PASS, f"account {delegated[0]}: administer IAM Identity Center from there day to day")
        return Check(
            name,
            WARN,
            f"account {delegated[0]}, not this account ({account})",
            f"run from account {delegated[0]} (or the management account {management})",
        )
    return Check(name, WARN, "none registered for IAM Identity Center", RECOMMEND_DELEGATION)


# What doctor itself calls, beside what a run calls.
ACTIONS = frozenset(
    {"iam:GetAccountSummary", "iam:GetRole", "iam:SimulatePrincipalPolicy", "organizations:DescribeOrganization"}
)


def required_actions(role: AccountRole = AccountRole.MANAGEMENT, kinds: Iterable[str] | None = None) -> list[str]:
    """The IAM actions a run may call: where it works, and what the kinds declare (those named
    in `kinds`, when given), less what only the management account calls when `role` is another."""
    from .kinds import KINDS, declared_actions, dependency_order

    chosen = list(KINDS)
    if kinds is not None:
        # A kind reads the parts of those it depends on.
        wanted = set(kinds)
        for kind in reversed(dependency_order()):
            if kind.name.value in wanted:
                wanted |= {d.value for d in kind.depends_on}
        chosen = [k for k in KINDS if k.name.value in wanted]
    return sorted(context.ACTIONS | declared_actions(chosen, management=role is AccountRole.MANAGEMENT))


def permissions_check(clients: Clients, caller_arn: str, actions: list[str] | None = None) -> Check:
    """Whether the caller may call `actions` (default: every action a run may call)."""
    actions = required_actions() if actions is None else actions
    source = _policy_source(caller_arn)
    if source is not None and ":role/" in source:
        # Identity Center roles live under a path (aws-reserved/sso.amazonaws.com/...) that the
        # session ARN omits; the simulator needs the role's real ARN.
        role_name = source.rsplit("/", 1)[1]
        with contextlib.suppress(AwsError):
            source = clients.iam.call(lambda c: c.get_role(RoleName=role_name))["Role"]["Arn"]
    if source is None:
        return Check(
            "permissions",
            WARN,
            f"cannot simulate for {caller_arn}; {len(actions)} actions needed",
            GRANT_LISTED.format(n=len(actions)),
            tuple(actions),
        )
    try:
        results = clients.iam.call(lambda c: c.simulate_principal_policy(PolicySourceArn=source, ActionNames=actions))[
            "EvaluationResults"
        ]
    except AwsError as exc:
        return Check(
            "permissions",
            WARN,
            f"could not simulate ({exc.code}); {len(actions)} actions needed",
            GRANT_LISTED.format(n=len(actions)),
            tuple(actions),
        )
    denied = sorted(r["EvalActionName"] for r in results if r.get("EvalDecision") != "allowed")
    if denied:
        return Check(
            "permissions",
            FAIL,
            f"{len(denied)} of {len(actions)} needed actions are denied",
            "grant: " + ", ".join(denied),
            tuple(denied),
        )
    return Check("permissions", PASS, f"all {len(actions)} needed actions are allowed")


# A long list is not printed in text: the count, and where to see it.
GRANT_LISTED = "grant the {n} actions listed by `doctor -v` (or in `--output json`)"


def _policy_source(arn: str) -> str | None:
    """The IAM principal ARN to simulate: a role for an assumed-role session, else the user."""
    parts = arn.split(":")
    if len(parts) < 6:
        return None
    partition, account, resource = parts[1], parts[4], parts[5]
    if resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return f"arn:{partition}:iam::{account}:role/{role}"
    if resource.startswith("user/"):
        return arn
    return None


def run(clients: Clients, planned: Callable[[Context], Plan] | None = None) -> list[Check]:
    """Every check, in the order a person would fix them; with `planned` (the config's plan
    in a context), its errors and warnings too, and the permissions narrowed to its kinds."""
    caller, who = caller_check(clients)
    checks = [caller]
    checks += root_checks(clients)
    delegated, why = read_delegated(clients)
    organization, org, known = organization_check(clients, who.account_id, delegated)
    instance, found = instance_check(clients, who.account_id, org, known)
    checks.append(instance)
    checks.append(organization)
    checks.append(delegation_check(who.account_id, org, delegated, why))
    # As a run tells it (context.standing): the instance's owner is the management account;
    # only without one, the organization's; only without that, the caller's.
    management = (found or {}).get("OwnerAccountId") or (org or {}).get("MasterAccountId") or who.account_id
    role = context.role_of(who.account_id, str(management), delegated)
    kinds = None
    if planned is not None:
        plan_from, where = planned, context.Standing(role, str(management), delegated)

        def plan_here() -> Plan:
            """The config's plan, in the context read above: not read again."""
            assert found is not None  # planned only where the instance check found one
            return plan_from(context.context_of(who, found, clients.region or "", where))

        plan_found, kinds = plan_checks(plan_here, instance.status == FAIL)
        checks += plan_found
    checks.append(permissions_check(clients, who.arn, required_actions(role, kinds)))
    return checks


def plan_checks(planned: Callable[[], Plan], no_instance: bool) -> tuple[list[Check], list[str] | None]:
    """The config's plan from here as checks (each error a FAIL, each warning a WARN, else one
    PASS), and the kinds it concerns (None when it could not be planned)."""
    if no_instance:
        return [Check("config", FAIL, "not planned: there is no usable instance here", "fix the check above")], None
    try:
        plan = planned()
    except ProvisionerError as exc:
        return [Check("config", FAIL, f"cannot be planned from here: {exc}")], None
    kinds = sorted({c.kind.value for c in plan.changes} | {k for k, n in plan.unchanged.items() if n})
    checks = [Check("config", FAIL, error) for error in plan.errors]
    checks += [Check("config", WARN, warning) for warning in plan.warnings]
    if not checks:
        checks.append(Check("config", PASS, f"plans from here with no error or warning: {plan.summary()}"))
    return checks, kinds


def render(checks: list[Check], verbose: bool = False) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{check.status:<4}  {check.name.ljust(width)}  {check.detail}")
        if check.fix and check.status != PASS:
            lines.append(f"      {' ' * width}  fix: {check.fix}")
        if verbose and check.actions and check.status != PASS:
            lines.append(f"      {' ' * width}  actions: {', '.join(check.actions)}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    lines.append("")
    lines.append(f"{failed} failed, {warned} warned, {len(checks) - failed - warned} passed.")
    return "\n".join(lines)
