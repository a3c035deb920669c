"""`bootstrap`: the whole console walkthrough in one command, no config file needed.

Its parameters are declared once, in `BootstrapRequest`: the CLI makes its options from the
fields (flag, help, default), and a config error names the flag of the field at fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ProvisionerError

SEED_POLICIES = (
    "AWSSSOMasterAccountAdministrator",
    "AWSSSOMemberAccountAdministrator",
    "AWSSSODirectoryAdministrator",
)
BOOTSTRAP_OPTIONS = "bootstrap options"


def parameter(
    help: str,
    config_field: str,
    default: Any = None,
    repeatable: bool = False,
    metavar: str = "",
    required: bool = False,
) -> Any:
    """A bootstrap parameter: its help, the config field it fills (to name it in errors)."""
    meta = {
        "help": help,
        "config_field": config_field,
        "repeatable": repeatable,
        "metavar": metavar,
        "required": required,
    }
    if repeatable:
        return field(default=tuple(default or ()), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class BootstrapRequest:
    """The seed scenario: one admin group, a user in it, a permission set, the assignment."""

    user_name: str = parameter("UserName of the first administrator (no spaces).", "users[0].user_name", required=True)
    email: str = parameter("Their email address (where the sign-in email goes).", "users[0].email", required=True)
    given_name: str | None = parameter("Given name (default: the user name).", "users[0].given_name")
    family_name: str | None = parameter("Family name (default: the user name).", "users[0].family_name")
    display_name: str | None = parameter("Display name (default: 'GIVEN FAMILY').", "users[0].display_name")
    group: str = parameter("Admin group to create.", "groups[0].name", "IdentityCenterAdmins")
    permission_set: str = parameter("Permission set to create.", "permission_sets[0].name", "IdentityCenterAdmin")
    policy: tuple[str, ...] = parameter(
        "AWS managed policy for the set; repeatable. Default: the three that administer IAM Identity Center ("
        + ", ".join(SEED_POLICIES)
        + ").",
        "permission_sets[0].managed_policies",
        repeatable=True,
        metavar="NAME_OR_ARN",
    )
    session_duration: str = parameter("ISO-8601, PT1H..PT12H.", "permission_sets[0].session_duration", "PT4H")
    account: tuple[str, ...] = parameter(
        "Account to assign the set on; repeatable. Default: the --delegate-to account, else current "
        "(the caller's account).",
        "assignments[0].accounts",
        repeatable=True,
        metavar="ID",
    )
    delegate_to: str | None = parameter(
        "Member account to register as IAM Identity Center's delegated administrator (run from the "
        "management account), where the admins then work day to day: the set is assigned there.",
        "delegated_administrator",
        metavar="ACCOUNT",
    )

    def document(self, region: str | None = None) -> dict[str, Any]:
        """The seed scenario as a config document; with `region`, one that names it, so later
        runs (CI, cron) do not depend on their environment for it."""
        from ..config import CURRENT_ACCOUNT  # here: the module is on the `--help` path

        user: dict[str, Any] = {"user_name": self.user_name, "email": self.email}
        names = {"display_name": self.display_name, "given_name": self.given_name, "family_name": self.family_name}
        user.update({key: value for key, value in names.items() if value is not None})
        user["groups"] = [self.group]
        # Administered from the delegated administrator, the admins need their access there.
        accounts = self.account or ((self.delegate_to,) if self.delegate_to else (CURRENT_ACCOUNT,))
        document: dict[str, Any] = {"region": region} if region else {}
        document |= {
            "groups": [{"name": self.group, "description": "Administer IAM Identity Center"}],
            "users": [user],
            "permission_sets": [
                {
                    "name": self.permission_set,
                    "description": "Manage IAM Identity Center",
                    "session_duration": self.session_duration,
                    "managed_policies": list(self.policy or SEED_POLICIES),
                }
            ],
            "assignments": [
                {
                    "permission_set": self.permission_set,
                    "groups": [self.group],
                    "accounts": list(accounts),
                }
            ],
        }
        if self.delegate_to:
            document["delegated_administrator"] = self.delegate_to
        return document


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def config_of(request: BootstrapRequest) -> Any:
    """The request as a validated Config; an error names the flag at fault, before any AWS call."""
    from .. import config as config_module

    try:
        return config_module.parse(request.document(), BOOTSTRAP_OPTIONS)
    except ConfigError as exc:
        flags = {f.metadata["config_field"]: flag(f.name) for f in fields(BootstrapRequest)}
        raise ConfigError(
            BOOTSTRAP_OPTIONS,
            [
                (next((f for path, f in flags.items() if where.startswith(path)), where), why)
                for where, why in exc.problems
            ],
        ) from None


def config_writer(path: Path, document: dict[str, Any], force: bool) -> Callable[[], dict[str, Any]]:
    """Refuse now (before any AWS call) to replace a different file without --force; return
    what writes the config once the run has done its work."""
    from .. import config as config_module
    from .. import files

    text = config_module.dump(document, sort_keys=False)
    existing = files.read_existing(path)
    if existing is not None and existing != text and not force:
        raise ProvisionerError(
            f"{path} exists and differs from the config bootstrap would write: nothing was done. "
            "Pass --force to replace it (a timestamped backup is kept), or choose another --write-config file."
        )

    def write() -> dict[str, Any]:
        changed, backup = files.write_with_backup(path, text)
        return {"config_file": {"path": str(path), "changed": changed, "backup": str(backup) if backup else None}}

    return write
