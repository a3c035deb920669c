"""AWS Organizations as IAM Identity Center meets it: account states, and what moto lacks.

- An assignment on an account outside the organization is taken, then FAILED with a reason
  (`in_organization`; tests/realism `_outside_organization`).
- Without an organization, ListAccounts and DescribeAccount answer
  AWSOrganizationsNotInUseException (moto lists nothing, or says the account is not found).
- Accounts carry `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, ...) and no longer `Status`:
  botocore's organizations model says `Status` "will be retired on September 9, 2026".
  moto closes an account straight to SUSPENDED; `set_account_state` gives any state.
- ListAccounts answers at most 20 accounts a page (MaxResults is 1..20 in the model).
- Account tags are read one account at a time (ListTagsForResource: "You can only call this
  operation from the management account or a member account that is a delegated
  administrator"), in pages: the model has NextToken and no MaxResults, and the page size is
  not documented, so the layer answers TAGS_PAGE_SIZE tags a page and the caller must follow
  NextToken. Tag keys and values match exactly (AWS tags are case sensitive).
"""

from __future__ import annotations

import json
from typing import Any

NOT_IN_USE = ("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
PAGE_SIZE = 20
TAGS_PAGE_SIZE = 2


def _backend(account_id: str, partition: str = "aws") -> Any:
    from moto.organizations.models import organizations_backends

    return organizations_backends[account_id][partition]


def account_state(management_account: str, account_id: str, partition: str = "aws") -> str:
    """The state of an account of the organization `management_account` manages; ACTIVE when
    there is no organization or the account is not in it."""
    backend = _backend(management_account, partition)
    for account in backend.accounts if backend.org else []:
        if account.id == account_id:
            return str(account.state)
    return "ACTIVE"


def in_organization(management_account: str, account_id: str, partition: str = "aws") -> bool:
    """Whether IAM Identity Center's organization instance can reach an account: the management
    account, or a member of its organization.

    Without an organization every account counts: moto always has an organization instance,
    which AWS has only with an organization, and most tests assign on made-up accounts without
    creating one; they stand for an organization whose accounts were not modelled. A test that
    creates the organization gets AWS's behaviour."""
    if account_id == management_account:
        return True
    backend = _backend(management_account, partition)
    if backend.org is None:
        return True
    return any(account.id == account_id for account in backend.accounts)


# The world the suite and the local endpoint start in: an organization whose management
# account is the default caller and owns the IAM Identity Center instance (an organization
# instance, the only kind that holds permission sets and account assignments: user guide,
# identity-center-instances.html), with the member accounts the tests and examples assign on.
# 999999999999 and 111122223334 stay outside it: tests use them for accounts that are not members.
MANAGEMENT = "123456789012"
MEMBERS = (
    "111122223333",
    "444455556666",
    "777788889999",
    "999988887777",
    "012345678901",
    *(f"{100000000000 + n:012d}" for n in range(20)),  # tests/realism/orgs.py's accounts
)


def default_organization(members: tuple[str, ...] = MEMBERS) -> None:
    """Create the default organization: MANAGEMENT with `members` (call after moto is reset)."""
    from .delegation import add_member

    for index, account in enumerate(members):
        add_member(account, f"member-{index + 1}", MANAGEMENT)


# An account that is in no organization can only have an account instance of IAM Identity
# Center, which manages access to applications of its own account only, not permission sets
# nor access to AWS accounts (user guide, "Organization and account instances of IAM Identity
# Center", identity-center-instances.html; account-instances-identity-center.html). AWS
# answers the permission set APIs of such an instance with a ValidationException "not supported
# for account instances of IAM Identity Center" (cartography-cncf/cartography#1998, #2543,
# seen on ListPermissionSets). The message below is the layer's own, in that wording. The
# listing the threads saw refused and the writes are refused here, harshly and at once (an
# assignment is not taken and failed later).
ACCOUNT_INSTANCE_REFUSED = frozenset({"ListPermissionSets", "CreatePermissionSet", "CreateAccountAssignment"})


def refuse_on_account_instance(resp: Any, operation: str) -> None:
    """Raise AWS's refusal of `operation` when the instance is an account instance: the account
    that keeps it is in no organization."""
    from moto.organizations.models import organizations_backends

    from tests.realism import _Error

    if operation not in ACCOUNT_INSTANCE_REFUSED or _backend(resp.current_account, resp.partition).org is not None:
        return
    if resp.current_account in organizations_backends.master_accounts:
        return  # a member account's organization is kept in its management account
    raise _Error("ValidationException", f"{operation} is not supported for account instances of IAM Identity Center.")


def set_account_state(account_id: str, state: str, management_account: str = "123456789012") -> None:
    """Put a member account in any state (PENDING_CLOSURE, SUSPENDED, ...)."""
    for account in _backend(management_account).accounts:
        if account.id == account_id:
            account.state = state
            account.status = state if state in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE") else account.status
            return
    raise KeyError(account_id)


def _described(account: Any) -> dict[str, Any]:
    out = dict(account.describe())
    out.pop("Status", None)  # retired
    return out


def _organization(resp: Any) -> Any:
    from tests.realism import _Error

    backend = resp.organizations_backend
    if backend.org is None:
        raise _Error(*NOT_IN_USE)
    return backend


def _list_accounts(resp: Any) -> str:
    from tests.realism import _page

    accounts = sorted(_organization(resp).accounts, key=lambda a: a.create_time)
    return _page(resp.request_params, "Accounts", [_described(a) for a in accounts], max_size=PAGE_SIZE)


def _describe_account(resp: Any) -> str:
    from tests.realism import _Error

    account_id = resp.request_params.get("AccountId")
    for account in _organization(resp).accounts:
        if account.id == account_id:
            return json.dumps({"Account": _described(account)})
    raise _Error("AccountNotFoundException", "You specified an account that doesn't exist.")


def _list_tags_for_resource(resp: Any) -> str:
    from tests.realism import _page

    backend = _organization(resp)
    tags = backend.list_tags_for_resource(ResourceId=resp.request_params.get("ResourceId", ""))["Tags"]
    return _page(resp.request_params, "Tags", sorted(tags, key=lambda t: t["Key"]), max_size=TAGS_PAGE_SIZE)


def _list_accounts_for_parent(resp: Any, original: Any) -> str:
    _organization(resp)
    body = json.loads(original(resp))
    for account in body.get("Accounts", []):
        account.pop("Status", None)
    return json.dumps(body)


def install() -> None:
    """Patch moto's organizations responses (through the layer's faults, call counts and the
    refusals a member account meets: tests/realism/delegation.py)."""
    from moto.organizations.responses import OrganizationsResponse

    from tests.realism import _fault

    from .delegation import _register_delegated_administrator

    original = OrganizationsResponse.list_accounts_for_parent
    operations = {
        "ListAccounts": ("list_accounts", _list_accounts),
        "DescribeAccount": ("describe_account", _describe_account),
        "ListAccountsForParent": ("list_accounts_for_parent", lambda resp: _list_accounts_for_parent(resp, original)),
        "ListTagsForResource": ("list_tags_for_resource", _list_tags_for_resource),
    }
    # Passed through as moto answers them, but counted and open to the same faults and refusals.
    for name, operation in PASSED_THROUGH.items():
        passed = getattr(OrganizationsResponse, name)
        operations[operation] = (name, passed)
    register = operations["RegisterDelegatedAdministrator"][1]
    operations["RegisterDelegatedAdministrator"] = (
        "register_delegated_administrator",
        lambda resp: _register_delegated_administrator(resp, register),
    )
    for operation, (name, fn) in operations.items():

        def method(self: Any, operation: str = operation, fn: Any = fn) -> Any:
            return _fault("organizations", operation, self, lambda: fn(self))

        method.__name__ = name
        method._realism = True  # type: ignore[attr-defined]
        setattr(OrganizationsResponse, name, method)


# The operations a run, doctor or a delegated administrator's refusals concern, beside those
# answered here.
PASSED_THROUGH = {
    "describe_organization": "DescribeOrganization",
    "list_roots": "ListRoots",
    "list_organizational_units_for_parent": "ListOrganizationalUnitsForParent",
    "list_children": "ListChildren",
    "list_parents": "ListParents",
    "describe_organizational_unit": "DescribeOrganizationalUnit",
    "list_delegated_administrators": "ListDelegatedAdministrators",
    "list_delegated_services_for_account": "ListDelegatedServicesForAccount",
    "register_delegated_administrator": "RegisterDelegatedAdministrator",
    "deregister_delegated_administrator": "DeregisterDelegatedAdministrator",
    "enable_aws_service_access": "EnableAWSServiceAccess",
    "disable_aws_service_access": "DisableAWSServiceAccess",
}
