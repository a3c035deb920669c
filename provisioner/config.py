"""The config file -> a typed, validated spec. No AWS call is made here.

Everything AWS would refuse is refused here first, with the file and the field named, so a
run never stops half-way on input we could have checked. Lengths and patterns come from
botocore's service models (see shapes.py).

YAML is read with the YAML 1.2 core schema: only true/false are booleans, and dates,
yes/no, 012, 1_000 or 1:30 are not converted, so `Version: 2012-10-17` is the string it
looks like. Where a string is expected, a number stands for its text as written.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from . import quotas, shapes
from .errors import ConfigError

MANAGED_POLICY_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(aws|\d{12}):policy/(.+)$", re.ASCII)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}")
DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", re.ASCII)
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+", re.ASCII)
PORTAL_URL = re.compile(r"https://[^\s/]+(/\S*)?")
CURRENT_ACCOUNT = "current"  # in the config: the caller's account

# "Administrator and AWSAdministrators are reserved names and can't be used for users or
# groups" (identitystore API reference, CreateUser and CreateGroup); refused in any case.
RESERVED_PRINCIPAL_NAMES = frozenset({"administrator", "awsadministrators"})


def check_region(value: str) -> str:
    """An AWS Region name, as the config's `region:` and `--region` take it."""
    if not REGION.fullmatch(value):
        raise ValueError(f"{value!r} is not an AWS Region such as ap-northeast-2")
    return value


def check_portal_url(value: str) -> str:
    """An access portal URL, as the config's `portal_url:` and `--portal-url` take it."""
    if not PORTAL_URL.fullmatch(value):
        raise ValueError("must be an https:// URL such as https://my-org.awsapps.com/start")
    return value


# -- YAML: the 1.2 core schema, merge keys, no duplicate keys ----------------------------------
class ScalarInt(int):
    """A YAML integer that remembers how it was written (012, 0o12, +5)."""

    text: str


class ScalarFloat(float):
    """A YAML float that remembers how it was written (1e3, .5, .inf)."""

    text: str


def scalar_text(value: Any) -> Any:
    """What a scalar means where a string is expected: its text as written (012, 1e3, true)."""
    if isinstance(value, (ScalarInt, ScalarFloat)):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


# The JSON Schema (`provisioner schema`) gives each field the types the config takes before it
# checks the value, so that an editor or a CI linter never refuses what `plan` accepts: a text
# field takes a number or a boolean as its text. (A YAML 1.1 reader such as PyYAML reads
# `0042` as the number 34: it passes too, and the config still reads the text, "0042".)
Text = Annotated[str, BeforeValidator(scalar_text), WithJsonSchema({"type": ["string", "number", "boolean"]})]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in word)


# A boolean field takes true/false, and what pydantic reads as one: 0 and 1, and these words
# in any case (so `yes`, `Off`, which YAML 1.2 reads as text, still work).
BOOLEAN_WORDS = ("true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "1", "0")
Flag = Annotated[
    bool,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "boolean"},
                {"enum": [0, 1]},
                {"type": "string", "pattern": f"^(?:{'|'.join(map(_any_case, BOOLEAN_WORDS))})$"},
            ]
        }
    ),
]


def _aws(service: str, shape: str, allowed: str, mismatch: str | None = None) -> AfterValidator:
    """Check a string against a shape of the service model; the message says what is `allowed`."""

    def check(value: str) -> str:
        problem = aws_shape_problem(value, service, shape, allowed, mismatch)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def aws_shape_problem(value: str, service: str, shape: str, allowed: str, mismatch: str | None = None) -> str | None:
    """Why AWS would refuse `value` for this shape (length, then pattern), or None."""
    spec = shapes.string_shape(service, shape)
    bounds = f"{spec.min}-{spec.max}" if spec.max is not None else f"at least {spec.min}"
    if not spec.fits(value):
        return f"must be {bounds} characters of {allowed} (it has {spec.length(value)})"
    if spec.matches(value):
        return None
    refused = spec.refused_characters(value)
    if refused:
        shown = ", ".join(repr(c) for c in refused[:5]) + (", ..." if len(refused) > 5 else "")
        return f"must be {bounds} characters of {allowed}; AWS refuses {shown}"
    return mismatch or f"{value!r} is not {allowed} (AWS pattern {spec.pattern})"


# The string shapes the config feeds, as the services define them.
NAME_CHARS = "ASCII letters, digits and +=,.@_-"
IDENTITY_TEXT = "letters, marks, digits, punctuation, symbols and spaces"
TAG_CHARS = "letters, digits, spaces and _.:/=+-@"
ABAC_SOURCE = 'letters, digits, spaces and _.:/=+-@[]{}$\\" such as ${path:enterprise.department}'
PermissionSetName = Annotated[Text, _aws("sso-admin", "PermissionSetName", f"{NAME_CHARS} (no spaces)")]
PermissionSetDescription = Annotated[Text, _aws("sso-admin", "PermissionSetDescription", "printable Latin-1")]
RelayState = Annotated[
    Text, _aws("sso-admin", "RelayState", "ASCII letters, digits, spaces and &$@#\\/%?=~-_'\"|!:,.;*+[](){}")
]
ManagedPolicyName = Annotated[Text, _aws("sso-admin", "ManagedPolicyName", NAME_CHARS)]
ManagedPolicyPath = Annotated[
    Text,
    _aws(
        "sso-admin",
        "ManagedPolicyPath",
        f"/-separated {NAME_CHARS}",
        mismatch="must start and end with '/', e.g. / or /team/, with segments of " + NAME_CHARS,
    ),
]
UserName = Annotated[
    Text, _aws("identitystore", "UserName", "letters, marks, digits, punctuation and symbols (no spaces)")
]
GroupName = Annotated[Text, _aws("identitystore", "GroupDisplayName", IDENTITY_TEXT)]
IdentityText = Annotated[Text, _aws("identitystore", "SensitiveStringType", IDENTITY_TEXT)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def duration_seconds(value: str | int) -> int:
    """Seconds in an ISO-8601 duration such as PT4H or PT90M (an int is taken as seconds)."""
    if isinstance(value, int):
        return value
    match = DURATION.fullmatch(value)
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not an ISO-8601 duration such as PT1H or PT90M")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


EXTERNAL_FIELD = "Synced from an external identity provider (SCIM): must exist; never created, changed or deleted here"


def _not_reserved(value: str) -> str:
    if value.lower() in RESERVED_PRINCIPAL_NAMES:
        raise ValueError(f"{value!r} is reserved by IAM Identity Center; choose another name")
    return value


class GroupSpec(_Model):
    name: Annotated[GroupName, AfterValidator(_not_reserved)] = Field(description="Group DisplayName, unique")
    description: IdentityText | None = None
    external: Flag = Field(default=False, description=EXTERNAL_FIELD)


# Scripts whose names read family name first, with no space: 김민수, 山田太郎, 王小明.
_CJK_NAME_PREFIXES = (
    "HANGUL",
    "HALFWIDTH HANGUL",
    "CJK UNIFIED IDEOGRAPH",
    "CJK COMPATIBILITY IDEOGRAPH",
    "IDEOGRAPHIC ITERATION MARK",  # 々 as in 佐々木
    "HIRAGANA",
    "KATAKANA",  # includes the middle dot and the prolonged sound mark
    "HALFWIDTH KATAKANA",
)


def is_cjk_name(text: str) -> bool:
    """True when every character is Hangul, Han or Kana."""
    return bool(text) and all(unicodedata.name(c, "").startswith(_CJK_NAME_PREFIXES) for c in text)


# The identity store's attribute extension for SCIM's enterprise user (RFC 7643, section 4.3):
# "aws:identitystore:enterprise is the only supported extension name" (identitystore API
# reference, CreateUser, Extensions). Older botocore models lack extensions altogether.
ENTERPRISE_EXTENSION = "aws:identitystore:enterprise"


def _extensions_supported(value: Any) -> Any:
    if value is not None and not shapes.has_member("identitystore", "CreateUserRequest", "Extensions"):
        raise ValueError(
            "the installed botocore predates the identity store's attribute extensions (December 2025): "
            "upgrade it (pip install -U boto3 botocore) to manage enterprise attributes"
        )
    return value


class PhoneNumberSpec(_Model):
    """A user's phone number (identitystore PhoneNumber)."""

    value: IdentityText
    type: IdentityText | None = Field(default=None, description="e.g. work or mobile")
    primary: Flag = Field(default=True, description="AWS keeps one phone number: the primary one by default")


class AddressSpec(_Model):
    """A user's address (identitystore Address)."""

    street_address: IdentityText | None = None
    locality: IdentityText | None = None
    region: IdentityText | None = None
    postal_code: IdentityText | None = None
    country: IdentityText | None = None
    formatted: IdentityText | None = None
    type: IdentityText | None = Field(default=None, description="e.g. work or home")
    primary: Flag = Field(default=True, description="AWS keeps one address: the primary one by default")

    @model_validator(mode="after")
    def _has_a_part(self) -> AddressSpec:
        if not any(getattr(self, name) for name in ADDRESS_PARTS):
            raise ValueError(f"set at least one of {', '.join(ADDRESS_PARTS)}")
        return self


ADDRESS_PARTS = ("street_address", "locality", "region", "postal_code", "country", "formatted")


class EnterpriseSpec(_Model):
    """The enterprise extension's attributes (SCIM's enterprise user). Only the keys given are
    managed; a key set to null must be absent."""

    employee_number: IdentityText | None = None
    cost_center: IdentityText | None = None
    organization: IdentityText | None = None
    division: IdentityText | None = None
    department: IdentityText | None = None
    manager: IdentityText | None = Field(
        default=None, description="stored as the extension's manager.value, e.g. the manager's user id"
    )


def _at_most(shape: str, what: str) -> Callable[[list[Any] | None], list[Any] | None]:
    """A check of a list against the identitystore model's bounds (an empty list: none)."""

    def check(value: list[Any] | None) -> list[Any] | None:
        spec = shapes.list_shape("identitystore", shape)
        if value and spec.max is not None and len(value) > spec.max:
            raise ValueError(f"AWS keeps at most {spec.max} {what} per user (identitystore {shape}); list one")
        return value

    return check


class UserSpec(_Model):
    user_name: Annotated[UserName, AfterValidator(_not_reserved)] = Field(description="UserName, unique; no spaces")
    # Before email: the email check reads it.
    external: Flag = Field(default=False, description=EXTERNAL_FIELD)
    email: IdentityText | None = Field(default=None, validate_default=True, description="Required unless external")
    display_name: IdentityText | None = None
    given_name: IdentityText | None = None
    family_name: IdentityText | None = None
    groups: list[Text] = Field(default_factory=list)
    # Attributes for ABAC and the directory: managed when the config sets them (null: absent).
    title: IdentityText | None = None
    user_type: IdentityText | None = None
    nick_name: IdentityText | None = None
    preferred_language: IdentityText | None = None
    locale: IdentityText | None = None
    timezone: IdentityText | None = None
    profile_url: IdentityText | None = None
    phone_numbers: Annotated[list[PhoneNumberSpec] | None, AfterValidator(_at_most("PhoneNumbers", "phone number"))] = (
        None
    )
    addresses: Annotated[list[AddressSpec] | None, AfterValidator(_at_most("Addresses", "address"))] = None
    enterprise: Annotated[EnterpriseSpec | None, AfterValidator(_extensions_supported)] = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("external"):
                return None
            raise ValueError("is required (only a user marked `external: true` may leave it out)")
        if not EMAIL.match(value):
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
        """display_name, else "given family"; family then given, unspaced, for East Asian names."""
        if self.display_name:
            return self.display_name
        given, family = self.resolved_given_name, self.resolved_family_name
        if is_cjk_name(given) and is_cjk_name(family):
            return f"{family}{given}"
        return f"{given} {family}"


class CustomerPolicyRef(_Model):
    name: ManagedPolicyName
    path: ManagedPolicyPath = "/"

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
        arn, name = value, match.group(3)
    elif value.startswith("arn:"):
        raise ValueError(f"{value!r} is not an AWS managed policy ARN (arn:aws:iam::aws:policy/NAME)")
    else:
        arn, name = managed_policy_arn(value, "aws"), value
    if aws_shape_problem(arn, "sso-admin", "ManagedPolicyArn", "an AWS managed policy ARN"):
        raise ValueError(f"{value!r} is not an AWS managed policy name such as IAMFullAccess")
    return name


def managed_policy_arn(name: str, partition: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


class BoundarySpec(_Model):
    managed_policy: Text | None = None
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


def _tag_key_problem(key: str, service: str = "sso-admin") -> str | None:
    if problem := aws_shape_problem(key, service, "TagKey", TAG_CHARS):
        return problem
    if key.lower().startswith("aws:"):
        return f"{key!r} must not start with aws: (reserved for AWS)"
    return None


def _tag_value_problem(value: str, service: str = "sso-admin") -> str | None:
    return aws_shape_problem(value, service, "TagValue", TAG_CHARS)


def _tag_problems(tags: dict[str, str], service: str = "sso-admin") -> list[str]:
    """What `service` would refuse in these tags: keys and values by its model, and aws:
    keys (reserved in sso-admin and Organizations alike)."""
    problems = []
    for key, value in tags.items():
        if problem := _tag_key_problem(key, service):
            problems.append(f"tag key {key!r}: {problem}")
        if problem := _tag_value_problem(value, service):
            problems.append(f"tag {key!r}: value {problem}")
    return problems


class PermissionSetSpec(_Model):
    name: PermissionSetName
    description: PermissionSetDescription | None = None
    session_duration: str = "PT1H"  # not Text: a number is refused, not read as its text
    relay_state: RelayState | None = None
    managed_policies: list[Annotated[Text, AfterValidator(normalize_managed_policy)]] = Field(default_factory=list)
    customer_managed_policies: list[CustomerPolicyRef] = Field(default_factory=list)
    inline_policy: dict[Text, Any] | Text | None = None
    inline_policy_file: Text | None = None
    permissions_boundary: BoundarySpec | None = None
    tags: dict[Text, Text] = Field(default_factory=dict)

    @field_validator("session_duration", mode="before")
    @classmethod
    def _duration_is_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)):
            raise ValueError(f"must be an ISO-8601 duration string such as PT4H, not the number {scalar_text(value)}")
        return value

    @field_validator("session_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        if aws_shape_problem(value, "sso-admin", "Duration", "an ISO-8601 duration"):
            raise ValueError(f"{value!r} is not an ISO-8601 duration such as PT1H or PT90M")
        seconds = duration_seconds(value)
        if not quotas.MIN_SESSION_SECONDS <= seconds <= quotas.MAX_SESSION_SECONDS:
            raise ValueError(f"{value} is outside PT1H..PT12H")
        return value

    @field_validator("managed_policies")
    @classmethod
    def _managed(cls, value: list[str]) -> list[str]:
        _reject_duplicates(value, "managed policy")
        return value

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
        if problems := _tag_problems(value):
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _policy_count(self) -> PermissionSetSpec:
        total = self.managed_policy_count
        if total > quotas.MAX_MANAGED_POLICIES_PER_PERMISSION_SET:
            raise ValueError(
                f"{total} managed policies (AWS and customer managed together); AWS allows at "
                f"most {quotas.MAX_MANAGED_POLICIES_PER_PERMISSION_SET} per permission set"
            )
        if self.inline_policy is not None and self.inline_policy_file is not None:
            raise ValueError("set inline_policy or inline_policy_file, not both")
        return self

    def ownership_problem(self, key: str) -> str | None:
        """Why `tags` may not hold the ownership tag `key`: the config's name: sets it, and
        one under tags would override the owner without a word."""
        if key not in self.tags:
            return None
        return (
            f"{key} is the ownership tag: provisioner sets it from the top-level name: ({key}: provisioner:<name>); "
            "remove it from tags and set name: (or ownership_tag: {key, value})"
        )

    @property
    def managed_policy_count(self) -> int:
        """AWS and customer managed policies together: what IAM counts on the role."""
        return len(self.managed_policies) + len(self.customer_managed_policies)

    @property
    def session_seconds(self) -> int:
        return duration_seconds(self.session_duration)


def _account_id(item: Any, allow_current: bool) -> Any:
    """An account id as a string; a YAML number stands for its text, so 012345678901 keeps its 0."""
    account_id = shapes.string_shape("sso-admin", "AccountId")
    if isinstance(item, bool):
        raise ValueError(f"{item!r} is not an account id")
    if isinstance(item, ScalarInt):
        item = item.text
    elif isinstance(item, int) and not account_id.matches(str(item)):
        raise ValueError(f"{item} is not a 12-digit account id; quote account ids in YAML so leading zeros are kept")
    elif isinstance(item, int):
        item = str(item)
    if isinstance(item, str) and not account_id.matches(item) and not (allow_current and item == CURRENT_ACCOUNT):
        raise ValueError(f"{item!r} is not a 12-digit account id" + (" or 'current'" if allow_current else ""))
    return item


ACCOUNT_SCHEMA = WithJsonSchema({"type": ["string", "integer"]})
AccountId = Annotated[str, BeforeValidator(lambda item: _account_id(item, allow_current=False)), ACCOUNT_SCHEMA]
AccountTarget = Annotated[str, BeforeValidator(lambda item: _account_id(item, allow_current=True)), ACCOUNT_SCHEMA]


# RFC 3339 date-time (section 5.6); the offset is optional here only to name it when missing.
RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2}))?",
    re.ASCII,
)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time with its offset (Z or +09:00), as an aware datetime in UTC."""
    match = RFC3339.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2026-12-01T18:00:00Z")
    if match["offset"] is None:
        raise ValueError(f"{text!r} has no timezone: write it in UTC (2026-12-01T18:00:00Z) or with an offset (+09:00)")
    offset = timedelta()
    if match["sign"] and (int(match["hours"]) > 23 or int(match["minutes"]) > 59):
        raise ValueError(f"{text!r} has an offset outside -23:59..+23:59")
    if match["sign"]:
        offset = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"])) * (
            -1 if match["sign"] == "-" else 1
        )
    microseconds = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}").replace(
            microsecond=microseconds, tzinfo=timezone(offset)
        )
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid time: {exc}") from None
    return moment.astimezone(timezone.utc)


def _organizational_unit(ou: str) -> str:
    """An OU id, a root id, or a path from the root (normalized)."""
    if ou.startswith("/"):
        return _ou_path(ou)
    if not OU_ID.fullmatch(ou):
        raise ValueError(
            f"{ou!r} is not an OU id (ou-xxxx-xxxxxxxx), a root id (r-xxxx) or a path from the root (/Workloads/Prod)"
        )
    return ou


def _account_name_pattern(pattern: str) -> str:
    if not pattern:
        raise ValueError("an account name pattern is empty; write a name or a glob such as prod-*")
    return pattern


def _ou_path(text: str) -> str:
    """An OU path from the root (/Workloads/Prod), without a trailing slash; "/" is the root."""
    names = text.strip("/").split("/") if text.strip("/") else []
    for name in names:
        if not name:
            raise ValueError(f"{text!r} has an empty OU name between two slashes")
        if problem := aws_shape_problem(name, "organizations", "OrganizationalUnitName", "any characters"):
            raise ValueError(f"{text!r}: OU name {name!r} {problem}")
    return "/" + "/".join(names)


class AssignmentSpec(_Model):
    permission_set: Text
    groups: list[Text] = Field(default_factory=list)
    users: list[Text] = Field(default_factory=list)
    accounts: list[AccountTarget] = Field(default_factory=list)
    # Resolved through Organizations at every run; ACTIVE accounts only.
    organizational_units: list[Annotated[Text, AfterValidator(_organizational_unit)]] = Field(
        default_factory=list, description="OU ids (ou-...), a root id (r-...), or paths from the root (/Workloads/Prod)"
    )
    recursive: Flag = True
    all_accounts: Flag = False
    account_tags: dict[Text, Text] = Field(
        default_factory=dict, description="the ACTIVE accounts whose Organizations tags match all of these"
    )
    account_names: list[Annotated[Text, AfterValidator(_account_name_pattern)]] = Field(
        default_factory=list, description="shell globs on the account name, e.g. prod-*"
    )
    exclude_accounts: list[AccountId] = Field(default_factory=list)
    until: Text | None = Field(
        default=None,
        description="RFC 3339 time with a timezone (2026-12-01T18:00:00Z): after it, apply (or expire) removes "
        "these assignments",
    )

    @field_validator("organizational_units")
    @classmethod
    def _ous(cls, value: list[str]) -> list[str]:
        _reject_duplicates(value, "organizational unit")
        return value

    @field_validator("account_tags")
    @classmethod
    def _account_tags(cls, value: dict[str, str]) -> dict[str, str]:
        if problems := _tag_problems(value, "organizations"):
            raise ValueError("; ".join(problems))
        return value

    @field_validator("account_names")
    @classmethod
    def _account_names(cls, value: list[str]) -> list[str]:
        _reject_duplicates(value, "account name pattern")
        return value

    @field_validator("until")
    @classmethod
    def _until(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time(value)
        return value

    @property
    def expires_at(self) -> datetime | None:
        """When these assignments expire (UTC), if they do."""
        return parse_time(self.until) if self.until is not None else None

    @field_validator("accounts", "exclude_accounts")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        _reject_duplicates(value, "account")
        return value

    @field_validator("groups", "users")
    @classmethod
    def _principal_names(cls, value: list[str], info: ValidationInfo) -> list[str]:
        _reject_duplicates(value, "group" if info.field_name == "groups" else "user")
        return value

    @property
    def targets_organization(self) -> bool:
        return bool(self.organizational_units or self.account_tags or self.account_names) or self.all_accounts

    @model_validator(mode="after")
    def _principals(self) -> AssignmentSpec:
        if not self.groups and not self.users:
            raise ValueError("name at least one principal under groups or users")
        if not self.accounts and not self.targets_organization:
            raise ValueError(
                "name the targets: accounts, organizational_units, account_tags, account_names, or all_accounts: true"
            )
        return self


# The ownership tag's value of a config without `name:`, shared by every such config; a
# named config's value is "provisioner:<name>".
UNNAMED_OWNER = "provisioner"
MAX_TAG_VALUE = 256


class OwnershipTag(_Model):
    """The tag provisioner puts on the permission sets it creates; prune deletes only those.
    Without `value`, it is provisioner:<name> for a named config."""

    key: Text = "managed-by"
    value: Text = UNNAMED_OWNER

    @field_validator("key", "value")
    @classmethod
    def _tag(cls, value: str, info: ValidationInfo) -> str:
        if problem := (_tag_key_problem if info.field_name == "key" else _tag_value_problem)(value):
            raise ValueError(problem)
        return value


class AbsentSpec(_Model):
    """Users and groups to delete with `apply --prune` (they cannot carry an ownership tag)."""

    users: list[UserName] = Field(default_factory=list)
    groups: list[GroupName] = Field(default_factory=list)


class Config(_Model):
    # Top-level keys starting with x- are ignored: a place for YAML anchors to merge elsewhere.
    model_config = ConfigDict(json_schema_extra={"patternProperties": {"^x-": {}}})

    name: Text | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TAG_VALUE - len(UNNAMED_OWNER) - 1,
        description="Names this config: its permission sets are tagged managed-by: provisioner:<name>, "
        "and apply --prune deletes only those",
    )
    region: Text | None = None
    portal_url: Text | None = None
    ownership_tag: OwnershipTag = Field(default_factory=OwnershipTag)
    groups: list[GroupSpec] = Field(default_factory=list)
    users: list[UserSpec] = Field(default_factory=list)
    permission_sets: list[PermissionSetSpec] = Field(default_factory=list)
    assignments: list[AssignmentSpec] = Field(default_factory=list)
    absent: AbsentSpec = Field(default_factory=AbsentSpec)
    access_control_attributes: dict[Text, Text | list[Text]] | None = Field(
        default=None,
        description="ABAC: key -> the user attribute it takes, e.g. Department: ${path:enterprise.department}; "
        "IAM sees it as aws:PrincipalTag/<key>. The whole mapping is managed when set",
    )
    delegated_administrator: AccountId | None = Field(
        default=None,
        description="Member account to register as IAM Identity Center's delegated administrator "
        "(from the management account; never deregistered here)",
    )

    @model_validator(mode="before")
    @classmethod
    def _without_extensions(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
        return data

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else check_region(value)

    @field_validator("portal_url")
    @classmethod
    def _portal(cls, value: str | None) -> str | None:
        return None if value is None else check_portal_url(value)

    @field_validator("access_control_attributes")
    @classmethod
    def _access_control_attributes(cls, value: dict[str, str | list[str]] | None) -> dict[str, str | list[str]] | None:
        if value is None:
            return None
        attributes = shapes.list_shape("sso-admin", "AccessControlAttributeList")
        if attributes.max is not None and len(value) > attributes.max:
            raise ValueError(f"{len(value)} attributes; AWS allows at most {attributes.max}")
        sources = shapes.list_shape("sso-admin", "AccessControlAttributeValueSourceList")
        problems: list[str] = []
        seen: dict[str, str] = {}
        for key, source in value.items():
            if problem := aws_shape_problem(key, "sso-admin", "AccessControlAttributeKey", TAG_CHARS):
                problems.append(f"key {key!r}: {problem}")
            # Session tags differ by more than case: "you cannot have separate Department and
            # department tag keys" (IAM user guide, "Passing session tags in AWS STS").
            if (other := seen.setdefault(key.lower(), key)) != key:
                problems.append(f"keys {other!r} and {key!r} differ only in case, and IAM tag keys do not")
            listed = source if isinstance(source, list) else [source]
            if not sources.min <= len(listed) <= (sources.max or len(listed)):
                problems.append(
                    f"key {key!r}: AWS takes {sources.bounds()} source per key (a string, or a list of one), "
                    f"not {len(listed)}"
                )
            for item in listed:
                if problem := aws_shape_problem(item, "sso-admin", "AccessControlAttributeValueSource", ABAC_SOURCE):
                    problems.append(f"key {key!r}: source {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @property
    def access_control_mapping(self) -> dict[str, tuple[str, ...]] | None:
        """The declared access control attributes, each key with its sources; None when not declared."""
        if self.access_control_attributes is None:
            return None
        return {
            key: tuple(source) if isinstance(source, list) else (source,)
            for key, source in self.access_control_attributes.items()
        }

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        # It becomes part of a tag value, provisioner:<name>.
        if value is not None and (problem := _tag_value_problem(value)):
            raise ValueError(problem)
        return value

    @property
    def ownership(self) -> tuple[str, str]:
        """(key, value) of the tag on the permission sets this config creates, and may prune.
        An explicit ownership_tag value wins; else provisioner:<name>; else provisioner."""
        tag = self.ownership_tag
        if "value" in tag.model_fields_set:
            return tag.key, tag.value
        return tag.key, f"{UNNAMED_OWNER}:{self.name}" if self.name else UNNAMED_OWNER

    @property
    def warnings(self) -> list[str]:
        """Likely trouble AWS does not refuse at once; the runner shows them in the plan."""
        out = []
        for index, ps in enumerate(self.permission_sets):
            if ps.managed_policy_count > quotas.IAM_MANAGED_POLICIES_PER_ROLE:
                out.append(
                    f"permission_sets[{index}] {ps.name}: {ps.managed_policy_count} managed policies (AWS and "
                    f"customer managed); IAM allows {quotas.IAM_MANAGED_POLICIES_PER_ROLE} per role unless the "
                    "quota 'Managed policies per role' is raised, so provisioning fails in every account "
                    "that has not raised it"
                )
        for key, sources in (self.access_control_mapping or {}).items():
            for source in sources:
                if problem := abac_source_problem(source):
                    out.append(f"access_control_attributes.{key}: {problem}")
        return out


# The user attributes an ABAC source can name: the SCIM core user schema's and the enterprise
# extension's (user guide, "Supported user and group attributes"; RFC 7643 4.1 and 4.3).
SCIM_USER_ATTRIBUTES = frozenset(
    {
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
        "preferredLanguage", "locale", "timezone", "active", "emails", "phoneNumbers", "addresses",
        "groups", "roles", "enterprise",
    }
)  # fmt: skip
ENTERPRISE_ATTRIBUTES = frozenset({"employeeNumber", "costCenter", "organization", "division", "department", "manager"})
_ABAC_SOURCE = re.compile(r"\$\{path:([A-Za-z]+)(?:\.([A-Za-z]+))?[^}]*\}")


def abac_source_problem(source: str) -> str | None:
    """Why an access control attribute's source would likely give an empty session tag: not of
    the form ${path:ATTRIBUTE}, or naming an attribute no user has. None when it looks right."""
    import difflib

    if source == "":  # the value comes from the identity provider's SAML assertion
        return None
    found = _ABAC_SOURCE.fullmatch(source)
    if found is None:
        return f"source {source!r} is not of the form ${{path:ATTRIBUTE}} (e.g. ${{path:enterprise.department}})"
    root, sub = found.groups()
    known, name = (ENTERPRISE_ATTRIBUTES, sub) if root == "enterprise" else (SCIM_USER_ATTRIBUTES, root)
    if name is None or name in known:
        return None
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"source {source!r} names {name!r}, which no user has, so the session tag would be empty{hint}"


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
    """Refuse a list that names something twice, naming every such value."""
    seen: set[str] = set()
    twice: dict[str, None] = {}
    for value in values:
        if value in seen:
            twice[value] = None
        seen.add(value)
    if twice:
        raise ValueError("; ".join(f"{what} {value!r} is listed twice" for value in twice))


@dataclass(frozen=True)
class _Parsed:
    """The items of a document that are valid on their own, with their index in the file, and
    the ownership tag if it parsed: what the checks across sections read beyond the names. For
    a document with errors, they let those checks run on the rest, so that every problem comes
    in one report."""

    users: list[tuple[int, UserSpec]]
    permission_sets: list[tuple[int, PermissionSetSpec]]
    ownership: tuple[str, str] | None

    @classmethod
    def of(cls, config: Config) -> _Parsed:
        return cls(list(enumerate(config.users)), list(enumerate(config.permission_sets)), config.ownership)

    @classmethod
    def salvage(cls, document: dict[str, Any]) -> _Parsed:
        """What parsed of a document that did not validate as a whole."""
        try:
            named = Config.model_validate({k: document[k] for k in ("name", "ownership_tag") if k in document})
            ownership: tuple[str, str] | None = named.ownership
        except ValidationError:
            ownership = None
        return cls(
            _valid_items(document.get("users"), UserSpec),
            _valid_items(document.get("permission_sets"), PermissionSetSpec),
            ownership,
        )


ModelT = TypeVar("ModelT", bound=BaseModel)


def _valid_items(section: Any, model: type[ModelT]) -> list[tuple[int, ModelT]]:
    """The items of a section that validate (the others' problems are reported already)."""
    valid = []
    for index, item in _mappings(section):
        try:
            valid.append((index, model.model_validate(item)))
        except ValidationError:
            continue
    return valid


def _mappings(section: Any) -> list[tuple[int, dict[Any, Any]]]:
    """The mappings of a section's list, with their index; nothing if the section is no list."""
    return [(i, item) for i, item in enumerate(section) if isinstance(item, dict)] if isinstance(section, list) else []


def _text(value: Any) -> str | None:
    """A scalar as a text field reads it (a number is its text, spaces around it dropped); None
    for what is not text (missing, null, a list or a mapping)."""
    text = scalar_text(value)
    return text.strip() if isinstance(text, str) else None


def _texts(value: Any) -> list[tuple[int, str]]:
    """The text items of a list, with their index."""
    return (
        [(i, text) for i, item in enumerate(value) if (text := _text(item)) is not None]
        if isinstance(value, list)
        else []
    )


def _declared(document: dict[str, Any], section: str, key: str) -> set[str] | None:
    """The names a section declares, its invalid items' included; None when the section is no
    list, so that references to it are not called unknown."""
    items = document.get(section)
    if items is not None and not isinstance(items, list):
        return None
    return {name for _, item in _mappings(items) if (name := _text(item.get(key))) is not None}


def _cross_check(document: dict[str, Any], parsed: _Parsed) -> list[tuple[str, str]]:
    """References between sections and uniqueness across items.

    Names are read from the document as the models read them, so an item with an error of its
    own still declares its name and has its references checked.
    """
    problems: list[tuple[str, str]] = []

    def unique(section: str, key: str, what: str, fold: bool = False) -> None:
        """Each value of `key` once in its section."""
        seen: dict[str, int] = {}
        for index, item in _mappings(document.get(section)):
            value = _text(item.get(key))
            if value is None:  # not text (reported as such), or optional (an external user's email)
                continue
            folded = value.lower() if fold else value
            if folded in seen:
                where = f"{section}[{index}].{key}"
                problems.append((where, f"duplicate {what} {value!r} (first at {section}[{seen[folded]}])"))
            seen.setdefault(folded, index)

    def known(where: str, name: str, names: set[str] | None, what: str, section: str) -> None:
        if names is not None and name not in names:
            problems.append((where, f"unknown {what} {name!r}; declare it under {section}"))

    unique("groups", "name", "group name")
    unique("users", "user_name", "user name")
    unique("users", "email", "email", fold=True)
    unique("permission_sets", "name", "permission set name")

    group_names = _declared(document, "groups", "name")
    user_names = _declared(document, "users", "user_name")
    set_names = _declared(document, "permission_sets", "name")
    absent = document.get("absent")
    absent = absent if isinstance(absent, dict) else {}
    for i, name in _texts(absent.get("users")):
        if name in (user_names or ()):
            problems.append((f"absent.users[{i}]", f"user {name!r} is declared under users too; keep one"))
    for i, name in _texts(absent.get("groups")):
        if name in (group_names or ()):
            problems.append((f"absent.groups[{i}]", f"group {name!r} is declared under groups too; keep one"))
    for ui, user in parsed.users:
        if user.display_name is None and (
            problem := aws_shape_problem(
                user.resolved_display_name, "identitystore", "SensitiveStringType", IDENTITY_TEXT
            )
        ):
            problems.append((f"users[{ui}].display_name", f"the default display name {problem}; set display_name"))
    for ui, raw_user in _mappings(document.get("users")):
        for gi, group in _texts(raw_user.get("groups")):
            known(f"users[{ui}].groups[{gi}]", group, group_names, "group", "groups")
    for pi, ps in parsed.permission_sets:
        if parsed.ownership is None:  # invalid itself: reported as such
            break
        owner_key, owner_value = parsed.ownership
        tags = {**ps.tags, owner_key: owner_value}
        if len(tags) > quotas.MAX_TAGS_PER_PERMISSION_SET:
            problems.append(
                (
                    f"permission_sets[{pi}].tags",
                    f"{len(ps.tags)} tags and the ownership tag {owner_key!r}; AWS allows "
                    f"{quotas.MAX_TAGS_PER_PERMISSION_SET} per permission set",
                )
            )
        if problem := ps.ownership_problem(owner_key):
            problems.append((f"permission_sets[{pi}].tags", problem))
    for ai, assignment in _mappings(document.get("assignments")):
        if (set_name := _text(assignment.get("permission_set"))) is not None:
            known(f"assignments[{ai}].permission_set", set_name, set_names, "permission set", "permission_sets")
        for gi, group in _texts(assignment.get("groups")):
            known(f"assignments[{ai}].groups[{gi}]", group, group_names, "group", "groups")
        for ui, member in _texts(assignment.get("users")):
            known(f"assignments[{ai}].users[{ui}]", member, user_names, "user", "users")
    return problems


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union", "dict[", "list[")) or part in {"str", "int"}:
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
    # pydantic's own messages ("Input should be a valid boolean") do not say what was there.
    value = error.get("input")
    if kind.endswith(("_parsing", "_type")) and isinstance(value, (str, int, float)) and len(str(value)) <= 60:
        message += f" (got {scalar_text(value) if not isinstance(value, str) else repr(value)})"
    return loc, message


# -- YAML ----------------------------------------------------------------------------------------
MERGE_TAG = "tag:yaml.org,2002:merge"
# The YAML 1.2 core schema's implicit types (yaml.org/spec/1.2.2, 10.3.2), without the YAML 1.1
# extras PyYAML adds: yes/no/on/off, dates and timestamps, sexagesimal 1:30, 1_000, octal 012.
CORE_RESOLVERS = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
)


def _parse_int(text: str) -> int:
    base = {"0o": 8, "0x": 16}.get(text[:2])
    return int(text[2:], base) if base else int(text, 10)


def _parse_float(text: str) -> float:
    return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))


def _number_constructor(
    kind: type[ScalarInt] | type[ScalarFloat], read: Callable[[str], float], what: str
) -> Callable[[yaml.SafeLoader, yaml.ScalarNode], ScalarInt | ScalarFloat]:
    """A constructor of numbers that keep their text (012, 1e3), for fields that want text."""

    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> ScalarInt | ScalarFloat:
        text = str(loader.construct_scalar(node))
        try:
            number = kind(read(text))
        except ValueError:
            raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not {what}", node.start_mark) from None
        number.text = text
        return number

    return construct


def _construct_unsupported(loader: yaml.SafeLoader, node: yaml.Node) -> None:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    raise yaml.constructor.ConstructorError(
        None, None, f"the tag {tag} is not supported: write the value as a plain or quoted string", node.start_mark
    )


class _Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema and merge keys, refusing duplicate keys.

    Tags outside the core schema (!!timestamp, !!binary, !!set, ...) are refused: their
    values (dates, bytes, sets) mean nothing in a config and JSON cannot hold them.
    """

    # Own tables, filled below, instead of copies of SafeLoader's YAML 1.1 ones.
    yaml_implicit_resolvers: dict[Any, Any] = {}
    yaml_constructors: ClassVar[dict[str | None, Any]] = {}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._flattened: set[int] = set()

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """Resolve `<<` merge keys (yaml.org/type/merge.html): explicit keys win over merged
        ones, and earlier mappings of `<<: [*a, *b]` over later ones. A key written twice in
        one mapping is refused. (PyYAML's own version lets later merged mappings win.)"""
        if id(node) in self._flattened:
            return
        self._flattened.add(id(node))
        seen: set[Any] = set()  # as Python compares keys (1 and 1.0 are one dict key), and as text
        sources: list[yaml.MappingNode] = []
        explicit = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                key: Any = "<<"
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in merged:
                    if not isinstance(source, yaml.MappingNode):
                        raise yaml.constructor.ConstructorError(
                            None, None, "<< merges a mapping or a list of mappings (*anchor)", source.start_mark
                        )
                    self.flatten_mapping(source)
                    sources.append(source)
            else:
                explicit.append((key_node, value_node))
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # construct_mapping refuses an unhashable key itself
                key = self.construct_object(key_node)
            if key in seen or ("text", scalar_text(key)) in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                )
            seen.update((key, ("text", scalar_text(key))))
        # construct_mapping keeps the last value of a key: least important first.
        node.value = [pair for source in reversed(sources) for pair in source.value] + explicit


# Built at once rather than by PyYAML's two-step generators, so that a node that contains
# itself (&a [*a]) is refused as unconstructable instead of becoming an endless structure.
def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> list[Any]:
    return loader.construct_sequence(node)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    return loader.construct_mapping(node)


for _tag, _pattern, _first in (*CORE_RESOLVERS, (MERGE_TAG, r"^(?:<<)$", "<")):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
for _constructed_tag, _constructor in (
    ("tag:yaml.org,2002:null", yaml.constructor.SafeConstructor.construct_yaml_null),
    ("tag:yaml.org,2002:bool", yaml.constructor.SafeConstructor.construct_yaml_bool),
    ("tag:yaml.org,2002:int", _number_constructor(ScalarInt, _parse_int, "an integer")),
    ("tag:yaml.org,2002:float", _number_constructor(ScalarFloat, _parse_float, "a number")),
    ("tag:yaml.org,2002:str", yaml.constructor.SafeConstructor.construct_yaml_str),
    ("tag:yaml.org,2002:seq", _construct_sequence),
    ("tag:yaml.org,2002:map", _construct_mapping),
    (None, _construct_unsupported),
):
    _Loader.add_constructor(_constructed_tag, _constructor)


class _Dumper(yaml.SafeDumper):
    """SafeDumper that also quotes the strings a YAML 1.2 reader would take for something else
    (012345678901, 1e3, 0o12), so that load() reads back what was written."""


for _tag, _pattern, _first in CORE_RESOLVERS:
    _Dumper.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def dump(document: Any, **options: Any) -> str:
    """A document as YAML that load() reads back the same (options as for yaml.dump)."""
    return str(yaml.dump(document, Dumper=_Dumper, **options))


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
    """Validate an already-parsed document (a mapping) into a Config.

    Every problem is reported at once: each field and each item of a list, then the checks
    across sections and of the inline policies on what did parse.
    """
    if data is None:
        raise ConfigError(file, [("", "is empty; see examples/identity-center-admin.yaml")])
    if not isinstance(data, dict):
        raise ConfigError(file, [("", f"must be a mapping of sections, not a {type(data).__name__}")])
    config: Config | None = None
    try:
        config = Config.model_validate(data)
        problems = []
    except ValidationError as exc:
        problems = [_format_pydantic(e) for e in exc.errors()]
    parsed = _Parsed.of(config) if config is not None else _Parsed.salvage(data)
    problems.extend(_cross_check(data, parsed))
    permission_sets, inline_problems = _resolve_inline_policies(parsed.permission_sets, base_dir or Path("."))
    problems.extend(inline_problems)
    if config is None or problems:
        raise ConfigError(file, problems)
    return config.model_copy(update={"permission_sets": permission_sets})


def _resolve_inline_policies(
    permission_sets: list[tuple[int, PermissionSetSpec]], base_dir: Path
) -> tuple[list[PermissionSetSpec], list[tuple[str, str]]]:
    """Load inline_policy_file, parse string policies, and check the sizes AWS allows."""
    problems: list[tuple[str, str]] = []
    sets = []
    for index, ps in permission_sets:
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
            document = _json_values(document)
            if not isinstance(document, dict) or "Statement" not in document:
                problems.append((field, "must be a JSON policy document with a Statement"))
            elif problem := _policy_size_problem(document):
                problems.append((field, problem))
            ps = ps.model_copy(update={"inline_policy": document, "inline_policy_file": None})
        sets.append(ps)
    return sets, problems


def _json_values(value: Any) -> Any:
    """A policy read from YAML as plain JSON values. Keys become their text; a number stays a
    number only if it reads back as written, so 012345678901 or 1e3 keep their text."""
    if isinstance(value, dict):
        return {_key_text(k): _json_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_values(v) for v in value]
    if isinstance(value, ScalarInt):
        return int(value) if str(int(value)) == value.text else value.text
    if isinstance(value, ScalarFloat):
        return float(value) if repr(float(value)) == value.text else value.text
    return value


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else "null" if key is None else str(scalar_text(key))


def _policy_size_problem(document: dict[str, Any]) -> str | None:
    """What AWS refuses in a policy document: sso-admin's shape, then IAM's role limit."""
    try:
        text = canonical_policy(document)
    except ValueError:
        return "holds NaN or infinity, which JSON cannot carry"
    shape = shapes.string_shape("sso-admin", "PermissionSetPolicyDocument")
    if not shape.fits(text):
        return f"is {shape.length(text)} characters as compact JSON; AWS allows {shape.max}"
    # The set becomes a role in each account, and IAM allows a role 10,240 characters of inline
    # policy, whitespace not counted ("Maximum size of non-whitespace characters in the inline
    # policy per permission set is 10,240 bytes": IAM Identity Center user guide, "Quotas";
    # IAM user guide, "IAM and AWS STS quotas"). We count the compact JSON we send, spaces
    # inside strings included: right whether AWS counts them or not.
    if len(text) > quotas.IAM_ROLE_INLINE_POLICY_CHARS:
        return (
            f"is {len(text)} characters as compact JSON; IAM allows {quotas.IAM_ROLE_INLINE_POLICY_CHARS} "
            f"in the inline policy of the role each account gets (besides sso-admin's own {shape.max}), "
            "so provisioning would fail"
        )
    return None


def canonical_policy(document: Any) -> str:
    """A policy document as compact JSON with sorted keys: the form we send and compare."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True, allow_nan=False)


def load(path: str | Path) -> Config:
    """Read, parse and validate a config file; raise ConfigError naming the file and field."""
    file = str(path)
    path = Path(path)
    text = _read_text(path, file)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, [(where, f"is not valid YAML: {problem}")]) from None
    return parse(data, file, base_dir=path.parent)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file, for editors and CI linters."""
    return Config.model_json_schema()
