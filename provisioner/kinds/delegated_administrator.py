"""IAM Identity Center's delegated administrator: the member account registered to administer
IAM Identity Center, so that day-to-day work happens there rather than in the management
account, as AWS recommends (user guide, "Delegated administration").

Registered with AWS Organizations (RegisterDelegatedAdministrator for sso.amazonaws.com),
which "you can only call ... from the management account" (API reference); planned like any
change, adopted when already registered, and never deregistered here: destroy and prune leave
it. IAM Identity Center "supports registering only one member account as a delegated
administrator at a time" (user guide, delegated-admin-how-to-register.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..aws import IDENTITY_CENTER_PRINCIPAL
from ..config import Config
from ..errors import NOT_IN_USE, AwsError
from ..plan import Action, Change, FieldChange, KindName
from .base import ADOPTED, Diff, Env, ExportScope, Kind, LiveState, Mode, Reader

CONSOLE = "the IAM Identity Center console of the management account (Settings > Management)"


@dataclass(frozen=True)
class Delegation:
    """Who is registered (none read when the config names no delegated administrator), the
    action denied listing them, and the state of the account the config names when it is to be
    registered and is not ACTIVE."""

    registered: tuple[str, ...] = ()
    unread: str | None = None
    state: str | None = None
    # Why the named account cannot be registered at all: the caller's account is in no
    # organization, or the named account is not in it.
    no_organization: bool = False
    outside: bool = False


@dataclass(frozen=True)
class Registration:
    account: str


class DelegatedAdministratorKind(Kind[Delegation, Registration]):
    name = KindName.DELEGATED_ADMINISTRATOR
    natural_key = "member account id"
    service = "organizations"
    actions = frozenset(
        {
            "organizations:ListDelegatedAdministrators",
            "organizations:RegisterDelegatedAdministrator",
            "organizations:DescribeAccount",
        }
    )
    management_only = frozenset({"organizations:RegisterDelegatedAdministrator"})

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Delegation:
        """The registered accounts (already read where the run works, when it is not the
        instance's owner), only when the config names one, or to export it."""
        wanted = config.delegated_administrator
        if mode is Mode.DESTROY or (wanted is None and mode is not Mode.EXPORT):
            return Delegation()
        registered = live.ctx.delegated_administrators
        if registered is None:
            try:
                registered = reader.targets.delegated_administrators()
            except AwsError as exc:
                if exc.code == NOT_IN_USE:
                    # No organization: nothing is, or can be, registered.
                    return Delegation(no_organization=wanted is not None)
                if exc.denied:
                    return Delegation(unread=exc.action)
                raise
        if wanted is not None and not registered and live.ctx.in_management_account and wanted != live.ctx.management:
            # To be registered: one DescribeAccount tells its state, and whether it is a member.
            state = reader.accounts.inactive([wanted]).get(wanted)
            outside = bool(reader.accounts.outside([wanted]))
            return Delegation(registered, state=state, no_organization=reader.accounts.standalone, outside=outside)
        return Delegation(registered)

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Registration]:
        diff: Diff[Registration] = Diff()
        wanted, ctx, part = config.delegated_administrator, live.ctx, live.get(self)
        if wanted is None:
            return diff
        if mode is Mode.DESTROY:
            diff.notes.append(
                f"the delegated administrator {wanted} stays registered: destroy never deregisters one "
                f"(do it in {CONSOLE} if you mean to)"
            )
            return diff
        if part.unread:
            diff.errors.append(
                f"delegated_administrator: the caller may not call {part.unread}, so whether {wanted} is registered "
                f"is unknown: grant {part.unread}, or run this part from the management account"
            )
        elif part.no_organization:
            diff.errors.append(
                f"delegated_administrator: account {ctx.account_id} is in no organization, and only a member account "
                f"of an organization can be IAM Identity Center's delegated administrator: create an organization "
                f"here and invite {wanted} first, or leave delegated_administrator (--delegate-to) out"
            )
        elif wanted == ctx.management:
            diff.errors.append(
                f"delegated_administrator: {wanted} is the management account, and AWS registers only a member "
                "account as delegated administrator: name a member account"
            )
        elif wanted in part.registered:
            diff.unchanged += 1
        elif part.registered:
            current = ", ".join(part.registered)
            diff.errors.append(
                f"delegated_administrator: account {current} is IAM Identity Center's delegated administrator, and "
                f'AWS allows one at a time: set delegated_administrator: "{current}", or deregister it in '
                f"{CONSOLE} first (provisioner never deregisters)"
            )
        elif not ctx.in_management_account:
            diff.errors.append(
                f"delegated_administrator: only the management account {ctx.management} may register "
                f"{wanted}, and this run is from account {ctx.account_id} ({ctx.account_role.value}): run this "
                "config from the management account once"
            )
        elif part.outside:
            diff.errors.append(
                f"delegated_administrator: account {wanted} is not in the organization, and AWS registers only a "
                "member account: fix the account id, or invite the account into the organization first"
            )
        elif part.state:
            diff.errors.append(
                f"delegated_administrator: account {wanted} is {part.state}, and AWS registers only an ACTIVE "
                "account: name another member account"
            )
        else:
            field = FieldChange("service_principal", None, IDENTITY_CENTER_PRINCIPAL)
            diff.changes.append(Change(self.name, Action.CREATE, wanted, Registration(wanted), (field,)))
        return diff

    def apply(self, change: Change[Registration], env: Env) -> str | None:
        """RegisterDelegatedAdministrator; an account registered meanwhile is adopted."""
        account = change.payload.account
        try:
            env.clients.organizations.call(
                lambda c: c.register_delegated_administrator(
                    AccountId=account, ServicePrincipal=IDENTITY_CENTER_PRINCIPAL
                )
            )
        except AwsError as exc:
            if exc.code != "AccountAlreadyRegisteredException":
                raise
            return ADOPTED
        return None

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """The registered account, in a whole export (not one limited to some sets or groups)."""
        part = live.get(self)
        if scope.permission_sets or scope.groups:
            return []
        if part.unread:
            return [f"delegated_administrator left out: the caller may not call {part.unread}"]
        if part.registered:
            document["delegated_administrator"] = part.registered[0]
        return []


KIND = DelegatedAdministratorKind()
