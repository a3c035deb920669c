"""Account assignments: principal x permission set x account, created asynchronously."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .. import quotas
from ..config import Config
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, Plan
from ..retry import Mapper, sequential
from .base import Context, Step
from .permission_sets import provisioned_accounts

if TYPE_CHECKING:
    from ..aws import Clients
    from ..targets import AccountStates, Resolution

# With this many requests outstanding, one status listing beats a describe per request.
LIST_STATUS_THRESHOLD = 3

PrincipalType = Literal["GROUP", "USER"]
# Why an assignment the config does not declare is deleted (the plan shows it).
NOT_DECLARED = "not in the config"
# One assignment as AWS lists it: (principal type, principal id, permission set ARN, account).
Row = tuple[str, str, str, str]


@dataclass(frozen=True, order=True)
class Assignment:
    permission_set: str
    principal_type: PrincipalType
    principal: str  # group DisplayName or UserName
    account: str

    def describe(self) -> str:
        return f"{self.principal_type.lower()} {self.principal} -> {self.permission_set} on {self.account}"


def desired_assignments(
    config: Config, account_id: str, resolved: Mapping[int, Resolution] | None = None
) -> list[Assignment]:
    """Every assignment the config declares, 'current' and organization targets resolved,
    without repeats."""
    seen: dict[Assignment, None] = {}
    for index, spec in enumerate(config.assignments):
        accounts = resolved[index].accounts if resolved and index in resolved else spec.accounts
        for account in accounts:
            target = account_id if account == "current" else account
            for group in spec.groups:
                seen.setdefault(Assignment(spec.permission_set, "GROUP", group, target))
            for user in spec.users:
                seen.setdefault(Assignment(spec.permission_set, "USER", user, target))
    return list(seen)


def assignments_of_set(clients: Clients, ctx: Context, arn: str) -> Iterator[tuple[Any, str, str]]:
    """(principal type, principal id, account) of every assignment of one permission set:
    one listing of the accounts it is provisioned to, and one listing on each."""
    for account in sorted(provisioned_accounts(clients, ctx, arn)):
        for a in clients.sso_admin.pages(
            lambda c, more: c.list_account_assignments(
                InstanceArn=ctx.instance_arn, AccountId=account, PermissionSetArn=arn, **more
            ),
            "AccountAssignments",
        ):
            yield a["PrincipalType"], a["PrincipalId"], account


def read_by_set(clients: Clients, ctx: Context, set_arns: Iterable[str]) -> set[Row]:
    """Every assignment of these permission sets, whoever the principal: one listing per set,
    and one per account it is provisioned to."""
    return {
        (kind, principal_id, arn, account)
        for arn in sorted(set(set_arns))
        for kind, principal_id, account in assignments_of_set(clients, ctx, arn)
    }


def read_by_principal(clients: Clients, ctx: Context, principals: Iterable[tuple[PrincipalType, str]]) -> set[Row]:
    """Every assignment of these (type, id) principals: one ListAccountAssignmentsForPrincipal
    each, however many assignments they have.

    Each row names its own principal. AWS does not say whether a USER query also answers the
    rows of the user's groups, so rows of any other principal are left out."""
    rows: set[Row] = set()
    for principal_type, principal_id in sorted(set(principals)):
        for item in clients.sso_admin.pages(
            lambda c, more: c.list_account_assignments_for_principal(
                InstanceArn=ctx.instance_arn,
                PrincipalId=principal_id,
                PrincipalType=principal_type,
                MaxResults=quotas.LIST_PAGE_SIZE,
                **more,
            ),
            "AccountAssignments",
        ):
            if (item.get("PrincipalType"), item.get("PrincipalId")) == (principal_type, principal_id):
                rows.add((principal_type, principal_id, item["PermissionSetArn"], item["AccountId"]))
    return rows


class AssignmentsStep(Step):
    resource = "assignment"
    # Organization targets resolved by the runner for this run.
    resolved: Mapping[int, Resolution] = {}
    # Account states of this run, shared with the permission sets step (set by the runner).
    account_states: AccountStates
    # What plan read: the rows, and whether they hold every principal's (read by set).
    live: set[Row] = set()
    read_every_principal = False

    def _principal_id(self, principal_type: PrincipalType, name: str) -> str | None:
        return (self.ids.groups if principal_type == "GROUP" else self.ids.users).get(name)

    def _row(self, assignment: Assignment) -> Row | None:
        """The row AWS would list for a declared assignment; None while its principal or set is missing."""
        principal_id = self._principal_id(assignment.principal_type, assignment.principal)
        arn = self.ids.permission_sets.get(assignment.permission_set)
        if principal_id is None or arn is None:
            return None
        return (assignment.principal_type, principal_id, arn, assignment.account)

    def declared(self, config: Config) -> list[tuple[Assignment, bool]]:
        """Each declared assignment, and whether it exists.

        Assignments are read by permission set (which sees every principal) when the config
        declares no more (set, account) pairs than principals, else by principal; either
        way the reads grow with what the config declares, never with the assignments."""
        wanted = desired_assignments(config, self.ctx.account_id, self.resolved)
        # The choice depends on the config alone, not on what exists yet. By set also costs
        # a listing per set: the price of seeing every principal.
        pairs = {(a.permission_set, a.account) for a in wanted}
        self.read_every_principal = len(pairs) <= len({(a.principal_type, a.principal) for a in wanted})
        if self.read_every_principal:
            try:
                self.live = read_by_set(self.clients, self.ctx, self._declared_sets(config).values())
            except AwsError as exc:
                if not exc.denied:
                    raise
                # A set the caller may not read (a policy scoped by tags): read by principal,
                # which needs no access to the sets themselves.
                self.read_every_principal = False
        if not self.read_every_principal:
            principals = [
                (a.principal_type, pid) for a in wanted if (pid := self._principal_id(a.principal_type, a.principal))
            ]
            self.live = read_by_principal(self.clients, self.ctx, principals)
        return [(assignment, self._row(assignment) in self.live) for assignment in wanted]

    def undeclared(self, config: Config) -> list[Assignment]:
        """Assignments on the declared sets that the config does not declare, among those plan
        read: all of them when it read by permission set, else those of the principals it read."""
        sets = self._declared_sets(config)
        wanted = set(desired_assignments(config, self.ctx.account_id, self.resolved))
        on_declared_sets = [row for row in self.live if row[2] in sets.values()]
        return [a for a in self._named(on_declared_sets, sets) if a not in wanted]

    def plan(self, config: Config, plan: Plan) -> None:
        creates = []
        for assignment, exists in self.declared(config):
            if exists:
                plan.unchanged[self.resource] += 1
                continue
            creates.append(assignment)
            plan.changes.append(
                Change(
                    self.resource,
                    Action.CREATE,
                    assignment.describe(),
                    (
                        FieldChange("permission_set", None, assignment.permission_set),
                        FieldChange(assignment.principal_type.lower(), None, assignment.principal),
                        FieldChange("account", None, assignment.account),
                    ),
                    assignment,
                )
            )
        self._refuse_inactive(config, creates, plan)

    def _refuse_inactive(self, config: Config, creates: list[Assignment], plan: Plan) -> None:
        """A new assignment on an account that is not ACTIVE (SUSPENDED, PENDING_CLOSURE) is a
        plan error: AWS cannot provision the set there. Account states are read only here,
        when something is to be created."""
        if not creates:
            return
        for account, state in sorted(self.account_states.inactive({a.account for a in creates}).items()):
            count = sum(1 for a in creates if a.account == account)
            where = [
                f"assignments[{i}].accounts"
                for i, spec in enumerate(config.assignments)
                if account in {self.ctx.account(a) for a in spec.accounts}
            ]
            plan.errors.append(
                f"account {account} is {state}: {count} new assignment(s) target it, and AWS cannot provision "
                f"a permission set there; remove it from {' and '.join(where) or 'the config'}"
            )

    def plan_destroy(self, config: Config, plan: Plan) -> None:
        """Every assignment of the declared permission sets, which destroy deletes: AWS refuses
        to delete a set while it has any. Those the config does not declare are marked."""
        wanted = set(desired_assignments(config, self.ctx.account_id, self.resolved))
        sets = self._declared_sets(config)
        for assignment in self._named(read_by_set(self.clients, self.ctx, sets.values()), sets):
            self._delete(plan, assignment, "" if assignment in wanted else NOT_DECLARED)

    def plan_prune(self, config: Config, plan: Plan, doomed: dict[str, str] | None = None) -> None:
        """Assignments on the declared sets that the config does not declare, every
        assignment of a doomed set, and every assignment of an absent user or group. Reads
        every account a declared or doomed set is provisioned to."""
        wanted = set(desired_assignments(config, self.ctx.account_id, self.resolved))
        doomed = doomed or {}
        sets = {**self._declared_sets(config), **doomed}
        absent: list[tuple[PrincipalType, str]] = [("GROUP", g) for g in config.absent.groups]
        absent += [("USER", u) for u in config.absent.users]
        principals = [
            (kind, pid)
            for kind, name in absent
            if (pid := self._principal_id(kind, name)) is not None and pid not in self.ids.external
        ]
        found = dict.fromkeys(self._named(read_by_principal(self.clients, self.ctx, principals), sets), "absent")
        # Every assignment of these sets; plan may have read the declared ones already.
        unread = doomed if self.read_every_principal else sets
        rows = read_by_set(self.clients, self.ctx, unread.values())
        if self.read_every_principal:
            rows |= {row for row in self.live if row[2] in sets.values()}
        for assignment in self._named(rows, sets):
            if assignment not in wanted or assignment.permission_set in doomed:
                found.setdefault(assignment, NOT_DECLARED)
        for assignment, why in sorted(found.items()):
            self._delete(plan, assignment, why)

    def _declared_sets(self, config: Config) -> dict[str, str]:
        """Name -> ARN of the declared permission sets that exist."""
        return {
            spec.name: arn for spec in config.permission_sets if (arn := self.ids.permission_sets.get(spec.name))
        }

    def _named(self, rows: Iterable[Row], sets: Mapping[str, str]) -> list[Assignment]:
        """Rows as assignments by name. A principal or set we do not know by name (deleted
        meanwhile, or a set we do not manage) is addressed by its id."""
        names = {
            "GROUP": {pid: name for name, pid in self.ids.groups.items()},
            "USER": {pid: name for name, pid in self.ids.users.items()},
        }
        set_names = {arn: name for name, arn in sets.items()}
        out = []
        for kind, principal_id, arn, account in rows:
            principal_type: PrincipalType = "GROUP" if kind == "GROUP" else "USER"
            name = names[principal_type].get(principal_id)
            if name is None:
                name = principal_id
                self.ids.set("groups" if principal_type == "GROUP" else "users", name, principal_id)
            set_name = set_names.get(arn)
            if set_name is None:
                set_name = arn
                self.ids.set("permission_sets", arn, arn)
            out.append(Assignment(set_name, principal_type, name, account))
        return sorted(out)

    def _delete(self, plan: Plan, assignment: Assignment, why: str = "") -> None:
        reason = (FieldChange("reason", None, why),) if why else ()
        plan.changes.append(Change(self.resource, Action.DELETE, assignment.describe(), reason, assignment))

    def start(self, change: Change) -> Mapping[str, Any]:
        """CreateAccountAssignment (or Delete...); returns its status object (often IN_PROGRESS)."""
        assignment: Assignment = change.data
        kind = "groups" if assignment.principal_type == "GROUP" else "users"
        target: dict[str, Any] = {
            "InstanceArn": self.ctx.instance_arn,
            "TargetId": assignment.account,
            "TargetType": "AWS_ACCOUNT",
            "PermissionSetArn": self.ids.need("permission_sets", assignment.permission_set),
            "PrincipalType": assignment.principal_type,
            "PrincipalId": self.ids.need(kind, assignment.principal),
        }
        sso = self.clients.sso_admin
        if change.action is Action.DELETE:
            deleted = sso.call(lambda c: c.delete_account_assignment(**target), retry_conflicts=True)
            return deleted["AccountAssignmentDeletionStatus"]
        created = sso.call(lambda c: c.create_account_assignment(**target), retry_conflicts=True)
        return created["AccountAssignmentCreationStatus"]

    def finished(
        self, request_ids: list[str], parallel: Mapper = sequential, deleting: bool = False
    ) -> dict[str, Mapping[str, Any]]:
        """Status objects of the creation (or deletion) requests no longer IN_PROGRESS."""
        sso = self.clients.sso_admin
        instance = self.ctx.instance_arn
        in_progress_filter: Any = {"Status": "IN_PROGRESS"}
        candidates = request_ids
        if len(request_ids) > LIST_STATUS_THRESHOLD:
            if deleting:
                listing = sso.pages(
                    lambda c, more: c.list_account_assignment_deletion_status(
                        InstanceArn=instance, Filter=in_progress_filter, **more
                    ),
                    "AccountAssignmentsDeletionStatus",
                )
            else:
                listing = sso.pages(
                    lambda c, more: c.list_account_assignment_creation_status(
                        InstanceArn=instance, Filter=in_progress_filter, **more
                    ),
                    "AccountAssignmentsCreationStatus",
                )
            in_progress = {s["RequestId"] for s in listing}
            candidates = [rid for rid in request_ids if rid not in in_progress]

        def describe(request_id: str) -> Mapping[str, Any]:
            if deleting:
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

        statuses = parallel(describe, candidates)
        return {rid: s for rid, s in zip(candidates, statuses, strict=True) if s.get("Status") != "IN_PROGRESS"}
