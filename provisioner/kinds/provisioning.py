"""Provisioning: ProvisionPermissionSet, once per changed (or stale) set, after all its edits,
to the ACTIVE accounts it is on.

AWS keeps listing SUSPENDED and PENDING_CLOSURE accounts for a set, and provisioning to them
ends FAILED: staleness counts ACTIVE accounts only, and a set on any account that is not
ACTIVE is provisioned one ACTIVE account at a time instead of to ALL_PROVISIONED_ACCOUNTS.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import quotas
from ..config import Config
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, KindName
from . import permission_sets
from .base import Diff, Env, Kind, LiveState, Mode, Reader
from .permission_sets.edit import compute_edit
from .permission_sets.live import provisioned_accounts


@dataclass(frozen=True)
class ProvisioningTarget:
    """One ProvisionPermissionSet: to every account the set is on, or to one account."""

    permission_set: str
    account: str | None = None  # None: ALL_PROVISIONED_ACCOUNTS


@dataclass(frozen=True)
class Provisioned:
    """For each declared set that exists: the accounts where it is stale, and, for a set that
    is stale or changes, every account it is on and their states."""

    stale: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    accounts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    states: Mapping[str, str] = field(default_factory=dict)  # account -> state, when not ACTIVE
    note: str | None = None  # why account states are unknown
    denied: Mapping[str, str] = field(default_factory=dict)  # set name -> the action denied listing its accounts


def _changes_roles(config: Config, live: LiveState) -> dict[str, bool]:
    """Whether each declared set that exists changes its roles in this run (pure)."""
    part = live.get(permission_sets.KIND)
    return {
        name: compute_edit(desired, part.live[name]).changes_roles
        for name, desired in permission_sets.desired_of(config, live.ctx.partition).items()
        if name in part.live
    }


class ProvisioningKind(Kind[Provisioned, ProvisioningTarget]):
    name = KindName.PROVISIONING
    natural_key = "permission set (and account)"
    service = "sso-admin"
    depends_on = (KindName.PERMISSION_SET,)
    asynchronous = True
    outstanding = quotas.MAX_CONCURRENT_PROVISIONINGS
    actions = frozenset(
        {
            "sso:ListAccountsForProvisionedPermissionSet",
            "sso:ProvisionPermissionSet",
            "sso:DescribePermissionSetProvisioningStatus",
            "organizations:ListAccounts",
            "organizations:DescribeAccount",
        }
    )

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Provisioned:
        """One listing of the stale accounts per declared set that does not change; for a
        set stale or changed, one of every account it is on, and the states of those accounts."""
        if mode not in (Mode.PLAN, Mode.PRUNE):
            return Provisioned()
        part = live.get(permission_sets.KIND)
        stale: dict[str, tuple[str, ...]] = {}
        accounts: dict[str, tuple[str, ...]] = {}
        denied: dict[str, str] = {}

        def read_set(item: tuple[str, bool]) -> tuple[str, tuple[str, ...], tuple[str, ...] | None, str | None]:
            """(name, stale accounts, every account or None, the action denied or None)."""
            name, changed = item
            arn = part.live[name].arn
            try:
                # A changed set goes to every account it is on: which of them are stale
                # does not matter, so it is not listed.
                stale_on: tuple[str, ...] = ()
                if not changed:
                    stale_on = tuple(provisioned_accounts(reader.clients, reader.ctx, arn, stale_only=True))
                if not (stale_on or changed):  # no more reads for a set that is up to date
                    return name, stale_on, None, None
                on = provisioned_accounts(reader.clients, reader.ctx, arn)
                return name, stale_on, tuple(sorted(set(on) | set(stale_on))), None
            except AwsError as exc:
                if not exc.denied:
                    raise
                return name, (), None, exc.action  # a policy scoped by tags: this set alone may not be read

        # In the order of the config, whatever order the reads end in.
        for name, stale_on, on, action in reader.parallel(read_set, list(_changes_roles(config, live).items())):
            if action is not None:
                denied[name] = action
                continue
            stale[name] = stale_on
            if on is not None:
                accounts[name] = on
        states = reader.accounts.inactive({a for found in accounts.values() for a in found}) if accounts else {}
        return Provisioned(stale, accounts, states, reader.accounts.note if accounts else None, denied)

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[ProvisioningTarget]:
        """The provisioning a changed or stale set needs, to ACTIVE accounts only: one to
        ALL_PROVISIONED_ACCOUNTS when every account it is on is ACTIVE, else one per account
        to update. A set stale only on accounts that are not ACTIVE needs nothing."""
        part = live.get(self)
        diff: Diff[ProvisioningTarget] = Diff()
        sets = live.get(permission_sets.KIND)
        for name, action in part.denied.items():
            diff.errors.append(permission_sets.unreadable(name, action, sets.arn(name)))
        if part.note:
            diff.notes.append(part.note)
        changed = _changes_roles(config, live) if part.accounts else {}
        for name, on in part.accounts.items():
            if not on:
                continue  # not on any account yet: its first assignment provisions it
            inactive = {a: part.states[a] for a in on if a in part.states}
            if inactive:
                shown = ", ".join(f"{account} ({state})" for account, state in sorted(inactive.items()))
                diff.notes.append(
                    f"permission set {name} is on account(s) that are not ACTIVE: {shown}; "
                    "it is not provisioned there (AWS cannot), and is not counted as stale there"
                )
            targets = [a for a in (on if changed[name] else part.stale[name]) if a not in inactive]
            if not targets:
                continue
            if permission_sets.on_management(sets, name):
                diff.errors.append(permission_sets.refused_on_management(name, live.ctx))
                continue
            why = "changed" if changed[name] else "stale in " + ", ".join(targets)
            # Made even when some of the set's edits fail: what did change reaches the accounts.
            if not inactive:
                diff.changes.append(self._change(ProvisioningTarget(name), why))
            else:
                diff.changes += [self._change(ProvisioningTarget(name, a), why) for a in targets]
        return diff

    def _change(self, target: ProvisioningTarget, why: str) -> Change[ProvisioningTarget]:
        name, account = target.permission_set, target.account
        key, shown = (name, "ALL_PROVISIONED_ACCOUNTS")
        if account:
            key, shown = f"{name} in {account}", f"AWS_ACCOUNT {account}"
        field = FieldChange("target", None, f"{shown} ({why})")
        return Change(self.name, Action.PROVISION, key, target, (field,))

    def batches(self, changes: list[Change[ProvisioningTarget]]) -> list[list[Change[ProvisioningTarget]]]:
        """Provisionings of one set to several accounts go in rounds: AWS refuses work on a
        set while it is being provisioned."""
        rounds: list[list[Change[ProvisioningTarget]]] = []
        seen: Counter[str] = Counter()
        for change in changes:
            index = seen[change.payload.permission_set]
            seen[change.payload.permission_set] += 1
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(change)
        return rounds

    def fire(self, change: Change[ProvisioningTarget], env: Env) -> Mapping[str, Any]:
        """ProvisionPermissionSet to every account the set is on, or to one."""
        target = change.payload
        arn = env.ids.need(KindName.PERMISSION_SET, target.permission_set)
        where: dict[str, Any] = (
            {"TargetType": "AWS_ACCOUNT", "TargetId": target.account}
            if target.account
            else {"TargetType": "ALL_PROVISIONED_ACCOUNTS"}
        )
        return env.clients.sso_admin.call(
            lambda c: c.provision_permission_set(InstanceArn=env.ctx.instance_arn, PermissionSetArn=arn, **where),
            retry_conflicts=True,
        )["PermissionSetProvisioningStatus"]

    def check(self, request_ids: list[str], env: Env, action: Action) -> Mapping[str, Mapping[str, Any]]:
        sso, instance = env.clients.sso_admin, env.ctx.instance_arn

        def status(request_id: str) -> Mapping[str, Any]:
            return sso.call(
                lambda c: c.describe_permission_set_provisioning_status(
                    InstanceArn=instance, ProvisionPermissionSetRequestId=request_id
                )
            )["PermissionSetProvisioningStatus"]

        statuses = [status(rid) for rid in request_ids]
        return {str(s["RequestId"]): s for s in statuses if s.get("Status") != "IN_PROGRESS"}


KIND = ProvisioningKind()
