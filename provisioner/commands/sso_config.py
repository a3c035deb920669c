"""`sso-config`: ~/.aws/config profiles for signing in with the AWS CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ProvisionerError
from .common import Options, clients, load


@dataclass(frozen=True)
class SsoConfigResult:
    portal_url: str
    text: str
    profiles: list[str]
    written: dict[str, Any] | None = None  # path, changed, backup


def sso_config(
    options: Options,
    config_path: str,
    user: str | None,
    session_name: str,
    portal_url: str | None,
    write_path: str | None,
) -> SsoConfigResult:
    from .. import access, context
    from ..targets import AccountStates, OrganizationTargets

    config = load(config_path)
    if user is not None and user not in {u.user_name for u in config.users}:
        raise ConfigError(config_path, [("users", f"no user {user!r} is declared; --user must name one")])
    api = clients(options, config.region)
    ctx = context.resolve(api)
    url = access.portal_url(ctx.identity_store_id, portal_url or config.portal_url)
    resolved = OrganizationTargets(api, AccountStates(api)).resolve_all(config, ctx)
    profiles = access.profiles_for(config, ctx, user, resolved)
    if not profiles:
        # A lone sso-session signs in to nothing: say why instead, and write nothing.
        if user:
            groups = ", ".join(next(u.groups for u in config.users if u.user_name == user)) or "none"
            who = f"{user} or their groups ({groups})"
            why = f"{user} reaches no account: no assignment in {config_path} gives {who} a permission set on one"
        else:
            why = f"no declared user reaches any account: {config_path} assigns them no permission set"
        raise ProvisionerError(f"{why}; add one under assignments:, apply it, then run sso-config again")
    text = access.render_sso_config(session_name, url, ctx.region, profiles, ctx.region, ctx.identity_store_id)
    written = None
    if write_path:
        path = Path(write_path).expanduser()
        changed, backup = access.write_merged(path, text, session_name)
        written = {"path": str(path), "changed": changed, "backup": str(backup) if backup else None}
    return SsoConfigResult(url, text, [p.name for p in profiles], written)
