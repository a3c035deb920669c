"""Users, looked up by UserName."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Config, UserSpec
from ..errors import AwsError, ProvisionerError
from ..plan import Action, Change, FieldChange, Plan
from .base import ADOPTED, Ids, Step
from .groups import (
    deleted,
    drift_left_alone,
    find_id,
    left_to_idp,
    missing_from_idp,
    plan_deletions,
    settle_conflicts,
)

if TYPE_CHECKING:
    from mypy_boto3_identitystore.type_defs import AttributeOperationTypeDef, EmailTypeDef


def primary_email(user: dict[str, Any]) -> str | None:
    emails = user.get("Emails") or []
    for email in emails:
        if email.get("Primary"):
            return str(email.get("Value"))
    return str(emails[0].get("Value")) if emails else None


def _same(field: str, old: str | None, new: str | None) -> bool:
    # Email addresses compare case-insensitively, as the identity store treats them.
    if field == "email":
        return (old or "").lower() == (new or "").lower()
    return old == new


def work_email(spec: UserSpec) -> list[EmailTypeDef]:
    """The Emails attribute of a user we create or update (external users, who may have no
    email in the config, are never either)."""
    if spec.email is None:
        raise ProvisionerError(f"user {spec.user_name!r} has no email in the config")
    return [{"Value": spec.email, "Type": "work", "Primary": True}]


def warn_of_clashes_with_idp(plan: Plan, ids: Ids) -> None:
    """Warn before creating a user or group locally in a store an identity provider syncs to:
    if the provider later pushes one with the same name, its sync fails on the duplicate."""
    if not ids.synced:
        return
    for change in plan.changes:
        if change.action is Action.CREATE and change.resource in ("group", "user"):
            plan.warnings.append(
                f"{change.resource} {change.key!r} does not exist and would be created here, but this "
                f"identity store holds {len(ids.synced)} user(s) and group(s) synced from an external "
                "identity provider: if it comes from there, creating it here will clash with the "
                "provider's next sync; mark it `external: true` in the config and let the provider create it"
            )


class UsersStep(Step):
    resource = "user"
    live: dict[str, dict[str, Any]]

    def read(self) -> dict[str, dict[str, Any]]:
        """Every user by UserName; their ids (and which come from an IdP) become known."""
        users = self.clients.identitystore.pages(
            lambda c, more: c.list_users(IdentityStoreId=self.ctx.identity_store_id, **more), "Users"
        )
        live = {u["UserName"]: u for u in users if "UserName" in u}
        for name, user in live.items():
            self.ids.set("users", name, user["UserId"])
            if user.get("ExternalIds"):
                self.ids.synced.add(user["UserId"])
                self.ids.external.add(user["UserId"])
        return live

    def plan(self, config: Config, plan: Plan) -> None:
        live = self.live = self.read()
        plan.extend(self.diff(config.users, live, plan))
        # Groups are read before users: every principal's ExternalIds are known here.
        warn_of_clashes_with_idp(plan, self.ids)

    def drift(self, spec: UserSpec, user: dict[str, Any]) -> list[FieldChange]:
        """Fields the config sets explicitly that differ; defaults only apply at creation."""
        name = user.get("Name") or {}
        declared = spec.model_fields_set
        wanted = [
            ("display_name", "display_name" in declared, user.get("DisplayName"), spec.display_name),
            ("given_name", "given_name" in declared, name.get("GivenName"), spec.given_name),
            ("family_name", "family_name" in declared, name.get("FamilyName"), spec.family_name),
            ("email", spec.email is not None, primary_email(user), spec.email),
        ]
        return [
            FieldChange(field, old, new)
            for field, managed, old, new in wanted
            if managed and not _same(field, old, new)
        ]

    def diff(self, specs: list[UserSpec], live: dict[str, dict[str, Any]], plan: Plan) -> list[Change]:
        changes = []
        holders = {str(e.get("Value")).lower(): name for name, u in live.items() for e in u.get("Emails") or []}
        for spec in specs:
            user = live.get(spec.user_name)
            if spec.external:
                if user is None:
                    plan.errors.append(missing_from_idp("user", spec.user_name))
                    continue
                self.ids.external.add(user["UserId"])
            if user is None:
                fields = (
                    FieldChange("user_name", None, spec.user_name),
                    FieldChange("display_name", None, spec.resolved_display_name),
                    FieldChange("given_name", None, spec.resolved_given_name),
                    FieldChange("family_name", None, spec.resolved_family_name),
                    FieldChange("email", None, spec.email),
                )
                changes.append(Change(self.resource, Action.CREATE, spec.user_name, fields, spec))
                continue
            drift = self.drift(spec, user)
            if not drift:
                plan.unchanged[self.resource] += 1
            elif user["UserId"] in self.ids.external:
                differ = drift_left_alone([f.name for f in drift])
                plan.notes.append(left_to_idp("user", spec.user_name, differ))
                plan.unchanged[self.resource] += 1
            else:
                changes.append(Change(self.resource, Action.UPDATE, spec.user_name, tuple(drift), spec))
        for change in changes:  # an email another user holds: this change will fail
            spec = change.data
            holder = holders.get((spec.email or "").lower())
            if holder not in (None, spec.user_name) and any(f.name == "email" for f in change.fields):
                plan.warnings.append(
                    f"user {spec.user_name!r}: email {spec.email!r} is already used by user {holder!r}; emails "
                    f"are unique in an identity store (compared without case), so this {change.action.value} will fail"
                )
        return changes

    def plan_prune(self, config: Config, plan: Plan) -> None:
        """Users listed under `absent:` that exist, except those of an external identity provider."""
        for name in config.absent.users:
            user = self.live.get(name)
            if user is None:
                continue
            if user["UserId"] in self.ids.external:
                plan.notes.append(left_to_idp("user", name, "not deleted, nor its memberships"))
                continue
            spec = UserSpec(user_name=name, email=primary_email(user) or "x@example.com")
            plan.changes.append(Change(self.resource, Action.DELETE, name, (), spec))

    def plan_destroy(self, config: Config, plan: Plan) -> None:
        declared = [(spec.user_name, spec.external, spec) for spec in config.users]
        plan_deletions(plan, self.ids, self.resource, self.read(), "UserId", declared)

    def apply(self, change: Change) -> str | None:
        spec: UserSpec = change.data
        store = self.ctx.identity_store_id
        ids = self.clients.identitystore
        if change.action is Action.DELETE:
            user_id = self.ids.need("users", spec.user_name)
            return deleted(lambda: ids.call(lambda c: c.delete_user(IdentityStoreId=store, UserId=user_id)))
        if change.action is Action.CREATE:

            def create() -> None:
                user_id = ids.call(
                    lambda c: c.create_user(
                        IdentityStoreId=store,
                        UserName=spec.user_name,
                        DisplayName=spec.resolved_display_name,
                        Name={"GivenName": spec.resolved_given_name, "FamilyName": spec.resolved_family_name},
                        Emails=work_email(spec),
                    )
                )["UserId"]
                self.ids.set("users", spec.user_name, user_id)

            def explain(exc: AwsError) -> str | None:
                # Adopt only a user with this name (made meanwhile, or by our call whose reply
                # was lost); the email another user holds is a failure of this change.
                user_id = find_id(self.clients, store, "userName", spec.user_name)
                if user_id is None:
                    self.refuse_taken_email(exc, spec, None)
                    return None
                self.ids.set("users", spec.user_name, user_id)
                return ADOPTED

            return settle_conflicts(self.clients, create, explain)
        values: dict[str, tuple[str, Any]] = {
            "display_name": ("displayName", spec.display_name),
            "given_name": ("name.givenName", spec.given_name),
            "family_name": ("name.familyName", spec.family_name),
            "email": ("emails", work_email(spec) if spec.email is not None else None),
        }
        # AttributeValue is a JSON document: a string or a list, whatever the stubs say.
        operations: list[AttributeOperationTypeDef] = [
            {"AttributePath": values[f.name][0], "AttributeValue": values[f.name][1]} for f in change.fields
        ]
        user_id = self.ids.need("users", spec.user_name)

        def update() -> None:
            ids.call(lambda c: c.update_user(IdentityStoreId=store, UserId=user_id, Operations=operations))

        def email_taken(exc: AwsError) -> None:
            if any(f.name == "email" for f in change.fields):
                self.refuse_taken_email(exc, spec, user_id)

        return settle_conflicts(self.clients, update, email_taken)

    def refuse_taken_email(self, exc: AwsError, spec: UserSpec, user_id: str | None) -> None:
        """Fail this change, naming the holder, when another user holds the email it sets."""
        holder = self.email_holder(spec.email or "", user_id)
        if holder is not None:
            message = (
                f"email {spec.email!r} is already used by user {holder!r}; emails are unique in an "
                f"identity store (compared without case): give {spec.user_name!r} another email"
            )
            raise AwsError(exc.code, message, exc.operation, exc.request_id, exc.reason, exc.service) from exc

    def email_holder(self, email: str, user_id: str | None) -> str | None:
        """The UserName of another user who holds `email`, read now. GetUserId finds an exact
        match; AWS does not say how case counts, so a listing looks for the others."""
        store = self.ctx.identity_store_id
        api = self.clients.identitystore
        holder_id = find_id(self.clients, store, "emails.value", email)
        if holder_id is not None and holder_id != user_id:
            return str(api.call(lambda c: c.describe_user(IdentityStoreId=store, UserId=holder_id)).get("UserName"))
        for user in api.pages(lambda c, more: c.list_users(IdentityStoreId=store, **more), "Users"):
            held = [e.get("Value") for e in user.get("Emails") or []]
            if user["UserId"] != user_id and any(_same("email", value, email) for value in held):
                return str(user.get("UserName"))
        return None
