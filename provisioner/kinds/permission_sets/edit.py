"""The edit of one permission set: a list of operations, each one API call with its "already
done?" check and the field change the plan shows for it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from ...errors import AwsError
from ...plan import FieldChange
from .desired import Desired, session_seconds, short_policy_name
from .live import CustomerRef, LivePermissionSet, attached, referenced

if TYPE_CHECKING:
    from mypy_boto3_sso_admin import SSOAdminClient
    from mypy_boto3_sso_admin.type_defs import PermissionsBoundaryTypeDef, TagTypeDef

    from ...aws import Clients

# Tags AWS puts on (a set made by CloudFormation, say): "you can't edit or delete tag keys or
# values with this prefix", in any case (Tagging AWS Resources user guide, "Tag naming limits
# and requirements"; awsdocs/amazon-ecs-developer-guide#72). Never ours to remove.
AWS_TAG_PREFIX = "aws:"

# The order the plan shows the fields of a set in.
FIELDS = (
    "name",
    "description",
    "session_duration",
    "relay_state",
    "managed_policies",
    "customer_managed_policies",
    "inline_policy",
    "permissions_boundary",
    "tags",
    "owner",
)


@dataclass(frozen=True)
class Target:
    """The set an operation acts on."""

    instance: str
    arn: str


class Operation:
    """One call that changes a permission set."""

    # Whether it changes the roles in the accounts (so the set must be provisioned again).
    # Tags do not: "Tags can only be applied to permission sets and cannot be applied to
    # corresponding roles" (API reference, TagResource).
    changes_roles: ClassVar[bool] = True
    # A removal: the object being gone already is what we wanted (a re-run after a kill).
    removal: ClassVar[bool] = False

    def call(self, client: SSOAdminClient, target: Target) -> object:
        raise NotImplementedError

    def done(self, clients: Clients, target: Target) -> bool:
        """After a ConflictException: whether the call already took effect (our earlier
        attempt whose reply was lost), read now; else it is made again as a write in flight."""
        return False

    def shown(self) -> list[FieldChange]:
        """What the plan shows for it; the changes of one field are merged."""
        raise NotImplementedError

    def make(self, clients: Clients, target: Target) -> None:
        """The call, safe to repeat: a conflict or a missing object is checked, not trusted."""
        ignore = ("ResourceNotFoundException",) if self.removal else ()

        def write() -> str | None:
            clients.sso_admin.call(lambda c: self.call(c, target), ignore=ignore)
            return None

        def explain(exc: AwsError) -> str | None:
            return "already done" if self.done(clients, target) else None

        clients.retrier.settle("sso-admin", write, explain)


@dataclass(frozen=True)
class UpdateAttributes(Operation):
    """UpdatePermissionSet clears what it is not sent: the whole desired set is sent."""

    description: str | None
    session_duration: str
    relay_state: str | None
    changed: tuple[FieldChange, ...]

    def call(self, client: SSOAdminClient, target: Target) -> object:
        attrs: dict[str, Any] = {"SessionDuration": self.session_duration}
        if self.description:
            attrs["Description"] = self.description
        if self.relay_state is not None:
            attrs["RelayState"] = self.relay_state
        return client.update_permission_set(InstanceArn=target.instance, PermissionSetArn=target.arn, **attrs)

    def shown(self) -> list[FieldChange]:
        return list(self.changed)


@dataclass(frozen=True)
class AttachManaged(Operation):
    policy_arn: str

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.attach_managed_policy_to_permission_set(
            InstanceArn=target.instance, PermissionSetArn=target.arn, ManagedPolicyArn=self.policy_arn
        )

    def done(self, clients: Clients, target: Target) -> bool:
        return self.policy_arn in attached(clients, target.instance, target.arn)

    def shown(self) -> list[FieldChange]:
        return [FieldChange("managed_policies", [], [short_policy_name(self.policy_arn)])]


@dataclass(frozen=True)
class DetachManaged(Operation):
    policy_arn: str
    removal: ClassVar[bool] = True

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.detach_managed_policy_from_permission_set(
            InstanceArn=target.instance, PermissionSetArn=target.arn, ManagedPolicyArn=self.policy_arn
        )

    def shown(self) -> list[FieldChange]:
        return [FieldChange("managed_policies", [short_policy_name(self.policy_arn)], [])]


@dataclass(frozen=True)
class AttachCustomer(Operation):
    ref: CustomerRef

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.attach_customer_managed_policy_reference_to_permission_set(
            InstanceArn=target.instance,
            PermissionSetArn=target.arn,
            CustomerManagedPolicyReference={"Name": self.ref[0], "Path": self.ref[1]},
        )

    def done(self, clients: Clients, target: Target) -> bool:
        return self.ref in referenced(clients, target.instance, target.arn)

    def shown(self) -> list[FieldChange]:
        return [FieldChange("customer_managed_policies", [], [f"{self.ref[1]}{self.ref[0]}"])]


@dataclass(frozen=True)
class DetachCustomer(Operation):
    ref: CustomerRef
    removal: ClassVar[bool] = True

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.detach_customer_managed_policy_reference_from_permission_set(
            InstanceArn=target.instance,
            PermissionSetArn=target.arn,
            CustomerManagedPolicyReference={"Name": self.ref[0], "Path": self.ref[1]},
        )

    def shown(self) -> list[FieldChange]:
        return [FieldChange("customer_managed_policies", [f"{self.ref[1]}{self.ref[0]}"], [])]


def _document(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class PutInline(Operation):
    policy: str  # canonical JSON
    old: str | None

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.put_inline_policy_to_permission_set(
            InstanceArn=target.instance, PermissionSetArn=target.arn, InlinePolicy=self.policy
        )

    def shown(self) -> list[FieldChange]:
        return [FieldChange("inline_policy", _document(self.old), _document(self.policy))]


@dataclass(frozen=True)
class DeleteInline(Operation):
    old: str
    removal: ClassVar[bool] = True

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.delete_inline_policy_from_permission_set(InstanceArn=target.instance, PermissionSetArn=target.arn)

    def shown(self) -> list[FieldChange]:
        return [FieldChange("inline_policy", _document(self.old), None)]


@dataclass(frozen=True)
class PutBoundary(Operation):
    boundary: Mapping[str, Any]
    old: Mapping[str, Any] | None

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.put_permissions_boundary_to_permission_set(
            InstanceArn=target.instance,
            PermissionSetArn=target.arn,
            PermissionsBoundary=cast("PermissionsBoundaryTypeDef", dict(self.boundary)),
        )

    def shown(self) -> list[FieldChange]:
        return [FieldChange("permissions_boundary", self.old, dict(self.boundary))]


@dataclass(frozen=True)
class DeleteBoundary(Operation):
    old: Mapping[str, Any]
    removal: ClassVar[bool] = True

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.delete_permissions_boundary_from_permission_set(
            InstanceArn=target.instance, PermissionSetArn=target.arn
        )

    def shown(self) -> list[FieldChange]:
        return [FieldChange("permissions_boundary", dict(self.old), None)]


@dataclass(frozen=True)
class Tag(Operation):
    """One TagResource for every tag to add or to change, a claim's ownership tag included."""

    tags: Mapping[str, str]  # key -> the value to set
    old: Mapping[str, str] = field(default_factory=dict)  # key -> the value it has now, where it has one
    # The ownership tag put on a set an unnamed config created, when a named one takes it
    # over: shown as its owner, not as a tag.
    claimed: str | None = None
    changes_roles: ClassVar[bool] = False

    def call(self, client: SSOAdminClient, target: Target) -> object:
        tags: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return client.tag_resource(InstanceArn=target.instance, ResourceArn=target.arn, Tags=tags)

    def shown(self) -> list[FieldChange]:
        shown = []
        if plain := {k: v for k, v in self.tags.items() if k != self.claimed}:
            shown.append(FieldChange("tags", {k: self.old[k] for k in plain if k in self.old}, plain))
        if self.claimed is not None:
            shown.append(FieldChange("owner", self.old.get(self.claimed), self.tags[self.claimed]))
        return shown


@dataclass(frozen=True)
class Untag(Operation):
    old: Mapping[str, str]  # key -> the value it had
    changes_roles: ClassVar[bool] = False
    removal: ClassVar[bool] = True

    def call(self, client: SSOAdminClient, target: Target) -> object:
        return client.untag_resource(InstanceArn=target.instance, ResourceArn=target.arn, TagKeys=list(self.old))

    def shown(self) -> list[FieldChange]:
        return [FieldChange("tags", dict(self.old), {})]


@dataclass(frozen=True)
class Edit:
    """Everything to do to one permission set (None live: create it first), in the order it
    is done, then provisioned once."""

    desired: Desired
    live: LivePermissionSet | None
    operations: tuple[Operation, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.operations

    @property
    def changes_roles(self) -> bool:
        return any(op.changes_roles for op in self.operations)

    def fields(self) -> tuple[FieldChange, ...]:
        """The differences, as a person reads them (policies by name, not by ARN)."""
        spec, shown = self.desired.spec, []
        if self.live is None:
            shown.append(FieldChange("name", None, spec.name))
            if spec.description is not None:
                shown.append(FieldChange("description", None, spec.description))
            shown.append(FieldChange("session_duration", None, spec.session_duration))
            if spec.relay_state is not None:
                shown.append(FieldChange("relay_state", None, spec.relay_state))
            if self.desired.creation_tags:
                shown.append(FieldChange("tags", None, self.desired.creation_tags))
        for op in self.operations:
            shown += op.shown()
        merged: dict[str, FieldChange] = {}
        for change in shown:
            if change.name in merged and isinstance(change.old, (list, dict)):
                before = merged[change.name]
                change = FieldChange(change.name, _join(before.old, change.old), _join(before.new, change.new))
            merged[change.name] = change
        return tuple(sorted(merged.values(), key=lambda c: FIELDS.index(c.name)))


def _join(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {**a, **b}
    return [*(a or []), *b]


def compute_edit(desired: Desired, live: LivePermissionSet | None) -> Edit:
    """The edit that turns `live` (None: missing) into `desired`. Detaches come before
    attaches, so a swap never crosses the 20-policy limit."""
    if live is None:  # attributes and tags go with CreatePermissionSet
        ops: list[Operation] = [AttachManaged(a) for a in sorted(desired.managed)]
        ops += [AttachCustomer(r) for r in sorted(desired.customer)]
        if desired.inline is not None:
            ops.append(PutInline(desired.inline, None))
        if desired.boundary is not None:
            ops.append(PutBoundary(desired.boundary, None))
        return Edit(desired, live, tuple(ops))
    spec = desired.spec
    ops = []
    attributes = [
        FieldChange("description", live.description, spec.description)
        if spec.description is not None and live.description != spec.description
        else None,
        FieldChange("session_duration", live.session_duration, spec.session_duration)
        if session_seconds(live.session_duration) != spec.session_seconds
        else None,
        FieldChange("relay_state", live.relay_state, spec.relay_state)
        if (live.relay_state or None) != spec.relay_state
        else None,
    ]
    if changed := tuple(a for a in attributes if a is not None):
        description = spec.description if spec.description is not None else live.description
        ops.append(UpdateAttributes(description, spec.session_duration, spec.relay_state, changed))
    ops += [DetachManaged(a) for a in sorted(live.managed - desired.managed)]
    ops += [DetachCustomer(r) for r in sorted(live.customer - desired.customer)]
    ops += [AttachManaged(a) for a in sorted(desired.managed - live.managed)]
    ops += [AttachCustomer(r) for r in sorted(desired.customer - live.customer)]
    if desired.inline is not None and desired.inline != live.inline:
        ops.append(PutInline(desired.inline, live.inline))
    elif desired.inline is None and live.inline is not None:
        ops.append(DeleteInline(live.inline))
    if desired.boundary is not None and desired.boundary != live.boundary:
        ops.append(PutBoundary(desired.boundary, live.boundary))
    elif desired.boundary is None and live.boundary is not None:
        ops.append(DeleteBoundary(live.boundary))
    tag = {k: v for k, v in desired.tags.items() if live.tags.get(k) != v}
    if claim := desired.claim(live):
        tag[claim[0]] = claim[1]
    if tag:
        old = {k: live.tags[k] for k in tag if k in live.tags}
        ops.append(Tag(tag, old, claim[0] if claim else None))
    ownership_key = desired.ownership[0] if desired.ownership else None
    untag = {k: v for k, v in sorted(live.tags.items()) if k not in desired.tags and k != ownership_key}
    if untag := {k: v for k, v in untag.items() if not k.lower().startswith(AWS_TAG_PREFIX)}:
        ops.append(Untag(untag))
    return Edit(desired, live, tuple(ops))
