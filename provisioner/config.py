"""The config file -> a typed, validated spec. No AWS call is made here.

Everything AWS would refuse is refused here first, with the file and the field named, so a
run never stops half-way on input we could have checked.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from . import quotas
from .errors import ConfigError

PERMISSION_SET_NAME = re.compile(r"^[\w+=,.@-]{1,32}$")
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
POLICY_PATH = re.compile(r"^/([\x21-\x7E]{0,510}/)?$")
MANAGED_POLICY_SHORT = re.compile(r"^([\w+=,.@-]+/)*[\w+=,.@-]+$")
MANAGED_POLICY_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(aws|\d{12}):policy/(.+)$")
USER_NAME = re.compile(r"^[^\s\x00-\x1f]{1,128}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
OU_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
# botocore's pattern for permission set descriptions: printable Latin-1.
DESCRIPTION = re.compile(r"^[\t\n\r\x20-\x7e\xa1-\xff]*$")
RESERVED_USER_NAMES = frozenset({"administrator", "awsadministrators"})
CURRENT_ACCOUNT = "current"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def duration_seconds(value: str | int) -> int:
    """Seconds in an ISO-8601 duration such as PT4H or PT90M (an int is taken as seconds)."""
    if isinstance(value, int):
        return value
    match = DURATION.match(value)
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not an ISO-8601 duration such as PT1H or PT90M")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


EXTERNAL_FIELD = "Synced from an external identity provider (SCIM): must exist; never created, changed or deleted here"


class GroupSpec(_Model):
    name: str = Field(min_length=1, max_length=1024, description="Group DisplayName, unique")
    description: str | None = Field(default=None, min_length=1, max_length=1024)
    external: bool = Field(default=False, description=EXTERNAL_FIELD)


class UserSpec(_Model):
    user_name: str = Field(description="UserName, unique; no spaces")
    # Before email: the email check reads it.
    external: bool = Field(default=False, description=EXTERNAL_FIELD)
    email: str | None = Field(default=None, validate_default=True, description="Required unless external")
    display_name: str | None = Field(default=None, min_length=1, max_length=1024)
    given_name: str | None = Field(default=None, min_length=1, max_length=1024)
    family_name: str | None = Field(default=None, min_length=1, max_length=1024)
    groups: list[str] = Field(default_factory=list)

    @field_validator("user_name")
    @classmethod
    def _user_name(cls, value: str) -> str:
        if not USER_NAME.match(value):
            raise ValueError("must be 1-128 characters with no spaces or control characters")
        if value.lower() in RESERVED_USER_NAMES:
            raise ValueError(f"{value!r} is reserved by IAM Identity Center; choose another name")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("external"):
                return None
            raise ValueError("is required (only a user marked `external: true` may leave it out)")
        if not EMAIL.match(value) or len(value) > 1024:
            raise ValueError(f"{value!r} is not an email address")
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        _reject_duplicates(value, "group")
        return value

    @property
    def resolved_given_name(self) -> str:
        return self.given_name or self.user_name

    @property
    def resolved_family_name(self) -> str:
        return self.family_name or self.user_name

    @property
    def resolved_display_name(self) -> str:
        return self.display_name or f"{self.resolved_given_name} {self.resolved_family_name}"


class CustomerPolicyRef(_Model):
    name: str
    path: str = "/"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not POLICY_NAME.match(value):
            raise ValueError("must be 1-128 characters of letters, digits and +=,.@_-")
        return value

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not POLICY_PATH.match(value):
            raise ValueError("must start and end with '/', e.g. / or /team/")
        return value

    @property
    def key(self) -> str:
        return f"{self.path}{self.name}"


def normalize_managed_policy(value: str) -> str:
    """'IAMFullAccess' or its full ARN -> 'IAMFullAccess'; paths kept ('job-function/X')."""
    match = MANAGED_POLICY_ARN.match(value)
    if match:
        if match.group(2) != "aws":
            raise ValueError(
                f"{value!r} is a customer managed policy; list it under customer_managed_policies as {{name, path}}"
            )
        return match.group(3)
    if value.startswith("arn:"):
        raise ValueError(f"{value!r} is not an AWS managed policy ARN (arn:aws:iam::aws:policy/NAME)")
    if not MANAGED_POLICY_SHORT.match(value):
        raise ValueError(f"{value!r} is not an AWS managed policy name such as IAMFullAccess")
    return value


def managed_policy_arn(name: str, partition: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


class BoundarySpec(_Model):
    managed_policy: str | None = None
    customer_managed_policy: CustomerPolicyRef | None = None

    @field_validator("managed_policy")
    @classmethod
    def _managed(cls, value: str | None) -> str | None:
        return None if value is None else normalize_managed_policy(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> BoundarySpec:
        if (self.managed_policy is None) == (self.customer_managed_policy is None):
            raise ValueError("set exactly one of managed_policy or customer_managed_policy")
        return self


class PermissionSetSpec(_Model):
    name: str
    description: str | None = None
    session_duration: str = "PT1H"
    relay_state: str | None = None
    managed_policies: list[str] = Field(default_factory=list)
    customer_managed_policies: list[CustomerPolicyRef] = Field(default_factory=list)
    inline_policy: dict[str, Any] | str | None = None
    inline_policy_file: str | None = None
    permissions_boundary: BoundarySpec | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not PERMISSION_SET_NAME.match(value):
            raise ValueError("must be 1-32 characters of letters, digits and +=,.@_- (no spaces)")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not 1 <= len(value) <= 700:
            raise ValueError("must be 1-700 characters")
        if not DESCRIPTION.match(value):
            raise ValueError("may hold only printable Latin-1 characters (AWS refuses others)")
        return value

    @field_validator("session_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("must be an ISO-8601 duration string such as PT4H")
        seconds = duration_seconds(value)
        if not quotas.MIN_SESSION_SECONDS <= seconds <= quotas.MAX_SESSION_SECONDS:
            raise ValueError(f"{value} is outside PT1H..PT12H")
        return value

    @field_validator("relay_state")
    @classmethod
    def _relay(cls, value: str | None) -> str | None:
        if value is not None and not 1 <= len(value) <= 240:
            raise ValueError("must be 1-240 characters")
        return value

    @field_validator("managed_policies")
    @classmethod
    def _managed(cls, value: list[str]) -> list[str]:
        names = [normalize_managed_policy(v) for v in value]
        _reject_duplicates(names, "managed policy")
        return names

    @field_validator("customer_managed_policies")
    @classmethod
    def _customer(cls, value: list[CustomerPolicyRef]) -> list[CustomerPolicyRef]:
        _reject_duplicates([p.key for p in value], "customer managed policy")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > quotas.MAX_TAGS_PER_PERMISSION_SET:
            raise ValueError(f"at most {quotas.MAX_TAGS_PER_PERMISSION_SET} tags")
        for key, val in value.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r} must be 1-128 characters and not start with aws:")
            if len(val) > 256:
                raise ValueError(f"tag {key!r}: value must be at most 256 characters")
        return value

    @model_validator(mode="after")
    def _policy_count(self) -> PermissionSetSpec:
        total = len(self.managed_policies) + len(self.customer_managed_policies)
        if total > quotas.MAX_MANAGED_POLICIES_PER_PERMISSION_SET:
            raise ValueError(
                f"{total} managed policies (AWS and customer managed together); AWS allows at "
                f"most {quotas.MAX_MANAGED_POLICIES_PER_PERMISSION_SET} per permission set"
            )
        if self.inline_policy is not None and self.inline_policy_file is not None:
            raise ValueError("set inline_policy or inline_policy_file, not both")
        return self

    @property
    def session_seconds(self) -> int:
        return duration_seconds(self.session_duration)


class AssignmentSpec(_Model):
    permission_set: str
    groups: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    # Resolved through Organizations at every run; ACTIVE accounts only.
    organizational_units: list[str] = Field(default_factory=list)
    recursive: bool = True
    all_accounts: bool = False
    exclude_accounts: list[str] = Field(default_factory=list)

    @field_validator("organizational_units")
    @classmethod
    def _ous(cls, value: list[str]) -> list[str]:
        for ou in value:
            if not OU_ID.match(ou):
                raise ValueError(f"{ou!r} is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)")
        _reject_duplicates(value, "organizational unit")
        return value

    @field_validator("exclude_accounts", mode="before")
    @classmethod
    def _excluded(cls, value: Any) -> Any:
        if isinstance(value, list):
            value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
            for item in value:
                if not isinstance(item, str) or not ACCOUNT_ID.match(item):
                    raise ValueError(f"{item!r} is not a 12-digit account id")
        return value

    @property
    def targets_organization(self) -> bool:
        return bool(self.organizational_units) or self.all_accounts

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, bool):
                raise ValueError(f"{item!r} is not an account id")
            if isinstance(item, int):
                item = str(item)
                if not ACCOUNT_ID.match(item):
                    raise ValueError(
                        f"{item} is not a 12-digit account id; quote account ids in YAML so leading zeros are kept"
                    )
            if isinstance(item, str) and item != CURRENT_ACCOUNT and not ACCOUNT_ID.match(item):
                raise ValueError(f"{item!r} is not a 12-digit account id or 'current'")
            out.append(item)
        _reject_duplicates([str(i) for i in out], "account")
        return out

    @model_validator(mode="after")
    def _principals(self) -> AssignmentSpec:
        if not self.groups and not self.users:
            raise ValueError("name at least one principal under groups or users")
        if not self.accounts and not self.organizational_units and not self.all_accounts:
            raise ValueError("name the targets: accounts, organizational_units, or all_accounts: true")
        _reject_duplicates(self.groups, "group")
        _reject_duplicates(self.users, "user")
        return self


# The ownership tag's value of a config without `name:`, shared by every such config; a
# named config's value is "provisioner:<name>".
UNNAMED_OWNER = "provisioner"
MAX_TAG_VALUE = 256


def check_tag_text(value: str) -> str:
    """AWS's tag pattern for permission sets, [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*: letters,
    separators (spaces), numbers and _.:/=+-@ (botocore's sso-admin TagValue shape)."""
    for char in value:
        if char not in "_.:/=+-@" and unicodedata.category(char)[0] not in "LZN":
            raise ValueError(f"{char!r} is not allowed in a tag: use letters, digits, spaces and _.:/=+-@")
    return value


class OwnershipTag(_Model):
    """The tag provisioner puts on the permission sets it creates; prune deletes only those.
    Without `value`, it is provisioner:<name> for a named config."""

    key: str = Field(default="managed-by", min_length=1, max_length=128)
    value: str = Field(default=UNNAMED_OWNER, max_length=MAX_TAG_VALUE)

    @field_validator("key", "value")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_tag_text(value)


class AbsentSpec(_Model):
    """Users and groups to delete with `apply --prune` (they cannot carry an ownership tag)."""

    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class Config(_Model):
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TAG_VALUE - len(UNNAMED_OWNER) - 1,
        description="Names this config: its permission sets are tagged managed-by: provisioner:<name>, "
        "and apply --prune deletes only those",
    )
    region: str | None = None
    portal_url: str | None = None
    ownership_tag: OwnershipTag = Field(default_factory=OwnershipTag)
    groups: list[GroupSpec] = Field(default_factory=list)
    users: list[UserSpec] = Field(default_factory=list)
    permission_sets: list[PermissionSetSpec] = Field(default_factory=list)
    assignments: list[AssignmentSpec] = Field(default_factory=list)
    absent: AbsentSpec = Field(default_factory=AbsentSpec)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS Region such as ap-northeast-2")
        return value

    @field_validator("portal_url")
    @classmethod
    def _portal(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https://[^\s/]+(/\S*)?$", value):
            raise ValueError("must be an https:// URL such as https://my-org.awsapps.com/start")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else check_tag_text(value)

    @property
    def ownership(self) -> tuple[str, str]:
        """(key, value) of the tag on the permission sets this config creates, and may prune.
        An explicit ownership_tag value wins; else provisioner:<name>; else provisioner."""
        tag = self.ownership_tag
        if "value" in tag.model_fields_set:
            return tag.key, tag.value
        return tag.key, f"{UNNAMED_OWNER}:{self.name}" if self.name else UNNAMED_OWNER


def prune_problem(config: Config) -> tuple[str, str] | None:
    """Why this config may not prune, as (field, reason); None if it may. Without a name (or
    an explicit ownership tag) every config owns the same sets, so pruning one deletes the
    sets of the others."""
    if config.name or "value" in config.ownership_tag.model_fields_set:
        return None
    key, value = config.ownership
    return (
        "name",
        f"--prune deletes the permission sets this config owns, and without a name every config "
        f"owns the same ones (tagged {key}={value}): add a top-level name: (e.g. name: platform), "
        f"so that the sets it manages are tagged {key}={UNNAMED_OWNER}:platform; or set "
        "ownership_tag: {key, value} explicitly",
    )


def check_prunable(config: Config, file: str) -> None:
    """Raise the ConfigError of prune_problem, if any: before any AWS call."""
    problem = prune_problem(config)
    if problem is not None:
        raise ConfigError(file, [problem])


def _reject_duplicates(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} is listed twice")
        seen.add(value)


def _cross_check(config: Config) -> list[tuple[str, str]]:
    """References between sections and uniqueness across items."""
    problems: list[tuple[str, str]] = []

    def unique(items: list[Any], section: str, attr: str, what: str, fold: bool = False) -> None:
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            key = getattr(item, attr)
            if key is None:  # optional here (an external user's email)
                continue
            key = key.lower() if fold else key
            if key in seen:
                problems.append(
                    (
                        f"{section}[{index}].{attr}",
                        f"duplicate {what} {getattr(item, attr)!r} (first at {section}[{seen[key]}])",
                    )
                )
            seen.setdefault(key, index)

    unique(config.groups, "groups", "name", "group name")
    unique(config.users, "users", "user_name", "user name")
    unique(config.users, "users", "email", "email", fold=True)
    unique(config.permission_sets, "permission_sets", "name", "permission set name")

    group_names = {g.name for g in config.groups}
    user_names = {u.user_name for u in config.users}
    for i, name in enumerate(config.absent.users):
        if name in user_names:
            problems.append((f"absent.users[{i}]", f"user {name!r} is declared under users too; keep one"))
    for i, name in enumerate(config.absent.groups):
        if name in group_names:
            problems.append((f"absent.groups[{i}]", f"group {name!r} is declared under groups too; keep one"))
    set_names = {p.name for p in config.permission_sets}
    for ui, user in enumerate(config.users):
        for gi, group in enumerate(user.groups):
            if group not in group_names:
                problems.append((f"users[{ui}].groups[{gi}]", f"unknown group {group!r}; declare it under groups"))
    for ai, assignment in enumerate(config.assignments):
        if assignment.permission_set not in set_names:
            problems.append(
                (
                    f"assignments[{ai}].permission_set",
                    f"unknown permission set {assignment.permission_set!r}; declare it under permission_sets",
                )
            )
        for gi, group in enumerate(assignment.groups):
            if group not in group_names:
                problems.append(
                    (f"assignments[{ai}].groups[{gi}]", f"unknown group {group!r}; declare it under groups")
                )
        for ui, member in enumerate(assignment.users):
            if member not in user_names:
                problems.append((f"assignments[{ai}].users[{ui}]", f"unknown user {member!r}; declare it under users"))
    return problems


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union")) or part in {"str", "dict[str,any]", "int"}:
            continue  # pydantic's internal names for union members / validators
        else:
            out += f".{part}" if out else part
    return out


def _format_pydantic(error: Any) -> tuple[str, str]:
    loc = _format_loc(tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return loc, "unknown key (check its spelling; see the config reference in README.md)"
    if kind == "missing":
        return loc, "is required"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    return loc, message


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice instead of keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_text(path: Path, file: str) -> str:
    if path.is_dir():
        raise ConfigError(file, [("", "is a directory, not a config file")])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, [("", "no such file")]) from None
    except PermissionError:
        raise ConfigError(file, [("", "cannot read the file: permission denied")]) from None
    except OSError as exc:
        raise ConfigError(file, [("", f"cannot read the file: {exc.strerror}")]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(file, [("", "is not UTF-8 text")]) from None


def parse(data: Any, file: str, base_dir: Path | None = None) -> Config:
    """Validate an already-parsed document (a mapping) into a Config."""
    if data is None:
        raise ConfigError(file, [("", "is empty; see examples/identity-center-admin.yaml")])
    if not isinstance(data, dict):
        raise ConfigError(file, [("", f"must be a mapping of sections, not a {type(data).__name__}")])
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(file, [_format_pydantic(e) for e in exc.errors()]) from None
    problems = _cross_check(config)
    config, inline_problems = _resolve_inline_policies(config, base_dir or Path("."))
    problems.extend(inline_problems)
    if problems:
        raise ConfigError(file, problems)
    return config


def _resolve_inline_policies(config: Config, base_dir: Path) -> tuple[Config, list[tuple[str, str]]]:
    """Load inline_policy_file, parse string policies, and check the size AWS allows."""
    problems: list[tuple[str, str]] = []
    sets = []
    for index, ps in enumerate(config.permission_sets):
        field = f"permission_sets[{index}].inline_policy"
        document: Any = ps.inline_policy
        if ps.inline_policy_file is not None:
            field += "_file"
            policy_path = base_dir / ps.inline_policy_file
            try:
                document = policy_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append((field, f"cannot read {policy_path}: {getattr(exc, 'strerror', exc)}"))
                sets.append(ps)
                continue
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except json.JSONDecodeError as exc:
                problems.append((field, f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"))
                sets.append(ps)
                continue
        if document is not None:
            if not isinstance(document, dict) or "Statement" not in document:
                problems.append((field, "must be a JSON policy document with a Statement"))
            elif len(canonical_policy(document).encode()) > quotas.MAX_INLINE_POLICY_BYTES:
                problems.append(
                    (
                        field,
                        f"is {len(canonical_policy(document).encode())} bytes; AWS allows "
                        f"{quotas.MAX_INLINE_POLICY_BYTES}",
                    )
                )
            ps = ps.model_copy(update={"inline_policy": document, "inline_policy_file": None})
        sets.append(ps)
    return config.model_copy(update={"permission_sets": sets}), problems


def canonical_policy(document: Any) -> str:
    """A policy document as compact JSON with sorted keys: the form we send and compare."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def load(path: str | Path) -> Config:
    """Read, parse and validate a config file; raise ConfigError naming the file and field."""
    file = str(path)
    path = Path(path)
    text = _read_text(path, file)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, [(where, f"is not valid YAML: {problem}")]) from None
    return parse(data, file, base_dir=path.parent)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file, for editors and CI linters."""
    return Config.model_json_schema()
