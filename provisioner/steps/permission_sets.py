"""Permission sets: attributes, AWS and customer managed policies, inline policy, permissions
boundary, tags; and one ProvisionPermissionSet per changed set that is already provisioned."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..config import (
    UNNAMED_OWNER,
    Config,
    PermissionSetSpec,
    canonical_policy,
    check_prunable,
    duration_seconds,
    managed_policy_arn,
)
from ..errors import AwsError, ProvisionerError
from ..plan import Action, Change, FieldChange, Plan
from .base import ADOPTED, Context, Step
from .groups import deleted

if TYPE_CHECKING:
    from mypy_boto3_sso_admin import SSOAdminClient
    from mypy_boto3_sso_admin.type_defs import PermissionsBoundaryTypeDef, TagTypeDef

    from ..aws import Clients
    from ..targets import AccountStates

CustomerRef = tuple[str, str]  # (name, path)


@dataclass
class LivePermissionSet:
    arn: str
    name: str
    description: str | None
    session_duration: str | int | None
    relay_state: str | None
    managed: set[str] = field(default_factory=set)
    customer: set[CustomerRef] = field(default_factory=set)
    inline: str | None = None  # canonical JSON
    boundary: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Desired:
    """A spec resolved for the caller's partition, in the shapes the API compares."""

    spec: PermissionSetSpec
    managed: set[str]
    customer: set[CustomerRef]
    inline: str | None
    boundary: dict[str, Any] | None
    tags: dict[str, str]
    # The tag marking sets this config created (and so may prune). Put on at creation, and on
    # a set an unnamed config created when a named one claims it; a set that existed before
    # is adopted but never becomes ours to delete.
    ownership: tuple[str, str] | None = None

    @property
    def creation_tags(self) -> dict[str, str]:
        return {**(dict([self.ownership]) if self.ownership else {}), **self.tags}

    def owner(self, live: LivePermissionSet) -> str | None:
        """The ownership tag value of a live set, unless the config sets that tag itself."""
        if self.ownership is None or self.ownership[0] in self.tags:
            return None
        return live.tags.get(self.ownership[0])

    def claim(self, live: LivePermissionSet) -> tuple[str, str] | None:
        """The ownership tag to put on a set that a config without a name created, when this
        config has a name (or its own tag value): it takes the set over."""
        if self.ownership is None or self.ownership[1] == UNNAMED_OWNER or self.owner(live) != UNNAMED_OWNER:
            return None
        return self.ownership

    @classmethod
    def of(cls, spec: PermissionSetSpec, partition: str, ownership: tuple[str, str] | None = None) -> Desired:
        boundary: dict[str, Any] | None = None
        if spec.permissions_boundary is not None:
            b = spec.permissions_boundary
            if b.managed_policy is not None:
                boundary = {"ManagedPolicyArn": managed_policy_arn(b.managed_policy, partition)}
            elif b.customer_managed_policy is not None:
                ref = b.customer_managed_policy
                boundary = {"CustomerManagedPolicyReference": {"Name": ref.name, "Path": ref.path}}
        return cls(
            spec=spec,
            managed={managed_policy_arn(n, partition) for n in spec.managed_policies},
            customer={(p.name, p.path) for p in spec.customer_managed_policies},
            inline=None if spec.inline_policy is None else canonical_policy(spec.inline_policy),
            boundary=boundary,
            tags=dict(spec.tags),
            ownership=ownership,
        )


@dataclass
class Edit:
    """Everything to do to one permission set, applied together, then provisioned once."""

    desired: Desired
    live: LivePermissionSet | None
    update_attributes: bool = False
    attach_managed: list[str] = field(default_factory=list)
    detach_managed: list[str] = field(default_factory=list)
    attach_customer: list[CustomerRef] = field(default_factory=list)
    detach_customer: list[CustomerRef] = field(default_factory=list)
    put_inline: bool = False
    delete_inline: bool = False
    put_boundary: bool = False
    delete_boundary: bool = False
    tag: dict[str, str] = field(default_factory=dict)
    untag: list[str] = field(default_factory=list)

    def fields(self) -> list[FieldChange]:
        """The differences, as a person reads them (policies by name, not by ARN)."""
        live, want = self.live, self.desired
        spec = want.spec
        out: list[FieldChange] = []
        if live is None:
            out.append(FieldChange("name", None, spec.name))
            if spec.description is not None:
                out.append(FieldChange("description", None, spec.description))
            out.append(FieldChange("session_duration", None, spec.session_duration))
            if spec.relay_state is not None:
                out.append(FieldChange("relay_state", None, spec.relay_state))
            if want.creation_tags:
                out.append(FieldChange("tags", None, want.creation_tags))
        elif self.update_attributes:
            if spec.description is not None and live.description != spec.description:
                out.append(FieldChange("description", live.description, spec.description))
            if _seconds(live.session_duration) != spec.session_seconds:
                out.append(FieldChange("session_duration", live.session_duration, spec.session_duration))
            if (live.relay_state or None) != spec.relay_state:
                out.append(FieldChange("relay_state", live.relay_state, spec.relay_state))
        if self.attach_managed or self.detach_managed:
            out.append(
                FieldChange(
                    "managed_policies",
                    [short_policy_name(a) for a in self.detach_managed],
                    [short_policy_name(a) for a in self.attach_managed],
                )
            )
        if self.attach_customer or self.detach_customer:
            out.append(
                FieldChange(
                    "customer_managed_policies",
                    [f"{p}{n}" for n, p in self.detach_customer],
                    [f"{p}{n}" for n, p in self.attach_customer],
                )
            )
        if self.put_inline or self.delete_inline:
            out.append(
                FieldChange(
                    "inline_policy", _policy_or_none(live.inline if live else None), _policy_or_none(want.inline)
                )
            )
        if self.put_boundary or self.delete_boundary:
            out.append(FieldChange("permissions_boundary", live.boundary if live else None, want.boundary))
        claim = want.claim(live) if live is not None else None
        tag = {k: v for k, v in self.tag.items() if claim is None or k != claim[0]}  # a claim shows as owner
        if live is not None and (tag or self.untag):
            out.append(FieldChange("tags", {k: live.tags[k] for k in self.untag}, tag))
        if live is not None and claim is not None:
            out.append(FieldChange("owner", want.owner(live), claim[1]))
        return out

    @property
    def empty(self) -> bool:
        return not (self.changes_roles or self.tag or self.untag)

    @property
    def changes_roles(self) -> bool:
        """Whether the roles in the accounts change, so the set must be provisioned again.
        Tags are not: they live on the permission set only ("Tags can only be applied to
        permission sets and cannot be applied to corresponding roles", API reference, Tag)."""
        return bool(
            self.update_attributes
            or self.attach_managed
            or self.detach_managed
            or self.attach_customer
            or self.detach_customer
            or self.put_inline
            or self.delete_inline
            or self.put_boundary
            or self.delete_boundary
        )


@dataclass(frozen=True)
class ProvisioningTarget:
    """One ProvisionPermissionSet: to every account the set is on, or to one account."""

    permission_set: str
    account: str | None = None  # None: ALL_PROVISIONED_ACCOUNTS


def _seconds(value: str | int | None) -> int:
    if value is None:
        return 3600  # AWS's default when a set was created without one
    try:
        return duration_seconds(value)
    except ValueError:
        return -1


def provisioned_accounts(clients: Clients, ctx: Context, arn: str, stale_only: bool = False) -> list[str]:
    """Accounts a set is provisioned to; with `stale_only`, those that have an older version
    of it (edited since, never re-provisioned: e.g. a run killed in between)."""
    status: dict[str, Any] = {"ProvisioningStatus": "LATEST_PERMISSION_SET_NOT_PROVISIONED"} if stale_only else {}
    return list(
        clients.sso_admin.pages(
            lambda c, more: c.list_accounts_for_provisioned_permission_set(
                InstanceArn=ctx.instance_arn, PermissionSetArn=arn, **status, **more
            ),
            "AccountIds",
        )
    )


def short_policy_name(policy_arn: str) -> str:
    """arn:aws:iam::aws:policy/job-function/ViewOnlyAccess -> job-function/ViewOnlyAccess."""
    return policy_arn.split(":policy/", 1)[-1]


def _policy_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _normalize_inline(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return canonical_policy(json.loads(text))
    except json.JSONDecodeError:
        return text


def compute_edit(desired: Desired, live: LivePermissionSet | None) -> Edit:
    """The edit that turns `live` (None: missing) into `desired`."""
    spec = desired.spec
    edit = Edit(desired, live)
    if live is None:
        edit.attach_managed = sorted(desired.managed)
        edit.attach_customer = sorted(desired.customer)
        edit.put_inline = desired.inline is not None
        edit.put_boundary = desired.boundary is not None
        return edit  # tags and attributes go with CreatePermissionSet
    edit.update_attributes = (
        (spec.description is not None and live.description != spec.description)
        or _seconds(live.session_duration) != spec.session_seconds
        or (live.relay_state or None) != spec.relay_state
    )
    edit.attach_managed = sorted(desired.managed - live.managed)
    edit.detach_managed = sorted(live.managed - desired.managed)
    edit.attach_customer = sorted(desired.customer - live.customer)
    edit.detach_customer = sorted(live.customer - desired.customer)
    edit.put_inline = desired.inline is not None and desired.inline != live.inline
    edit.delete_inline = desired.inline is None and live.inline is not None
    edit.put_boundary = desired.boundary is not None and desired.boundary != live.boundary
    edit.delete_boundary = desired.boundary is None and live.boundary is not None
    edit.tag = {k: v for k, v in desired.tags.items() if live.tags.get(k) != v}
    ownership_key = desired.ownership[0] if desired.ownership else None
    edit.untag = sorted(k for k in live.tags if k not in desired.tags and k != ownership_key)
    if claim := desired.claim(live):
        edit.tag[claim[0]] = claim[1]
    return edit


class PermissionSetsStep(Step):
    resource = "permission_set"
    existing: dict[str, Mapping[str, Any]]
    unreadable: dict[str, AwsError]  # ARN -> AccessDenied on DescribePermissionSet
    doomed: dict[str, str]
    # Account states of this run, shared with the assignments step (set by the runner).
    account_states: AccountStates

    # -- read -------------------------------------------------------------------------
    def list_names(self) -> dict[str, Mapping[str, Any]]:
        """Name -> DescribePermissionSet of every set in the instance the caller may describe
        (names need a describe); their ARNs become known. The ARNs of the sets it may not
        describe (a policy scoped by tags) are kept in `unreadable`, with the denial."""
        out, self.unreadable = self._describe_all()
        return out

    def _describe_all(self) -> tuple[dict[str, Mapping[str, Any]], dict[str, AwsError]]:
        sso = self.clients.sso_admin
        out: dict[str, Mapping[str, Any]] = {}
        unreadable: dict[str, AwsError] = {}
        for arn in sso.pages(
            lambda c, more: c.list_permission_sets(InstanceArn=self.ctx.instance_arn, **more), "PermissionSets"
        ):
            try:
                described = sso.call(
                    lambda c: c.describe_permission_set(InstanceArn=self.ctx.instance_arn, PermissionSetArn=arn)
                )["PermissionSet"]
            except AwsError as exc:
                if not exc.denied:
                    raise
                unreadable[arn] = exc  # its name is unknown: it may even be a declared one
                continue
            out[described["Name"]] = described
            self.ids.set("permission_sets", described["Name"], arn)
        return out, unreadable

    def _warn_unreadable(self, plan: Plan, missing: list[str], consequence: str) -> None:
        """One warning for the sets the caller may not describe, naming the declared sets
        that were not found and may be among them."""
        if not self.unreadable:
            return
        action = next(iter(self.unreadable.values())).action
        text = (
            f"{len(self.unreadable)} permission set(s) were skipped: the caller may not call {action} on "
            f"{_some(sorted(self.unreadable))}"
        )
        if missing:
            text += f"; if {_some(missing)} (declared, not found) is one of them, {consequence}: grant {action} on it"
        plan.warnings.append(text)

    def read_one(self, described: Mapping[str, Any]) -> LivePermissionSet:
        sso = self.clients.sso_admin
        instance = self.ctx.instance_arn
        arn = described["PermissionSetArn"]
        live = LivePermissionSet(
            arn=arn,
            name=described["Name"],
            description=described.get("Description"),
            session_duration=described.get("SessionDuration"),
            relay_state=described.get("RelayState") or None,
        )
        live.managed = {
            p["Arn"]
            for p in sso.pages(
                lambda c, more: c.list_managed_policies_in_permission_set(
                    InstanceArn=instance, PermissionSetArn=arn, **more
                ),
                "AttachedManagedPolicies",
            )
        }
        live.customer = {
            (p["Name"], p.get("Path", "/"))
            for p in sso.pages(
                lambda c, more: c.list_customer_managed_policy_references_in_permission_set(
                    InstanceArn=instance, PermissionSetArn=arn, **more
                ),
                "CustomerManagedPolicyReferences",
            )
        }
        inline = sso.call(lambda c: c.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=arn))
        live.inline = _normalize_inline(inline.get("InlinePolicy"))
        try:
            boundary = sso.call(
                lambda c: c.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
            ).get("PermissionsBoundary")
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            boundary = None
        live.boundary = _normalize_boundary(boundary)
        live.tags = {
            t["Key"]: t.get("Value", "")
            for t in sso.pages(
                lambda c, more: c.list_tags_for_resource(InstanceArn=instance, ResourceArn=arn, **more), "Tags"
            )
        }
        return live

    def provisioned_accounts(self, arn: str, stale_only: bool = False) -> list[str]:
        return provisioned_accounts(self.clients, self.ctx, arn, stale_only)

    # -- diff -------------------------------------------------------------------------
    def plan(self, config: Config, plan: Plan) -> None:
        existing = self.existing = self.list_names()
        self.describe_owner(config, plan)
        missing = [spec.name for spec in config.permission_sets if spec.name not in existing]
        self._warn_unreadable(plan, missing, "creating it will fail")
        provisions: list[Change] = []
        for spec in config.permission_sets:
            desired = Desired.of(spec, self.ctx.partition, config.ownership)
            described = existing.get(spec.name)
            try:
                self._plan_one(config, desired, described, plan, provisions)
            except AwsError as exc:
                if not exc.denied or described is None:
                    raise
                # Tag-scoped delegation: this set alone may not be read, so it cannot be compared.
                plan.errors.append(
                    f"permission set {spec.name}: the caller may not call {exc.action} on it "
                    f"({described['PermissionSetArn']}), so it cannot be compared with the config: grant "
                    f"{exc.action} on it (a policy scoped by tags must match its tags), or remove it from the config"
                )
        # Provisioning comes after every edit of every set, once per set.
        plan.changes.extend(provisions)

    def _plan_one(
        self,
        config: Config,
        desired: Desired,
        described: Mapping[str, Any] | None,
        plan: Plan,
        provisions: list[Change],
    ) -> None:
        """Read one declared set, then add its changes: nothing is added if a read fails."""
        name = desired.spec.name
        live = self.read_one(described) if described else None
        edit = compute_edit(desired, live)
        if live is None:
            plan.changes.append(Change(self.resource, Action.CREATE, name, tuple(edit.fields()), edit))
            return
        stale = self.provisioned_accounts(live.arn, stale_only=True)
        provisioning = self.provisionings(name, live.arn, stale, edit.changes_roles, plan)
        owner = desired.owner(live)
        if owner not in (None, config.ownership[1]) and not desired.claim(live):
            plan.warnings.append(
                f"permission set {name} carries {config.ownership[0]}={owner}: another config (or "
                "tool) owns it, and this config changes it too; declare each permission set in one config only"
            )
        if edit.empty:
            plan.unchanged[self.resource] += 1
        else:
            plan.changes.append(Change(self.resource, Action.UPDATE, name, tuple(edit.fields()), edit))
        provisions += provisioning

    def provisionings(self, name: str, arn: str, stale: list[str], changed: bool, plan: Plan) -> list[Change]:
        """The provisioning a changed or stale set needs, to ACTIVE accounts only: one to
        ALL_PROVISIONED_ACCOUNTS when every account it is on is ACTIVE, else one per account
        to update. AWS keeps listing SUSPENDED and PENDING_CLOSURE accounts, and provisioning
        to them fails: they are noted, and a set stale only there needs nothing."""
        if not stale and not changed:
            return []  # no more reads for a set that is up to date
        provisioned = sorted(set(self.provisioned_accounts(arn)) | set(stale))
        if not provisioned:
            return []  # not on any account yet: its first assignment provisions it
        inactive = self.account_states.inactive(provisioned)
        if inactive:
            shown = ", ".join(f"{account} ({state})" for account, state in sorted(inactive.items()))
            plan.notes.append(
                f"permission set {name} is on account(s) that are not ACTIVE: {shown}; "
                "it is not provisioned there (AWS cannot), and is not counted as stale there"
            )
        targets = [a for a in (provisioned if changed else stale) if a not in inactive]
        if not targets:
            return []
        why = "changed" if changed else "stale in " + ", ".join(targets)
        if not inactive:
            return [self._provisioning(ProvisioningTarget(name), why)]
        return [self._provisioning(ProvisioningTarget(name, account), why) for account in targets]

    @staticmethod
    def _provisioning(target: ProvisioningTarget, why: str) -> Change:
        name, account = target.permission_set, target.account
        key, shown = (name, "ALL_PROVISIONED_ACCOUNTS")
        if account:
            key, shown = f"{name} in {account}", f"AWS_ACCOUNT {account}"
        return Change("provisioning", Action.PROVISION, key, (FieldChange("target", None, f"{shown} ({why})"),), target)

    def plan_prune(self, config: Config, plan: Plan) -> None:
        """Permission sets that carry our ownership tag and that the config no longer declares."""
        check_prunable(config, "config")  # the CLI checks first, naming the file
        declared = {spec.name for spec in config.permission_sets}
        key, value = config.ownership
        self.doomed: dict[str, str] = {}
        unclaimed: list[str] = []
        hidden: dict[str, str] = {}  # name -> the action denied on it
        for name, described in sorted(self.existing.items()):
            if name in declared:
                continue
            arn = described["PermissionSetArn"]
            try:
                tags = {
                    t["Key"]: t.get("Value", "")
                    for t in self.clients.sso_admin.pages(
                        lambda c, more: c.list_tags_for_resource(
                            InstanceArn=self.ctx.instance_arn, ResourceArn=arn, **more
                        ),
                        "Tags",
                    )
                }
            except AwsError as exc:
                if not exc.denied:
                    raise
                hidden[name] = exc.action  # whose it is cannot be known: never ours to delete
                continue
            if tags.get(key) == value:
                self.doomed[name] = arn
                plan.changes.append(
                    Change(self.resource, Action.DELETE, name, (FieldChange("owner", value, None),), name)
                )
            elif tags.get(key) == UNNAMED_OWNER:
                unclaimed.append(name)
        if unclaimed:
            plan.notes.append(
                f"{len(unclaimed)} permission set(s) carry {key}={UNNAMED_OWNER}, the tag of configs without "
                f"a name, and this config does not declare them ({_some(unclaimed)}): --prune leaves them, as "
                "another config may own them. To delete one, declare it here (it is then claimed), then drop it"
            )
        if hidden:
            plan.warnings.append(
                f"{len(hidden)} permission set(s) not declared here were skipped by --prune: the caller may not "
                f"call {next(iter(hidden.values()))} on {_some(sorted(hidden))}, so whose they are is unknown"
            )

    @staticmethod
    def describe_owner(config: Config, plan: Plan) -> None:
        """Say in the plan which config this is and which sets it owns."""
        key, value = config.ownership
        plan.context["config"] = config.name
        plan.context["ownership_tag"] = {"key": key, "value": value}

    def plan_destroy(self, config: Config, plan: Plan) -> None:
        existing = self.list_names()
        self.describe_owner(config, plan)
        missing = [spec.name for spec in config.permission_sets if spec.name not in existing]
        self._warn_unreadable(plan, missing, "it is not deleted")
        for spec in config.permission_sets:
            if spec.name in existing:
                plan.changes.append(Change(self.resource, Action.DELETE, spec.name, (), spec.name))

    # -- apply ------------------------------------------------------------------------
    def apply(self, change: Change) -> str | None:
        if change.action is Action.DELETE:
            return self._delete(change.data)
        edit: Edit = change.data
        detail = None
        if edit.live is None:
            arn, adopted = self._create(edit.desired)
            if adopted:
                described = self.clients.sso_admin.call(
                    lambda c: c.describe_permission_set(InstanceArn=self.ctx.instance_arn, PermissionSetArn=arn)
                )["PermissionSet"]
                edit = compute_edit(edit.desired, self.read_one(described))
                detail = f"{ADOPTED} and converged"
        else:
            arn = edit.live.arn
        self._edit(arn, edit)
        return detail

    def _delete(self, name: str) -> str | None:
        """DeletePermissionSet, once its assignments are deleted. AWS refuses it
        (ConflictException) while the set is still being removed from accounts, which can
        take minutes: retried until the conflict time bound, then the accounts are named."""
        arn, instance = self.ids.need("permission_sets", name), self.ctx.instance_arn
        try:
            return deleted(
                lambda: self.clients.sso_admin.call(
                    lambda c: c.delete_permission_set(InstanceArn=instance, PermissionSetArn=arn), retry_conflicts=True
                )
            )
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            accounts = ", ".join(self.provisioned_accounts(arn)) or "none listed"
            raise ProvisionerError(
                f"{exc}; the set is still on account(s) {accounts} while AWS removes it: run the command again later"
            ) from exc

    def _create(self, desired: Desired) -> tuple[str, bool]:
        """Create the set; if the name is taken, adopt the existing one. (arn, adopted)."""
        spec = desired.spec
        args: dict[str, Any] = {
            "InstanceArn": self.ctx.instance_arn,
            "Name": spec.name,
            "SessionDuration": spec.session_duration,
        }
        if spec.description is not None:
            args["Description"] = spec.description
        if spec.relay_state is not None:
            args["RelayState"] = spec.relay_state
        if desired.creation_tags:
            args["Tags"] = [{"Key": k, "Value": v} for k, v in desired.creation_tags.items()]
        try:
            arn = self.clients.sso_admin.call(lambda c: c.create_permission_set(**args))["PermissionSet"][
                "PermissionSetArn"
            ]
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            # A conflict means either "the name exists" (adopt, never retry) or "something is
            # in flight" (retry). Tell them apart by looking the name up, not by the message.
            existing, unreadable = self._describe_all()
            found = existing.get(spec.name)
            if found is not None:
                return str(found["PermissionSetArn"]), True
            if unreadable:
                # The name may be one the caller may not describe: retrying would not help.
                action = next(iter(unreadable.values())).action
                raise AwsError(
                    exc.code,
                    f"a permission set named {spec.name} may already exist among the {len(unreadable)} the "
                    f"caller may not describe ({action} denied on {_some(sorted(unreadable))}): grant {action} "
                    "on them, or choose another name",
                    exc.operation,
                    exc.request_id,
                    exc.reason,
                    exc.service,
                ) from exc
            arn = self.clients.sso_admin.call(lambda c: c.create_permission_set(**args), retry_conflicts=True)[
                "PermissionSet"
            ]["PermissionSetArn"]
        self.ids.set("permission_sets", spec.name, arn)
        return str(arn), False

    def _edit(self, arn: str, edit: Edit) -> None:
        sso = self.clients.sso_admin
        spec = edit.desired.spec
        instance = self.ctx.instance_arn

        def write(
            op: Callable[[SSOAdminClient], object], done: Callable[[], bool] | None = None, gone_ok: bool = False
        ) -> None:
            """One edit, safe to repeat: a retried call whose first attempt took effect (the
            reply was lost) meets a Conflict or NotFound that is checked, not trusted."""
            try:
                sso.call(op)
            except AwsError as exc:
                if gone_ok and exc.code == "ResourceNotFoundException":
                    return
                if exc.code != "ConflictException":
                    raise
                if done is not None and done():
                    return
                sso.call(op, retry_conflicts=True)

        def attached() -> set[str]:
            return {
                p["Arn"]
                for p in sso.pages(
                    lambda c, more: c.list_managed_policies_in_permission_set(
                        InstanceArn=instance, PermissionSetArn=arn, **more
                    ),
                    "AttachedManagedPolicies",
                )
            }

        def referenced() -> set[CustomerRef]:
            return {
                (p["Name"], p.get("Path", "/"))
                for p in sso.pages(
                    lambda c, more: c.list_customer_managed_policy_references_in_permission_set(
                        InstanceArn=instance, PermissionSetArn=arn, **more
                    ),
                    "CustomerManagedPolicyReferences",
                )
            }

        if edit.update_attributes and edit.live is not None:
            # UpdatePermissionSet clears what it is not sent: always send the whole desired set.
            attrs: dict[str, Any] = {"SessionDuration": spec.session_duration}
            description = spec.description if spec.description is not None else edit.live.description
            if description:
                attrs["Description"] = description
            if spec.relay_state is not None:
                attrs["RelayState"] = spec.relay_state
            write(lambda c: c.update_permission_set(InstanceArn=instance, PermissionSetArn=arn, **attrs))

        def detach_managed(a: str) -> None:
            write(
                lambda c: c.detach_managed_policy_from_permission_set(
                    InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn=a
                ),
                gone_ok=True,
            )

        def attach_managed(a: str) -> None:
            write(
                lambda c: c.attach_managed_policy_to_permission_set(
                    InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn=a
                ),
                done=lambda: a in attached(),
            )

        def detach_customer(ref: CustomerRef) -> None:
            write(
                lambda c: c.detach_customer_managed_policy_reference_from_permission_set(
                    InstanceArn=instance,
                    PermissionSetArn=arn,
                    CustomerManagedPolicyReference={"Name": ref[0], "Path": ref[1]},
                ),
                gone_ok=True,
            )

        def attach_customer(ref: CustomerRef) -> None:
            write(
                lambda c: c.attach_customer_managed_policy_reference_to_permission_set(
                    InstanceArn=instance,
                    PermissionSetArn=arn,
                    CustomerManagedPolicyReference={"Name": ref[0], "Path": ref[1]},
                ),
                done=lambda: ref in referenced(),
            )

        # Detach before attach so a swap never crosses the 20-policy limit.
        for policy_arn in edit.detach_managed:
            detach_managed(policy_arn)
        for ref in edit.detach_customer:
            detach_customer(ref)
        for policy_arn in edit.attach_managed:
            attach_managed(policy_arn)
        for ref in edit.attach_customer:
            attach_customer(ref)
        inline = edit.desired.inline
        if edit.put_inline and inline is not None:
            write(
                lambda c: c.put_inline_policy_to_permission_set(
                    InstanceArn=instance, PermissionSetArn=arn, InlinePolicy=inline
                )
            )
        if edit.delete_inline:
            write(
                lambda c: c.delete_inline_policy_from_permission_set(InstanceArn=instance, PermissionSetArn=arn),
                gone_ok=True,
            )
        boundary = edit.desired.boundary
        if edit.put_boundary and boundary is not None:
            write(
                lambda c: c.put_permissions_boundary_to_permission_set(
                    InstanceArn=instance,
                    PermissionSetArn=arn,
                    PermissionsBoundary=cast("PermissionsBoundaryTypeDef", boundary),
                )
            )
        if edit.delete_boundary:
            write(
                lambda c: c.delete_permissions_boundary_from_permission_set(InstanceArn=instance, PermissionSetArn=arn),
                gone_ok=True,
            )
        if edit.tag:
            tags: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in edit.tag.items()]
            write(lambda c: c.tag_resource(InstanceArn=instance, ResourceArn=arn, Tags=tags))
        if edit.untag:
            keys = list(edit.untag)
            write(lambda c: c.untag_resource(InstanceArn=instance, ResourceArn=arn, TagKeys=keys))

    # -- provisioning -----------------------------------------------------------------
    def start_provisioning(self, target: ProvisioningTarget) -> Mapping[str, Any]:
        """ProvisionPermissionSet to every account the set is on, or to one; returns the status object."""
        arn = self.ids.need("permission_sets", target.permission_set)
        where: dict[str, Any] = (
            {"TargetType": "AWS_ACCOUNT", "TargetId": target.account}
            if target.account
            else {"TargetType": "ALL_PROVISIONED_ACCOUNTS"}
        )
        return self.clients.sso_admin.call(
            lambda c: c.provision_permission_set(InstanceArn=self.ctx.instance_arn, PermissionSetArn=arn, **where),
            retry_conflicts=True,
        )["PermissionSetProvisioningStatus"]

    def provisioning_status(self, request_id: str) -> Mapping[str, Any]:
        return self.clients.sso_admin.call(
            lambda c: c.describe_permission_set_provisioning_status(
                InstanceArn=self.ctx.instance_arn, ProvisionPermissionSetRequestId=request_id
            )
        )["PermissionSetProvisioningStatus"]


def _some(names: list[str], shown: int = 5) -> str:
    """A few names of a long list, and how many more."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def _normalize_boundary(boundary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not boundary:
        return None
    if boundary.get("ManagedPolicyArn"):
        return {"ManagedPolicyArn": boundary["ManagedPolicyArn"]}
    ref = boundary.get("CustomerManagedPolicyReference")
    if ref:
        return {"CustomerManagedPolicyReference": {"Name": ref["Name"], "Path": ref.get("Path", "/")}}
    return None
