"""Live IAM Identity Center -> a config document in our format, which plans clean.

Unlike plan, export reads everything there is (within its scope): every user and group is
listed, and every permission set read whole with its assignments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import config as config_module
from .aws import Clients
from .context import Context
from .kinds import KINDS, dependency_order
from .kinds.base import ExportScope, Mode, reader
from .runner import read


@dataclass
class Exported:
    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many entries each section the kinds wrote holds (its lists)."""
        return {section: len(value) for section, value in self.document.items() if isinstance(value, list)}


def export(
    clients: Clients, ctx: Context, now: datetime, permission_sets: Iterable[str] = (), groups: Iterable[str] = ()
) -> Exported:
    """Read the instance and return it as a config document. With `permission_sets` or
    `groups`, only those are exported: with `groups`, their members, the permission sets
    assigned to them, and those assignments. What the caller may not read is left out and
    named in the warnings."""
    scope = ExportScope(frozenset(permission_sets), frozenset(groups))
    order = dependency_order(KINDS)
    live = read(order, reader(clients, ctx, now, scope), config_module.Config(), Mode.EXPORT)
    exported = Exported({"region": ctx.region})
    for kind in order:
        exported.warnings += kind.export(exported.document, live, scope)
    owner, warnings = _owner(exported.document)
    exported.document = {**owner, **exported.document}
    exported.warnings += warnings
    config_module.parse(exported.document, "exported config")  # what we write must load
    return exported


def _owner(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The ownership tag taken out of the exported sets' tags (a config sets it with name:,
    and refuses it under tags), and the name: that gives it when they share one owner (an
    ownership_tag value when it is not provisioner's form); a warning when they differ."""
    key = config_module.OwnershipTag().key
    owners: dict[str, list[str]] = {}
    for ps in document.get("permission_sets", []):
        tags = ps.get("tags", {})
        if key in tags:
            owners.setdefault(tags.pop(key), []).append(ps["name"])
            if not tags:
                del ps["tags"]
    if len(owners) > 1:
        listed = "; ".join(f"{key}={value}: {', '.join(names)}" for value, names in sorted(owners.items()))
        return {}, [
            f"the exported permission sets have different owners ({listed}), so the file has no name: and "
            "plan warns that other configs own them; export each owner's sets (--permission-set) to a file "
            "of its own to keep its name:"
        ]
    value = next(iter(owners), config_module.UNNAMED_OWNER)
    name = value.removeprefix(f"{config_module.UNNAMED_OWNER}:")
    if value == config_module.UNNAMED_OWNER:
        return {}, []
    if name != value and name:
        return {"name": name}, []
    return {"ownership_tag": {"value": value}}, []
