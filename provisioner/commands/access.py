"""`access`: who can reach what, read-only: every user x account x permission set, and how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .common import Options, api_calls, clients, load

if TYPE_CHECKING:
    from ..access import AccessFilters, AccessReport
    from ..context import Context


@dataclass(frozen=True)
class AccessResult:
    ctx: Context
    report: AccessReport
    filters: AccessFilters
    api_calls: dict[str, int]


def access(options: Options, filters: AccessFilters, config_path: str | None = None) -> AccessResult:
    """The access report; with a config, each grant marked declared or not (the config is
    checked before any AWS call)."""
    from .. import access as reach
    from .. import context
    from ..targets import AccountStates, OrganizationTargets

    config = load(config_path) if config_path else None
    api = clients(options, config.region if config else None)
    ctx = context.resolve(api)
    with context.naming_the_caller(ctx):
        targets = OrganizationTargets(api, AccountStates(api))
        resolved = targets.resolve_all(config, ctx) if config else None
        report = reach.read_access(api, ctx, filters, targets, options.now(), config, resolved, config_path)
    return AccessResult(ctx, report, filters, api_calls(api))
