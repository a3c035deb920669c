"""Groups, looked up by DisplayName."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ..config import Config, GroupSpec
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, Plan
from .base import ADOPTED, Ids, Step

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


# How often a write refused with a ConflictException that nothing explains is made at most.
CONFLICT_ATTEMPTS = 4


def settle_conflicts(
    clients: Clients, write: Callable[[], str | None], explain: Callable[[AwsError], str | None]
) -> str | None:
    """Run an identity store write; read a ConflictException by looking things up.

    A conflict means a unique value is taken or the object was being modified concurrently,
    and its Reason may be missing (the model documents it for KMS errors only), so it is never
    taken as "already exists". `explain(exc)` looks the natural key up: it returns the detail
    to report when the object is already there (adopted), raises a clear error when another
    object holds a unique value, or returns None when nothing explains the conflict; the write
    is then made again after a pause. (A conflict whose Reason says CONCURRENT_MODIFICATION was
    already retried as transient, waiting as long as it asked.)
    """
    attempt = 1
    while True:
        try:
            return write()
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            detail = explain(exc)
            if detail is not None:
                return detail
            if attempt >= CONFLICT_ATTEMPTS:
                message = f"{exc.aws_message} (refused {attempt} times; nothing in the identity store explains it)"
                raise AwsError(exc.code, message, exc.operation, exc.request_id, exc.reason, exc.service) from exc
            clients.clock.sleep(2.0 ** (attempt - 1))
            attempt += 1


def plan_deletions(
    plan: Plan,
    ids: Ids,
    resource: str,
    live: dict[str, dict[str, Any]],
    id_key: str,
    declared: list[tuple[str, bool, Any]],
) -> None:
    """A deletion for each declared (name, external, spec) user or group that exists, except
    those of an identity provider: each of those is noted instead."""
    for name, external, spec in declared:
        found = live.get(name)
        if found is None:
            continue
        if external or found[id_key] in ids.external:
            plan.notes.append(left_to_idp(resource, name, "not deleted, nor its memberships"))
            continue
        plan.changes.append(Change(resource, Action.DELETE, name, (), spec))


def unexplained(exc: AwsError) -> None:
    """For writes where no unique value can be at stake: a conflict is a concurrent change."""
    return None


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
        declared = [(spec.name, spec.external, spec) for spec in config.groups]
        plan_deletions(plan, self.ids, self.resource, self.read(), "GroupId", declared)

    def apply(self, change: Change) -> str | None:
        spec: GroupSpec = change.data
        store = self.ctx.identity_store_id
        ids = self.clients.identitystore
        if change.action is Action.DELETE:
            group_id = self.ids.need("groups", spec.name)
            return deleted(lambda: ids.call(lambda c: c.delete_group(IdentityStoreId=store, GroupId=group_id)))
        if change.action is Action.CREATE:
            description = {"Description": spec.description} if spec.description is not None else {}

            def create() -> None:
                group_id = ids.call(
                    lambda c: c.create_group(IdentityStoreId=store, DisplayName=spec.name, **description)
                )["GroupId"]
                self.ids.set("groups", spec.name, group_id)

            def explain(exc: AwsError) -> str | None:
                # Created by someone else (or by our own call whose reply was lost): adopt it.
                group_id = find_id(self.clients, store, "displayName", spec.name)
                if group_id is None:
                    return None
                self.ids.set("groups", spec.name, group_id)
                return ADOPTED

            return settle_conflicts(self.clients, create, explain)
        operation: AttributeOperationTypeDef = {
            "AttributePath": "description",
            "AttributeValue": cast(Any, spec.description),
        }
        group_id = self.ids.need("groups", spec.name)

        def update() -> None:
            ids.call(lambda c: c.update_group(IdentityStoreId=store, GroupId=group_id, Operations=[operation]))

        return settle_conflicts(self.clients, update, unexplained)


def deleted(delete: Callable[[], object]) -> str | None:
    """Run a delete; an object already gone is what we wanted (a re-run after a kill)."""
    try:
        delete()
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        return "already gone"
    return None


def find_id(clients: Clients, store: str, attribute_path: str, value: str) -> str | None:
    """UserId (userName, emails.value) or GroupId (displayName) by a unique attribute, read
    now; None when nothing has it."""
    key: UniqueAttributeTypeDef = {"AttributePath": attribute_path, "AttributeValue": cast(Any, value)}
    api = clients.identitystore
    try:
        if attribute_path == "displayName":
            return api.call(
                lambda c: c.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key})
            )["GroupId"]
        return api.call(lambda c: c.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key}))[
            "UserId"
        ]
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            return None
        raise
