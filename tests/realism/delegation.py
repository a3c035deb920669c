"""Calls made from another account than the management account: a member account registered
as IAM Identity Center's delegated administrator, or a member account that is not.

moto keys every backend by account, and takes the account from the access key (an unknown
key acts as the default account, 123456789012). The organization instance, the identity
store and the organization all live in that account's backends, which is where AWS keeps
them too: the instance "must always reside in the management account" (user guide,
delegated-admin.html). So a request from a member account is modelled as a request to the
same backends, made as another account: `GetCallerIdentity` answers as that account, and
AWS's refusals for it are applied here, before moto sees the call. Which account a request
acts as is a setting (tests/realism Settings): `caller_account` for every request, or
`callers` by the access key id that signed it (the local endpoint's `--caller KEY=ACCOUNT`,
so that one endpoint serves the management account and a delegated administrator at once).
"""

from __future__ import annotations

import json
import re
from typing import Any

SSO_PRINCIPAL = "sso.amazonaws.com"
# "You can only call this operation from the management account" (Organizations API
# reference: RegisterDelegatedAdministrator, DeregisterDelegatedAdministrator,
# EnableAWSServiceAccess, DisableAWSServiceAccess).
MANAGEMENT_ONLY = frozenset(
    {
        "RegisterDelegatedAdministrator",
        "DeregisterDelegatedAdministrator",
        "EnableAWSServiceAccess",
        "DisableAWSServiceAccess",
    }
)
# "You can only call this operation from the management account or a member account that is
# a delegated administrator" (Organizations API reference: ListAccounts, DescribeAccount,
# ListDelegatedAdministrators, ListAccountsForParent, ListOrganizationalUnitsForParent, ...).
# DescribeOrganization may be called "from any account in a organization".
DELEGATED_READS = frozenset(
    {
        "ListAccounts",
        "DescribeAccount",
        "ListDelegatedAdministrators",
        "ListDelegatedServicesForAccount",
        "ListAccountsForParent",
        "ListOrganizationalUnitsForParent",
        "ListRoots",
        "ListChildren",
        "ListParents",
        "DescribeOrganizationalUnit",
    }
)
# What a delegated administrator may not do to a permission set provisioned to the
# management account: "Managing permission sets provisioned in the management account" is
# among what it cannot do (user guide, delegated-admin-how-to-register.html), and the
# troubleshooting page has "Error: You can't delete/modify/remove/assign access to permission
# sets provisioned in the management account" (user guide, troubleshooting.html). Peers see
# CreateAccountAssignment refused on any account for such a set
# (fivexl/terraform-aws-sso-elevator#101). Tags are modelled harshly as an edit too.
MANAGEMENT_SET_WRITES = frozenset(
    {
        "UpdatePermissionSet",
        "DeletePermissionSet",
        "AttachManagedPolicyToPermissionSet",
        "DetachManagedPolicyFromPermissionSet",
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
        "PutInlinePolicyToPermissionSet",
        "DeleteInlinePolicyFromPermissionSet",
        "PutPermissionsBoundaryToPermissionSet",
        "DeletePermissionsBoundaryFromPermissionSet",
        "TagResource",
        "UntagResource",
        "ProvisionPermissionSet",
        "CreateAccountAssignment",
        "DeleteAccountAssignment",
    }
)
ASSIGNMENT_WRITES = frozenset({"CreateAccountAssignment", "DeleteAccountAssignment"})


def caller_of(resp: Any) -> str | None:
    """The account a request acts as, when it is not the one moto keeps the data in."""
    from tests.realism import STATE

    settings = STATE.settings
    account = settings.callers.get(_access_key(resp)) if settings.callers else None
    account = account or settings.caller_account
    return account if account and account != resp.current_account else None


def _access_key(resp: Any) -> str:
    """The access key id that signed a request (moto's own parser takes only 20-character ids)."""
    headers = {str(key).lower(): str(value) for key, value in dict(resp.headers or {}).items()}
    found = re.search(r"Credential=([^/,\s]+)/", headers.get("authorization", ""))
    return found.group(1) if found else ""


def _organization(management: str, partition: str = "aws") -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[management][partition]


def delegated_services(management: str, account: str) -> set[str]:
    """The services `account` is a delegated administrator of, in the organization `management` manages."""
    backend = _organization(management)
    return {s for admin in backend.admins if admin.account.id == account for s in admin.services}


def caller_arn(account: str) -> str:
    """The caller's ARN: a session of a role IAM Identity Center provisioned to its account."""
    return f"arn:aws:sts::{account}:assumed-role/AWSReservedSSO_IdentityCenterAdmin_0123456789abcdef/admin"


def _denied(action: str, caller: str, resource: str) -> Any:
    from tests.realism import _Error

    # IAM's wording for a caller its policies (here: the service's own rules) do not allow.
    return _Error(
        "AccessDeniedException",
        f"User: {caller_arn(caller)} is not authorized to perform: {action} on resource: {resource}",
    )


def refusal(resp: Any, service: str, operation: str, request: dict[str, Any]) -> Any:
    """What AWS answers instead, for a request made from another account: an _Error, a body
    (a member account that is not the delegated administrator sees no instance), or None."""
    from tests.realism import _Error

    caller = caller_of(resp)
    if caller is None or service not in ("sso-admin", "identitystore", "organizations"):
        return None
    management = resp.current_account
    services = delegated_services(management, caller)
    if service == "organizations":
        if operation in MANAGEMENT_ONLY or (operation in DELEGATED_READS and not services):
            return _Error("AccessDeniedException", "You don't have permissions to access this resource.")
        return None
    if SSO_PRINCIPAL not in services:
        # The organization instance is the management account's: a member account that is
        # not its delegated administrator lists only instances of its own (it has none here).
        if operation == "ListInstances":
            return json.dumps({"Instances": []})
        return _denied(f"{'sso' if service == 'sso-admin' else service}:{operation}", caller, "*")
    if service != "sso-admin":
        return None  # "The delegated administrator can edit group membership" (register page)
    action = f"sso:{operation}"
    if operation == "ListAccountAssignmentsForPrincipal":
        # "This action must be called from the management account containing your
        # organization instance of IAM Identity Center" (API reference).
        return _denied(action, caller, str(request.get("InstanceArn")))
    if operation in ASSIGNMENT_WRITES and request.get("TargetId") == management:
        # "Enabling or disabling user access in the management account" (register page);
        # awslabs/landing-zone-accelerator-on-aws#215.
        return _denied(action, caller, f"arn:aws:sso:::account/{management}")
    if operation == "ListAccountAssignments" and request.get("AccountId") == management:
        # The documentation is silent on reading the management account's assignments from
        # a delegated administrator: modelled harshly, as refused.
        return _denied(action, caller, f"arn:aws:sso:::account/{management}")
    arn = request.get("PermissionSetArn") or request.get("ResourceArn")
    if operation in MANAGEMENT_SET_WRITES and arn and management in _accounts_of(resp, str(arn)):
        return _denied(action, caller, str(arn))
    return None


def _accounts_of(resp: Any, arn: str) -> set[str]:
    from tests.realism import _Error, _find_set, _provisioned

    try:
        return set(_provisioned(_find_set(resp, arn)))
    except _Error:
        return set()


def _register_delegated_administrator(resp: Any, original: Any) -> str:
    """IAM Identity Center "supports registering only one member account as a delegated
    administrator at a time" (user guide, delegated-admin-how-to-register.html): another
    account is refused as Organizations refuses it for such a service
    (ConstraintViolationException DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE). A suspended
    account is refused too (CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR).
    Trusted access is not checked: enabling the organization instance turns it on for
    sso.amazonaws.com, and moto always has that instance."""
    from tests.realism import _Error

    p = json.loads(resp.body or "{}")
    backend = resp.organizations_backend
    if p.get("ServicePrincipal") == SSO_PRINCIPAL:
        others = [a.account.id for a in backend.admins if SSO_PRINCIPAL in a.services]
        if others and p.get("AccountId") not in others:
            raise _Error(
                "ConstraintViolationException",
                "You attempted to register an AWS account as a delegated administrator for an AWS service that "
                "already has a delegated administrator.",
                reason="DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE",
            )
    for account in backend.accounts if backend.org else []:
        if account.id == p.get("AccountId") and account.state == "SUSPENDED":
            raise _Error(
                "ConstraintViolationException",
                "You cannot register a suspended account as a delegated administrator.",
                reason="CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
            )
    return str(original(resp))


def _get_caller_identity(original: Any) -> Any:
    def get_caller_identity(self: Any) -> Any:
        from moto.core.responses import ActionResult

        account = caller_of(self)
        if account is None:
            return original(self)
        return ActionResult({"UserId": "AROAEXAMPLE:admin", "Account": account, "Arn": caller_arn(account)})

    return get_caller_identity


def add_member(account_id: str, name: str, management: str = "123456789012") -> None:
    """Add a member account with a chosen id to the organization (created if there is none),
    as if it had joined earlier: moto makes up account ids, and a caller mapping needs one known
    in advance."""
    from moto.organizations import utils

    backend = _organization(management)
    if backend.org is None:
        backend.create_organization(region="us-east-1", FeatureSet="ALL")
    if any(a.id == account_id for a in backend.accounts):
        return
    made_up = utils.make_random_account_id
    utils.make_random_account_id = lambda: account_id
    try:
        backend.create_account(AccountName=name, Email=f"{name}@example.com")
    finally:
        utils.make_random_account_id = made_up


def install() -> None:
    """Accept sso.amazonaws.com as a delegated service, and answer GetCallerIdentity as the caller."""
    from moto.organizations.models import FakeDelegatedAdministrator
    from moto.sts.responses import TokenResponse

    # moto lists the services that take a delegated administrator, without IAM Identity
    # Center, which does ("Supports Delegated Administrator": Organizations user guide,
    # orgs_integrate_services_list.html).
    if SSO_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(SSO_PRINCIPAL)
    TokenResponse.get_caller_identity = _get_caller_identity(TokenResponse.get_caller_identity)  # type: ignore[method-assign]
