"""Read live state, diff it against the spec, and apply the changes in dependency order.

`plan` and `apply` share one code path: apply executes exactly the records plan produced.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import quotas, retry, targets
from .aws import Clients
from .config import Config
from .errors import AccessError, AwsAccessError, AwsError, Interrupted, ProvisionerError, is_denied
from .plan import NOT_STARTED, UNKNOWN, Action, ApplyResult, Change, Outcome, Plan
from .retry import AsyncOutcome, Mapper, PollSettings, run_async, sequential
from .steps import instance
from .steps.assignments import AssignmentsStep
from .steps.base import Context, Ids, Step
from .steps.groups import GroupsStep
from .steps.memberships import MembershipsStep
from .steps.permission_sets import PermissionSetsStep
from .steps.users import UsersStep

Progress = Callable[[str, int, int], None]
DELETE_ORDER = ("assignment", "permission_set", "membership", "user", "group")
INTERRUPTED = {retry.NOT_STARTED: NOT_STARTED, retry.UNKNOWN: UNKNOWN}


@dataclass(frozen=True)
class RunSettings:
    """Concurrency and polling; the defaults are the AWS quotas."""

    poll: PollSettings = field(default_factory=PollSettings)
    max_outstanding_assignments: int = quotas.MAX_OUTSTANDING_ASSIGNMENT_REQUESTS
    max_concurrent_provisionings: int = quotas.MAX_CONCURRENT_PROVISIONINGS
    workers: int = 4


def _few(items: list[str], shown: int = 3) -> str:
    """The first few items, then '...' if there are more."""
    return ", ".join(items[:shown]) + (", ..." if len(items) > shown else "")


class Runner:
    """One run against one instance: `plan()` first, then optionally `apply(plan)`."""

    def __init__(
        self,
        clients: Clients,
        config: Config,
        settings: RunSettings | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.clients = clients
        self.config = config
        self.settings = settings or RunSettings()
        self.progress = progress
        self.ctx: Context | None = None
        self.ids = Ids()
        self._steps: dict[str, Step] = {}

    def _begin(self, allow_root: bool) -> Plan:
        """Resolve the instance (refusing root unless allowed) and start from no known ids."""
        self.ctx = instance.resolve(self.clients, allow_root)
        self.ids = Ids()
        self._build_steps(self.ctx)
        return Plan()

    def _build_steps(self, ctx: Context) -> None:
        args = (self.clients, ctx, self.ids)
        sets, assignments = PermissionSetsStep(*args), AssignmentsStep(*args)
        # Organizations account states, read once per run by whichever step needs them first.
        sets.account_states = assignments.account_states = targets.AccountStates(self.clients)
        self._steps = {
            "group": GroupsStep(*args),
            "user": UsersStep(*args),
            "membership": MembershipsStep(*args),
            "permission_set": sets,
            "assignment": assignments,
        }

    def plan(self, allow_root: bool = True, prune: bool = False) -> Plan:
        """Resolve the instance, read everything in bulk, and return the ordered changes.

        With `prune`, also delete what we own and the config no longer declares: permission
        sets with our ownership tag, assignments on managed sets, members of declared groups
        that the config does not list, and the users and groups under `absent:`.
        """
        plan = self._begin(allow_root)
        plan.warnings.extend(self.config.warnings)
        with self._naming_the_caller():
            self._resolve_targets(plan)
            for step in self._steps.values():
                step.plan(self.config, plan)
            memberships = self._steps["membership"]
            assert isinstance(memberships, MembershipsStep)
            if prune:
                self._plan_prune(plan)
            elif extra := memberships.undeclared(self.config):
                shown = _few([f"{m.user} in {m.group}" for m in extra])
                plan.notes.append(
                    f"{len(extra)} group membership(s) exist that the config does not declare ({shown}); "
                    "apply --prune removes them"
                )
            assignments = self._steps["assignment"]
            assert isinstance(assignments, AssignmentsStep)
            if not prune:
                self._note_undeclared_assignments(assignments, plan)
            if assignments.account_states.note:
                plan.notes.append(assignments.account_states.note)
        return plan

    def _note_undeclared_assignments(self, step: AssignmentsStep, plan: Plan) -> None:
        """What a plain plan saw on the declared sets that the config does not declare, and
        what it could not see."""
        if extra := step.undeclared(self.config):
            plan.notes.append(
                f"{len(extra)} assignment(s) exist on declared permission sets that the config does not declare "
                f"({_few([a.describe() for a in extra])}); apply --prune removes them"
            )
        sets_exist = any(spec.name in self.ids.permission_sets for spec in self.config.permission_sets)
        if sets_exist and not step.read_every_principal:
            plan.notes.append(
                "assignments were read by principal (fewer calls for this config): those of principals the "
                "config does not assign were not seen; plan --prune reads every assignment of the managed sets"
            )

    def _resolve_targets(self, plan: Plan) -> None:
        """OU and whole-organization targets -> accounts, named in the plan."""
        assert self.ctx is not None
        step = self._steps["assignment"]
        assert isinstance(step, AssignmentsStep)
        resolved = targets.resolve_all(self.clients, self.config, self.ctx.account_id, step.account_states)
        step.resolved = resolved
        for index, resolution in sorted(resolved.items()):
            plan.notes.append(f"assignments[{index}] {resolution.describe(self.config.assignments[index])}")

    def _plan_prune(self, plan: Plan) -> None:
        sets, assignments = self._steps["permission_set"], self._steps["assignment"]
        assert isinstance(sets, PermissionSetsStep) and isinstance(assignments, AssignmentsStep)
        for resource in ("group", "user", "membership", "permission_set"):
            self._steps[resource].plan_prune(self.config, plan)
        assignments.plan_prune(self.config, plan, sets.doomed)

    def plan_destroy(self, allow_root: bool = True) -> Plan:
        """Deletions of what the config declares and exists, in reverse dependency order."""
        plan = self._begin(allow_root)
        with self._naming_the_caller():
            self._resolve_targets(plan)
            for step in self._steps.values():  # reads in dependency order: ids before their users
                step.plan_destroy(self.config, plan)
        plan.changes.sort(key=lambda c: DELETE_ORDER.index(c.resource))
        return plan

    @contextmanager
    def _naming_the_caller(self) -> Iterator[None]:
        """Say which account and caller an AccessDenied is about."""
        try:
            yield
        except AwsAccessError as exc:
            self._name_the_caller(exc)
            raise

    def _name_the_caller(self, exc: AwsError) -> None:
        if self.ctx is not None:
            exc.where = f"account {self.ctx.account_id} as {self.ctx.caller_arn}"

    def _denials_named(self, fn: Callable[[Change], Any]) -> Callable[[Change], Any]:
        """`fn`, with an AccessDenied it raises saying which account and caller it is about."""

        def call(change: Change) -> Any:
            try:
                return fn(change)
            except AwsError as exc:
                if exc.denied:
                    self._name_the_caller(exc)
                raise

        return call

    # -- apply ------------------------------------------------------------------------
    def apply(self, plan: Plan) -> ApplyResult:
        """Execute `plan` in dependency order; failures are recorded and the rest goes on.

        Once `clients.cancel` is set, no change starts and no write call is made; requests
        already fired are polled for a short grace. Each change is then done, failed, not
        started or unknown (it may or may not have happened), and the result is interrupted.
        """
        if self.ctx is None:
            raise RuntimeError("apply() needs the plan() of the same Runner")
        with self._naming_the_caller():
            return self._apply(plan)

    def _apply(self, plan: Plan) -> ApplyResult:
        # Deletions first, dependents before what they depend on.
        deletions = self._apply_deletions([c for c in plan.changes if c.action is Action.DELETE])
        by: dict[str, list[Change]] = {}
        for change in plan.changes:
            if change.action is not Action.DELETE:
                by.setdefault(change.resource, []).append(change)
        groups_ready, users_ready = threading.Event(), threading.Event()

        def identities() -> list[Outcome]:
            try:
                out = self._apply_sync(by.get("group", []))
                groups_ready.set()
                out += self._apply_sync(by.get("user", []))
                users_ready.set()
                return out + self._apply_sync(by.get("membership", []))
            finally:
                groups_ready.set()
                users_ready.set()

        def access() -> list[Outcome]:
            out = self._apply_sync(by.get("permission_set", []))
            assignments = by.get("assignment", [])
            # Assignments need their principals: groups, and users only if any is assigned directly.
            users_needed = any(change.data.principal_type == "USER" for change in assignments)
            (users_ready if users_needed else groups_ready).wait()
            return out + self._apply_provisionings(by.get("provisioning", [])) + self._apply_assignments(assignments)

        # Two lanes, one per service, so neither waits on the other's rate limit.
        identity_outcomes, access_outcomes = self._lanes(identities, access)
        return ApplyResult(
            outcomes=deletions + identity_outcomes + access_outcomes, interrupted=self.clients.cancel.cancelled
        )

    def _apply_deletions(self, changes: list[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for resource in DELETE_ORDER:
            batch = [c for c in changes if c.resource == resource]
            if resource == "assignment":
                # Polled to SUCCEEDED: a permission set cannot go while its assignments are going.
                outcomes += self._apply_assignments(batch, deleting=True)
            elif resource == "permission_set":
                # AWS refuses to delete a set that keeps an assignment: name why, do not try.
                # (An interrupted run leaves the set NOT_STARTED instead.)
                failed = [o for o in outcomes if o.change.resource == "assignment" and not o.ok and not o.interrupted]
                stuck = Counter(o.change.data.permission_set for o in failed)
                outcomes += [
                    Outcome(c, False, f"not deleted: {stuck[c.data]} of its assignment(s) could not be deleted")
                    for c in batch
                    if stuck[c.data]
                ]
                outcomes += self._apply_sync([c for c in batch if not stuck[c.data]])
            else:
                outcomes += self._apply_sync(batch)
        return outcomes

    def _lanes(self, *lanes: Callable[[], list[Outcome]]) -> list[list[Outcome]]:
        if self.settings.workers <= 1:
            return [lane() for lane in lanes]
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            futures = [pool.submit(lane) for lane in lanes]
            return [f.result() for f in futures]

    def _apply_sync(self, changes: list[Change]) -> list[Outcome]:
        if not changes:
            return []
        cancel, log = self.clients.cancel, self.clients.log

        apply = self._denials_named(lambda change: self._steps[change.resource].apply(change))

        def one(change: Change) -> Outcome:
            if cancel.cancelled:
                return Outcome(change, False, interrupted=NOT_STARTED)
            writes = log.writes_here()
            try:
                detail = apply(change)
            except Interrupted as exc:
                if exc.may_have_taken_effect or log.writes_here() > writes:
                    return Outcome(change, False, "interrupted before it finished", interrupted=UNKNOWN)
                return Outcome(change, False, interrupted=NOT_STARTED)
            except ProvisionerError as exc:
                # Credentials no later call would fare better with stop the run; AccessDenied
                # on one resource (tag-scoped policies, a delegated administrator) fails this
                # change only.
                if isinstance(exc, AccessError) and not is_denied(exc):
                    raise
                return Outcome(change, False, str(exc), getattr(exc, "request_id", None))
            return Outcome(change, True, detail or "")

        return self._mapper()(one, changes)

    def _mapper(self) -> Mapper:
        """A map over a small thread pool (overlapping round trips), or plain map with one worker."""
        workers = self.settings.workers
        if workers <= 1:
            return sequential

        def parallel(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
            if len(items) <= 1:
                return [fn(i) for i in items]
            with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
                return list(pool.map(fn, items))

        return parallel

    def _apply_provisionings(self, changes: list[Change]) -> list[Outcome]:
        if not changes:
            return []
        step = self._steps["permission_set"]
        assert isinstance(step, PermissionSetsStep)

        def finished(request_ids: list[str]) -> dict[str, Mapping[str, Any]]:
            statuses = (step.provisioning_status(rid) for rid in request_ids)
            return {str(s["RequestId"]): s for s in statuses if s.get("Status") != "IN_PROGRESS"}

        # Provisionings of one set to several accounts go in rounds: AWS refuses work on a set
        # while it is being provisioned.
        rounds: list[list[Change]] = []
        seen: Counter[str] = Counter()
        for change in changes:
            index = seen[change.data.permission_set]
            seen[change.data.permission_set] += 1
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(change)
        outcomes: list[Outcome] = []
        report = self._progress("provisioning")

        def progress(offset: int) -> Callable[[int, int], None] | None:
            """Progress over every round, not one."""
            if report is None:
                return None
            return lambda done, _total: report(offset + done, len(changes))

        timed_out = False
        for batch in rounds:
            if timed_out:  # as within a round: nothing new is fired after a timeout
                results = [AsyncOutcome("SKIPPED", "not started: earlier requests timed out")] * len(batch)
            else:
                results = run_async(
                    batch,
                    fire=self._denials_named(lambda change: step.start_provisioning(change.data)),
                    check=finished,
                    limit=self.settings.max_concurrent_provisionings,
                    clock=self.clients.clock,
                    settings=self.settings.poll,
                    progress=progress(len(outcomes)),
                    cancel=self.clients.cancel,
                )
            timed_out = timed_out or any(r.status == "TIMEOUT" for r in results)
            outcomes += self._record(batch, results)
        return outcomes

    def _apply_assignments(self, changes: list[Change], deleting: bool = False) -> list[Outcome]:
        if not changes:
            return []
        step = self._steps["assignment"]
        assert isinstance(step, AssignmentsStep)
        parallel = self._mapper()
        outcomes = run_async(
            changes,
            fire=self._denials_named(step.start),
            check=lambda request_ids: step.finished(request_ids, parallel, deleting),
            parallel=parallel,
            limit=self.settings.max_outstanding_assignments,
            clock=self.clients.clock,
            settings=self.settings.poll,
            progress=self._progress("assignments"),
            cancel=self.clients.cancel,
        )
        return self._record(changes, outcomes)

    @staticmethod
    def _record(changes: list[Change], outcomes: list[AsyncOutcome]) -> list[Outcome]:
        return [
            Outcome(change, False, o.reason or "", o.request_id, interrupted=INTERRUPTED[o.status])
            if o.status in INTERRUPTED
            else Outcome(change, o.ok, "" if o.ok else f"{o.status}: {o.reason or 'no reason given'}", o.request_id)
            for change, o in zip(changes, outcomes, strict=True)
        ]

    def _progress(self, phase: str) -> Callable[[int, int], None] | None:
        report = self.progress
        if report is None:
            return None
        return lambda done, total: report(phase, done, total)
