"""The handoff: where people sign in, what new users still need, and ~/.aws/config profiles;
and who can reach what (the access report)."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import files
from .config import Config
from .context import CURRENT_ACCOUNT, Context
from .errors import ACCESS_CODES, AwsError, ProvisionerError
from .kinds.assignments import Assignment, PrincipalType, Row, desired_assignments, read_by_principal, read_each_set
from .kinds.base import ADOPTED, Reader
from .kinds.groups import KIND as GROUP_KIND
from .kinds.identities import Listing, Principal, PrincipalKind
from .kinds.memberships import groups_of, members_of
from .kinds.permission_sets.live import attached, describe_all, describe_each, inline_of, refuse_unknown_sets
from .kinds.users import KIND as USER_KIND
from .plan import Action, ApplyResult, KindName
from .targets import NOT_IN_USE, OrganizationTargets, Resolution

if TYPE_CHECKING:
    from .aws import Clients

CONSOLE_OTP_PATH = 'IAM Identity Center > Settings > Authentication > "Send email OTP for users created from API"'
CONSOLE_VERIFY_PATH = 'IAM Identity Center > Users > USER > "Send email verification link"'


def portal_url(identity_store_id: str, override: str | None = None) -> str:
    """The access portal: a custom URL when given, else https://<identity store id>.awsapps.com/start."""
    return override or f"https://{identity_store_id}.awsapps.com/start"


def handoff_text(portal: str, new_users: list[tuple[str, str]]) -> str:
    """What to tell the operator after a run: the portal, and what new users must do."""
    lines = [f"Access portal: {portal}"]
    if new_users:
        listed = ", ".join(f"{name} <{email}>" for name, email in new_users)
        lines += [
            "",
            f"Next, for the user(s) created in this run ({listed}):",
            "  users created by API receive no invitation email and have no password. Either turn on",
            f"    {CONSOLE_OTP_PATH}",
            "  so their first sign-in works with a one-time code sent by email, or send each one",
            f"    {CONSOLE_VERIFY_PATH}.",
            "  Then they sign in at the portal, register an MFA device, and choose an account and",
            "  permission set to open the console or copy temporary credentials.",
        ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Handoff:
    """What to tell the operator after a run: the portal, the users it created (they need a
    first sign-in email), and, for bootstrap, the AWS CLI profiles of its user."""

    portal_url: str
    new_users: tuple[str, ...]
    text: str
    aws_config: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"portal_url": self.portal_url, "new_users": list(self.new_users), "text": self.text}
        if self.aws_config is not None:
            out["aws_config"] = self.aws_config
        return out


def handoff(
    ctx: Context, config: Config, result: ApplyResult | None, portal: str | None, sso_user: str | None, now: datetime
) -> Handoff:
    url = portal_url(ctx.identity_store_id, portal or config.portal_url)
    created = [
        (o.change.payload.user_name, o.change.payload.email)
        for o in (result.outcomes if result else [])
        if o.ok and o.change.kind is KindName.USER and o.change.action is Action.CREATE and o.detail != ADOPTED
    ]
    text = handoff_text(url, created)
    if sso_user is None:
        return Handoff(url, tuple(name for name, _ in created), text)
    # No profile for an assignment this run failed to make (or did not try): it would not sign in.
    missing = {
        (o.change.payload.permission_set, o.change.payload.account)
        for o in (result.outcomes if result else [])
        if not o.ok and o.change.kind is KindName.ASSIGNMENT and o.change.action is Action.CREATE
    }
    profiles = [p for p in profiles_for(config, ctx, now, sso_user) if (p.role, p.account_id) not in missing]
    sso = render_sso_config("identity-center", url, ctx.region, profiles, ctx.region, ctx.identity_store_id)
    if profiles:
        text += (
            f"\n\nAWS CLI profiles for {sso_user} (add to ~/.aws/config, or run "
            "`provisioner sso-config -f CONFIG --write ~/.aws/config`):\n\n"
            + sso
            + f"\nThen: aws sso login --profile {profiles[0].name}"
        )
    return Handoff(url, tuple(name for name, _ in created), text, sso)


@dataclass(frozen=True, order=True)
class Profile:
    name: str
    account_id: str
    role: str  # the permission set name (sso_role_name)
    users: tuple[str, ...] = field(default=(), compare=False)  # the declared users it is written for


# Profile names: `--profile-name` fills these fields; the default is stable and readable.
DEFAULT_PROFILE_NAME = "{permission_set}-{account_id}"
PROFILE_FIELDS = ("account_name", "account_id", "permission_set")
# What a profile name keeps; any run of other characters, with the hyphens around it, becomes one
# "-". (An account name may be any text: the Organizations model's AccountName pattern is [\s\S]*.)
_UNSAFE_IN_PROFILE = re.compile(r"-*[^A-Za-z0-9_.@+=-]+-*")


def check_profile_template(template: str) -> str:
    """The template itself when it names only known fields; else ValueError saying why."""
    fields = ", ".join("{" + f + "}" for f in PROFILE_FIELDS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a template ({exc}); write a literal brace as {{{{ or }}}}") from None
    named = [(name, spec, conversion) for _, name, spec, conversion in parsed if name is not None]
    for name, spec, conversion in named:
        if name not in PROFILE_FIELDS:
            raise ValueError(f"{template!r} names {{{name}}}: the fields are {fields}")
        if spec or conversion:
            raise ValueError(f"{template!r}: {{{name}}} takes no format or conversion")
    if not named:
        raise ValueError(f"{template!r} names no field, so every profile would get that one name: use {fields}")
    return template


def safe_profile_name(text: str) -> str:
    """`text` as a profile name: runs of characters other than ASCII letters, digits and
    _.@+=- become one "-", with none at either end ("Prod | web-Admin" -> "Prod-web-Admin")."""
    return _UNSAFE_IN_PROFILE.sub("-", text).strip("-")


@dataclass(frozen=True)
class ProfileNaming:
    """How profiles are named: a template over the account name, account id and permission
    set; `account_names` from AWS Organizations (an account without one is named by its id)."""

    template: str = DEFAULT_PROFILE_NAME
    account_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def uses_account_names(self) -> bool:
        return "account_name" in {name for _, name, _, _ in string.Formatter().parse(self.template)}

    def name(self, permission_set: str, account_id: str) -> str:
        text = self.template.format(
            account_name=self.account_names.get(account_id, account_id),
            account_id=account_id,
            permission_set=permission_set,
        )
        return safe_profile_name(text) or safe_profile_name(f"{permission_set}-{account_id}")


def reached_accounts(
    config: Config, ctx: Context, resolved: Mapping[int, Resolution] | None, now: datetime
) -> set[str]:
    """The accounts the config assigns anything on (and that has not expired)."""
    return {a.account for a in desired_assignments(config, ctx, resolved, now)}


def profiles_for(
    config: Config,
    ctx: Context,
    now: datetime,
    user: str | None = None,
    resolved: Mapping[int, Resolution] | None = None,
    naming: ProfileNaming | None = None,
) -> list[Profile]:
    """One profile per (permission set x account) that `user` (or any declared user) reaches
    through their groups or directly. Two roles that would get one profile name are refused."""
    naming = naming or ProfileNaming()
    groups_of = {u.user_name: set(u.groups) for u in config.users}
    if user is not None and user not in groups_of:
        raise KeyError(user)
    wanted = [user] if user else list(groups_of)
    reached_by: dict[Profile, set[str]] = {}
    for a in desired_assignments(config, ctx, resolved, now):
        for name in wanted:
            if (a.principal_type == "USER" and a.principal == name) or (
                a.principal_type == "GROUP" and a.principal in groups_of[name]
            ):
                profile = Profile(naming.name(a.permission_set, a.account), a.account, a.permission_set)
                reached_by.setdefault(profile, set()).add(name)
    reachable = {replace(p, users=tuple(sorted(users))) for p, users in reached_by.items()}
    roles: dict[str, list[Profile]] = {}
    for profile in sorted(reachable):
        roles.setdefault(profile.name, []).append(profile)
    if clashing := {name: found for name, found in roles.items() if len(found) > 1}:
        name, found = next(iter(clashing.items()))
        listed = " and ".join(f"{p.role} on {p.account_id}" for p in found)
        raise ProvisionerError(
            f"the profile name template {naming.template!r} names {len(found)} roles {name!r} ({listed}); "
            "add {permission_set} or {account_id} to it (--profile-name) so that each gets its own profile"
        )
    return sorted(reachable)


# The mark on each section sso-config writes: `--write` replaces only sections that carry it
# for the same identity store, so it never re-points or rewrites a profile someone else owns.
# A profile's mark also names the users it is written for (JSON, ASCII only, so any user name
# fits), so that a run for one user never removes a profile another user still reaches; marks
# of earlier versions name nobody, and those profiles are never removed. A whole-line comment:
# botocore's loader (configparser) ignores it.
OWNER_MARK = "# written by provisioner sso-config for identity store {store}; delete this line to keep your edits"
USERS_MARK = (
    "# written by provisioner sso-config for identity store {store}; users {users}; "
    "delete this line to keep your edits"
)
_OWNER = re.compile(r"^\s*#\s*written by provisioner sso-config for identity store (\S+?);")
_USERS = "users "


def _mark(store: str, users: Iterable[str] | None) -> str:
    """The mark of a section written for this store (and, for a profile, these users)."""
    if users is None:
        return OWNER_MARK.format(store=store)
    return USERS_MARK.format(store=store, users=json.dumps(sorted(users)))


def render_sso_config(
    session_name: str, start_url: str, sso_region: str, profiles: list[Profile], region: str, identity_store_id: str
) -> str:
    """The ~/.aws/config text: one sso-session section and one profile per reachable role,
    each marked as written by provisioner for this identity store (and the profile's users)."""
    out = [
        f"[sso-session {session_name}]",
        _mark(identity_store_id, None),
        f"sso_start_url = {start_url}",
        f"sso_region = {sso_region}",
        "sso_registration_scopes = sso:account:access",
        "",
    ]
    for profile in profiles:
        out += [
            f"[profile {profile.name}]",
            _mark(identity_store_id, profile.users or None),
            f"sso_session = {session_name}",
            f"sso_account_id = {profile.account_id}",
            f"sso_role_name = {profile.role}",
            f"region = {region}",
            "",
        ]
    return "\n".join(out)


# A section header as configparser (so botocore and the AWS CLI) finds one: matched at the
# start of the stripped line, "very permissive" (its SECTCRE).
_HEADER = re.compile(r"\[(?P<header>.+)\]")


def _sections(text: str) -> list[tuple[str | None, list[str]]]:
    """Split an INI text into (header, lines) blocks, keeping every line verbatim. A header is
    what configparser takes for one: not a line indented deeper than the setting above it,
    which continues that setting's value (blank and comment lines do not end a value)."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    indent: int | None = None  # of the setting whose value deeper lines continue
    for line in text.splitlines(keepends=True):
        if _is_setting(line):
            depth = len(line) - len(line.lstrip())
            match = None if indent is not None and depth > indent else _HEADER.match(line.strip())
            if match:
                blocks.append((" ".join(match.group("header").split()), [line]))
                indent = None
                continue
            if indent is None or depth <= indent:
                indent = depth
        blocks[-1][1].append(line)
    return blocks


def _is_setting(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith(("#", ";"))


def _split_trailing(lines: list[str]) -> tuple[list[str], list[str]]:
    """(the section itself, the blank and comment lines after its last setting). Those trailing
    comments usually introduce the next section, so they stay when the section is replaced."""
    end = max((i for i, line in enumerate(lines) if i == 0 or _is_setting(line)), default=0) + 1
    return lines[:end], lines[end:]


def _owner(lines: list[str]) -> str | None:
    """The identity store a section was written for, or None when provisioner did not write it."""
    return next((m.group(1) for m in map(_OWNER.match, lines) if m), None)


def _users(lines: list[str]) -> frozenset[str] | None:
    """The users a profile was written for; None when its mark does not say (or there is none)."""
    for line in lines:
        if match := _OWNER.match(line):
            rest = line[match.end() :].strip()
            if not rest.startswith(_USERS):
                return None
            try:
                users, _ = json.JSONDecoder().raw_decode(rest, len(_USERS))
            except ValueError:
                return None
            listed = isinstance(users, list) and all(isinstance(u, str) for u in users)
            return frozenset(users) if listed else None
    return None


def _remarked(lines: list[str], users: Iterable[str] | None) -> list[str]:
    """A section's lines with its mark naming these users (None: nobody, as earlier versions wrote it)."""
    out = []
    for line in lines:
        if match := _OWNER.match(line):
            line = _mark(match.group(1), users) + line[len(line.rstrip("\r\n")) :]
        out.append(line)
    return out


def _settings(lines: list[str]) -> dict[str, str]:
    pairs = (line.partition("=") for line in lines[1:] if _is_setting(line))
    return {key.strip().lower(): value.strip() for key, _, value in pairs}


def clashes(existing: str, generated: str) -> list[str]:
    """Why sections of `existing` that `generated` would replace are not ours to replace:
    they lack our mark (and differ), or carry it for another identity store."""
    new_blocks = {h: lines for h, lines in _sections(generated) if h is not None}
    problems = []
    for header, lines in _sections(existing):
        if header is None or header not in new_blocks:
            continue
        ours, owner = _owner(new_blocks[header]), _owner(lines)
        if owner == ours or (owner is None and _settings(lines) == _settings(new_blocks[header])):
            continue  # ours, or equal to ours (written by hand or before sections were marked)
        whose = f"provisioner wrote it for identity store {owner}" if owner else "provisioner did not write it"
        url = _settings(lines).get("sso_start_url")
        problems.append(f"[{header}] ({whose}" + (f"; it signs in at {url}" if url else "") + ")")
    return problems


def _earlier(existing: str, generated: str) -> list[tuple[str, list[str]]]:
    """The profiles of `existing` that sso-config wrote for the same identity store and
    sso-session as `generated`, and that `generated` no longer has. (Profiles of another
    session may be another person's: they are never among them.)"""
    new_headers = {h for h, _ in _sections(generated) if h is not None}
    store = _owner(generated.splitlines())
    session = next((h.split(" ", 1)[1] for h in sorted(new_headers) if h.startswith("sso-session ")), None)
    return [
        (header, lines)
        for header, lines in _sections(existing)
        if header is not None
        and header.startswith("profile ")
        and header not in new_headers
        and _owner(lines) == store
        and _settings(lines).get("sso_session") == session
    ]


def _still_for(lines: list[str], users: frozenset[str]) -> frozenset[str] | None:
    """Whom an earlier profile is still written for once `users`, who no longer reach it, are
    taken off; None when none of them is among those it names (or it names nobody)."""
    before = _users(lines)
    if before is None or not before & users:
        return None
    return before - users


def stale_profiles(existing: str, generated: str, users: Iterable[str]) -> list[str]:
    """The profiles sso-config wrote for `users` alone (and this store and session) that
    `generated` no longer has: none of those it was written for reaches it any more."""
    run = frozenset(users)
    return [header for header, lines in _earlier(existing, generated) if _still_for(lines, run) == frozenset()]


def unproven_profiles(existing: str, generated: str) -> list[str]:
    """The profiles an earlier sso-config wrote (this store and session) without naming for
    whom, that `generated` does not have: whether anyone still reaches them is unknown."""
    return [header for header, lines in _earlier(existing, generated) if _users(lines) is None]


def merge(existing: str, generated: str, users: Iterable[str] = ()) -> str:
    """`existing` with the sections of `generated` replaced or appended, and the profiles
    that `users` (those the run is for) were the last to reach removed (see stale_profiles);
    each profile's mark names whom it is written for now; the rest untouched.
    Check `clashes` first: this replaces whatever section has a generated header."""
    run = frozenset(users)
    new_blocks = {h: lines for h, lines in _sections(generated) if h is not None}
    earlier = dict(_earlier(existing, generated))
    store = _owner(generated.splitlines())
    out: list[str] = []
    seen: set[str] = set()
    removed = False
    for header, lines in _sections(existing):
        if header is not None and header in new_blocks:
            block = _split_trailing(new_blocks[header])[0]
            if header.startswith("profile ") and _owner(lines) == store:
                before = _users(lines)  # the others it was written for stay named
                block = _remarked(block, None if before is None else (before - run) | (_users(block) or set()))
            out.extend(block + _split_trailing(lines)[1])
            seen.add(header)
        elif header is not None and header in earlier and (left := _still_for(lines, run)) is not None:
            if left:
                out.extend(_remarked(lines, left))
            else:  # its comments introduce the next section; its blank lines go with it
                out.extend(line for line in _split_trailing(lines)[1] if line.strip())
                removed = True
        else:
            out.extend(lines)
    text = "".join(out)
    if removed and text.endswith("\n\n") and not existing.endswith("\n\n"):
        text = text.rstrip("\n") + "\n"  # the last section went: not the blank line before it
    missing = [h for h in new_blocks if h not in seen]
    if missing:
        if text and not text.endswith("\n"):
            text += "\n"
        if text and not text.endswith("\n\n"):
            text += "\n"
        text += "".join(line for h in missing for line in new_blocks[h])
    return text


def refuse_unparsable(path: Path) -> None:
    """A clear error, before anything is written, when `path` exists but is not an AWS config
    file as botocore (and so the AWS CLI) reads it: merging into it would hide a mistake
    (`[profile broken`) or damage another file given by mistake (the YAML config)."""
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import ConfigParseError

    if not path.is_file():
        return
    try:
        raw_config_parse(str(path))
    except ConfigParseError as exc:
        lines = (files.read_existing(path) or "").splitlines()
        raise ProvisionerError(
            f"{path} is not an AWS config file ({_parse_problem(exc.kwargs.get('error'), lines)}); nothing was "
            "written. Fix that line, or give --write your AWS config file (e.g. ~/.aws/config)"
        ) from None


def _parse_problem(error: object, lines: list[str]) -> str:
    """Where configparser stopped reading a file, and why, in a few words. A line it cannot
    read at all is named first (read loosely, duplicates allowed): a broken header otherwise
    shows only as the setting after it being set twice in the section above."""
    import configparser

    loose = configparser.RawConfigParser(strict=False)
    try:
        loose.read_string("\n".join(lines))
    except configparser.MissingSectionHeaderError as exc:
        return _unreadable_line(exc.lineno, lines, "comes before any [section] header")
    except configparser.ParsingError as exc:
        return _unreadable_line(exc.errors[0][0], lines, "is neither a [section] header nor a setting (key = value)")
    except configparser.Error:
        pass
    if isinstance(error, configparser.DuplicateSectionError):
        return f"line {error.lineno}: [{error.section}] is there twice"
    if isinstance(error, configparser.DuplicateOptionError):
        return f"line {error.lineno}: {error.option} is set twice in [{error.section}]"
    return str(error).splitlines()[0] if str(error) else "not an INI file"


def _unreadable_line(lineno: int, lines: list[str], why: str) -> str:
    text = lines[lineno - 1].strip()
    if text.startswith("[") and not _HEADER.match(text):
        why = "is not a section header: it has no closing ]"
    return f"line {lineno}: {text!r} {why}"


@dataclass(frozen=True)
class Written:
    """What `--write` did to one file."""

    path: Path
    changed: bool
    backup: Path | None
    removed: tuple[str, ...] = ()  # profiles it had written that are no longer reached
    created: bool = False  # there was no file before
    unproven: tuple[str, ...] = ()  # profiles an earlier version wrote without naming for whom: left

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "changed": self.changed,
            "created": self.created,
            "backup": str(self.backup) if self.backup else None,
            "removed": list(self.removed),
            "unproven": list(self.unproven),
        }


def read_aws_config(path: Path) -> str:
    """The text of `path` ("" when there is none), once it is known to be an AWS config file
    (see refuse_unparsable)."""
    refuse_unparsable(path)
    return files.read_existing(path) or ""


def refuse_clashes(path: Path, existing: str, generated: str, session_name: str) -> None:
    """A clear error, before anything is written, when `existing` (the text of `path`) holds a
    section that `generated` would replace and provisioner did not write for this store."""
    if found := clashes(existing, generated):
        session = f"[sso-session {session_name}]"
        store = _owner(generated.splitlines())
        fixes = []
        if any(c.startswith(session) for c in found):
            fixes.append(f"choose another session name (e.g. --session-name {session_name}-{store})")
        if any(not c.startswith(session) for c in found):
            fixes.append(f"rename or delete those profiles in {path}")
        raise ProvisionerError(
            f"{path} has sections sso-config would replace but does not own: {'; '.join(found)}. "
            f"Nothing was written. To go on, {' and '.join(fixes)}, then run again."
        )


def write_merged(path: Path, existing: str, generated: str, users: Iterable[str] = ()) -> Written:
    """Merge `generated` into `path`, whose text is `existing` (checked with refuse_clashes),
    removing the profiles it wrote for `users` (the run's) alone that none of them reaches any
    more; back the old file up first. Idempotent."""
    created = not path.exists()
    removed = tuple(h.split(" ", 1)[1] for h in stale_profiles(existing, generated, users))
    unproven = tuple(h.split(" ", 1)[1] for h in unproven_profiles(existing, generated))
    changed, backup = files.write_with_backup(path, merge(existing, generated, users))
    return Written(path, changed, backup, removed, created and changed, unproven)


# -- who can reach what ----------------------------------------------------------------------
# AWS managed policies that make a permission set admin-grade: full access, IAM (which can grant
# any other), and those that administer IAM Identity Center itself (AWSSSOMasterAccountAdministrator,
# AWSSSOMemberAccountAdministrator, AWSSSODirectoryAdministrator).
ADMIN_POLICIES = frozenset({"AdministratorAccess", "IAMFullAccess"})
ADMIN_POLICY_PATTERN = re.compile(r"AWSSSO\w*Administrator")
INLINE_ALLOWS_ALL = "inline policy allows * on *"
ACCOUNT_ID = re.compile(r"[0-9]{12}")


def _reads() -> frozenset[str]:
    """Every read a run may make: finding where it works, and each kind's reads (derived from
    what they declare, so the list cannot miss one they call)."""
    from . import context
    from .aws import is_write
    from .kinds import declared_actions

    return frozenset(a for a in context.ACTIONS | declared_actions() if not is_write(a.split(":", 1)[1]))


# What `provisioner access` may call (it reads as a run does): a read-only role needs these.
REPORT_ACTIONS = _reads()


def admin_reasons(managed_policy_arns: Iterable[str], inline_policy: str | None) -> list[str]:
    """Why a permission set is admin-grade (empty when it is not): the admin-grade AWS managed
    policies it has, and an inline policy that allows every action on every resource."""
    reasons = []
    for arn in sorted(managed_policy_arns):
        if ":iam::aws:policy/" not in arn:
            continue  # only AWS managed policies are known by their name
        name = arn.rsplit("/", 1)[1]
        if name in ADMIN_POLICIES or ADMIN_POLICY_PATTERN.fullmatch(name):
            reasons.append(name)
    if inline_policy and allows_everything(inline_policy):
        reasons.append(INLINE_ALLOWS_ALL)
    return reasons


def allows_everything(policy: str) -> bool:
    """Whether a policy document has a statement allowing every action (`*`, `*:*`) on every
    resource (`*`), with or without a condition."""
    try:
        document = json.loads(policy)
    except json.JSONDecodeError:
        return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in [statements] if isinstance(statements, dict) else statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if _any_of(statement.get("Action"), {"*", "*:*"}) and _any_of(statement.get("Resource"), {"*"}):
            return True
    return False


def _any_of(value: Any, wanted: set[str]) -> bool:
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return any(v in wanted for v in values)


@dataclass(frozen=True)
class Grant:
    """One way a user reaches a permission set on an account: assigned to the user directly,
    or to a group the user is in."""

    user: str
    account_id: str
    permission_set: str
    group: str | None = None  # None: assigned to the user directly
    account_name: str | None = None
    # Why the set is admin-grade (empty: it is not; None: it could not be read).
    admin: tuple[str, ...] | None = ()
    # With a config: whether it declares this way in (the assignment, and the membership).
    declared: bool | None = None

    @property
    def via(self) -> str:
        return "direct" if self.group is None else "group"

    @property
    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (self.user, self.account_id, self.permission_set, self.via, self.group or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "permission_set": self.permission_set,
            "via": self.via,
            "group": self.group,
            "admin": None if self.admin is None else bool(self.admin),
            "admin_reasons": list(self.admin or ()),
            "declared": self.declared,
        }


@dataclass(frozen=True)
class AccessFilters:
    """What to report on: these users, accounts (ids, `current` or names) and permission sets
    (each empty: all)."""

    users: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    permission_sets: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {
            "users": list(self.users),
            "accounts": list(self.accounts),
            "permission_sets": list(self.permission_sets),
        }


@dataclass
class AccessReport:
    """Every grant found, sorted; the admin-grade permission sets among theirs (name -> why);
    and what the reader has to say about what it could not read."""

    grants: list[Grant]
    admin_sets: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    config: str | None = None  # the config the grants were checked against
    filtered: bool = False  # only some users, accounts or permission sets were asked for

    def summary(self) -> dict[str, int | None]:
        return {
            "grants": len(self.grants),
            "users": len({g.user for g in self.grants}),
            "accounts": len({g.account_id for g in self.grants}),
            "permission_sets": len({g.permission_set for g in self.grants}),
            "admin": sum(1 for g in self.grants if g.admin),
            "undeclared": None if self.config is None else sum(1 for g in self.grants if g.declared is False),
        }


class _Readings:
    """What the access report reads, bounded by the principals and sets that hold assignments."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.clients, self.ctx, self.states, self.targets = reader.clients, reader.ctx, reader.accounts, reader.targets
        self.store = reader.ctx.identity_store_id
        self.notes: list[str] = []
        self.warnings: list[str] = []

    def accounts(self, wanted: tuple[str, ...]) -> set[str] | None:
        """The account ids `--account` names (ids, `current`, or names in the organization)."""
        if not wanted:
            return None
        ids = {self.ctx.account(a) for a in wanted if a == CURRENT_ACCOUNT or ACCOUNT_ID.fullmatch(a)}
        self._check_ids(sorted(a for a in wanted if ACCOUNT_ID.fullmatch(a)))
        names = [a for a in wanted if a != CURRENT_ACCOUNT and not ACCOUNT_ID.fullmatch(a)]
        if not names:
            return ids
        try:
            listed = self.targets.accounts()
        except AwsError as exc:
            if exc.code not in ACCESS_CODES | {NOT_IN_USE}:
                raise
            raise ProvisionerError(
                f"--account {names[0]}: account names come from AWS Organizations, which could not be read "
                f"({exc.code} on {exc.operation}); give the 12-digit account id instead"
            ) from None
        for name in names:
            matching = {account_id for account_id, a in listed.items() if a.get("Name") == name}
            if not matching:
                raise ProvisionerError(
                    f"--account {name}: no account of the organization has that name (names match exactly); "
                    "give its 12-digit id, or its name as the organization spells it"
                )
            ids |= matching
        return ids

    def _check_ids(self, ids: list[str]) -> None:
        """Refuse an account id the organization does not have (the names it reads serve the
        report later); when Organizations cannot be read, the ids are taken as given, with a note."""
        if not ids:
            return
        named = self.states.names(ids)
        if (exc := self.states.failure) is not None:
            self.notes.append(
                f"--account {', '.join(ids)} could not be checked against AWS Organizations "
                f"({exc.code} on {exc.operation}): taken as given"
            )
        elif unknown := [account for account in ids if account not in named]:
            raise ProvisionerError(
                f"--account {unknown[0]}: no account of the organization has that id; "
                "check it (`aws organizations list-accounts`), or give the account's name"
            )

    def for_users(self, users: tuple[str, ...]) -> tuple[set[Row], dict[str, str], dict[str, set[str]]]:
        """The assignments of these users and of their groups: (rows, user id -> name, group id ->
        the user ids among these that are in it)."""
        ids: dict[str, str] = {}
        for name in users:
            user_id = USER_KIND.find_id(self.clients, self.store, name)
            if user_id is None:
                raise ProvisionerError(f"--user {name}: identity store {self.store} has no user with that UserName")
            ids[user_id] = name
        members: dict[str, set[str]] = {}
        for user_id in ids:
            for group_id in groups_of(self.clients, self.store, user_id):
                members.setdefault(group_id, set()).add(user_id)
        principals: list[tuple[PrincipalType, str]] = [("USER", u) for u in ids]
        principals += [("GROUP", g) for g in members]
        return read_by_principal(self.clients, self.ctx, principals), ids, members

    def for_sets(self, arns: Iterable[str], accounts: set[str] | None) -> set[Row]:
        """Every assignment of these sets (on `accounts`), whoever holds it; a set the caller may
        not list is named in a warning."""
        rows, unlisted = read_each_set(self.clients, self.ctx, {arn: arn for arn in arns}, accounts)
        self.warnings += [
            f"the assignments of permission set {arn} could not be listed ({action} denied)"
            for arn, action in sorted(unlisted.items())
        ]
        return rows

    def members(self, group_ids: Iterable[str]) -> dict[str, set[str]]:
        """Group id -> the user ids in it: one listing per group that holds an assignment."""
        out: dict[str, set[str]] = {}
        for group_id in sorted(set(group_ids)):
            try:
                out[group_id] = set(members_of(self.clients, self.store, group_id)[0])  # listed whole
            except AwsError as exc:
                if exc.code != "ResourceNotFoundException":
                    raise
                out[group_id] = set()
        return out

    def principals(self, kind: PrincipalKind[Any], ids: Iterable[str]) -> dict[str, Principal]:
        """Id -> the user (or group) as the identity store has it, for these principals, at about
        the cost of the cheaper way: the directory's listing while that is cheaper (see
        `Listing`), then one Describe for each of the rest. A principal that no longer exists
        is left out."""
        wanted = set(ids)
        found: dict[str, Principal] = {}
        if not wanted:
            return found
        store, reader = self.store, self.reader
        pages = reader.clients.identitystore.each_page(lambda c, more: kind.page(c, store, more), kind.result_key)
        listing = Listing(pages)
        for item in listing.items(lambda: len(wanted - found.keys())):  # one Describe each
            if (principal_id := item[kind.id_key]) in wanted:
                found[principal_id] = Principal(principal_id, item.get(kind.natural_key, principal_id), item)
        if listing.complete:
            return found  # the whole directory was read: the others are gone
        return {**found, **kind.describe_ids(reader, wanted - found.keys())}

    def set_names(self, arns: Iterable[str]) -> dict[str, str]:
        """ARN -> name of these permission sets (one Describe each); a set the caller may not
        describe keeps its ARN, with a warning."""
        described, unreadable = describe_each(self.clients, self.ctx, sorted(set(arns)))
        self.warnings += [
            f"permission set {arn} could not be described ({action} denied): shown by ARN"
            for arn, action in sorted(unreadable.items())
        ]
        return {str(d["PermissionSetArn"]): name for name, d in described.items()}

    def admin(self, arn: str, name: str) -> tuple[str, ...] | None:
        """Why a set is admin-grade; None (with a warning) when its policies may not be read."""
        try:
            managed = attached(self.clients, self.ctx.instance_arn, arn)
            inline = inline_of(self.clients, self.ctx.instance_arn, arn)
        except AwsError as exc:
            if not exc.denied:
                raise
            self.warnings.append(
                f"whether permission set {name} is admin-grade is unknown: its policies could not be read "
                f"({exc.action} denied)"
            )
            return None
        return tuple(admin_reasons(managed, inline))

    def account_names(self, accounts: Iterable[str]) -> dict[str, str]:
        names = self.states.names(accounts)
        if self.states.failure is not None:
            exc = self.states.failure
            self.notes.append(
                f"account names could not be read from AWS Organizations ({exc.code} on {exc.operation}): "
                "accounts are shown by id"
            )
        return names


@dataclass
class _Assignments:
    """What the report read of the assignments: the rows, set ARN -> name, group id -> the user
    ids in it (with --user, the wanted users among them), and, with --user, user id -> name."""

    rows: set[Row]
    set_names: dict[str, str]
    members: dict[str, set[str]]
    wanted_users: dict[str, str] | None = None


def read_access(
    clients: Clients,
    ctx: Context,
    filters: AccessFilters,
    targets: OrganizationTargets,
    now: datetime,
    config: Config | None = None,
    resolved: Mapping[int, Resolution] | None = None,
    config_path: str | None = None,
) -> AccessReport:
    """Who can reach what: every user x account x permission set reachable, directly or
    through a group, with the admin-grade sets flagged and, with a config, what it declares.

    With `--user`, the assignments of those users and their groups are read by principal;
    otherwise those of every permission set (or of the filtered ones) by set, and then the
    members of each group that holds one. Reads grow with the sets, accounts and principals
    that hold assignments, never with the rest of the directory."""
    reading = _Readings(Reader(clients, ctx, targets.states, targets, now))
    read = _read_assignments(reading, filters)
    rows = read.rows
    groups = reading.principals(GROUP_KIND, {row[1] for row in rows if row[0] == "GROUP"})
    group_names = {group_id: g.name for group_id, g in groups.items()}
    if read.wanted_users is not None:
        user_names = read.wanted_users
    else:
        reached = {row[1] for row in rows if row[0] == "USER"} | {u for g in read.members.values() for u in g}
        user_names = {user_id: u.name for user_id, u in reading.principals(USER_KIND, reached).items()}
    found = _expand(reading, read, user_names, group_names)
    # Admin-grade or not, for each set a grant reaches (one that could not be described too).
    arns = {read.set_names.get(arn, arn): arn for arn in {row[2] for row in rows}}
    admin = {name: reading.admin(arn, name) for name, arn in sorted(arns.items()) if name in {f[2] for f in found}}
    account_names = reading.account_names({f[1] for f in found}) if found else {}
    from_idp = {group_names[group_id] for group_id, g in groups.items() if g.from_idp}
    declared = _declared(config, ctx, resolved, now, from_idp) if config is not None else None
    grants = [
        Grant(
            user,
            account,
            set_name,
            group,
            account_names.get(account),
            admin.get(set_name, ()),
            None if declared is None else declared(user, account, set_name, group),
        )
        for user, account, set_name, group in found
    ]
    grants.sort(key=lambda g: g.sort_key)
    admin_sets = {name: list(reasons) for name, reasons in sorted(admin.items()) if reasons}
    filtered = bool(filters.users or filters.accounts or filters.permission_sets)
    return AccessReport(grants, admin_sets, reading.notes, reading.warnings, config_path, filtered)


def _read_assignments(reading: _Readings, filters: AccessFilters) -> _Assignments:
    """The assignments the filters ask about: by principal for --user, else by set."""
    clients, ctx = reading.clients, reading.ctx
    accounts = reading.accounts(filters.accounts)
    if filters.users:
        rows, wanted_users, members = reading.for_users(filters.users)
        if accounts is not None:
            rows = {row for row in rows if row[3] in accounts}
        set_names = reading.set_names(row[2] for row in rows)
        if missing := set(filters.permission_sets) - set(set_names.values()):
            # Not among the user's sets: only now is it worth reading every set, to tell a
            # set the user does not reach from a name that is wrong.
            refuse_unknown_sets(missing, *describe_all(clients, ctx))
        read = _Assignments(rows, set_names, members, wanted_users)
    else:
        described, unreadable = describe_all(clients, ctx)
        for arn, action in sorted(unreadable.items()):
            reading.warnings.append(
                f"permission set {arn} could not be described ({action} denied): its assignments are not in the report"
            )
        refuse_unknown_sets(set(filters.permission_sets), described, unreadable)
        set_names = {str(d["PermissionSetArn"]): name for name, d in described.items()}
        wanted = [
            arn for arn, name in set_names.items() if name in filters.permission_sets or not filters.permission_sets
        ]
        rows = reading.for_sets(wanted, accounts)
        read = _Assignments(rows, set_names, reading.members(row[1] for row in rows if row[0] == "GROUP"))
    if filters.permission_sets:
        read.rows = {row for row in read.rows if read.set_names.get(row[2], row[2]) in filters.permission_sets}
    return read


def _expand(
    reading: _Readings, read: _Assignments, user_names: Mapping[str, str], group_names: Mapping[str, str]
) -> list[tuple[str, str, str, str | None]]:
    """(user, account, set, group or None) of each grant: each group's assignment once per
    member. Groups nobody is in, and principals that no longer exist, are noted."""
    found: list[tuple[str, str, str, str | None]] = []
    empty: dict[str, int] = {}  # group -> how many assignments it holds with nobody in it
    for principal_type, principal_id, arn, account in read.rows:
        set_name = read.set_names.get(arn, arn)
        if principal_type == "USER":
            if read.wanted_users is None or principal_id in read.wanted_users:
                found.append((user_names.get(principal_id, principal_id), account, set_name, None))
            continue
        group = group_names.get(principal_id, principal_id)
        in_group = read.members.get(principal_id, set())
        if not in_group:
            empty[group] = empty.get(group, 0) + 1
        found += [(user_names.get(user_id, user_id), account, set_name, group) for user_id in sorted(in_group)]
    if read.wanted_users is None:  # with --user, a group's other members were not read
        reading.notes += [
            f"group {group} has no members: nobody reaches its {count} assignment(s) through it (anyone added will)"
            for group, count in sorted(empty.items())
        ]
    for principal_type, ids, names in (
        ("user", {r[1] for r in read.rows if r[0] == "USER"}, user_names),
        ("group", {r[1] for r in read.rows if r[0] == "GROUP"}, group_names),
    ):
        if gone := sorted(ids - names.keys()):
            reading.notes.append(
                f"assignments name {len(gone)} {principal_type}(s) that no longer exist, shown by id: {', '.join(gone)}"
            )
    return found


def _declared(
    config: Config, ctx: Context, resolved: Mapping[int, Resolution] | None, now: datetime, from_idp: set[str]
) -> Callable[[str, str, str, str | None], bool]:
    """Whether the config declares a grant: its assignment and, through a group, the user's
    membership (an identity provider declares the members of its groups: those marked
    `external: true`, or synced with ExternalIds)."""
    assignments = set(desired_assignments(config, ctx, resolved, now))
    memberships = {(u.user_name, g) for u in config.users for g in u.groups}
    external = {g.name for g in config.groups if g.external} | from_idp

    def declared(user: str, account: str, permission_set: str, group: str | None) -> bool:
        if group is None:
            return Assignment(permission_set, "USER", user, account) in assignments
        assigned = Assignment(permission_set, "GROUP", group, account) in assignments
        return assigned and ((user, group) in memberships or group in external)

    return declared
