"""The registry of kinds: each kind of object is one module here, listed once below.

Order (creates and reads follow dependencies; deletes go the other way) and lanes (one per
service) are derived from each kind's declarations: see runner.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import (
    access_control_attributes,
    assignments,
    delegated_administrator,
    groups,
    memberships,
    permission_sets,
    provisioning,
    users,
)
from .base import Kind

KINDS: tuple[Kind[Any, Any], ...] = (
    groups.KIND,
    users.KIND,
    memberships.KIND,
    access_control_attributes.KIND,
    permission_sets.KIND,
    provisioning.KIND,
    assignments.KIND,
    delegated_administrator.KIND,
)


def dependency_order(kinds: Iterable[Kind[Any, Any]] = KINDS) -> list[Kind[Any, Any]]:
    """Each kind after the kinds it depends on (stable: otherwise in the order given)."""
    pending = list(kinds)
    names = {k.name for k in pending}
    done: list[Kind[Any, Any]] = []
    while pending:
        ready = next(
            (k for k in pending if all(d in {x.name for x in done} or d not in names for d in k.depends_on)), None
        )
        if ready is None:
            raise ValueError(f"the kinds {[k.name.value for k in pending]} depend on each other in a cycle")
        done.append(ready)
        pending.remove(ready)
    return done


def declared_actions(kinds: Iterable[Kind[Any, Any]] = KINDS, management: bool = True) -> frozenset[str]:
    """Every IAM action the kinds declare (with `management=False`, those a run from another
    account than the management account may call)."""
    return frozenset(
        action for kind in kinds for action in kind.actions if management or action not in kind.management_only
    )
