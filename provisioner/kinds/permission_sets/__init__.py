"""Permission sets: attributes, AWS and customer managed policies, inline policy, permissions
boundary and tags; created, edited, claimed, pruned and deleted. (Their provisioning is a
kind of its own, provisioning.py.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...config import UNNAMED_OWNER, Config, prune_problem
from ...errors import AwsError, ProvisionerError
from ...plan import Action, Change, FieldChange, KindName
from ..base import ADOPTED, Diff, Env, ExportScope, Kind, LiveState, Mode, Reader, creation, deletion
from .desired import Desired, to_spec
from .edit import Edit, Target, compute_edit
from .live import (
    PermissionSets,
    describe_all,
    provisioned_accounts,
    provisioned_to,
    read_one,
    refuse_unknown_sets,
    tags_of,
)
from .policies import ACTIONS as POLICY_ACTIONS
from .policies import (
    assigned_here,
    customer_refs,
    customer_to_check,
    missing_aws_managed,
    missing_customer_managed,
    to_attach,
    unchecked,
)
from .policies import check as check_policies

if TYPE_CHECKING:
    from ...context import Context

VALIDATION = "ValidationException"


@dataclass(frozen=True)
class SetDeletion:
    name: str
    arn: str


Payload = Edit | SetDeletion


def some(names: Sequence[str], shown: int = 5) -> str:
    """A few names of a long list, and how many more."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def unreadable(name: str, action: str, arn: str | None) -> str:
    """The plan error for a declared set the caller may not read (a policy scoped by tags)."""
    return (
        f"permission set {name}: the caller may not call {action} on it ({arn}), so it cannot be compared "
        f"with the config: grant {action} on it (a policy scoped by tags must match its tags), or remove it "
        "from the config"
    )


def refused_on_management(name: str, ctx: Context) -> str:
    """The plan error for a change to a set provisioned to the management account, made from
    another account (one text, whichever kind finds the change)."""
    return (
        f"permission set {name} is provisioned to the management account {ctx.management}: only that account "
        f"may change it, assign it or remove its assignments, and this run is from account {ctx.account_id} "
        f"({ctx.account_role.value}); run this part from the management account, or keep {name} and its "
        "assignments out of this config"
    )


def on_management(part: PermissionSets, name: str) -> bool:
    """Whether a set that exists is provisioned to the management account (known only when
    running from another account)."""
    arn = part.arn(name)
    return arn is not None and arn in part.on_management


def skipped(name: str, action: str, arn: str | None) -> str:
    """The export warning for a set the caller may not read."""
    return f"permission set {name} skipped: the caller may not call {action} on it ({arn})"


def doomed(config: Config, part: PermissionSets) -> dict[str, str]:
    """Name -> ARN of the sets prune deletes: ours (our ownership tag) and no longer declared.
    A set provisioned to the management account is left alone from any other account."""
    declared = {spec.name for spec in config.permission_sets}
    key, value = config.ownership
    return {
        name: str(part.described[name]["PermissionSetArn"])
        for name, tags in sorted(part.tags.items())
        if name not in declared and tags.get(key) == value and not on_management(part, name)
    }


# What destroy does to a declared set it does not delete.
KEPT = "only the assignments the config declares on it are deleted"


def destroyed(config: Config, part: PermissionSets) -> dict[str, str]:
    """Name -> ARN of the declared sets destroy deletes: those that carried this config's
    ownership tag when read, before anything was done. A set another config owns, or that
    existed before a config adopted it, is never this config's to delete."""
    key, value = config.ownership
    return {
        spec.name: str(part.described[spec.name]["PermissionSetArn"])
        for spec in config.permission_sets
        if part.tags.get(spec.name, {}).get(key) == value and not on_management(part, spec.name)
    }


def not_ours(config: Config, part: PermissionSets, name: str) -> str:
    """Why destroy leaves a declared set (its tags read) alone."""
    key, value = config.ownership
    owner = part.tags[name].get(key)
    if owner is None:
        return f"it has no {key} tag (it existed before a config adopted it), so no config owns it; {KEPT}"
    return f"it carries {key}={owner}: {owner_of(owner)} owns it, not this config ({key}={value}); {KEPT}"


def owner_of(owner: str) -> str:
    """Who an ownership tag value names, in words."""
    return "a config without a name" if owner == UNNAMED_OWNER else f"another config ({owner})"


def desired_of(config: Config, partition: str) -> dict[str, Desired]:
    return {spec.name: Desired.of(spec, partition, config.ownership) for spec in config.permission_sets}


class PermissionSetKind(Kind[PermissionSets, Payload]):
    name = KindName.PERMISSION_SET
    natural_key = "Name"
    service = "sso-admin"
    actions = frozenset(
        {
            "sso:ListPermissionSets",
            "sso:DescribePermissionSet",
            "sso:CreatePermissionSet",
            "sso:UpdatePermissionSet",
            "sso:DeletePermissionSet",
            "sso:ListManagedPoliciesInPermissionSet",
            "sso:AttachManagedPolicyToPermissionSet",
            "sso:DetachManagedPolicyFromPermissionSet",
            "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
            "sso:AttachCustomerManagedPolicyReferenceToPermissionSet",
            "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
            "sso:GetInlinePolicyForPermissionSet",
            "sso:PutInlinePolicyToPermissionSet",
            "sso:DeleteInlinePolicyFromPermissionSet",
            "sso:GetPermissionsBoundaryForPermissionSet",
            "sso:PutPermissionsBoundaryToPermissionSet",
            "sso:DeletePermissionsBoundaryFromPermissionSet",
            "sso:ListTagsForResource",
            "sso:TagResource",
            "sso:UntagResource",
            "sso:ListAccountsForProvisionedPermissionSet",
            "sso:ListPermissionSetsProvisionedToAccount",
        }
        | POLICY_ACTIONS
    )

    # -- read -------------------------------------------------------------------------
    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> PermissionSets:
        """Every set's name (a describe each); the declared ones whole (one call per aspect),
        and whether IAM knows the policies the run would attach to them (see policies.py);
        with prune (and in a plan of a config that may prune, for its note), the tags of the
        others; to destroy, the tags of the declared ones; for export, every set in scope
        whole. From another account than the management account, the sets provisioned to it
        (one call)."""
        clients, ctx = reader.clients, reader.ctx
        try:
            described, unreadable = describe_all(clients, ctx, reader.parallel)
        except AwsError as exc:
            # An account instance (an account in no organization) has no permission sets, and
            # AWS refuses to list them (see tests/realism/organizations.py): none to read; the
            # assignments kind makes declaring one a plan error that says why.
            if exc.code != VALIDATION:
                raise
            reader.accounts.of([ctx.account_id])  # tells whether there is an organization
            if not reader.accounts.standalone:
                raise
            return PermissionSets()
        on_management: frozenset[str] = frozenset()
        management_unread = None
        if not ctx.in_management_account:
            try:
                on_management = frozenset(provisioned_to(clients, ctx, ctx.management))
            except AwsError as exc:
                if not exc.denied:
                    raise
                management_unread = exc.action
        whole: dict[str, Any] = {}
        denied: dict[str, str] = {}
        tags: dict[str, dict[str, str]] = {}
        hidden: dict[str, str] = {}
        if mode is Mode.EXPORT:
            refuse_unknown_sets(reader.scope.permission_sets, described, unreadable)
            wanted = [name for name in described if reader.scope.wants_set(name)]
        elif mode is Mode.DESTROY:
            wanted = []
        else:
            wanted = [spec.name for spec in config.permission_sets if spec.name in described]

        def read_whole(name: str) -> None:
            try:
                whole[name] = read_one(clients, ctx, described[name])
            except AwsError as exc:
                if not exc.denied:
                    raise
                denied[name] = exc.action  # a policy scoped by tags: this set alone may not be read

        reader.parallel(read_whole, wanted)

        def read_tags(name: str) -> None:
            try:
                tags[name] = tags_of(clients, ctx, described[name]["PermissionSetArn"])
            except AwsError as exc:
                if not exc.denied:
                    raise
                hidden[name] = exc.action  # whose it is cannot be known: never ours to delete

        declared = {spec.name for spec in config.permission_sets}
        if mode is Mode.DESTROY:  # whose the declared ones are, before anything is deleted
            reader.parallel(read_tags, sorted(declared & described.keys()))
        elif mode is Mode.PRUNE or (mode is Mode.PLAN and prune_problem(config) is None):
            reader.parallel(read_tags, sorted(described.keys() - declared))
        missing: Mapping[str, str | None] = {}
        unchecked_by = None
        if mode in (Mode.PLAN, Mode.PRUNE):
            arns: set[str] = set()
            wanted_sets = {n: d for n, d in desired_of(config, ctx.partition).items() if n not in denied}
            # Which existing sets are on this account already: one listing, and only when a set
            # assigned here references customer managed policies.
            here: set[str] | None = None
            if any(n in whole and customer_refs(d) and assigned_here(config, ctx, n) for n, d in wanted_sets.items()):
                here = set(provisioned_to(clients, ctx, ctx.account_id))
            for name, desired in wanted_sets.items():
                current = whole.get(name)
                on_here = here is not None and current is not None and current.arn in here
                arns |= to_attach(desired, current) | customer_to_check(config, ctx, desired, current, on_here)
            missing, unchecked_by = check_policies(clients, arns, reader.parallel)
        return PermissionSets(
            described, unreadable, whole, denied, tags, hidden, on_management, management_unread, missing, unchecked_by
        )

    def ids(self, part: PermissionSets) -> Iterable[tuple[str, str]]:
        return ((name, str(d["PermissionSetArn"])) for name, d in part.described.items())

    # -- diff -------------------------------------------------------------------------
    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Payload]:
        part = live.get(self)
        diff: Diff[Payload] = Diff()
        missing = [spec.name for spec in config.permission_sets if spec.name not in part.described]
        if part.management_unread:
            diff.warnings.append(
                f"the caller may not call {part.management_unread}, so which permission sets are provisioned to "
                f"the management account {live.ctx.management} is unknown: AWS refuses any change to those from "
                f"account {live.ctx.account_id}; grant {part.management_unread} to have the plan say which"
            )
        if mode is Mode.DESTROY:
            self._warn_unreadable(diff, part, missing, "it is not deleted")
            ours = destroyed(config, part)
            for spec in config.permission_sets:
                if on_management(part, spec.name):
                    diff.errors.append(refused_on_management(spec.name, live.ctx))
                elif spec.name in ours:
                    diff.changes.append(deletion(self.name, spec.name, SetDeletion(spec.name, ours[spec.name])))
                elif spec.name in part.hidden:
                    diff.unchanged += 1  # left as it is
                    diff.warnings.append(
                        f"permission set {spec.name} is not deleted: the caller may not call {part.hidden[spec.name]} "
                        f"on it, so whose it is is unknown; {KEPT}"
                    )
                elif spec.name in part.tags:
                    diff.unchanged += 1
                    diff.notes.append(f"permission set {spec.name} is not deleted: {not_ours(config, part, spec.name)}")
            return diff
        self._warn_unreadable(diff, part, missing, "creating it will fail")
        if part.policies_unchecked:
            diff.warnings.append(unchecked(part.policies_unchecked))
        key, value = config.ownership
        for index, (name, desired) in enumerate(desired_of(config, live.ctx.partition).items()):
            diff.errors += missing_aws_managed(index, live.ctx, desired, part.missing_policies)
            diff.warnings += missing_customer_managed(index, live.ctx, desired, part.missing_policies)
            if name in part.denied:
                diff.errors.append(unreadable(name, part.denied[name], part.arn(name)))
                continue
            current = part.live.get(name)
            edit = compute_edit(desired, current)
            if current is None:
                diff.changes.append(creation(self.name, name, edit, edit.fields()))
                continue
            owner = desired.owner(current)
            if desired.claim(current):
                diff.warnings.append(
                    f"permission set {name} carries {key}={owner}: {owner_of(str(owner))} created it, and this "
                    f"config takes it over ({key}={value}), so its --prune and destroy may then delete it; if "
                    f"another config declares {name}, declare it in one config only"
                )
            elif owner not in (None, value):
                diff.warnings.append(
                    f"permission set {name} carries {key}={owner}: another config (or tool) owns it, and this "
                    f"config {'declares' if edit.empty else 'changes'} it too; declare each permission set in "
                    "one config only"
                )
            if edit.empty:
                diff.unchanged += 1
            elif on_management(part, name):
                diff.errors.append(refused_on_management(name, live.ctx))
            else:
                diff.changes.append(Change(self.name, Action.UPDATE, name, edit, edit.fields()))
        if mode is Mode.PRUNE:
            self._prune(config, part, diff, live.ctx)
        else:  # read has the tags of undeclared sets only when the config may prune
            diff.prunable += list(doomed(config, part))
        return diff

    def _prune(self, config: Config, part: PermissionSets, diff: Diff[Payload], ctx: Context) -> None:
        """Sets that carry our ownership tag and that the config no longer declares."""
        key, value = config.ownership
        for name, arn in doomed(config, part).items():
            owner = FieldChange("owner", value, None)
            diff.changes.append(Change(self.name, Action.DELETE, name, SetDeletion(name, arn), (owner,)))
        declared = {spec.name for spec in config.permission_sets}
        kept = [
            name
            for name, tags in sorted(part.tags.items())
            if name not in declared and tags.get(key) == value and on_management(part, name)
        ]
        if kept:
            diff.notes.append(
                f"{len(kept)} permission set(s) this config owns and no longer declares are provisioned to the "
                f"management account {ctx.management}, so --prune leaves them and their assignments from account "
                f"{ctx.account_id} ({some(kept)}): prune from the management account to delete them"
            )
        unclaimed = [
            name for name, tags in sorted(part.tags.items()) if name not in declared and tags.get(key) == UNNAMED_OWNER
        ]
        if unclaimed and value != UNNAMED_OWNER:
            diff.notes.append(
                f"{len(unclaimed)} permission set(s) carry {key}={UNNAMED_OWNER}, the tag of configs without "
                f"a name, and this config does not declare them ({some(unclaimed)}): --prune leaves them, as "
                "another config may own them. To delete one, declare it here (it is then claimed), then drop it"
            )
        if part.hidden:
            diff.warnings.append(
                f"{len(part.hidden)} permission set(s) not declared here were skipped by --prune: the caller may not "
                f"call {next(iter(part.hidden.values()))} on {some(sorted(part.hidden))}, so whose they are is unknown"
            )

    @staticmethod
    def _warn_unreadable(diff: Diff[Payload], part: PermissionSets, missing: list[str], consequence: str) -> None:
        """One warning for the sets the caller may not describe, naming the declared sets
        that were not found and may be among them."""
        if not part.unreadable:
            return
        action = next(iter(part.unreadable.values()))
        text = (
            f"{len(part.unreadable)} permission set(s) were skipped: the caller may not call {action} on "
            f"{some(sorted(part.unreadable))}"
        )
        if missing:
            text += f"; if {some(missing)} (declared, not found) is one of them, {consequence}: grant {action} on it"
        diff.warnings.append(text)

    # -- apply ------------------------------------------------------------------------
    def apply(self, change: Change[Payload], env: Env) -> str | None:
        payload = change.payload
        if isinstance(payload, SetDeletion):
            return self._delete(payload, env)
        detail = None
        edit = payload
        if edit.live is None:
            arn, adopted = self._create(edit, env)
            if adopted is not None:
                edit = compute_edit(edit.desired, read_one(env.clients, env.ctx, adopted))
                detail = f"{ADOPTED} and converged"
        else:
            arn = edit.live.arn
        target = Target(env.ctx.instance_arn, arn)
        for operation in edit.operations:
            operation.make(env.clients, target)
        return detail

    def _delete(self, deletion: SetDeletion, env: Env) -> str | None:
        """DeletePermissionSet, once its assignments are deleted. AWS refuses it
        (ConflictException) while the set is still being removed from accounts, which can
        take minutes: retried until the conflict time bound, then the accounts are named."""
        instance, arn = env.ctx.instance_arn, deletion.arn
        try:
            gone = env.clients.sso_admin.call(
                lambda c: c.delete_permission_set(InstanceArn=instance, PermissionSetArn=arn),
                retry_conflicts=True,
                ignore=("ResourceNotFoundException",),
            )
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            accounts = ", ".join(provisioned_accounts(env.clients, env.ctx, arn)) or "none listed"
            raise ProvisionerError(
                f"{exc}; the set is still on account(s) {accounts} while AWS removes it: run the command again later"
            ) from exc
        return "already gone" if gone is None else None

    def _create(self, edit: Edit, env: Env) -> tuple[str, Mapping[str, Any] | None]:
        """Create the set; if the name is taken, adopt the existing one. (arn, and the
        DescribePermissionSet of the one adopted, None when created)."""
        desired, sso = edit.desired, env.clients.sso_admin
        spec = desired.spec
        args: dict[str, Any] = {
            "InstanceArn": env.ctx.instance_arn,
            "Name": spec.name,
            "SessionDuration": spec.session_duration,
        }
        if spec.description is not None:
            args["Description"] = spec.description
        if spec.relay_state is not None:
            args["RelayState"] = spec.relay_state
        if desired.creation_tags:
            args["Tags"] = [{"Key": k, "Value": v} for k, v in desired.creation_tags.items()]

        def create() -> tuple[str, Mapping[str, Any] | None]:
            created = sso.call(lambda c: c.create_permission_set(**args))
            return str(created["PermissionSet"]["PermissionSetArn"]), None

        # The sets looked at: the run's own, then those each conflict described (a set's name
        # never changes: one that does not hold the name never will).
        looked = set(env.ids.known(self.name))

        def explain(exc: AwsError) -> tuple[str, Mapping[str, Any] | None] | None:
            """A conflict means either "the name exists" (adopt, never retry) or "something is
            in flight" (retry): told apart by looking the name up, not by the message. Only the
            sets not looked at yet: the one taking the name is among them."""
            existing, unreadable = describe_all(env.clients, env.ctx, known=looked)
            looked.update(str(found["PermissionSetArn"]) for found in existing.values())
            found = existing.get(spec.name)
            if found is not None:
                return str(found["PermissionSetArn"]), found
            if unreadable:
                # The name may be one the caller may not describe: retrying would not help.
                action = next(iter(unreadable.values()))
                raise AwsError(
                    exc.code,
                    f"a permission set named {spec.name} may already exist among the {len(unreadable)} the "
                    f"caller may not describe ({action} denied on {some(sorted(unreadable))}): grant {action} "
                    "on them, or choose another name",
                    exc.operation,
                    exc.request_id,
                    exc.reason,
                    exc.service,
                ) from exc
            return None

        arn, adopted = env.clients.retrier.settle("sso-admin", create, explain)
        env.ids.set(self.name, spec.name, arn)
        return arn, adopted

    # -- export -----------------------------------------------------------------------
    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """Every set read whole (those in scope). (The assignments kind keeps, with --group,
        those assigned to the groups, and leaves out those whose assignments it could not list.)"""
        part = live.get(self)
        warnings = []
        if part.unreadable:
            warnings.append(
                f"{len(part.unreadable)} permission set(s) skipped: the caller may not call "
                f"{next(iter(part.unreadable.values()))} on " + ", ".join(sorted(part.unreadable))
            )
        warnings += [skipped(name, action, part.arn(name)) for name, action in sorted(part.denied.items())]
        document["permission_sets"] = [
            to_spec(set_live) for name, set_live in sorted(part.live.items()) if name not in part.denied
        ]
        return warnings


KIND = PermissionSetKind()
