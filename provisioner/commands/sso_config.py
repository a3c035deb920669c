"""`sso-config`: ~/.aws/config profiles for signing in with the AWS CLI."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ProvisionerError, UsageProblem
from .common import Options, clients, load

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..access import ProfileNaming, Written
    from ..config import Config
    from ..context import Context
    from ..targets import AccountStates, Resolution

# What a per-user file name keeps of a user name (which may hold "/", ":" or ".."): letters,
# digits and _.@+=-; any run of other characters becomes one "_".
_UNSAFE_IN_FILE_NAME = re.compile(r"[^\w.@+=-]+")


@dataclass(frozen=True)
class UserConfig:
    """The config text of one user (`user` None: of every declared user together)."""

    user: str | None
    text: str
    profiles: list[str]
    written: Written | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "text": self.text,
            "profiles": self.profiles,
            "written": self.written.to_json() if self.written else None,
        }


@dataclass(frozen=True)
class SsoConfigResult:
    portal_url: str
    configs: list[UserConfig]
    unreached: list[str] = field(default_factory=list)  # with --all-users: users who reach no account
    warnings: list[str] = field(default_factory=list)
    per_user: bool = False  # --all-users: one config per user

    @property
    def text(self) -> str:
        """What is printed: one user's config, or, with --all-users, each after a `# user` line."""
        if not self.per_user:
            return self.configs[0].text
        return "\n".join(f"# user {c.user}\n{c.text}" for c in self.configs)


def user_file_name(user: str) -> str:
    """The file a user's profiles go to in the --all-users folder: <user>.config, made safe."""
    name = _UNSAFE_IN_FILE_NAME.sub("_", user)
    return ("_" + name[1:] if name.startswith(".") else name) + ".config"


def sso_config(
    options: Options,
    config_path: str,
    user: str | None,
    session_name: str,
    portal_url: str | None,
    write_path: str | None,
    profile_name: str | None = None,
    all_users: bool = False,
) -> SsoConfigResult:
    """Profiles of one declared user, of every declared user together, or (`all_users`) of
    each user on their own: one file each in the folder `write_path`. Everything that can be
    refused (the template, names, files that clash) is refused before anything is written."""
    from .. import access, context
    from ..targets import AccountStates, OrganizationTargets

    if user is not None and all_users:
        raise UsageProblem("--user and --all-users exclude each other: name one user, or ask for all")
    try:
        template = access.check_profile_template(profile_name or access.DEFAULT_PROFILE_NAME)
    except ValueError as exc:
        raise UsageProblem(f"Invalid value for '--profile-name': {exc}") from None
    config = load(config_path)
    if user is not None and user not in {u.user_name for u in config.users}:
        raise ConfigError(config_path, [("users", f"no user {user!r} is declared; --user must name one")])
    folder = Path(write_path).expanduser() if write_path and all_users else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise ProvisionerError(f"--all-users writes one file per user into a folder, and {folder} is a file")
    if write_path and not all_users and Path(write_path).expanduser().is_dir():
        raise ProvisionerError(
            f"--write {write_path} is a folder: name the file (e.g. ~/.aws/config), or add --all-users"
        )
    paths = _user_files([u.user_name for u in config.users], folder) if folder is not None else {}
    existing = {  # read once, before any AWS call: a file given by mistake is refused now
        target: access.read_aws_config(target)
        for target in (paths.values() if folder is not None else [Path(write_path).expanduser()] if write_path else [])
    }

    api = clients(options, config.region)
    ctx = context.resolve(api)
    now = options.now()
    url = access.portal_url(ctx.identity_store_id, portal_url or config.portal_url)
    states = AccountStates(api)
    naming = access.ProfileNaming(template)
    warnings: list[str] = []
    with context.naming_the_caller(ctx):  # the Organizations reads
        resolved = OrganizationTargets(api, states).resolve_all(config, ctx)
        if naming.uses_account_names:
            naming, warnings = _with_account_names(naming, states, config, ctx, resolved, now)

    wanted: list[str | None] = [u.user_name for u in config.users] if all_users else [user]
    configs: list[UserConfig] = []
    unreached: list[str] = []
    for name in wanted:
        profiles = access.profiles_for(config, ctx, now, name, resolved, naming)
        if not profiles and all_users and name is not None:
            unreached.append(name)
            continue
        if not profiles:
            raise ProvisionerError(_reaches_nothing(config_path, config, name))
        text = access.render_sso_config(session_name, url, ctx.region, profiles, ctx.region, ctx.identity_store_id)
        configs.append(UserConfig(name, text, [p.name for p in profiles]))
    if not configs:
        raise ProvisionerError(_reaches_nothing(config_path, config, None))

    if write_path:
        targets = {c.user: paths[c.user] if c.user in paths else Path(write_path).expanduser() for c in configs}
        for c in configs:  # every file is checked before any is written: no half-done folder
            access.refuse_clashes(targets[c.user], existing[targets[c.user]], c.text, session_name)
        declared = [u.user_name for u in config.users]
        configs = [
            UserConfig(
                c.user,
                c.text,
                c.profiles,
                access.write_merged(
                    targets[c.user], existing[targets[c.user]], c.text, [c.user] if c.user else declared
                ),
            )
            for c in configs
        ]
    return SsoConfigResult(url, configs, unreached, warnings, all_users)


def _user_files(users: list[str], folder: Path) -> dict[str | None, Path]:
    """User -> their file in `folder`; refused when two users' file names would be one (file
    systems that ignore case included)."""
    taken: dict[str, str] = {}
    out: dict[str | None, Path] = {}
    for user in users:
        name = user_file_name(user)
        if (other := taken.get(name.casefold())) is not None:
            raise ProvisionerError(
                f"--all-users: users {other!r} and {user!r} would both be written to {folder / name}; "
                "rename one of them, or write their profiles one at a time with --user"
            )
        taken[name.casefold()] = user
        out[user] = folder / name
    return out


def _with_account_names(
    naming: ProfileNaming,
    states: AccountStates,
    config: Config,
    ctx: Context,
    resolved: Mapping[int, Resolution],
    now: datetime,
) -> tuple[ProfileNaming, list[str]]:
    """The naming with the account names from AWS Organizations; refused when they cannot be
    read at all, and an account the organization does not name keeps its id (with a warning)."""
    from .. import access

    accounts = access.reached_accounts(config, ctx, resolved, now)
    names = states.names(accounts)
    if states.failure is not None:
        exc = states.failure
        raise ProvisionerError(
            f"--profile-name uses {{account_name}}, but account names could not be read from AWS Organizations "
            f"({exc.code} on {exc.operation}); allow organizations:ListAccounts and DescribeAccount, "
            "or name profiles without {account_name}"
        )
    warnings = [
        f"account {account} has no name in the organization: its profiles use the account id"
        for account in sorted(accounts - names.keys())
    ]
    return replace(naming, account_names=names), warnings


def _reaches_nothing(config_path: str, config: Config, user: str | None) -> str:
    """Why there is nothing to write (a lone sso-session signs in to nothing)."""
    if user:
        groups = ", ".join(next(u.groups for u in config.users if u.user_name == user)) or "none"
        who = f"{user} or their groups ({groups})"
        why = f"{user} reaches no account: no assignment in {config_path} gives {who} a permission set on one"
    else:
        why = f"no declared user reaches any account: {config_path} assigns them no permission set"
    return f"{why}; add one under assignments:, apply it, then run sso-config again"
