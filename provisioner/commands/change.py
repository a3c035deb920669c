"""`apply`, `destroy` and `expire` (and `bootstrap`, which is an apply of the seed): plan, show,
confirm, apply, hand off. What needs a person (showing, asking, Ctrl-C) comes from the CLI
through `Hooks`."""

from __future__ import annotations

import enum
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..kinds.base import Mode  # the CLI says which through ChangeRequest
from .common import api_calls

if TYPE_CHECKING:
    from ..access import Handoff
    from ..context import Context
    from ..plan import ApplyResult, Plan
    from ..runner import Runner


class Decision(enum.Enum):
    GO = "go"
    NO_TERMINAL = "no terminal"  # nobody to ask, and no --yes
    DECLINED = "declined"


class Hooks(Protocol):
    def planned(self, runner: Runner, plan: Plan) -> None:
        """Show the plan (before asking)."""

    def confirm(self, runner: Runner, plan: Plan) -> Decision:
        """Ask whether to apply it."""

    def changing(self, runner: Runner) -> AbstractContextManager[None]:
        """Around the apply: where Ctrl-C cancels the run instead of ending the process."""


@dataclass(frozen=True)
class ChangeRequest:
    command: str  # apply, destroy, expire or bootstrap
    yes: bool = False
    allow_root: bool = False
    portal_url: str | None = None
    mode: Mode = Mode.PLAN  # what the plan brings about: the config, also --prune, or destroy
    expire: bool = False  # only the removals of assignments past their until
    # bootstrap: the user whose AWS CLI profiles the hand-off shows.
    sso_user: str | None = None
    # Runs once the whole plan was applied (or there was nothing to do), never after a run that
    # stopped first (refused, interrupted, or stopped by credentials); what it returns goes with
    # the result.
    after_apply: Callable[[], dict[str, Any]] | None = None


REFUSED_ERRORS = "refusing to apply: the plan has {n} error(s); nothing was changed."
REFUSED_NO_TERMINAL = (
    "refusing to change anything without confirmation: stdin is not a terminal. "
    "Review the plan, then run again with --yes."
)
REFUSED_DECLINED = "Nothing changed."


@dataclass
class ChangeResult:
    command: str
    ctx: Context | None
    plan: Plan
    result: ApplyResult | None = None
    refused: str | None = None  # why nothing was applied
    handoff: Handoff | None = None
    api_calls: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        return self.result is not None and self.result.interrupted

    @property
    def ok(self) -> bool:
        return self.refused is None and (self.result is None or self.result.ok)


def change(runner: Runner, request: ChangeRequest, hooks: Hooks) -> ChangeResult:
    from .. import access

    if request.mode is Mode.DESTROY:
        plan = runner.plan_destroy(allow_root=request.allow_root)
    elif request.expire:
        plan = runner.plan_expirations(allow_root=request.allow_root)
    else:
        plan = runner.plan(allow_root=request.allow_root, prune=request.mode is Mode.PRUNE)
    hooks.planned(runner, plan)
    outcome = ChangeResult(request.command, runner.ctx, plan)
    if plan.errors:
        outcome.refused = REFUSED_ERRORS.format(n=len(plan.errors))
    elif not plan.empty and not request.yes:
        decision = hooks.confirm(runner, plan)
        if decision is Decision.NO_TERMINAL:
            outcome.refused = REFUSED_NO_TERMINAL
        elif decision is Decision.DECLINED:
            outcome.refused = REFUSED_DECLINED
    if outcome.refused is None:
        with hooks.changing(runner):
            outcome.result = runner.apply(plan) if not plan.empty else None
        # An interrupted (or stopped) run hands nothing off and writes nothing: what it made is in
        # the outcomes, and the next run finishes the job.
        stopped = outcome.result is not None and outcome.result.stopped is not None
        finished = not outcome.interrupted and not stopped
        if finished and request.after_apply:
            outcome.extra = request.after_apply()
        if request.mode is not Mode.DESTROY and not request.expire and finished:
            assert runner.ctx is not None and runner.live is not None
            outcome.handoff = access.handoff(
                runner.ctx, runner.config, outcome.result, request.portal_url, request.sso_user, runner.live.now
            )
    outcome.api_calls = api_calls(runner.clients)
    return outcome
