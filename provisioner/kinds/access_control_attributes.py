"""The instance's access control attributes (ABAC): which user attribute becomes which
session tag, from a top-level `access_control_attributes:` mapping.

One configuration per instance, managed whole when the config declares it and never touched
when it does not (destroy deletes it only when declared). Create, Describe, Update and
Delete...InstanceAccessControlAttributeConfiguration; no configuration reads as
ResourceNotFoundException.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..errors import AwsError, ProvisionerError
from ..plan import Action, Change, FieldChange, KindName
from .base import ADOPTED, Diff, Env, ExportScope, Kind, LiveState, Mode, Reader, creation, deletion

if TYPE_CHECKING:
    from ..aws import Clients
    from ..context import Context

NOT_FOUND = ("ResourceNotFoundException",)
ENABLED, IN_PROGRESS, FAILED = "ENABLED", "CREATION_IN_PROGRESS", "CREATION_FAILED"
SourceMap = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Attributes:
    """The configuration read: None status when there is none (or it was not read)."""

    status: str | None = None
    reason: str | None = None
    mapping: SourceMap = field(default_factory=dict)


@dataclass(frozen=True)
class Desired:
    """What to send: every key with its sources; `recreate` after a failed creation."""

    mapping: SourceMap
    recreate: bool = False

    def request(self) -> dict[str, Any]:
        return {
            "AccessControlAttributes": [
                {"Key": key, "Value": {"Source": list(sources)}} for key, sources in self.mapping.items()
            ]
        }


def describe(clients: Clients, ctx: Context) -> Attributes:
    """The instance's configuration, read now."""
    found = clients.sso_admin.call(
        lambda c: c.describe_instance_access_control_attribute_configuration(InstanceArn=ctx.instance_arn),
        ignore=NOT_FOUND,
    )
    if found is None:
        return Attributes()
    listed = (found.get("InstanceAccessControlAttributeConfiguration") or {}).get("AccessControlAttributes") or []
    return Attributes(
        str(found.get("Status") or ENABLED),
        found.get("StatusReason"),
        {str(a["Key"]): tuple(a["Value"]["Source"]) for a in listed},
    )


def shown(sources: tuple[str, ...] | None) -> Any:
    """Sources as the config writes them: one source as a string."""
    if sources is None:
        return None
    return sources[0] if len(sources) == 1 else list(sources)


def differences(old: SourceMap, new: SourceMap) -> list[FieldChange]:
    """One field per key added, removed or given another source."""
    return [
        FieldChange(key, shown(old.get(key)), shown(new.get(key)))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


class AccessControlAttributeKind(Kind[Attributes, Desired]):
    name = KindName.ACCESS_CONTROL_ATTRIBUTES
    natural_key = "the instance"
    service = "sso-admin"
    actions = frozenset(
        {
            "sso:DescribeInstanceAccessControlAttributeConfiguration",
            "sso:CreateInstanceAccessControlAttributeConfiguration",
            "sso:UpdateInstanceAccessControlAttributeConfiguration",
            "sso:DeleteInstanceAccessControlAttributeConfiguration",
        }
    )

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Attributes:
        """One Describe, when the config declares the attributes (or for export)."""
        if mode is Mode.EXPORT or config.access_control_mapping is not None:
            return describe(reader.clients, reader.ctx)
        return Attributes()

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Desired]:
        part, wanted = live.get(self), config.access_control_mapping
        diff: Diff[Desired] = Diff()
        key = live.ctx.instance_arn.rsplit("/", 1)[-1]
        if wanted is None:
            return diff  # not ours to manage
        if mode is Mode.DESTROY:
            if part.status is not None:
                diff.changes.append(deletion(self.name, key, Desired(part.mapping)))
            return diff
        if part.status is None:
            diff.changes.append(creation(self.name, key, Desired(wanted), differences({}, wanted)))
        elif part.status == FAILED:
            # AWS does not say an update mends a failed creation: delete it and create it again.
            why = FieldChange("status", f"{FAILED}: {part.reason or 'no reason given'}", ENABLED)
            fields = (why, *differences(part.mapping, wanted))
            diff.changes.append(Change(self.name, Action.UPDATE, key, Desired(wanted, recreate=True), fields))
        elif part.mapping != wanted:
            fields = tuple(differences(part.mapping, wanted))
            diff.changes.append(Change(self.name, Action.UPDATE, key, Desired(wanted), fields))
        else:
            diff.unchanged += 1
            if part.status == IN_PROGRESS:
                diff.notes.append(f"access control attributes: still being enabled ({IN_PROGRESS})")
        return diff

    def apply(self, change: Change[Desired], env: Env) -> str | None:
        sso, instance, wanted = env.clients.sso_admin, env.ctx.instance_arn, change.payload
        if change.action is Action.DELETE:
            gone = sso.call(
                lambda c: c.delete_instance_access_control_attribute_configuration(InstanceArn=instance),
                ignore=NOT_FOUND,
                retry_conflicts=True,
            )
            return "already gone" if gone is None else None
        configuration: Any = wanted.request()

        def create() -> str:
            sso.call(
                lambda c: c.create_instance_access_control_attribute_configuration(
                    InstanceArn=instance, InstanceAccessControlAttributeConfiguration=configuration
                )
            )
            return ""

        def update() -> None:
            # A conflict here is a write not yet propagated: retried, within a time bound.
            sso.call(
                lambda c: c.update_instance_access_control_attribute_configuration(
                    InstanceArn=instance, InstanceAccessControlAttributeConfiguration=configuration
                ),
                retry_conflicts=True,
            )

        def adopt(exc: AwsError) -> str | None:
            """What is there, adopted; or None: create again (within the conflict time bound).
            "Already exists" and "not yet propagated" share the code."""
            if describe(env.clients, env.ctx).status is None:
                return None
            update()
            return ADOPTED

        detail = None
        if change.action is Action.CREATE:
            detail = env.clients.retrier.settle("sso-admin", create, adopt) or None
        elif wanted.recreate:
            sso.call(
                lambda c: c.delete_instance_access_control_attribute_configuration(InstanceArn=instance),
                ignore=NOT_FOUND,
                retry_conflicts=True,
            )
            create()
        else:
            update()
        return self._settled(env, detail)

    @staticmethod
    def _settled(env: Env, detail: str | None) -> str | None:
        """After a write, what AWS says of it: "call Describe... to validate that it was
        created" (API reference, CreateInstanceAccessControlAttributeConfiguration)."""
        now = describe(env.clients, env.ctx)
        if now.status == FAILED:
            raise ProvisionerError(f"access control attributes: {FAILED}: {now.reason or 'no reason given'}")
        if now.status == IN_PROGRESS:
            return ", ".join(filter(None, [detail, f"being enabled ({IN_PROGRESS})"]))
        return detail

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """The instance's mapping, in a whole export (it concerns every set and group)."""
        part = live.get(self)
        if part.status is not None and not scope.permission_sets and not scope.groups:
            document["access_control_attributes"] = {key: shown(src) for key, src in part.mapping.items()}
        return []


KIND = AccessControlAttributeKind()
