"""Groups, looked up by DisplayName."""

from __future__ import annotations

from typing import Any

from ..config import Config, GroupSpec
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, Plan
from .base import Step


def is_duplicate(exc: AwsError) -> bool:
    """identitystore's permanent conflict: the natural key is taken (adopt, never retry)."""
    return exc.code == "ConflictException" and exc.reason != "CONCURRENT_MODIFICATION"


class GroupsStep(Step):
    resource = "group"

    def read(self) -> dict[str, dict[str, Any]]:
        groups = self.clients.identitystore.pages(
            "list_groups", "Groups", IdentityStoreId=self.ctx.identity_store_id
        )
        return {g["DisplayName"]: g for g in groups if "DisplayName" in g}

    def plan(self, config: Config, plan: Plan) -> None:
        live = self.read()
        for name, group in live.items():
            self.ids.set("groups", name, group["GroupId"])
        plan.extend(self.diff(config.groups, live, plan))

    def diff(self, specs: list[GroupSpec], live: dict[str, dict[str, Any]], plan: Plan) -> list[Change]:
        changes = []
        for spec in specs:
            group = live.get(spec.name)
            if group is None:
                fields = [FieldChange("display_name", None, spec.name)]
                if spec.description is not None:
                    fields.append(FieldChange("description", None, spec.description))
                changes.append(Change(self.resource, Action.CREATE, spec.name, tuple(fields), spec))
            elif spec.description is not None and group.get("Description") != spec.description:
                changes.append(
                    Change(self.resource, Action.UPDATE, spec.name,
                           (FieldChange("description", group.get("Description"), spec.description),), spec)
                )
            else:
                plan.unchanged[self.resource] += 1
        return changes

    def apply(self, change: Change) -> str | None:
        spec: GroupSpec = change.data
        store = self.ctx.identity_store_id
        if change.action is Action.CREATE:
            args: dict[str, Any] = {"IdentityStoreId": store, "DisplayName": spec.name}
            if spec.description is not None:
                args["Description"] = spec.description
            try:
                group_id = self.clients.identitystore.call("create_group", **args)["GroupId"]
            except AwsError as exc:
                if not is_duplicate(exc):
                    raise
                # Created by someone else (or by our own retried call): adopt it.
                group_id = self.clients.identitystore.call(
                    "get_group_id", IdentityStoreId=store,
                    AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName",
                                                             "AttributeValue": spec.name}},
                )["GroupId"]
                self.ids.set("groups", spec.name, group_id)
                return "already existed: adopted"
            self.ids.set("groups", spec.name, group_id)
            return None
        self.clients.identitystore.call(
            "update_group", IdentityStoreId=store, GroupId=self.ids.need("groups", spec.name),
            Operations=[{"AttributePath": "description", "AttributeValue": spec.description}],
        )
        return None
