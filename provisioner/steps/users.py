"""Users, looked up by UserName."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Config, UserSpec
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, Plan
from .base import ADOPTED, Step
from .groups import deleted, drift_left_alone, is_duplicate, left_to_idp, lookup_id

if TYPE_CHECKING:
    from mypy_boto3_identitystore.type_defs import AttributeOperationTypeDef


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
                self.ids.external.add(user["UserId"])
        return live

    def plan(self, config: Config, plan: Plan) -> None:
        live = self.live = self.read()
        plan.extend(self.diff(config.users, live, plan))

    def drift(self, spec: UserSpec, user: dict[str, Any]) -> list[FieldChange]:
        """Fields the config sets explicitly that differ; defaults only apply at creation."""
        name = user.get("Name") or {}
        declared = spec.model_fields_set
        wanted = [
            ("display_name", "display_name" in declared, user.get("DisplayName"), spec.display_name),
            ("given_name", "given_name" in declared, name.get("GivenName"), spec.given_name),
            ("family_name", "family_name" in declared, name.get("FamilyName"), spec.family_name),
            ("email", True, primary_email(user), spec.email),
        ]
        return [
            FieldChange(field, old, new)
            for field, managed, old, new in wanted
            if managed and not _same(field, old, new)
        ]

    def diff(self, specs: list[UserSpec], live: dict[str, dict[str, Any]], plan: Plan) -> list[Change]:
        changes = []
        for spec in specs:
            user = live.get(spec.user_name)
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
        live = self.read()
        for spec in config.users:
            user = live.get(spec.user_name)
            if user is None:
                continue
            if user["UserId"] in self.ids.external:
                plan.notes.append(left_to_idp("user", spec.user_name, "not deleted, nor its memberships"))
                continue
            plan.changes.append(Change(self.resource, Action.DELETE, spec.user_name, (), spec))

    def apply(self, change: Change) -> str | None:
        spec: UserSpec = change.data
        store = self.ctx.identity_store_id
        ids = self.clients.identitystore
        if change.action is Action.DELETE:
            user_id = self.ids.need("users", spec.user_name)
            return deleted(lambda: ids.call(lambda c: c.delete_user(IdentityStoreId=store, UserId=user_id)))
        if change.action is Action.CREATE:
            try:
                user_id = ids.call(
                    lambda c: c.create_user(
                        IdentityStoreId=store,
                        UserName=spec.user_name,
                        DisplayName=spec.resolved_display_name,
                        Name={"GivenName": spec.resolved_given_name, "FamilyName": spec.resolved_family_name},
                        Emails=[{"Value": spec.email, "Type": "work", "Primary": True}],
                    )
                )["UserId"]
            except AwsError as exc:
                if not is_duplicate(exc):
                    raise
                self.ids.set("users", spec.user_name, lookup_id(self.clients, store, "userName", spec.user_name))
                return ADOPTED
            self.ids.set("users", spec.user_name, user_id)
            return None
        values: dict[str, tuple[str, Any]] = {
            "display_name": ("displayName", spec.display_name),
            "given_name": ("name.givenName", spec.given_name),
            "family_name": ("name.familyName", spec.family_name),
            "email": ("emails", [{"Value": spec.email, "Type": "work", "Primary": True}]),
        }
        # AttributeValue is a JSON document: a string or a list, whatever the stubs say.
        operations: list[AttributeOperationTypeDef] = [
            {"AttributePath": values[f.name][0], "AttributeValue": values[f.name][1]} for f in change.fields
        ]
        ids.call(
            lambda c: c.update_user(
                IdentityStoreId=store, UserId=self.ids.need("users", spec.user_name), Operations=operations
            )
        )
        return None
