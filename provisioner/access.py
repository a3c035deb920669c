"""The handoff: where people sign in, what new users still need, and ~/.aws/config profiles."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import files
from .config import Config
from .context import Context
from .errors import ProvisionerError
from .kinds.assignments import desired_assignments
from .kinds.base import ADOPTED
from .plan import Action, ApplyResult, KindName
from .targets import Resolution

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
    ctx: Context, config: Config, result: ApplyResult | None, portal: str | None, sso_user: str | None
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
    profiles = profiles_for(config, ctx, sso_user)
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


def profile_name(permission_set: str, account_id: str) -> str:
    """Stable and readable: <permission set>-<account id>."""
    return re.sub(r"[^A-Za-z0-9_.@+=-]", "-", f"{permission_set}-{account_id}")


def profiles_for(
    config: Config, ctx: Context, user: str | None = None, resolved: Mapping[int, Resolution] | None = None
) -> list[Profile]:
    """One profile per (permission set x account) that `user` (or any declared user) reaches
    through their groups or directly."""
    groups_of = {u.user_name: set(u.groups) for u in config.users}
    if user is not None and user not in groups_of:
        raise KeyError(user)
    wanted = [user] if user else list(groups_of)
    reachable: set[Profile] = set()
    for a in desired_assignments(config, ctx, resolved):
        for name in wanted:
            if (a.principal_type == "USER" and a.principal == name) or (
                a.principal_type == "GROUP" and a.principal in groups_of[name]
            ):
                reachable.add(Profile(profile_name(a.permission_set, a.account), a.account, a.permission_set))
    return sorted(reachable)


# The mark on each section sso-config writes: `--write` replaces only sections that carry it
# for the same identity store, so it never re-points or rewrites a profile someone else owns.
# A whole-line comment: botocore's loader (configparser) ignores it.
OWNER_MARK = "# written by provisioner sso-config for identity store {store}; delete this line to keep your edits"
_OWNER = re.compile(r"^\s*#\s*written by provisioner sso-config for identity store (\S+?);")


def render_sso_config(
    session_name: str, start_url: str, sso_region: str, profiles: list[Profile], region: str, identity_store_id: str
) -> str:
    """The ~/.aws/config text: one sso-session section and one profile per reachable role,
    each marked as written by provisioner for this identity store."""
    mark = OWNER_MARK.format(store=identity_store_id)
    out = [
        f"[sso-session {session_name}]",
        mark,
        f"sso_start_url = {start_url}",
        f"sso_region = {sso_region}",
        "sso_registration_scopes = sso:account:access",
        "",
    ]
    for profile in profiles:
        out += [
            f"[profile {profile.name}]",
            mark,
            f"sso_session = {session_name}",
            f"sso_account_id = {profile.account_id}",
            f"sso_role_name = {profile.role}",
            f"region = {region}",
            "",
        ]
    return "\n".join(out)


_HEADER = re.compile(r"^\s*\[([^\]]+)\]\s*$")


def _sections(text: str) -> list[tuple[str | None, list[str]]]:
    """Split an INI text into (header, lines) blocks, keeping every line verbatim."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines(keepends=True):
        match = _HEADER.match(line)
        if match:
            blocks.append((" ".join(match.group(1).split()), [line]))
        else:
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


def merge(existing: str, generated: str) -> str:
    """`existing` with the sections of `generated` replaced or appended; the rest untouched.
    Check `clashes` first: this replaces whatever section has a generated header."""
    new_blocks = {h: lines for h, lines in _sections(generated) if h is not None}
    out: list[str] = []
    seen: set[str] = set()
    for header, lines in _sections(existing):
        if header is not None and header in new_blocks:
            out.extend(_split_trailing(new_blocks[header])[0] + _split_trailing(lines)[1])
            seen.add(header)
        else:
            out.extend(lines)
    text = "".join(out)
    missing = [h for h in new_blocks if h not in seen]
    if missing:
        if text and not text.endswith("\n"):
            text += "\n"
        if text and not text.endswith("\n\n"):
            text += "\n"
        text += "".join(line for h in missing for line in new_blocks[h])
    return text


def write_merged(path: Path, generated: str, session_name: str) -> tuple[bool, Path | None]:
    """Merge into `path`; back the old file up first. (changed, backup path). Idempotent.
    Refuses, writing nothing, to replace a section provisioner did not write for this store."""
    existing = files.read_existing(path) or ""
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
    return files.write_with_backup(path, merge(existing, generated))
