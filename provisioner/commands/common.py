"""What the commands share: the options every command takes, and building clients and runners
from them. No click here: the CLI parses, these functions do the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from .. import quotas

if TYPE_CHECKING:
    from ..aws import Clients
    from ..config import Config
    from ..context import Context
    from ..retry import Cancellation
    from ..runner import Progress, Runner


@dataclass(frozen=True)
class Options:
    """The options every command takes (the CLI's global options). Their defaults are the
    CLI's, taken from where the library keeps them."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    max_rps: float = quotas.SSO_ADMIN_TPS  # per service: sso-admin and identitystore each
    workers: int = quotas.WORKERS
    retry_budget: float = quotas.RETRY_BUDGET_SECONDS
    # Told of each retry (verbose output), and of the progress of asynchronous work.
    on_retry: Callable[[str, BaseException, float], None] | None = None
    progress: Progress | None = None
    # What time it is: assignments' until is judged by it (replaced in tests).
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


def load(path: str, prune: bool = False) -> Config:
    """The config file, validated (and, for --prune, checked to have an owner of its own)."""
    from .. import config

    loaded = config.load(path)
    if prune:
        config.check_prunable(loaded, path)
    return loaded


def clients(options: Options, config_region: str | None = None, cancel: Cancellation | None = None) -> Clients:
    from ..aws import Clients, ClientSettings
    from ..retry import RetrySettings

    settings = ClientSettings(
        region=options.region or config_region,
        profile=options.profile,
        endpoint_url=options.endpoint_url,
        sso_admin_tps=options.max_rps,
        identity_store_tps=options.max_rps,
        retry=RetrySettings(deadline=options.retry_budget),
    )
    return Clients.from_settings(settings, on_retry=options.on_retry, cancel=cancel)


def runner(
    options: Options,
    config: Config,
    poll_timeout: float | None = None,
    poll_interval: float | None = None,
    api: Clients | None = None,
    ctx: Context | None = None,
) -> Runner:
    """A run of `config`; on `api` and in `ctx` when the command has them already."""
    from ..retry import Cancellation, PollSettings
    from ..runner import Runner, RunSettings

    # Looks at asynchronous requests are never closer together than one call's share of the rate.
    poll = PollSettings(min_interval=1.0 / options.max_rps)
    if poll_timeout:
        poll = replace(poll, timeout=poll_timeout)
    if poll_interval:
        poll = replace(poll, first_delay=poll_interval)
    settings = RunSettings(poll=poll, workers=options.workers, now=options.now)
    api = api or clients(options, config.region, Cancellation())
    return Runner(api, config, settings, progress=options.progress, ctx=ctx)


def api_calls(clients: Clients) -> dict[str, int]:
    """API calls a run made, by service:Operation (retries included)."""
    return dict(sorted(clients.log.counts.items()))
