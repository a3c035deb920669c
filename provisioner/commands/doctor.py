"""`doctor`: the checks of where a run works, and with a config, the config's plan from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common import Options, clients, load, runner

if TYPE_CHECKING:
    from ..context import Context
    from ..doctor import Check
    from ..plan import Plan


def doctor(options: Options, config_path: str | None = None) -> list[Check]:
    """Every check; with a config, also its plan errors and warnings (the plan path, read-only),
    and the permission check narrowed to what the config's kinds call."""
    from .. import doctor as checks

    config = load(config_path) if config_path else None
    # One set of clients for the checks and the plan: one session, one rate, one call log.
    api = clients(options, config.region if config else None)
    planned = None
    if config is not None:
        declared = config

        def planned(here: Context) -> Plan:
            return runner(options, declared, api=api, ctx=here).plan()

    return checks.run(api, planned)
