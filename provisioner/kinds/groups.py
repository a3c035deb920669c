"""Groups, looked up by DisplayName."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from .. import quotas
from ..config import Config, GroupSpec
from ..errors import ProvisionerError
from ..plan import Action, Change, FieldChange, KindName
from .base import Env, ExportScope, LiveState, Mode, Reader
from .identities import (
    NOT_FOUND,
    Directory,
    Principal,
    PrincipalKind,
    create_or_adopt,
    delete,
    unexplained,
)

if TYPE_CHECKING:
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_identitystore.type_defs import AttributeOperationTypeDef, UniqueAttributeTypeDef


class GroupKind(PrincipalKind[GroupSpec]):
    name = KindName.GROUP
    natural_key = "DisplayName"
    result_key, id_key, attribute_path = "Groups", "GroupId", "displayName"
    actions = frozenset(
        {
            "identitystore:ListGroups",
            "identitystore:GetGroupId",
            "identitystore:DescribeGroup",
            "identitystore:CreateGroup",
            "identitystore:UpdateGroup",
            "identitystore:DeleteGroup",
        }
    )

    def page(self, client: IdentityStoreClient, store: str, more: dict[str, Any]) -> Mapping[str, Any]:
        return client.list_groups(IdentityStoreId=store, MaxResults=quotas.LIST_PAGE_SIZE, **more)

    def describe(self, client: IdentityStoreClient, store: str, principal_id: str) -> Mapping[str, Any]:
        return client.describe_group(IdentityStoreId=store, GroupId=principal_id)

    def get_id(self, client: IdentityStoreClient, store: str, key: UniqueAttributeTypeDef) -> Mapping[str, Any]:
        return client.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key})

    def specs(self, config: Config) -> list[tuple[str, bool, GroupSpec]]:
        return [(spec.name, spec.external, spec) for spec in config.groups]

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Directory:
        """As every principal kind reads; an export of a group there is not is refused."""
        directory = super().read(reader, config, live, mode)
        if mode is Mode.EXPORT and (unknown := sorted(reader.scope.groups - directory.by_name.keys())):
            raise ProvisionerError(
                f"--group {unknown[0]}: identity store {reader.ctx.identity_store_id} has no group with that "
                "DisplayName (names match exactly, case included)"
            )
        return directory

    def absent(self, config: Config) -> list[str]:
        return config.absent.groups

    def creation_fields(self, spec: GroupSpec) -> list[FieldChange]:
        fields = [FieldChange("display_name", None, spec.name)]
        if spec.description is not None:
            fields.append(FieldChange("description", None, spec.description))
        return fields

    def drift(self, spec: GroupSpec, found: Principal) -> list[FieldChange]:
        """The description, when the config sets it."""
        old = found.attributes.get("Description")
        return [] if spec.description in (None, old) else [FieldChange("description", old, spec.description)]

    def gone(self, name: str, found: Principal) -> GroupSpec:
        return GroupSpec(name=name)

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
                lookup=lambda: self.find_id(env.clients, store, spec.name),
                record=lambda group_id: env.ids.set(self.name, spec.name, group_id),
            )
        operation: AttributeOperationTypeDef = {
            "AttributePath": "description",
            "AttributeValue": cast(Any, spec.description),
        }
        group_id = env.ids.need(self.name, spec.name)

        def update() -> None:
            api.call(lambda c: c.update_group(IdentityStoreId=store, GroupId=group_id, Operations=[operation]))

        return env.clients.retrier.settle("identitystore", update, unexplained)

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
