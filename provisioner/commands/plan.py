"""`plan`: what apply would change. Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .common import Options, api_calls, load, runner

if TYPE_CHECKING:
    from ..context import Context
    from ..plan import Plan


@dataclass(frozen=True)
class PlanResult:
    ctx: Context | None
    plan: Plan
    api_calls: dict[str, int]


def plan(options: Options, config_path: str, prune: bool = False) -> PlanResult:
    config = load(config_path, prune)
    run = runner(options, config)
    found = run.plan(prune=prune)
    return PlanResult(run.ctx, found, api_calls(run.clients))
