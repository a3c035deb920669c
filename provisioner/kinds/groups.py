"""Groups, looked up by DisplayName."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from ..config import Config, GroupSpec
from ..plan import Action, Change, FieldChange, KindName
from .base import Diff, Env, ExportScope, Kind, LiveState, Mode, Reader, creation
from .identities import (
    NOT_DELETED,
    NOT_FOUND,
    Directory,
    create_or_adopt,
    delete,
    drift_left_alone,
    find_id,
    left_to_idp,
    missing_from_idp,
    plan_deletions,
    read_directory,
    settle_conflicts,
    unexplained,
)

if TYPE_CHECKING:
    from mypy_boto3_identitystore.type_defs import AttributeOperationTypeDef


class GroupKind(Kind[Directory, GroupSpec]):
    name = KindName.GROUP
    natural_key = "DisplayName"
    service = "identitystore"
    actions = frozenset(
        {
            "identitystore:ListGroups",
            "identitystore:GetGroupId",
            "identitystore:CreateGroup",
            "identitystore:UpdateGroup",
            "identitystore:DeleteGroup",
        }
    )

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Directory:
        """Every group of the store."""
        store = reader.ctx.identity_store_id
        groups = reader.clients.identitystore.pages(
            lambda c, more: c.list_groups(IdentityStoreId=store, **more), "Groups"
        )
        return read_directory(groups, "GroupId", "DisplayName")

    def ids(self, part: Directory) -> Iterable[tuple[str, str]]:
        return ((p.name, p.id) for p in part.by_name.values())

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[GroupSpec]:
        groups = live.get(self)
        diff: Diff[GroupSpec] = Diff()
        if mode is Mode.DESTROY:
            plan_deletions(diff, self.name, groups, [(spec.name, spec.external, spec) for spec in config.groups])
            return diff
        for spec in config.groups:
            group = groups.get(spec.name)
            if group is None:
                if spec.external:
                    diff.errors.append(missing_from_idp(self.name, spec.name))
                    continue
                fields = [FieldChange("display_name", None, spec.name)]
                if spec.description is not None:
                    fields.append(FieldChange("description", None, spec.description))
                diff.changes.append(creation(self.name, spec.name, spec, fields))
            elif spec.description is None or group.attributes.get("Description") == spec.description:
                diff.unchanged += 1
            elif group.from_idp or spec.external:
                diff.notes.append(left_to_idp(self.name, spec.name, drift_left_alone(["description"])))
                diff.unchanged += 1
            else:
                field = FieldChange("description", group.attributes.get("Description"), spec.description)
                diff.changes.append(Change(self.name, Action.UPDATE, spec.name, spec, (field,)))
        if mode is Mode.PRUNE:
            for name in config.absent.groups:
                group = groups.get(name)
                if group is not None and group.from_idp:
                    diff.notes.append(left_to_idp(self.name, name, NOT_DELETED))
                elif group is not None:
                    diff.changes.append(Change(self.name, Action.DELETE, name, GroupSpec(name=name)))
        return diff

    def apply(self, change: Change[GroupSpec], env: Env) -> str | None:
        spec, store, api = change.payload, env.ctx.identity_store_id, env.clients.identitystore
        if change.action is Action.DELETE:
            group_id = env.ids.need(self.name, spec.name)
            return delete(
                lambda: api.call(lambda c: c.delete_group(IdentityStoreId=store, GroupId=group_id), ignore=NOT_FOUND)
            )
        if change.action is Action.CREATE:
            description = {"Description": spec.description} if spec.description is not None else {}
            return create_or_adopt(
                env.clients,
                create=lambda: api.call(
                    lambda c: c.create_group(IdentityStoreId=store, DisplayName=spec.name, **description)
                )["GroupId"],
                lookup=lambda: find_id(env.clients, store, "displayName", spec.name),
                record=lambda group_id: env.ids.set(self.name, spec.name, group_id),
            )
        operation: AttributeOperationTypeDef = {
            "AttributePath": "description",
            "AttributeValue": cast(Any, spec.description),
        }
        group_id = env.ids.need(self.name, spec.name)

        def update() -> None:
            api.call(lambda c: c.update_group(IdentityStoreId=store, GroupId=group_id, Operations=[operation]))

        return settle_conflicts(env.clients, update, unexplained)

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """Every group (those of `--group` only), an identity provider's marked external."""
        document["groups"] = [
            {
                "name": name,
                **({"description": group.attributes["Description"]} if group.attributes.get("Description") else {}),
                **({"external": True} if group.from_idp else {}),
            }
            for name, group in sorted(live.get(self).by_name.items())
            if scope.wants_group(name)
        ]
        return []


KIND = GroupKind()
