"""A permission set as the config says it, in the shapes the API compares; and the same
mapping in reverse, from what AWS has to config (export)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...config import UNNAMED_OWNER, PermissionSetSpec, canonical_policy, duration_seconds, managed_policy_arn
from .live import CustomerRef, LivePermissionSet


def short_policy_name(policy_arn: str) -> str:
    """arn:aws:iam::aws:policy/job-function/ViewOnlyAccess -> job-function/ViewOnlyAccess."""
    return policy_arn.split(":policy/", 1)[-1]


def session_seconds(value: str | int | None) -> int:
    """Seconds of a live SessionDuration (AWS's default PT1H when a set was created without one)."""
    if value is None:
        return 3600
    try:
        return duration_seconds(value)
    except ValueError:
        return -1


# -- each aspect both ways: config -> API shape, and API shape -> config ------------------------
def boundary_of(spec: PermissionSetSpec, partition: str) -> dict[str, Any] | None:
    boundary = spec.permissions_boundary
    if boundary is None:
        return None
    if boundary.managed_policy is not None:
        return {"ManagedPolicyArn": managed_policy_arn(boundary.managed_policy, partition)}
    ref = boundary.customer_managed_policy
    assert ref is not None  # the config allows exactly one of the two
    return {"CustomerManagedPolicyReference": {"Name": ref.name, "Path": ref.path}}


def boundary_spec(boundary: Mapping[str, Any]) -> dict[str, Any]:
    if "ManagedPolicyArn" in boundary:
        return {"managed_policy": short_policy_name(boundary["ManagedPolicyArn"])}
    ref = boundary["CustomerManagedPolicyReference"]
    return {"customer_managed_policy": {"name": ref["Name"], "path": ref["Path"]}}


@dataclass(frozen=True)
class Desired:
    """A spec resolved for the caller's partition, in the shapes the API compares."""

    spec: PermissionSetSpec
    managed: frozenset[str]
    customer: frozenset[CustomerRef]
    inline: str | None
    boundary: Mapping[str, Any] | None
    tags: Mapping[str, str] = field(default_factory=dict)
    # The tag marking sets this config created (and so may prune). Put on at creation, and on
    # a set an unnamed config created when a named one claims it; a set that existed before
    # is adopted but never becomes ours to delete.
    ownership: tuple[str, str] | None = None

    @classmethod
    def of(cls, spec: PermissionSetSpec, partition: str, ownership: tuple[str, str] | None = None) -> Desired:
        return cls(
            spec=spec,
            managed=frozenset(managed_policy_arn(n, partition) for n in spec.managed_policies),
            customer=frozenset((p.name, p.path) for p in spec.customer_managed_policies),
            inline=None if spec.inline_policy is None else canonical_policy(spec.inline_policy),
            boundary=boundary_of(spec, partition),
            tags=dict(spec.tags),
            ownership=ownership,
        )

    @property
    def creation_tags(self) -> dict[str, str]:
        return {**(dict([self.ownership]) if self.ownership else {}), **self.tags}

    def owner(self, live: LivePermissionSet) -> str | None:
        """The ownership tag value of a live set (the config may not set that tag under tags:)."""
        if self.ownership is None:
            return None
        return live.tags.get(self.ownership[0])

    def claim(self, live: LivePermissionSet) -> tuple[str, str] | None:
        """The ownership tag to put on a set that a config without a name created, when this
        config has a name (or its own tag value): it takes the set over."""
        if self.ownership is None or self.ownership[1] == UNNAMED_OWNER or self.owner(live) != UNNAMED_OWNER:
            return None
        return self.ownership


def to_spec(live: LivePermissionSet) -> dict[str, Any]:
    """The config of a live set: Desired.of in reverse (policies by short name, the inline
    policy as a mapping), so that the exported config plans clean."""
    spec: dict[str, Any] = {"name": live.name}
    if live.description:
        spec["description"] = live.description
    duration = live.session_duration
    spec["session_duration"] = duration if isinstance(duration, str) else f"PT{session_seconds(duration) // 3600}H"
    if live.relay_state:
        spec["relay_state"] = live.relay_state
    if live.managed:
        spec["managed_policies"] = sorted(short_policy_name(a) for a in live.managed)
    if live.customer:
        spec["customer_managed_policies"] = [{"name": n, "path": p} for n, p in sorted(live.customer)]
    if live.inline:
        spec["inline_policy"] = json.loads(live.inline)
    if live.boundary:
        spec["permissions_boundary"] = boundary_spec(live.boundary)
    if live.tags:
        spec["tags"] = dict(sorted(live.tags.items()))
    return spec
