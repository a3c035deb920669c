"""Account assignments: principal x permission set x account, made asynchronously.

Assignments are read by permission set (which sees every principal) when the config declares
no more (set, account) pairs than principals, else by principal; either way the reads grow
with what the config declares, never with the assignments. From another account than the
management account (its delegated administrator) they are always read by set: listing by
principal "must be called from the management account" (API reference,
ListAccountAssignmentsForPrincipal), and the management account's own assignments, which only
it may change, are not read at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
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
# An entry this long expired gets a note to delete it from the config.
STALE_EXPIRY = timedelta(days=7)


@dataclass(frozen=True, order=True)
class Assignment:
    permission_set: str  # its name (or ARN, for a set not managed here)
    principal_type: PrincipalType
    principal: str  # group DisplayName or UserName (or its id, for one deleted meanwhile)
    account: str
    # Known when the assignment was read (deletions); else found by name when applying.
    principal_id: str | None = field(default=None, compare=False)
    permission_set_arn: str | None = field(default=None, compare=False)
    # When the config's `until` ends it (UTC); None: it does not expire.
    until: datetime | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"{self.principal_type.lower()} {self.principal} -> {self.permission_set} on {self.account}"


def desired_assignments(
    config: Config, ctx: Context, resolved: Mapping[int, Resolution] | None, now: datetime
) -> list[Assignment]:
    """Every assignment the config declares and that has not expired by `now`, 'current' and
    organization targets resolved, without repeats."""
    return [a for a in declared_assignments(config, ctx, resolved) if a.until is None or a.until > now]


def expired_assignments(
    config: Config, ctx: Context, resolved: Mapping[int, Resolution] | None, now: datetime
) -> list[Assignment]:
    """The declared assignments whose `until` has passed (those of every entry that names them)."""
    return [a for a in declared_assignments(config, ctx, resolved) if a.until is not None and a.until <= now]


def declared_assignments(
    config: Config, ctx: Context, resolved: Mapping[int, Resolution] | None = None
) -> list[Assignment]:
    """Every assignment the config declares, with when it expires: one that two entries declare
    lasts as long as the longer of the two (an entry without `until` never expires)."""
    seen: dict[Assignment, Assignment] = {}
    for index, spec in enumerate(config.assignments):
        accounts = resolved[index].accounts if resolved and index in resolved else spec.accounts
        until = spec.expires_at
        for account in accounts:
            target = ctx.account(account)
            principals: list[tuple[PrincipalType, str]] = [("GROUP", g) for g in spec.groups]
            principals += [("USER", u) for u in spec.users]
            for kind, name in principals:
                found = Assignment(spec.permission_set, kind, name, target, until=until)
                if found in seen:
                    earlier = seen[found].until
                    found = replace(found, until=None if earlier is None or until is None else max(earlier, until))
                seen[found] = found
    return list(seen.values())


def span(delta: timedelta) -> str:
    """A duration as a person reads it: 2d 3h, 3h 20m, 20m, under a minute."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{minutes}m"] * bool(minutes and not days)
    return " ".join(parts) or "under a minute"


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_notes(config: Config, now: datetime) -> list[str]:
    """What the plan says of each entry with `until`: when it expires, or that it has, and,
    a week on, that it may go from the config."""
    notes = []
    for index, spec in enumerate(config.assignments):
        until = spec.expires_at
        if until is None:
            continue
        who = ", ".join([f"group {g}" for g in spec.groups] + [f"user {u}" for u in spec.users])
        entry = f"assignments[{index}] ({spec.permission_set} for {who})"
        if until > now:
            notes.append(f"{entry} expires in {span(until - now)}, at {spec.until}")
        elif now - until > STALE_EXPIRY:
            notes.append(f"{entry} expired {span(now - until)} ago, at {spec.until}: delete it from the config")
        else:
            notes.append(f"{entry} expired {span(now - until)} ago, at {spec.until}")
    return notes


def _rows_of_set(clients: Clients, ctx: Context, arn: str, accounts: Collection[str] | None = None) -> set[Row]:
    """Every assignment of one set (only on `accounts`, when given), whoever the principal;
    from another account than the management account, none on the management account."""

    def on(account: str) -> set[Row]:
        listing = clients.sso_admin.pages(
            lambda c, more: c.list_account_assignments(
                InstanceArn=ctx.instance_arn, AccountId=account, PermissionSetArn=arn, **more
            ),
            "AccountAssignments",
        )
        return {(a["PrincipalType"], a["PrincipalId"], arn, account) for a in listing}

    provisioned = provisioned_accounts(clients, ctx, arn)
    if not ctx.in_management_account:
        provisioned = [a for a in provisioned if a != ctx.management]
    return {row for account in sorted(provisioned) if accounts is None or account in accounts for row in on(account)}


def read_each_set(
    clients: Clients,
    ctx: Context,
    sets: Mapping[str, str],
    accounts: Collection[str] | None = None,
    *,
    denied_raises: bool = False,
) -> tuple[set[Row], dict[str, str]]:
    """Every assignment of these sets (name -> ARN; only on `accounts`, when given), whoever
    the principal: one listing of the accounts each is provisioned to, and one listing on
    each. Also the sets whose assignments the caller may not list (name -> the action
    denied): one denied set does not stop the others, unless `denied_raises`."""
    rows: set[Row] = set()
    unlisted: dict[str, str] = {}
    for name, arn in sorted(sets.items()):
        try:
            rows |= _rows_of_set(clients, ctx, arn, accounts)
        except AwsError as exc:
            if denied_raises or not exc.denied:
                raise
            unlisted[name] = exc.action
    return rows, unlisted


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
    # New assignments' accounts AWS cannot reach: not in the organization (or, when the caller's
    # account is in none, any other account); `standalone`: there is no organization.
    outside: tuple[str, ...] = ()
    standalone: bool = False
    # The caller's account is in no organization, and the config needs what only an organization
    # instance holds: new permission sets or assignments.
    account_instance: bool = False


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
    outstanding = quotas.MAX_OUTSTANDING_ASSIGNMENT_REQUESTS
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
            "organizations:ListAccounts",
            "organizations:DescribeAccount",
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
            "organizations:ListRoots",
            "organizations:ListTagsForResource",
            # What AWS does on the caller's behalf in the target account (the management
            # account's roles need IAMFullAccess besides AWSSSOMasterAccountAdministrator).
            "iam:GetRole",
            "iam:CreateRole",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
        }
    )
    # Listing by principal "must be called from the management account" (API reference,
    # ListAccountAssignmentsForPrincipal); the IAM actions are for its own roles, which only it
    # may assign on.
    management_only = frozenset(
        {
            "sso:ListAccountAssignmentsForPrincipal",
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
        wanted = desired_assignments(config, ctx, resolved, reader.now)
        if not ctx.in_management_account:
            return self._read_by_set_only(reader, config, live, mode, names, resolved, wanted)
        sets = declared_sets(config, live)
        if mode is Mode.DESTROY:
            return AssignmentRows(resolved, frozenset(read_each_set(clients, ctx, sets, denied_raises=True)[0]))
        # The choice depends on the config alone, not on what exists yet (nor on the time). By
        # set also costs a listing per set: the price of seeing every principal.
        declared = declared_assignments(config, ctx, resolved)
        pairs = {(a.permission_set, a.account) for a in declared}
        every_principal = len(pairs) <= len({(a.principal_type, a.principal) for a in declared})
        rows: set[Row] = set()
        if every_principal:
            try:
                rows = read_each_set(clients, ctx, sets, denied_raises=True)[0]
            except AwsError as exc:
                if not exc.denied:
                    raise
                # A set the caller may not read (a policy scoped by tags): read by principal,
                # which needs no access to the sets themselves.
                every_principal = False
        if not every_principal:
            # The expired ones too: their assignments are removed.
            principals = [
                (a.principal_type, pid) for a in declared if (pid := names.principal_id(a.principal_type, a.principal))
            ]
            rows = read_by_principal(clients, ctx, principals)
        absent_rows: set[Row] = set()
        if mode is Mode.PRUNE:
            principals = [(kind, pid) for pid, kind in self._absent_principals(config, names).items()]
            absent_rows = read_by_principal(clients, ctx, principals)
            # Every assignment of the declared and doomed sets; the declared ones may be read already.
            doomed = permission_sets.doomed(config, live.get(permission_sets.KIND))
            unread = doomed if every_principal else {**sets, **doomed}
            rows |= read_each_set(clients, ctx, unread, denied_raises=True)[0]
        creates = {a.account for a in wanted if names.row(a) not in rows}
        inactive = reader.accounts.inactive(creates) if creates else {}
        note = reader.accounts.note if creates else None
        return replace(
            AssignmentRows(resolved, frozenset(rows), every_principal, frozenset(absent_rows), inactive, note),
            **_unreachable(reader, creates),
            account_instance=_in_no_organization(reader, creates, new_sets=len(sets) < len(config.permission_sets)),
        )

    def _read_by_set_only(
        self,
        reader: Reader,
        config: Config,
        live: LiveState,
        mode: Mode,
        names: Names,
        resolved: Mapping[int, Resolution],
        wanted: list[Assignment],
    ) -> AssignmentRows:
        """Read from another account than the management account: by set, the declared ones
        (and the doomed ones with prune). The assignments of absent principals (prune) are read
        on every set but those provisioned to the management account, which only it may change."""
        clients, ctx = reader.clients, reader.ctx
        part = live.get(permission_sets.KIND)
        sets = declared_sets(config, live)
        absent_ids: set[str] = set()
        if mode is Mode.PRUNE:
            sets = {**sets, **permission_sets.doomed(config, part)}
            absent_ids = set(self._absent_principals(config, names))
        every = {name: arn for name, arn in names.set_arns.items() if arn not in part.on_management}
        read, unlisted = read_each_set(clients, ctx, {**sets, **every} if absent_ids else sets)
        rows = {row for row in read if row[2] in sets.values()}
        absent_rows = {row for row in read if row[1] in absent_ids}
        # A set read only for the absent principals is no plan error: it is said, and left.
        unread = {name: action for name, action in unlisted.items() if name not in sets}
        unlisted = {name: action for name, action in unlisted.items() if name in sets}
        if mode is Mode.DESTROY:
            return AssignmentRows(resolved, frozenset(rows), True, unlisted=unlisted)
        creates = {a.account for a in wanted if names.row(a) not in rows and a.account != ctx.management}
        inactive = reader.accounts.inactive(creates) if creates else {}
        note = reader.accounts.note if creates else None
        if unread:
            skipped = permission_sets.some(sorted(unread))
            note = (note + "; " if note else "") + (
                f"the assignments of the principals under absent: on {skipped} could not be read "
                f"({next(iter(unread.values()))} denied) and are left"
            )
        return AssignmentRows(
            resolved,
            frozenset(rows),
            True,
            frozenset(absent_rows),
            inactive,
            note,
            unlisted=unlisted,
            **_unreachable(reader, creates),
        )

    @staticmethod
    def _absent_principals(config: Config, names: Names) -> dict[str, PrincipalType]:
        """Id -> type of the principals under `absent:` that exist and are not an identity provider's."""
        external = {p.id for d in names.directories.values() for p in d.by_name.values() if p.from_idp}
        absent: list[tuple[PrincipalType, str]] = [("GROUP", g) for g in config.absent.groups]
        absent += [("USER", u) for u in config.absent.users]
        return {
            pid: kind
            for kind, name in absent
            if (pid := names.principal_id(kind, name)) is not None and pid not in external
        }

    def _read_for_export(self, reader: Reader, names: Names) -> AssignmentRows:
        wanted = {name: arn for name, arn in names.set_arns.items() if reader.scope.wants_set(name)}
        rows, unlisted = read_each_set(reader.clients, reader.ctx, wanted)
        return AssignmentRows(rows=frozenset(rows), every_principal=True, unlisted=unlisted)

    # -- diff -------------------------------------------------------------------------
    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Assignment]:
        diff = self._diff(config, live, mode)
        notes, warnings = current_meaning(config, live.ctx)
        diff.notes += notes
        diff.warnings += warnings
        sets = live.get(permission_sets.KIND)
        for name, action in sorted(live.get(self).unlisted.items()):
            diff.errors.append(permission_sets.unreadable(name, action, sets.arn(name)))
        if not live.ctx.in_management_account:
            self._refuse_outside_management(config, live, diff)
        if live.get(self).account_instance:
            diff.errors.append(account_instance_refusal(config, live.ctx))
        return diff

    def _refuse_outside_management(self, config: Config, live: LiveState, diff: Diff[Assignment]) -> None:
        """From another account, what only the management account may do is a plan error, not a
        change: assigning on the management account, and assigning (or removing the assignments
        of) a set provisioned there."""
        ctx, sets = live.ctx, live.get(permission_sets.KIND)
        management = ctx.management
        for index, spec in enumerate(config.assignments):
            if management in {ctx.account(a) for a in spec.accounts}:
                diff.errors.append(
                    f"assignments[{index}] assigns {spec.permission_set} on the management account {management}: "
                    f"only that account may give access there, and this run is from account {ctx.account_id} "
                    f"({ctx.account_role.value}); run this part from the management account, or remove "
                    f"{management} from assignments[{index}].accounts"
                )
        kept = []
        for change in diff.changes:
            assignment = change.payload
            arn = assignment.permission_set_arn or sets.arn(assignment.permission_set)
            if change.action is Action.CREATE and assignment.account == management:
                continue  # named above, by its entry in the config
            if arn is not None and arn in sets.on_management:
                diff.errors.append(permission_sets.refused_on_management(assignment.permission_set, ctx))
                continue
            kept.append(change)
        diff.changes = kept
        on_management = [spec.name for spec in config.permission_sets if permission_sets.on_management(sets, spec.name)]
        if on_management:
            diff.notes.append(
                f"assignments on the management account {management} were not read: only that account may change "
                f"them (permission set(s) provisioned there: {permission_sets.some(on_management)})"
            )

    def _diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Assignment]:
        part, names = live.get(self), Names(live)
        diff: Diff[Assignment] = Diff()
        diff.notes += [
            f"assignments[{index}] {resolution.describe(config.assignments[index])}"
            for index, resolution in sorted(part.resolved.items())
        ]
        diff.errors += [
            f"assignments[{index}].{error}"
            for index, resolution in sorted(part.resolved.items())
            for error in resolution.errors
        ]
        wanted = desired_assignments(config, live.ctx, part.resolved, live.now)
        sets = declared_sets(config, live)
        if mode is Mode.DESTROY:
            # Every assignment of the sets it deletes (AWS refuses to delete a set while it has
            # any); of the sets it leaves, only the declared ones.
            declared = set(wanted)
            deleted = permission_sets.destroyed(config, live.get(permission_sets.KIND))
            for assignment in names.named(part.rows):
                if assignment in declared:
                    diff.changes.append(self._deletion(assignment, ""))
                elif assignment.permission_set in deleted:
                    diff.changes.append(self._deletion(assignment, NOT_DECLARED))
            return diff
        creates = []
        for assignment in wanted:
            if names.row(assignment) in part.rows:
                diff.unchanged += 1
                continue
            creates.append(assignment)
            diff.changes.append(self._creation(assignment, names, live.now))
        self._refuse_inactive(config, live, creates, part, diff)
        self._refuse_outside(config, live, creates, part, diff)
        if part.note:
            diff.notes.append(part.note)
        # Past its until, an assignment the config declares is ours to remove.
        expired = expired_assignments(config, live.ctx, part.resolved, live.now)
        for assignment in expired:
            if names.row(assignment) in part.rows and assignment.until is not None:
                why = f"expired {span(live.now - assignment.until)} ago (until {utc(assignment.until)})"
                diff.changes.append(self._deletion(assignment, why))
        diff.notes += expiry_notes(config, live.now)
        if mode is Mode.PRUNE:
            self._prune(config, live, wanted + expired, part, names, diff)
            return diff
        on_declared_sets = [row for row in part.rows if row[2] in sets.values()]
        declared = set(wanted + expired)
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

    def _creation(self, assignment: Assignment, names: Names, now: datetime) -> Change[Assignment]:
        # It needs its principal and its set: their creations, when they are to be made.
        requires = set()
        if names.principal_id(assignment.principal_type, assignment.principal) is None:
            requires.add((PRINCIPAL_KINDS[assignment.principal_type], assignment.principal))
        if assignment.permission_set not in names.set_arns:
            requires.add((KindName.PERMISSION_SET, assignment.permission_set))
        fields: tuple[FieldChange, ...] = (
            FieldChange("permission_set", None, assignment.permission_set),
            FieldChange(assignment.principal_type.lower(), None, assignment.principal),
            FieldChange("account", None, assignment.account),
        )
        if assignment.until is not None:
            expires = f"{utc(assignment.until)} (expires in {span(assignment.until - now)})"
            fields += (FieldChange("until", None, expires),)
        return Change(self.name, Action.CREATE, assignment.describe(), assignment, fields, frozenset(requires))

    def expiring(self, change: Change[Assignment]) -> bool:
        return change.action is Action.DELETE and change.payload.until is not None

    def _deletion(self, assignment: Assignment, why: str = "") -> Change[Assignment]:
        # The set's deletion waits for it: AWS refuses to delete a set that keeps an assignment.
        refers_to = frozenset({(KindName.PERMISSION_SET, assignment.permission_set)})
        return replace(deletion(self.name, assignment.describe(), assignment, why), refers_to=refers_to)

    def _refuse_inactive(
        self, config: Config, live: LiveState, creates: list[Assignment], part: AssignmentRows, diff: Diff[Assignment]
    ) -> None:
        """A new assignment on an account that is not ACTIVE (SUSPENDED, PENDING_CLOSURE) is a
        plan error: AWS cannot provision the set there."""
        for account, state in sorted(part.inactive.items()):
            count = sum(1 for a in creates if a.account == account)
            if not count:
                continue
            diff.errors.append(
                f"account {account} is {state}: {count} new assignment(s) target it, and AWS cannot provision "
                f"a permission set there; remove it from {_entries_naming(config, live, account)}"
            )

    def _refuse_outside(
        self, config: Config, live: LiveState, creates: list[Assignment], part: AssignmentRows, diff: Diff[Assignment]
    ) -> None:
        """A new assignment on an account outside the organization is a plan error: AWS takes the
        request and fails it. So is one on another account, from an account in no organization."""
        for account in part.outside:
            count = sum(1 for a in creates if a.account == account)
            if not count:
                continue
            where = _entries_naming(config, live, account)
            if part.standalone:
                diff.errors.append(
                    f"{where}: account {account} is not this account ({live.ctx.account_id}), which is in no "
                    f"organization, and IAM Identity Center assigns on other accounts only through an "
                    f"organization ({count} new assignment(s) would fail): remove {account} from {where}, or "
                    "create an organization and invite it"
                )
                continue
            diff.errors.append(
                f"{where}: account {account} is not in the organization, and AWS fails an assignment on an account "
                f"outside it ({count} new assignment(s) target it): fix the account id in {where}, or invite "
                "the account into the organization first"
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
        """Assignments on the declared sets that the config does not declare, every assignment
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

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """One entry per permission set and principal, with every account it is assigned on.
        A set whose assignments could not be listed is left out; with --group, so is a set
        not assigned to those groups."""
        part, sets = live.get(self), live.get(permission_sets.KIND)
        found = self._exported(live, scope)
        assigned = {set_name for set_name, _, _ in found}
        document["permission_sets"] = [
            ps
            for ps in document.get("permission_sets", [])
            if ps["name"] not in part.unlisted and (not scope.groups or ps["name"] in assigned)
        ]
        warnings = [
            permission_sets.skipped(name, action, sets.arn(name)) for name, action in sorted(part.unlisted.items())
        ]
        exported = {ps["name"] for ps in document["permission_sets"]}
        document["assignments"] = [
            {
                "permission_set": set_name,
                "groups" if kind == "GROUP" else "users": [name],
                "accounts": sorted(set(accounts)),
            }
            for (set_name, kind, name), accounts in sorted(found.items())
            if set_name in exported
        ]
        if scope.permission_sets and not scope.groups:
            _reached_only(document)
        on_management = sorted(name for name in exported if permission_sets.on_management(sets, name))
        if not on_management:
            return warnings
        return warnings + [
            f"assignments on the management account {live.ctx.management} were not read, and are not exported: "
            f"only that account may change them (permission set(s) provisioned there: "
            f"{permission_sets.some(on_management)}); export from the management account to include them"
        ]


def current_meaning(config: Config, ctx: Context) -> tuple[list[str], list[str]]:
    """What `current` means in this run, when it is not the management account (a note), and
    the entries that name one account twice once `current` is resolved (a warning each)."""
    notes, warnings = [], []
    # `current` is the one entry the context resolves to another name.
    users = [i for i, spec in enumerate(config.assignments) if any(ctx.account(a) != a for a in spec.accounts)]
    if users and not ctx.in_management_account:
        notes.append(
            f"current (in {', '.join(f'assignments[{i}].accounts' for i in users)}) is account {ctx.account_id}, "
            f"where this run works ({ctx.account_role.value}), not the management account "
            f"{ctx.management}: write the account id to mean one account wherever the config is run"
        )
    for index in users:
        named = config.assignments[index].accounts
        if ctx.account_id in named:
            warnings.append(
                f"assignments[{index}].accounts names account {ctx.account_id} twice: as {ctx.account_id} and as "
                f"current, which is the account this run works from; replace current with the account id you mean"
            )
    return notes, warnings


def _entries_naming(config: Config, live: LiveState, account: str) -> str:
    """The config fields that name an account ("assignments[1].accounts and ...")."""
    where = [
        f"assignments[{i}].accounts"
        for i, spec in enumerate(config.assignments)
        if account in {live.ctx.account(a) for a in spec.accounts}
    ]
    return " and ".join(where) or "the config"


def _in_no_organization(reader: Reader, creates: Collection[str], new_sets: bool) -> bool:
    """Whether the run is in an account of no organization while the config needs an
    organization instance (new assignments or permission sets). Only the instance's owner can
    be in none; the states of the new assignments' accounts tell (AWSOrganizationsNotInUse), or
    else one read of its own account's."""
    if not (creates or new_sets) or not reader.ctx.in_management_account:
        return False
    if not creates:
        reader.accounts.of([reader.ctx.account_id])
    return reader.accounts.standalone


def account_instance_refusal(config: Config, ctx: Context) -> str:
    """The plan error for permission sets or assignments declared in an account of no organization."""
    declared = f"{len(config.permission_sets)} permission set(s) and {len(config.assignments)} assignment(s)"
    return (
        f"account {ctx.account_id} is in no organization, so its IAM Identity Center instance is an account "
        f"instance, which cannot hold permission sets or account assignments ({declared} declared): create an "
        "organization and enable IAM Identity Center in its management account, or declare only users and groups"
    )


def _unreachable(reader: Reader, creates: Collection[str]) -> dict[str, Any]:
    """The `outside` and `standalone` of AssignmentRows, for the accounts new assignments target:
    read with their states (no further call)."""
    if not creates:
        return {}
    if reader.accounts.standalone:
        return {"outside": tuple(sorted(a for a in creates if a != reader.ctx.account_id)), "standalone": True}
    return {"outside": tuple(reader.accounts.outside(creates))}


def _reached_only(document: dict[str, Any]) -> None:
    """With --permission-set: only the principals its exported assignments reach (the groups
    and users assigned, and the members of those groups), each user with only those groups."""
    groups = {g for entry in document["assignments"] for g in entry.get("groups", [])}
    users = {u for entry in document["assignments"] for u in entry.get("users", [])}
    document["groups"] = [g for g in document["groups"] if g["name"] in groups]
    kept = []
    for user in document["users"]:
        entry = {key: value for key, value in user.items() if key != "groups"}
        if in_groups := [g for g in user.get("groups", []) if g in groups]:
            entry["groups"] = in_groups
        if in_groups or user["user_name"] in users:
            kept.append(entry)
    document["users"] = kept


KIND = AssignmentKind()
