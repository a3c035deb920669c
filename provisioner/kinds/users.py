"""Users, looked up by UserName."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from .. import quotas, shapes
from ..config import ENTERPRISE_EXTENSION, Config, UserSpec
from ..errors import AwsError, ProvisionerError
from ..plan import Action, Change, FieldChange, KindName
from . import groups
from .base import Diff, Env, ExportScope, LiveState, Mode, Reader
from .identities import (
    NOT_FOUND,
    Directory,
    Principal,
    PrincipalKind,
    create_or_adopt,
    delete,
)

if TYPE_CHECKING:
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_identitystore.type_defs import AttributeOperationTypeDef, EmailTypeDef, UniqueAttributeTypeDef

    from ..aws import Clients


def primary_email(user: Mapping[str, Any]) -> str | None:
    emails = user.get("Emails") or []
    for email in emails:
        if email.get("Primary"):
            return str(email.get("Value"))
    return str(emails[0].get("Value")) if emails else None


def same_email(old: str | None, new: str | None) -> bool:
    """Email addresses compare case-insensitively, as the identity store treats them."""
    return (old or "").lower() == (new or "").lower()


def sets_email(spec: UserSpec, found: Principal | None) -> bool:
    """Whether a run sets this user's email: a local user to create, or whose email differs."""
    if spec.email is None or spec.external:
        return False
    return found is None or (not found.from_idp and not same_email(primary_email(found.attributes), spec.email))


def work_email(spec: UserSpec) -> list[EmailTypeDef]:
    """The Emails attribute of a user we create or update (external users, who may have no
    email in the config, are never either)."""
    if spec.email is None:
        raise ProvisionerError(f"user {spec.user_name!r} has no email in the config")
    return [{"Value": spec.email, "Type": "work", "Primary": True}]


# The UpdateUser attribute path of each field the config manages. Paths are the SCIM
# attribute names the identitystore model's AttributePath pattern allows: an attribute, a
# sub-attribute of a single-valued one (name.givenName), or one of an extension
# (aws:identitystore:enterprise.department). A multi-valued attribute (emails, phoneNumbers,
# addresses) is replaced whole: "Complex types, such as the `emails` field, don't allow field
# by field updates" (hashicorp/terraform-provider-aws, internal/service/identitystore/user.go).
# The names: config field -> (where the listing holds it, attribute path).
NAMES = {
    "display_name": (("DisplayName",), "displayName"),
    "given_name": (("Name", "GivenName"), "name.givenName"),
    "family_name": (("Name", "FamilyName"), "name.familyName"),
}


def listed_name(user: Mapping[str, Any], field: str) -> str | None:
    """A name field of a listed user."""
    value: Any = user
    for key in NAMES[field][0]:
        value = (value or {}).get(key)
    return value


# Single-valued attributes: config field -> (the listing's key, attribute path).
SCALARS = {
    "title": ("Title", "title"),
    "user_type": ("UserType", "userType"),
    "nick_name": ("NickName", "nickName"),
    "preferred_language": ("PreferredLanguage", "preferredLanguage"),
    "locale": ("Locale", "locale"),
    "timezone": ("Timezone", "timezone"),
    "profile_url": ("ProfileUrl", "profileUrl"),
}
PHONE_KEYS = {"value": "Value", "type": "Type", "primary": "Primary"}
ADDRESS_KEYS = {
    "street_address": "StreetAddress",
    "locality": "Locality",
    "region": "Region",
    "postal_code": "PostalCode",
    "country": "Country",
    "formatted": "Formatted",
    "type": "Type",
    "primary": "Primary",
}
# Multi-valued attributes: config field -> (the listing's key, attribute path, item keys).
LISTS = {
    "phone_numbers": ("PhoneNumbers", "phoneNumbers", PHONE_KEYS),
    "addresses": ("Addresses", "addresses", ADDRESS_KEYS),
}
# The enterprise extension's attributes (SCIM enterprise user, RFC 7643 section 4.3): config
# key -> the extension's key. `manager` is a complex attribute whose `value` we manage, as
# ABAC reads it: ${path:enterprise.manager.value} (IAM Identity Center user guide,
# "Supported external identity provider attributes").
ENTERPRISE_KEYS = {
    "employee_number": "employeeNumber",
    "cost_center": "costCenter",
    "organization": "organization",
    "division": "division",
    "department": "department",
    "manager": "manager",
}
ENTERPRISE_PREFIX = "enterprise."


def listing_extensions() -> dict[str, Any]:
    """The Extensions argument of ListUsers and DescribeUser: the enterprise extension, when botocore knows it.
    AWS returns an extension only when asked for it (identitystore User.Extensions: "A map of
    explicitly requested attribute extensions")."""
    return (
        {"Extensions": [ENTERPRISE_EXTENSION]}
        if shapes.has_member("identitystore", "ListUsersRequest", "Extensions")
        else {}
    )


def enterprise_of(user: Mapping[str, Any]) -> dict[str, str]:
    """The enterprise attributes a listed user has, by config key."""
    extension = (user.get("Extensions") or {}).get(ENTERPRISE_EXTENSION) or {}
    out = {}
    for key, aws_key in ENTERPRISE_KEYS.items():
        value = extension.get(aws_key)
        if isinstance(value, Mapping):
            value = value.get("value")
        if value not in (None, ""):
            out[key] = str(value)
    return out


def aws_items(items: list[Any] | None, keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """Config entries (phone numbers, addresses) as the identity store's items."""
    return [
        {aws: getattr(item, field) for field, aws in keys.items() if getattr(item, field) is not None}
        for item in items or []
    ]


def listed_items(items: list[Mapping[str, Any]] | None, keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """Listed items in the same form: only the keys we manage, Primary false when absent."""
    out = []
    for item in items or []:
        entry = {aws: item[aws] for aws in keys.values() if item.get(aws) not in (None, "") and aws != "Primary"}
        entry["Primary"] = bool(item.get("Primary"))
        out.append(entry)
    return out


def as_config(items: list[dict[str, Any]], keys: Mapping[str, str]) -> list[dict[str, Any]]:
    """Identity store items as config entries (as shown in the plan and exported)."""
    by_aws = {aws: field for field, aws in keys.items()}
    return [{by_aws[aws]: value for aws, value in item.items() if aws in by_aws} for item in items]


def attribute_drift(spec: UserSpec, user: Mapping[str, Any]) -> list[FieldChange]:
    """The ABAC and directory attributes the config sets (null: must be absent) that differ."""
    declared = spec.model_fields_set
    out = []
    for field, (listed, _) in SCALARS.items():
        old, new = user.get(listed) or None, getattr(spec, field)
        if field in declared and old != new:
            out.append(FieldChange(field, old, new))
    for field, (listed, _, keys) in LISTS.items():
        old_items, new_items = listed_items(user.get(listed), keys), aws_items(getattr(spec, field), keys)
        if field in declared and old_items != new_items:
            out.append(FieldChange(field, as_config(old_items, keys) or None, as_config(new_items, keys) or None))
    if spec.enterprise is not None and "enterprise" in declared:
        have = enterprise_of(user)
        for key in ENTERPRISE_KEYS:
            if key in spec.enterprise.model_fields_set and have.get(key) != getattr(spec.enterprise, key):
                out.append(FieldChange(ENTERPRISE_PREFIX + key, have.get(key), getattr(spec.enterprise, key)))
    return out


def drift(spec: UserSpec, user: Mapping[str, Any]) -> list[FieldChange]:
    """Fields the config sets explicitly that differ; defaults only apply at creation."""
    declared = spec.model_fields_set
    out = [
        FieldChange(field, old, new)
        for field in NAMES
        if field in declared and (old := listed_name(user, field)) != (new := getattr(spec, field))
    ]
    if spec.email is not None and not same_email(primary_email(user), spec.email):
        out.append(FieldChange("email", primary_email(user), spec.email))
    return out + attribute_drift(spec, user)


def creation_attributes(spec: UserSpec) -> dict[str, Any]:
    """CreateUser's arguments for the attributes the config sets, beyond names and email."""
    out: dict[str, Any] = {
        listed: getattr(spec, field) for field, (listed, _) in SCALARS.items() if getattr(spec, field)
    }
    for field, (listed, _, keys) in LISTS.items():
        if items := aws_items(getattr(spec, field), keys):
            out[listed] = items
    if extension := enterprise_document(spec):
        out["Extensions"] = {ENTERPRISE_EXTENSION: extension}
    return out


def enterprise_document(spec: UserSpec) -> dict[str, Any]:
    """The enterprise extension's document for the attributes set."""
    out: dict[str, Any] = {}
    for key, aws_key in ENTERPRISE_KEYS.items():
        value = getattr(spec.enterprise, key) if spec.enterprise is not None else None
        if value is not None:
            out[aws_key] = {"value": value} if key == "manager" else value
    return out


def update_operation(spec: UserSpec, field: str) -> dict[str, Any]:
    """The UpdateUser operation that sets one changed field; a null value removes the attribute
    ("The API doesn't allow empty attribute values. To unset an attribute, set it to null":
    hashicorp/terraform-provider-aws, internal/service/identitystore/user.go)."""
    if field in SCALARS:
        return {"AttributePath": SCALARS[field][1], "AttributeValue": getattr(spec, field)}
    if field in LISTS:
        _, path, keys = LISTS[field]
        return {"AttributePath": path, "AttributeValue": aws_items(getattr(spec, field), keys) or None}
    if field.startswith(ENTERPRISE_PREFIX):
        key = field.removeprefix(ENTERPRISE_PREFIX)
        value = getattr(spec.enterprise, key) if spec.enterprise is not None else None
        if key == "manager" and value is not None:
            value = {"value": value}
        return {"AttributePath": f"{ENTERPRISE_EXTENSION}.{ENTERPRISE_KEYS[key]}", "AttributeValue": value}
    if field in NAMES:
        return {"AttributePath": NAMES[field][1], "AttributeValue": getattr(spec, field)}
    return {"AttributePath": "emails", "AttributeValue": work_email(spec) if spec.email is not None else None}


def exported_attributes(user: Mapping[str, Any]) -> dict[str, Any]:
    """A listed user's ABAC and directory attributes as config (only those it has)."""
    out: dict[str, Any] = {field: user[listed] for field, (listed, _) in SCALARS.items() if user.get(listed)}
    for field, (listed, _, keys) in LISTS.items():
        if items := as_config(listed_items(user.get(listed), keys), keys):
            # One entry, primary by default: written only when it is not.
            out[field] = [{k: v for k, v in item.items() if not (k == "primary" and v)} for item in items]
    if enterprise := enterprise_of(user):
        out["enterprise"] = enterprise
    return out


class UserKind(PrincipalKind[UserSpec]):
    name = KindName.USER
    natural_key = "UserName"
    result_key, id_key, attribute_path = "Users", "UserId", "userName"
    actions = frozenset(
        {
            "identitystore:ListUsers",
            "identitystore:GetUserId",
            "identitystore:DescribeUser",
            "identitystore:CreateUser",
            "identitystore:UpdateUser",
            "identitystore:DeleteUser",
        }
    )

    def page(self, client: IdentityStoreClient, store: str, more: dict[str, Any]) -> Mapping[str, Any]:
        return client.list_users(
            IdentityStoreId=store, MaxResults=quotas.LIST_PAGE_SIZE, **listing_extensions(), **more
        )

    def describe(self, client: IdentityStoreClient, store: str, principal_id: str) -> Mapping[str, Any]:
        return client.describe_user(IdentityStoreId=store, UserId=principal_id, **listing_extensions())

    def get_id(self, client: IdentityStoreClient, store: str, key: UniqueAttributeTypeDef) -> Mapping[str, Any]:
        return client.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key})

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Directory:
        """The users the run needs (see PrincipalKind), and who else holds an email the run
        sets: seen while listing, else looked up by email (GetUserId), so the plan can warn."""
        owners = {spec.email.lower(): spec.user_name for spec in config.users if spec.email and not spec.external}
        holders: dict[str, str] = {}

        def watch(user: Principal) -> None:
            for email in user.attributes.get("Emails") or []:
                value = str(email.get("Value") or "").lower()
                if owners.get(value, user.name) != user.name:
                    holders[value] = user.name

        directory = self.read_principals(reader, config, mode, watch)
        if not directory.complete and mode in (Mode.PLAN, Mode.PRUNE):
            setting = [
                spec
                for spec in config.users
                if sets_email(spec, directory.get(spec.user_name)) and (spec.email or "").lower() not in holders
            ]
            holders |= self._email_holders(reader, directory, setting)
        return replace(directory, email_holders=holders)

    def _email_holders(self, reader: Reader, directory: Directory, specs: list[UserSpec]) -> dict[str, str]:
        """Lowercased email -> the name of another user who holds it, of the emails these
        users would get (GetUserId by email; DescribeUser for a holder not seen yet)."""
        store = reader.ctx.identity_store_id

        def holder(spec: UserSpec) -> tuple[str, str] | None:
            email = spec.email or ""
            holder_id = id_by_email(reader.clients, store, email)
            if holder_id is None or holder_id == directory.id_of(spec.user_name):
                return None
            name = directory.names().get(holder_id)
            if name is None:
                found = self.describe_ids(reader, [holder_id]).get(holder_id)
                name = found.name if found else holder_id
            return email.lower(), name

        return dict(pair for pair in reader.parallel(holder, specs) if pair is not None)

    def specs(self, config: Config) -> list[tuple[str, bool, UserSpec]]:
        return [(spec.user_name, spec.external, spec) for spec in config.users]

    def absent(self, config: Config) -> list[str]:
        return config.absent.users

    def creation_fields(self, spec: UserSpec) -> list[FieldChange]:
        return [
            FieldChange("user_name", None, spec.user_name),
            *(FieldChange(field, None, getattr(spec, f"resolved_{field}")) for field in NAMES),
            FieldChange("email", None, spec.email),
            *(f for f in attribute_drift(spec, {}) if f.new is not None),
        ]

    def drift(self, spec: UserSpec, found: Principal) -> list[FieldChange]:
        return drift(spec, found.attributes)

    def gone(self, name: str, found: Principal) -> UserSpec:
        # A deletion needs only the name: not validated as a user to create would be.
        return UserSpec.model_construct(user_name=name, email=primary_email(found.attributes))

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[UserSpec]:
        diff = super().diff(config, live, mode)
        if mode is not Mode.DESTROY:
            updates = [c for c in diff.changes if c.action is not Action.DELETE]
            diff.warnings += _emails_taken(updates, live.get(self)) + _clashes_with_idp(config, updates, live)
        return diff

    def apply(self, change: Change[UserSpec], env: Env) -> str | None:
        spec, store, api = change.payload, env.ctx.identity_store_id, env.clients.identitystore
        if change.action is Action.DELETE:
            user_id = env.ids.need(self.name, spec.user_name)
            return delete(
                lambda: api.call(lambda c: c.delete_user(IdentityStoreId=store, UserId=user_id), ignore=NOT_FOUND)
            )
        if change.action is Action.CREATE:
            emails = work_email(spec)
            attributes = creation_attributes(spec)
            return create_or_adopt(
                env.clients,
                create=lambda: api.call(
                    lambda c: c.create_user(
                        IdentityStoreId=store,
                        UserName=spec.user_name,
                        DisplayName=spec.resolved_display_name,
                        Name={"GivenName": spec.resolved_given_name, "FamilyName": spec.resolved_family_name},
                        Emails=emails,
                        **attributes,
                    )
                )["UserId"],
                # Adopt only a user with this name; an email another user holds fails this change.
                lookup=lambda: self.find_id(env.clients, store, spec.user_name),
                record=lambda user_id: env.ids.set(self.name, spec.user_name, user_id),
                refuse=lambda exc: refuse_taken_email(env.clients, store, exc, spec, None),
            )
        # AttributeValue is a JSON document (a string, a list, an object or null), whatever the stubs say.
        operations = cast(list["AttributeOperationTypeDef"], [update_operation(spec, f.name) for f in change.fields])
        user_id = env.ids.need(self.name, spec.user_name)

        def update() -> None:
            api.call(lambda c: c.update_user(IdentityStoreId=store, UserId=user_id, Operations=operations))

        def email_taken(exc: AwsError) -> None:
            if any(f.name == "email" for f in change.fields):
                refuse_taken_email(env.clients, store, exc, spec, user_id)

        return env.clients.retrier.settle("identitystore", update, email_taken)

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """Every user; an identity provider's marked external, with only their user name.
        (The memberships kind adds their groups, and keeps only the members of --group.)"""
        document["users"] = []
        for name, user in sorted(live.get(self).by_name.items()):
            entry: dict[str, Any] = {"user_name": name}
            if user.from_idp:
                entry["external"] = True
            else:
                entry["email"] = primary_email(user.attributes) or ""
                entry.update({field: value for field in NAMES if (value := listed_name(user.attributes, field))})
                entry.update(exported_attributes(user.attributes))
            document["users"].append(entry)
        return []


def _emails_taken(changes: list[Change[UserSpec]], users: Directory) -> list[str]:
    """An email another user holds: this change will fail (emails are unique in a store)."""
    holders = {
        str(e.get("Value")).lower(): name for name, u in users.by_name.items() for e in u.attributes.get("Emails") or []
    } | dict(users.email_holders)
    warnings = []
    for change in changes:
        spec = change.payload
        holder = holders.get((spec.email or "").lower())
        if holder not in (None, spec.user_name) and any(f.name == "email" for f in change.fields):
            warnings.append(
                f"user {spec.user_name!r}: email {spec.email!r} is already used by user {holder!r}; emails "
                f"are unique in an identity store (compared without case), so this {change.action.value} will fail"
            )
    return warnings


def _clashes_with_idp(config: Config, changes: list[Change[UserSpec]], live: LiveState) -> list[str]:
    """Warn before creating a user or group locally in a store an identity provider syncs to:
    if the provider later pushes one with the same name, its sync fails on the duplicate.
    (Groups are read before users, so every principal's ExternalIds are known here.)"""
    directory, people = live.get(groups.KIND), live.get(KIND)
    synced = directory.synced + people.synced
    if not synced:
        return []
    # Listings read in part (a store of thousands) count only what was read.
    holds = f"{'at least ' if not (directory.complete and people.complete) else ''}{synced}"
    group_creates = [spec.name for spec in config.groups if directory.get(spec.name) is None and not spec.external]
    user_creates = [c.key for c in changes if c.action is Action.CREATE]
    return [
        f"{kind} {name!r} does not exist and would be created here, but this identity store holds {holds} "
        "user(s) and group(s) synced from an external identity provider: if it comes from there, creating it "
        "here will clash with the provider's next sync; mark it `external: true` in the config and let the "
        "provider create it"
        for kind, names in (("group", group_creates), ("user", user_creates))
        for name in names
    ]


def refuse_taken_email(clients: Clients, store: str, exc: AwsError, spec: UserSpec, user_id: str | None) -> None:
    """Fail this change, naming the holder, when another user holds the email it sets."""
    holder = email_holder(clients, store, spec.email or "", user_id)
    if holder is not None:
        message = (
            f"email {spec.email!r} is already used by user {holder!r}; emails are unique in an "
            f"identity store (compared without case): give {spec.user_name!r} another email"
        )
        raise AwsError(exc.code, message, exc.operation, exc.request_id, exc.reason, exc.service) from exc


def id_by_email(clients: Clients, store: str, email: str) -> str | None:
    """The UserId of the user holding `email` as written or lowercased, read now (GetUserId).
    Uniqueness ignores case; AWS does not say whether the lookup does."""
    holder_id = KIND.find_id(clients, store, email, "emails.value")
    if holder_id is None and email != email.lower():
        holder_id = KIND.find_id(clients, store, email.lower(), "emails.value")
    return holder_id


def email_holder(clients: Clients, store: str, email: str, user_id: str | None) -> str | None:
    """The UserName of another user who holds `email`, read now. Only after a write was
    refused: a lookup finds an exact match (see id_by_email); a listing looks for another
    casing, page by page, and the holder ends the search."""
    api = clients.identitystore
    holder_id = id_by_email(clients, store, email)
    if holder_id is not None and holder_id != user_id:
        return str(api.call(lambda c: c.describe_user(IdentityStoreId=store, UserId=holder_id)).get("UserName"))
    pages = api.each_page(
        lambda c, more: c.list_users(IdentityStoreId=store, MaxResults=quotas.LIST_PAGE_SIZE, **more), "Users"
    )
    for user in (user for page in pages for user in page.items):
        held = [e.get("Value") for e in user.get("Emails") or []]
        if user["UserId"] != user_id and any(same_email(value, email) for value in held):
            return str(user.get("UserName"))
    return None


KIND = UserKind()
