"""Groups, looked up by DisplayName."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..config import Config, GroupSpec
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, Plan
from .base import ADOPTED, Step

if TYPE_CHECKING:
    from mypy_boto3_identitystore.type_defs import AttributeOperationTypeDef, UniqueAttributeTypeDef

    from ..aws import Clients


def left_to_idp(kind: str, name: str, what: str) -> str:
    """The plan note for a user or group of an external identity provider that is left alone."""
    return f"{kind} {name!r} comes from an external identity provider, which manages it: {what}"


def missing_from_idp(kind: str, name: str) -> str:
    """The plan error for a principal marked `external: true` that the identity store lacks."""
    return (
        f"{kind} {name!r} is marked external but does not exist: not synced from your identity "
        "provider yet; sync it there first, or drop `external: true` to create it here"
    )


def drift_left_alone(fields: list[str]) -> str:
    verb = "differs" if len(fields) == 1 else "differ"
    return f"its {', '.join(fields)} {verb} from the config; left alone"


def is_duplicate(exc: AwsError) -> bool:
    """identitystore's permanent conflict: the natural key is taken (adopt, never retry)."""
    return exc.code == "ConflictException" and exc.reason != "CONCURRENT_MODIFICATION"


class GroupsStep(Step):
    resource = "group"

    def read(self) -> dict[str, dict[str, Any]]:
        """Every group by DisplayName; their ids (and which come from an IdP) become known."""
        groups = self.clients.identitystore.pages(
            lambda c, more: c.list_groups(IdentityStoreId=self.ctx.identity_store_id, **more), "Groups"
        )
        live = {g["DisplayName"]: g for g in groups if "DisplayName" in g}
        for name, group in live.items():
            self.ids.set("groups", name, group["GroupId"])
            if group.get("ExternalIds"):
                self.ids.synced.add(group["GroupId"])
                self.ids.external.add(group["GroupId"])
        return live

    def plan(self, config: Config, plan: Plan) -> None:
        live = self.read()
        plan.extend(self.diff(config.groups, live, plan))

    def diff(self, specs: list[GroupSpec], live: dict[str, dict[str, Any]], plan: Plan) -> list[Change]:
        changes = []
        for spec in specs:
            group = live.get(spec.name)
            if spec.external:
                if group is None:
                    plan.errors.append(missing_from_idp("group", spec.name))
                    continue
                self.ids.external.add(group["GroupId"])
            if group is None:
                fields = [FieldChange("display_name", None, spec.name)]
                if spec.description is not None:
                    fields.append(FieldChange("description", None, spec.description))
                changes.append(Change(self.resource, Action.CREATE, spec.name, tuple(fields), spec))
            elif spec.description is not None and group.get("Description") != spec.description:
                if group["GroupId"] in self.ids.external:
                    plan.notes.append(left_to_idp("group", spec.name, drift_left_alone(["description"])))
                    plan.unchanged[self.resource] += 1
                    continue
                changes.append(
                    Change(
                        self.resource,
                        Action.UPDATE,
                        spec.name,
                        (FieldChange("description", group.get("Description"), spec.description),),
                        spec,
                    )
                )
            else:
                plan.unchanged[self.resource] += 1
        return changes

    def plan_prune(self, config: Config, plan: Plan) -> None:
        """Groups listed under `absent:` that exist."""
        for name in config.absent.groups:
            if self.ids.groups.get(name) in self.ids.external:
                plan.notes.append(left_to_idp("group", name, "not deleted, nor its memberships"))
            elif name in self.ids.groups:
                plan.changes.append(Change(self.resource, Action.DELETE, name, (), GroupSpec(name=name)))

    def plan_destroy(self, config: Config, plan: Plan) -> None:
        live = self.read()
        for spec in config.groups:
            group = live.get(spec.name)
            if group is None:
                continue
            if spec.external or group["GroupId"] in self.ids.external:
                plan.notes.append(left_to_idp("group", spec.name, "not deleted, nor its memberships"))
                continue
            plan.changes.append(Change(self.resource, Action.DELETE, spec.name, (), spec))

    def apply(self, change: Change) -> str | None:
        spec: GroupSpec = change.data
        store = self.ctx.identity_store_id
        ids = self.clients.identitystore
        if change.action is Action.DELETE:
            group_id = self.ids.need("groups", spec.name)
            return deleted(lambda: ids.call(lambda c: c.delete_group(IdentityStoreId=store, GroupId=group_id)))
        if change.action is Action.CREATE:
            description = {"Description": spec.description} if spec.description is not None else {}
            try:
                group_id = ids.call(
                    lambda c: c.create_group(IdentityStoreId=store, DisplayName=spec.name, **description)
                )["GroupId"]
            except AwsError as exc:
                if not is_duplicate(exc):
                    raise
                # Created by someone else (or by our own call whose reply was lost): adopt it.
                self.ids.set("groups", spec.name, lookup_id(self.clients, store, "displayName", spec.name))
                return ADOPTED
            self.ids.set("groups", spec.name, group_id)
            return None
        operation: AttributeOperationTypeDef = {
            "AttributePath": "description",
            "AttributeValue": cast(Any, spec.description),
        }
        ids.call(
            lambda c: c.update_group(
                IdentityStoreId=store, GroupId=self.ids.need("groups", spec.name), Operations=[operation]
            )
        )
        return None


def deleted(delete: Callable[[], object]) -> str | None:
    """Run a delete; an object already gone is what we wanted (a re-run after a kill)."""
    try:
        delete()
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        return "already gone"
    return None


def lookup_id(clients: Clients, store: str, attribute_path: str, value: str) -> str:
    """GroupId (displayName) or UserId (userName) of an existing identity by its natural key."""
    key: UniqueAttributeTypeDef = {"AttributePath": attribute_path, "AttributeValue": cast(Any, value)}
    if attribute_path == "userName":
        return clients.identitystore.call(
            lambda c: c.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key})
        )["UserId"]
    return clients.identitystore.call(
        lambda c: c.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key})
    )["GroupId"]
