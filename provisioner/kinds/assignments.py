"""Account assignments: principal x permission set x account, made asynchronously.

AssignmentRows are read by permission set (which sees every principal) when the config declares
no more (set, account) pairs than principals, else by principal; either way the reads grow
with what the config declares, never with the assignments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import quotas
from ..config import Config
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, KindName
from ..retry import ENDED
from . import groups, permission_sets, users
from .base import Diff, Env, ExportScope, Kind, LiveState, Mode, Reader, deletion
from .permission_sets.live import provisioned_accounts

if TYPE_CHECKING:
    from ..aws import Clients
    from ..context import Context
    from ..targets import Resolution

# With more requests than this outstanding, status listings beat a describe each.
LIST_STATUS_THRESHOLD = 1

PrincipalType = Literal["GROUP", "USER"]
PRINCIPAL_KINDS: dict[PrincipalType, KindName] = {"GROUP": KindName.GROUP, "USER": KindName.USER}
# Why an assignment the config does not declare is deleted (the plan shows it).
NOT_DECLARED = "not in the config"
# One assignment as AWS lists it: (principal type, principal id, permission set ARN, account).
Row = tuple[str, str, str, str]


@dataclass(frozen=True, order=True)
class Assignment:
    permission_set: str  # its name (or ARN, for a set not managed here)
    principal_type: PrincipalType
    principal: str  # group DisplayName or UserName (or its id, for one deleted meanwhile)
    account: str
    # Known when the assignment was read (deletions); else found by name when applying.
    principal_id: str | None = field(default=None, compare=False)
    permission_set_arn: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"{self.principal_type.lower()} {self.principal} -> {self.permission_set} on {self.account}"


def desired_assignments(
    config: Config, ctx: Context, resolved: Mapping[int, Resolution] | None = None
) -> list[Assignment]:
    """Every assignment the config declares, 'current' and organization targets resolved,
    without repeats."""
    seen: dict[Assignment, None] = {}
    for index, spec in enumerate(config.assignments):
        accounts = resolved[index].accounts if resolved and index in resolved else spec.accounts
        for account in accounts:
            target = ctx.account(account)
            for group in spec.groups:
                seen.setdefault(Assignment(spec.permission_set, "GROUP", group, target))
            for user in spec.users:
                seen.setdefault(Assignment(spec.permission_set, "USER", user, target))
    return list(seen)


def read_by_set(clients: Clients, ctx: Context, set_arns: Iterable[str]) -> set[Row]:
    """Every assignment of these permission sets, whoever the principal: one listing of the
    accounts each is provisioned to, and one listing on each."""
    return {row for arn in sorted(set(set_arns)) for row in rows_of_set(clients, ctx, arn)}


def rows_of_set(clients: Clients, ctx: Context, arn: str) -> set[Row]:
    def on(account: str) -> set[Row]:
        listing = clients.sso_admin.pages(
            lambda c, more: c.list_account_assignments(
                InstanceArn=ctx.instance_arn, AccountId=account, PermissionSetArn=arn, **more
            ),
            "AccountAssignments",
        )
        return {(a["PrincipalType"], a["PrincipalId"], arn, account) for a in listing}

    return {row for account in sorted(provisioned_accounts(clients, ctx, arn)) for row in on(account)}


def read_by_principal(clients: Clients, ctx: Context, principals: Iterable[tuple[PrincipalType, str]]) -> set[Row]:
    """Every assignment of these (type, id) principals: one ListAccountAssignmentsForPrincipal
    each, however many assignments they have.

    Each row names its own principal. AWS does not say whether a USER query also answers the
    rows of the user's groups, so rows of any other principal are left out."""

    def of(principal_type: PrincipalType, principal_id: str) -> set[Row]:
        listing = clients.sso_admin.pages(
            lambda c, more: c.list_account_assignments_for_principal(
                InstanceArn=ctx.instance_arn,
                PrincipalId=principal_id,
                PrincipalType=principal_type,
                MaxResults=quotas.LIST_PAGE_SIZE,
                **more,
            ),
            "AccountAssignments",
        )
        return {
            (principal_type, principal_id, item["PermissionSetArn"], item["AccountId"])
            for item in listing
            if (item.get("PrincipalType"), item.get("PrincipalId")) == (principal_type, principal_id)
        }

    return {row for kind, pid in sorted(set(principals)) for row in of(kind, pid)}


@dataclass(frozen=True)
class AssignmentRows:
    """What was read of the assignments.

    `rows`: the assignments of the declared principals, or of the declared sets when
    `every_principal` (read by set); with prune also every one of the declared and doomed sets,
    and `absent_rows` those of the principals under `absent:`; with destroy every one of the
    declared sets; for export every one of the sets in scope (`unlisted`: set name -> the action
    denied listing one). `resolved`: organization targets; `inactive`: the accounts new
    assignments target that are not ACTIVE, with their state.
    """

    resolved: Mapping[int, Resolution] = field(default_factory=dict)
    rows: frozenset[Row] = frozenset()
    every_principal: bool = False
    absent_rows: frozenset[Row] = frozenset()
    inactive: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None
    unlisted: Mapping[str, str] = field(default_factory=dict)


class Names:
    """Principal and set names by id, from what was read."""

    def __init__(self, live: LiveState) -> None:
        self.directories = {"GROUP": live.get(groups.KIND), "USER": live.get(users.KIND)}
        self.set_arns = {
            name: str(d["PermissionSetArn"]) for name, d in live.get(permission_sets.KIND).described.items()
        }
        self.principals = {kind: d.names() for kind, d in self.directories.items()}
        self.sets = {arn: name for name, arn in self.set_arns.items()}

    def principal_id(self, principal_type: PrincipalType, name: str) -> str | None:
        return self.directories[principal_type].id_of(name)

    def row(self, assignment: Assignment) -> Row | None:
        """The row AWS would list for a declared assignment; None while its principal or set is missing."""
        principal_id = self.principal_id(assignment.principal_type, assignment.principal)
        arn = self.set_arns.get(assignment.permission_set)
        if principal_id is None or arn is None:
            return None
        return (assignment.principal_type, principal_id, arn, assignment.account)

    def named(self, rows: Iterable[Row]) -> list[Assignment]:
        """Rows as assignments by name. A principal or set not known by name (deleted
        meanwhile, or a set not read) is addressed by its id."""
        out = []
        for kind, principal_id, arn, account in rows:
            principal_type: PrincipalType = "GROUP" if kind == "GROUP" else "USER"
            name = self.principals[principal_type].get(principal_id, principal_id)
            out.append(Assignment(self.sets.get(arn, arn), principal_type, name, account, principal_id, arn))
        return sorted(out)


def declared_sets(config: Config, live: LiveState) -> dict[str, str]:
    """Name -> ARN of the declared permission sets that exist."""
    part = live.get(permission_sets.KIND)
    return {spec.name: arn for spec in config.permission_sets if (arn := part.arn(spec.name))}


class AssignmentKind(Kind[AssignmentRows, Assignment]):
    name = KindName.ASSIGNMENT
    natural_key = "principal x permission set x account"
    service = "sso-admin"
    depends_on = (KindName.GROUP, KindName.USER, KindName.PERMISSION_SET, KindName.PROVISIONING)
    asynchronous = True
    actions = frozenset(
        {
            "sso:ListAccountAssignmentsForPrincipal",
            "sso:ListAccountAssignments",
            "sso:ListAccountsForProvisionedPermissionSet",
            "sso:CreateAccountAssignment",
            "sso:DeleteAccountAssignment",
            "sso:DescribeAccountAssignmentCreationStatus",
            "sso:DescribeAccountAssignmentDeletionStatus",
            "sso:ListAccountAssignmentCreationStatus",
            "sso:ListAccountAssignmentDeletionStatus",
            "organizations:DescribeOrganization",
            "organizations:ListAccounts",
            "organizations:DescribeAccount",
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
            # What AWS does on the caller's behalf in the target account (the management
            # account's roles need IAMFullAccess besides AWSSSOMasterAccountAdministrator).
            "iam:GetRole",
            "iam:CreateRole",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
        }
    )

    # -- read -------------------------------------------------------------------------
    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> AssignmentRows:
        clients, ctx = reader.clients, reader.ctx
        names = Names(live)
        if mode is Mode.EXPORT:
            return self._read_for_export(reader, names)
        resolved = reader.targets.resolve_all(config, ctx)
        wanted = desired_assignments(config, ctx, resolved)
        sets = declared_sets(config, live)
        if mode is Mode.DESTROY:
            return AssignmentRows(resolved, frozenset(read_by_set(clients, ctx, sets.values())))
        # The choice depends on the config alone, not on what exists yet. By set also costs
        # a listing per set: the price of seeing every principal.
        pairs = {(a.permission_set, a.account) for a in wanted}
        every_principal = len(pairs) <= len({(a.principal_type, a.principal) for a in wanted})
        rows: set[Row] = set()
        if every_principal:
            try:
                rows = read_by_set(clients, ctx, sets.values())
            except AwsError as exc:
                if not exc.denied:
                    raise
                # A set the caller may not read (a policy scoped by tags): read by principal,
                # which needs no access to the sets themselves.
                every_principal = False
        if not every_principal:
            principals = [
                (a.principal_type, pid) for a in wanted if (pid := names.principal_id(a.principal_type, a.principal))
            ]
            rows = read_by_principal(clients, ctx, principals)
        absent_rows: set[Row] = set()
        if mode is Mode.PRUNE:
            external = {p.id for d in names.directories.values() for p in d.by_name.values() if p.from_idp}
            absent: list[tuple[PrincipalType, str]] = [("GROUP", g) for g in config.absent.groups]
            absent += [("USER", u) for u in config.absent.users]
            principals = [
                (kind, pid)
                for kind, name in absent
                if (pid := names.principal_id(kind, name)) is not None and pid not in external
            ]
            absent_rows = read_by_principal(clients, ctx, principals)
            # Every assignment of the declared and doomed sets; the declared ones may be read already.
            doomed = permission_sets.doomed(config, live.get(permission_sets.KIND))
            unread = doomed if every_principal else {**sets, **doomed}
            rows |= read_by_set(clients, ctx, unread.values())
        creates = {a.account for a in wanted if names.row(a) not in rows}
        inactive = reader.accounts.inactive(creates) if creates else {}
        note = reader.accounts.note if creates else None
        return AssignmentRows(resolved, frozenset(rows), every_principal, frozenset(absent_rows), inactive, note)

    def _read_for_export(self, reader: Reader, names: Names) -> AssignmentRows:
        rows: set[Row] = set()
        unlisted: dict[str, str] = {}
        for name, arn in sorted(names.set_arns.items()):
            if not reader.scope.wants_set(name):
                continue
            try:
                rows |= rows_of_set(reader.clients, reader.ctx, arn)
            except AwsError as exc:
                if not exc.denied:
                    raise
                unlisted[name] = exc.action
        return AssignmentRows(rows=frozenset(rows), every_principal=True, unlisted=unlisted)

    # -- diff -------------------------------------------------------------------------
    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Assignment]:
        part, names = live.get(self), Names(live)
        diff: Diff[Assignment] = Diff()
        diff.notes += [
            f"assignments[{index}] {resolution.describe(config.assignments[index])}"
            for index, resolution in sorted(part.resolved.items())
        ]
        wanted = desired_assignments(config, live.ctx, part.resolved)
        sets = declared_sets(config, live)
        if mode is Mode.DESTROY:
            # Every assignment of the declared sets: AWS refuses to delete a set while it has any.
            declared = set(wanted)
            for assignment in names.named(part.rows):
                diff.changes.append(self._deletion(assignment, "" if assignment in declared else NOT_DECLARED))
            return diff
        creates = []
        for assignment in wanted:
            if names.row(assignment) in part.rows:
                diff.unchanged += 1
                continue
            creates.append(assignment)
            diff.changes.append(self._creation(assignment, names))
        self._refuse_inactive(config, live, creates, part, diff)
        if part.note:
            diff.notes.append(part.note)
        if mode is Mode.PRUNE:
            self._prune(config, live, wanted, part, names, diff)
            return diff
        on_declared_sets = [row for row in part.rows if row[2] in sets.values()]
        declared = set(wanted)
        if extra := [a for a in names.named(on_declared_sets) if a not in declared]:
            shown = ", ".join(a.describe() for a in extra[:3]) + (", ..." if len(extra) > 3 else "")
            diff.notes.append(
                f"{len(extra)} assignment(s) exist on declared permission sets that the config does not declare "
                f"({shown}); apply --prune removes them"
            )
        if sets and not part.every_principal:
            diff.notes.append(
                "assignments were read by principal (fewer calls for this config): those of principals the "
                "config does not assign were not seen; plan --prune reads every assignment of the managed sets"
            )
        return diff

    def _creation(self, assignment: Assignment, names: Names) -> Change[Assignment]:
        # It needs its principal and its set: their creations, when they are to be made.
        requires = set()
        if names.principal_id(assignment.principal_type, assignment.principal) is None:
            requires.add((PRINCIPAL_KINDS[assignment.principal_type], assignment.principal))
        if assignment.permission_set not in names.set_arns:
            requires.add((KindName.PERMISSION_SET, assignment.permission_set))
        fields = (
            FieldChange("permission_set", None, assignment.permission_set),
            FieldChange(assignment.principal_type.lower(), None, assignment.principal),
            FieldChange("account", None, assignment.account),
        )
        return Change(self.name, Action.CREATE, assignment.describe(), assignment, fields, frozenset(requires))

    def _deletion(self, assignment: Assignment, why: str = "") -> Change[Assignment]:
        return deletion(self.name, assignment.describe(), assignment, why)

    def _refuse_inactive(
        self, config: Config, live: LiveState, creates: list[Assignment], part: AssignmentRows, diff: Diff[Assignment]
    ) -> None:
        """A new assignment on an account that is not ACTIVE (SUSPENDED, PENDING_CLOSURE) is a
        plan error: AWS cannot provision the set there."""
        for account, state in sorted(part.inactive.items()):
            count = sum(1 for a in creates if a.account == account)
            if not count:
                continue
            where = [
                f"assignments[{i}].accounts"
                for i, spec in enumerate(config.assignments)
                if account in {live.ctx.account(a) for a in spec.accounts}
            ]
            diff.errors.append(
                f"account {account} is {state}: {count} new assignment(s) target it, and AWS cannot provision "
                f"a permission set there; remove it from {' and '.join(where) or 'the config'}"
            )

    def _prune(
        self,
        config: Config,
        live: LiveState,
        wanted: list[Assignment],
        part: AssignmentRows,
        names: Names,
        diff: Diff[Assignment],
    ) -> None:
        """AssignmentRows on the declared sets that the config does not declare, every assignment
        of a doomed set, and every assignment of an absent user or group."""
        doomed = permission_sets.doomed(config, live.get(permission_sets.KIND))
        managed = {**declared_sets(config, live), **doomed}.values()
        declared = set(wanted)
        # An absent principal goes with every assignment it has, on any set.
        reasons = dict.fromkeys(names.named(part.absent_rows), "absent")
        for assignment in names.named(row for row in part.rows if row[2] in managed):
            if assignment not in declared or assignment.permission_set in doomed:
                reasons.setdefault(assignment, NOT_DECLARED)
        for assignment, why in sorted(reasons.items()):
            diff.changes.append(self._deletion(assignment, why))

    # -- apply ------------------------------------------------------------------------
    def fire(self, change: Change[Assignment], env: Env) -> Mapping[str, Any]:
        """CreateAccountAssignment (or Delete...); its status object (often IN_PROGRESS)."""
        assignment = change.payload
        target: dict[str, Any] = {
            "InstanceArn": env.ctx.instance_arn,
            "TargetId": assignment.account,
            "TargetType": "AWS_ACCOUNT",
            "PermissionSetArn": assignment.permission_set_arn
            or env.ids.need(KindName.PERMISSION_SET, assignment.permission_set),
            "PrincipalType": assignment.principal_type,
            "PrincipalId": assignment.principal_id
            or env.ids.need(PRINCIPAL_KINDS[assignment.principal_type], assignment.principal),
        }
        sso = env.clients.sso_admin
        if change.action is Action.DELETE:
            deleted = sso.call(lambda c: c.delete_account_assignment(**target), retry_conflicts=True)
            return deleted["AccountAssignmentDeletionStatus"]
        created = sso.call(lambda c: c.create_account_assignment(**target), retry_conflicts=True)
        return created["AccountAssignmentCreationStatus"]

    def check(self, request_ids: list[str], env: Env, action: Action) -> Mapping[str, Mapping[str, Any]]:
        """The requests no longer IN_PROGRESS. One request: its describe. More: one listing
        of the requests IN_PROGRESS, however many are in flight; those of ours not in it
        ENDED, and `conclude` tells which of them FAILED."""
        if len(request_ids) <= LIST_STATUS_THRESHOLD:
            statuses = env.parallel(lambda rid: self._describe(rid, env, action), request_ids)
            return {rid: s for rid, s in zip(request_ids, statuses, strict=True) if s.get("Status") != "IN_PROGRESS"}
        in_progress = self._listed("IN_PROGRESS", env, action)
        return {rid: {"Status": ENDED, "RequestId": rid} for rid in request_ids if rid not in in_progress}

    def conclude(self, request_ids: list[str], env: Env, action: Action) -> Mapping[str, Mapping[str, Any]]:
        """Final statuses of requests that left IN_PROGRESS: one listing of the requests
        FAILED, and a describe of each of ours there, for its reason; the others SUCCEEDED.
        (FAILED and SUCCEEDED are final, and `check` listed IN_PROGRESS before: a request
        that was IN_PROGRESS then is never taken for one that ended.)"""
        failed_now = self._listed("FAILED", env, action)
        failed = [rid for rid in request_ids if rid in failed_now]
        found: dict[str, Mapping[str, Any]] = {rid: {"Status": "SUCCEEDED", "RequestId": rid} for rid in request_ids}
        found |= dict(zip(failed, env.parallel(lambda rid: self._describe(rid, env, action), failed), strict=True))
        return found

    def _describe(self, request_id: str, env: Env, action: Action) -> Mapping[str, Any]:
        """The status object of one creation (or deletion) request."""
        sso, instance = env.clients.sso_admin, env.ctx.instance_arn
        if action is Action.DELETE:
            return sso.call(
                lambda c: c.describe_account_assignment_deletion_status(
                    InstanceArn=instance, AccountAssignmentDeletionRequestId=request_id
                )
            )["AccountAssignmentDeletionStatus"]
        return sso.call(
            lambda c: c.describe_account_assignment_creation_status(
                InstanceArn=instance, AccountAssignmentCreationRequestId=request_id
            )
        )["AccountAssignmentCreationStatus"]

    def _listed(self, status: str, env: Env, action: Action) -> set[str]:
        """The ids of the creation (or deletion) requests the status listing shows with `status`."""
        sso, instance = env.clients.sso_admin, env.ctx.instance_arn
        only: Any = {"Status": status}
        if action is Action.DELETE:
            listing = sso.pages(
                lambda c, more: c.list_account_assignment_deletion_status(
                    InstanceArn=instance, Filter=only, MaxResults=quotas.LIST_PAGE_SIZE, **more
                ),
                "AccountAssignmentsDeletionStatus",
            )
        else:
            listing = sso.pages(
                lambda c, more: c.list_account_assignment_creation_status(
                    InstanceArn=instance, Filter=only, MaxResults=quotas.LIST_PAGE_SIZE, **more
                ),
                "AccountAssignmentsCreationStatus",
            )
        return {str(s["RequestId"]) for s in listing}

    # -- export -----------------------------------------------------------------------
    def _exported(self, live: LiveState, scope: ExportScope) -> dict[tuple[str, str, str], list[str]]:
        """(set, principal type, principal name) -> accounts, for the sets and groups in scope
        (with --group, the groups' assignments only)."""
        part, names = live.get(self), Names(live)
        by_principal: dict[tuple[str, str, str], list[str]] = {}
        for assignment in names.named(part.rows):
            if assignment.permission_set not in names.set_arns:
                continue
            if assignment.principal_type == "GROUP":
                if (
                    not scope.wants_group(assignment.principal)
                    or assignment.principal_id not in names.principals["GROUP"]
                ):
                    continue
            elif scope.groups or assignment.principal_id not in names.principals["USER"]:
                continue
            key = (assignment.permission_set, assignment.principal_type, assignment.principal)
            by_principal.setdefault(key, []).append(assignment.account)
        return by_principal

    def exported_sets(self, live: LiveState, scope: ExportScope) -> set[str]:
        """The permission sets that have an exported assignment."""
        return {set_name for set_name, _, _ in self._exported(live, scope)}

    def unlisted(self, live: LiveState) -> Mapping[str, str]:
        return live.get(self).unlisted

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """One entry per permission set and principal, with every account it is assigned on."""
        exported = {ps["name"] for ps in document.get("permission_sets", [])}
        document["assignments"] = [
            {
                "permission_set": set_name,
                "groups" if kind == "GROUP" else "users": [name],
                "accounts": sorted(set(accounts)),
            }
            for (set_name, kind, name), accounts in sorted(self._exported(live, scope).items())
            if set_name in exported
        ]
        return []


KIND = AssignmentKind()
