"""Read the live state, diff it against the config, and apply the changes in dependency order.

`plan` and `apply` share one code path: apply executes exactly the records plan produced.
The runner knows no kind by name: the order comes from each kind's `depends_on` (reversed
for deletions), and the lanes from each kind's service.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from . import context, quotas
from .aws import Clients
from .config import Config, check_prunable, prune_problem
from .context import Context
from .errors import AccessError, AwsAccessError, AwsError, Interrupted, ProvisionerError, is_denied
from .kinds import KINDS, dependency_order
from .kinds.base import Diff, Env, Ids, Kind, LiveState, Mode, Reader, reader
from .plan import NOT_STARTED, UNKNOWN, Action, ApplyResult, Change, KindName, Outcome, Plan
from .retry import AsyncOutcome, Mapper, PollSettings, run_async, sequential

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunSettings:
    """Concurrency and polling; the defaults are the AWS quotas."""

    poll: PollSettings = field(default_factory=PollSettings)
    # Outstanding requests of an asynchronous kind, where not its own quota (tests, benchmarks).
    limits: Mapping[KindName, int] = field(default_factory=dict)
    workers: int = quotas.WORKERS
    # "Now" for what expires (assignments' until); tests inject a fixed time.
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


class Runner:
    """One run against one instance: `plan()` (or `plan_destroy()`) first, then `apply(plan)`."""

    def __init__(
        self,
        clients: Clients,
        config: Config,
        settings: RunSettings | None = None,
        progress: Progress | None = None,
        kinds: tuple[Kind[Any, Any], ...] = KINDS,
        ctx: Context | None = None,
    ) -> None:
        self.clients = clients
        # Where the run works, when the caller has read it already (doctor): not read again.
        self.resolved = ctx
        self.config = config
        self.settings = settings or RunSettings()
        self.progress = progress
        self.order = dependency_order(kinds)
        self.ctx: Context | None = None
        self.live: LiveState | None = None

    # -- plan -------------------------------------------------------------------------
    def plan(self, allow_root: bool = True, prune: bool = False) -> Plan:
        """Resolve the instance, read what the config needs, and return the ordered changes.

        With `prune`, also delete what we own and the config no longer declares: permission
        sets with our ownership tag, assignments on managed sets, members of declared groups
        that the config does not list, and the users and groups under `absent:`.
        """
        return self._plan(Mode.PRUNE if prune else Mode.PLAN, allow_root)

    def plan_destroy(self, allow_root: bool = True) -> Plan:
        """Deletions of what the config declares and exists, in reverse dependency order."""
        return self._plan(Mode.DESTROY, allow_root)

    def plan_expirations(self, allow_root: bool = True) -> Plan:
        """Only the removals of what has expired (assignments past their until), for cron or
        CI. Other changes are left to apply and counted in a note; the plan's errors concern
        them, not the expirations, so they become warnings."""
        plan = self._plan(Mode.PLAN, allow_root)
        by_kind = {kind.name: kind for kind in self.order}
        expiring = [c for c in plan.changes if by_kind[c.kind].expiring(c)]
        if left := len(plan.changes) - len(expiring):
            plan.notes.append(f"{left} other change(s) are not expirations: `provisioner apply` makes them")
        plan.warnings += [f"{error} (left to apply; expirations go ahead)" for error in plan.errors]
        plan.changes, plan.errors = expiring, []
        return plan

    def _plan(self, mode: Mode, allow_root: bool) -> Plan:
        if mode is Mode.PRUNE:  # once for every kind, before any call (commands.load names the file)
            check_prunable(self.config, "config")
        self.ctx = self.resolved or context.resolve(self.clients, allow_root)
        key, value = self.config.ownership
        plan = Plan(context={"config": self.config.name, "ownership_tag": {"key": key, "value": value}})
        if mode is not Mode.DESTROY:
            plan.warnings += self.config.warnings
        prunable: list[str] = []
        with self._naming_the_caller():
            self.live = live = read(self.order, self._reader(), self.config, mode)
            for kind in self.order:
                diff = kind.diff(self.config, live, mode)
                self._add(plan, kind, diff)
                prunable += [f"{kind.name.label} {key}" for key in diff.prunable]
        if prunable:
            plan.notes.append(prunable_note(prunable, self.config))
        planned = list(dict((c.ref, c) for c in plan.changes).values())  # one change an object, whoever found it
        plan.changes = [replace(c, requires=c.requires | _dependents_first(c, planned)) for c in planned]
        # Creates and edits in dependency order; deletions after them, the other way round
        # (the order apply makes them in: deletions first).
        rank = {kind.name: index for index, kind in enumerate(self.order)}
        plan.changes.sort(
            key=lambda c: (c.action is Action.DELETE, -rank[c.kind] if c.action is Action.DELETE else rank[c.kind])
        )
        for items in (plan.notes, plan.warnings, plan.errors):
            items[:] = dict.fromkeys(items)  # two kinds may say the same thing once
        return plan

    def _reader(self) -> Reader:
        assert self.ctx is not None
        return reader(self.clients, self.ctx, self.settings.now(), parallel=self._mapper())

    @staticmethod
    def _add(plan: Plan, kind: Kind[Any, Any], diff: Diff[Any]) -> None:
        plan.changes += diff.changes
        if diff.unchanged:
            plan.unchanged[kind.name.value] += diff.unchanged
        plan.notes += diff.notes
        plan.warnings += diff.warnings
        plan.errors += diff.errors

    @contextmanager
    def _naming_the_caller(self) -> Iterator[None]:
        """Say which account and caller an AccessDenied is about."""
        try:
            yield
        except AwsAccessError as exc:
            self._name_the_caller(exc)
            raise

    def _name_the_caller(self, exc: AwsError) -> None:
        context.name_the_caller(exc, self.ctx)

    # -- apply ------------------------------------------------------------------------
    def apply(self, plan: Plan) -> ApplyResult:
        """Execute `plan` in dependency order; failures are recorded and the rest goes on.

        Deletions go first, kind by kind, dependents before what they depend on; then the
        other changes, in one lane per service so neither waits on the other's rate limit.
        A change whose required changes did not succeed is not tried.

        Once `clients.cancel` is set, no change starts and no write call is made; requests
        already fired are polled for a short grace. Each change is then done, failed, not
        started or unknown (it may or may not have happened), and the result is interrupted.
        """
        if self.ctx is None or self.live is None:
            raise RuntimeError("apply() needs the plan() of the same Runner")
        ids = Ids()
        for kind in self.order:
            ids.update(kind.name, kind.ids(self.live.get(kind)))
        run = _Apply(self, Env(self.clients, self.ctx, ids, self._mapper()))
        stopped = None
        try:
            with self._naming_the_caller():
                run.deletions([c for c in plan.changes if c.action is Action.DELETE])
                run.lanes([c for c in plan.changes if c.action is not Action.DELETE])
        except AccessError as exc:  # no later call would fare better: report what was done
            stopped = str(exc)
        return ApplyResult(run.in_plan_order(plan), self.clients.cancel.cancelled, stopped)

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


def prunable_note(prunable: list[str], config: Config) -> str:
    """The note of a plan without prune on what --prune would delete (a few named)."""
    shown = ", ".join(prunable[:5]) + (f" and {len(prunable) - 5} more" if len(prunable) > 5 else "")
    where = "plan --prune shows them" if prune_problem(config) is None else (
        "--prune deletes them once the config has a name (a top-level name:)"
    )
    return f"{len(prunable)} object(s) --prune would delete ({shown}): {where}"


class _Apply:
    """The outcomes of one apply, recorded as the changes finish."""

    def __init__(self, runner: Runner, env: Env) -> None:
        self.runner = runner
        self.env = env
        self.outcomes: dict[tuple[KindName, str], Outcome] = {}
        self._lock = threading.Lock()

    def in_plan_order(self, plan: Plan) -> list[Outcome]:
        """Every change's outcome; one the run never reached (it stopped) was not started."""
        return [self.outcomes.get(c.ref) or Outcome(c, False, interrupted=NOT_STARTED) for c in plan.changes]

    def record(self, outcomes: list[Outcome]) -> None:
        with self._lock:
            for outcome in outcomes:
                self.outcomes[outcome.change.ref] = outcome

    def deletions(self, changes: list[Change[Any]]) -> None:
        for kind in reversed(self.runner.order):
            self.kind(kind, [c for c in changes if c.kind is kind.name])

    def lanes(self, changes: list[Change[Any]]) -> None:
        """One lane per service, each running its kinds in dependency order; a kind waits for
        the kinds of other lanes whose changes its own changes require."""
        order = self.runner.order
        finished = {kind.name: threading.Event() for kind in order}
        earlier = {kind.name: {k.name for k in order[:index]} for index, kind in enumerate(order)}
        services = list(dict.fromkeys(kind.service for kind in order))

        def lane(service: str) -> None:
            mine = [kind for kind in order if kind.service == service]
            try:
                for kind in mine:
                    batch = [c for c in changes if c.kind is kind.name]
                    # Only kinds before it (a kind never waits on its own lane's later kinds).
                    for needed in {k for c in batch for k, _ in c.requires} & earlier[kind.name]:
                        finished[needed].wait()
                    self.kind(kind, batch)
                    finished[kind.name].set()
            finally:
                for kind in mine:
                    finished[kind.name].set()

        if self.runner.settings.workers <= 1 or len(services) == 1:
            for kind in order:
                self.kind(kind, [c for c in changes if c.kind is kind.name])
            return
        with ThreadPoolExecutor(max_workers=len(services)) as pool:
            for future in [pool.submit(lane, service) for service in services]:
                future.result()

    def kind(self, kind: Kind[Any, Any], changes: list[Change[Any]]) -> None:
        if not changes:
            return
        ready = []
        for change in changes:
            blocked = self._blocked(change)
            if blocked is None:
                ready.append(change)
            else:
                self.record([blocked])
        if kind.asynchronous:
            self._asynchronous(kind, ready)
        else:
            done = self._progress(kind, ready)
            self.record(self.env.parallel(lambda change: done(self._one(kind, change)), ready))

    def _progress(self, kind: Kind[Any, Any], changes: list[Change[Any]]) -> Callable[[Outcome], Outcome]:
        """Tell the progress of these changes: none done yet, then each as it finishes."""
        report = self.runner.progress
        if report is None or not changes:
            return lambda outcome: outcome
        phase, total, finished = _phase(kind, changes), len(changes), itertools.count(1)
        report(phase, 0, total)

        def done(outcome: Outcome) -> Outcome:
            if not outcome.interrupted:  # one cut short by Ctrl-C has not finished
                report(phase, next(finished), total)
            return outcome

        return done

    def _blocked(self, change: Change[Any]) -> Outcome | None:
        """The outcome of a change that must not be tried: one it requires did not succeed."""
        if self.runner.clients.cancel.cancelled:
            return Outcome(change, False, interrupted=NOT_STARTED)
        with self._lock:
            failed = [ref for ref in change.requires if ref in self.outcomes and not self.outcomes[ref].ok]
            interrupted = any(self.outcomes[ref].interrupted for ref in failed)
        if not failed:
            return None
        if interrupted:
            return Outcome(change, False, interrupted=NOT_STARTED)
        shown = ", ".join(f"{kind.label} {key}" for kind, key in sorted(failed)[:3]) + (
            ", ..." if len(failed) > 3 else ""
        )
        return Outcome(change, False, f"not tried: {len(failed)} change(s) it needs did not succeed ({shown})")

    def _named(self, fn: Callable[[Change[Any]], Any]) -> Callable[[Change[Any]], Any]:
        """`fn`, with an AccessDenied it raises saying which account and caller it is about."""

        def call(change: Change[Any]) -> Any:
            try:
                return fn(change)
            except AwsError as exc:
                if exc.denied:
                    self.runner._name_the_caller(exc)
                raise

        return call

    def _one(self, kind: Kind[Any, Any], change: Change[Any]) -> Outcome:
        clients = self.runner.clients
        if clients.cancel.cancelled:
            return Outcome(change, False, interrupted=NOT_STARTED)
        writes = clients.log.writes_here()
        try:
            detail = self._named(lambda c: kind.apply(c, self.env))(change)
        except Interrupted as exc:
            if exc.may_have_taken_effect or clients.log.writes_here() > writes:
                return Outcome(change, False, "interrupted before it finished", interrupted=UNKNOWN)
            return Outcome(change, False, interrupted=NOT_STARTED)
        except ProvisionerError as exc:
            # Credentials no later call would fare better with stop the run; AccessDenied on one
            # resource (tag-scoped policies, a delegated administrator) fails this change only.
            if isinstance(exc, AccessError) and not is_denied(exc):
                raise
            return Outcome(change, False, str(exc), getattr(exc, "request_id", None))
        return Outcome(change, True, detail or "")

    def _asynchronous(self, kind: Kind[Any, Any], changes: list[Change[Any]]) -> None:
        """Fire and poll, within the kind's limit of outstanding requests, in the kind's rounds
        (after a timeout, nothing more is fired: run_async says so for every round)."""
        if not changes:
            return
        runner, env, report = self.runner, self.env, self.runner.progress
        batches = kind.batches(changes)
        ordered = [change for batch in batches for change in batch]
        phase, action = _phase(kind, ordered), ordered[0].action
        progress = None
        if report is not None:
            report(phase, 0, len(ordered))

            def progress(n: int, total: int) -> None:
                report(phase, n, total)

        results = run_async(
            ordered,
            fire=self._named(lambda change: kind.fire(change, env)),
            check=lambda request_ids: kind.check(request_ids, env, action),
            conclude=lambda request_ids: kind.conclude(request_ids, env, action),
            parallel=env.parallel,
            limit=kind.limit(runner.settings.limits),
            clock=runner.clients.clock,
            settings=runner.settings.poll,
            progress=progress,
            cancel=runner.clients.cancel,
            rounds=[number for number, batch in enumerate(batches) for _ in batch],
        )
        self.record(_outcomes(ordered, results))


def _phase(kind: Kind[Any, Any], changes: list[Change[Any]]) -> str:
    """What a batch of changes is called while it runs: "users", "deleting assignments"."""
    deleting = changes[0].action is Action.DELETE
    return f"{'deleting ' if deleting else ''}{kind.name.label}s"


def _outcomes(changes: list[Change[Any]], results: list[AsyncOutcome]) -> list[Outcome]:
    return [
        Outcome(change, False, o.reason or "", o.request_id, interrupted=o.status)
        if o.status in (NOT_STARTED, UNKNOWN)
        else Outcome(change, o.ok, "" if o.ok else _failure(o), o.request_id)
        for change, o in zip(changes, results, strict=True)
    ]


def _failure(outcome: AsyncOutcome) -> str:
    """Why a request did not succeed: AWS's FailureReason for FAILED (the line says FAILED
    already), the error for a request that could not be made, else the status and why."""
    reason = outcome.reason or "no reason given"
    return reason if outcome.status in ("FAILED", "ERROR") else f"{outcome.status}: {reason}"


def _dependents_first(change: Change[Any], planned: list[Change[Any]]) -> frozenset[tuple[KindName, str]]:
    """A deletion waits for the deletions of what refers to its object (AWS refuses to delete a
    permission set that keeps an assignment): it is not tried when one of those failed."""
    if change.action is not Action.DELETE:
        return frozenset()
    return frozenset(c.ref for c in planned if c.action is Action.DELETE and change.ref in c.refers_to)


def read(order: list[Kind[Any, Any]], reader: Reader, config: Config, mode: Mode) -> LiveState:
    """Each kind's part of the live state, read with the parts of the kinds it depends on.

    With a parallel reader, each kind is read as soon as those are, so kinds that do not
    depend on each other (the identity store's and the permission sets') are read at once,
    all within the shared rate limits; the first error in dependency order is raised."""
    if reader.parallel is sequential:
        live = LiveState(reader.ctx, reader.now)
        for kind in order:
            live = live.with_part(kind.name, kind.read(reader, config, live, mode))
        return live
    needs = _needs(order)
    with ThreadPoolExecutor(max_workers=len(order)) as pool:
        futures: dict[KindName, Future[Any]] = {}

        def read_one(kind: Kind[Any, Any]) -> Any:
            ready = LiveState(reader.ctx, reader.now)
            for name in needs[kind.name]:
                ready = ready.with_part(name, futures[name].result())  # raises what reading it raised
            return kind.read(reader, config, ready, mode)

        for kind in order:  # a kind is submitted after those it needs: its wait cannot deadlock
            futures[kind.name] = pool.submit(read_one, kind)
        parts = [(kind.name, futures[kind.name].result()) for kind in order]
    live = LiveState(reader.ctx, reader.now)
    for name, part in parts:
        live = live.with_part(name, part)
    return live


def _needs(order: list[Kind[Any, Any]]) -> dict[KindName, list[KindName]]:
    """The kinds each kind depends on, directly or through others, in `order`."""
    needs: dict[KindName, list[KindName]] = {}
    for kind in order:
        wanted = {n for dep in kind.depends_on if dep in needs for n in (dep, *needs[dep])}
        needs[kind.name] = [k.name for k in order if k.name in wanted]
    return needs
