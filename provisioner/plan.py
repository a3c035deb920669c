"""Change records and the Plan: what a run would do, before anything is done."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

P = TypeVar("P")


class KindName(str, enum.Enum):
    """The kinds of object provisioner manages (each is one module under kinds/)."""

    GROUP = "group"
    USER = "user"
    MEMBERSHIP = "membership"
    PERMISSION_SET = "permission_set"
    PROVISIONING = "provisioning"
    ASSIGNMENT = "assignment"
    ACCESS_CONTROL_ATTRIBUTES = "access_control_attributes"
    DELEGATED_ADMINISTRATOR = "delegated_administrator"

    @property
    def label(self) -> str:
        """How a person reads it: "permission set"."""
        return self.value.replace("_", " ")


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    PROVISION = "provision"


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: `old` is what AWS has (None when absent), `new` what we want."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change(Generic[P]):
    """One thing to do to one object, with the exact fields that differ.

    `key` names the object in words a person recognises; `payload` is what its kind needs
    to apply it (typed per kind) and is not rendered. `requires` names the changes of this
    plan that must succeed first, as (kind, key): when one of them does not, this one is
    skipped. `refers_to` names the objects this one refers to (an assignment, its permission
    set and principal): the deletion of one of those waits for this one's deletion.
    """

    kind: KindName
    action: Action
    key: str
    payload: P
    fields: tuple[FieldChange, ...] = ()
    requires: frozenset[tuple[KindName, str]] = frozenset()
    refers_to: frozenset[tuple[KindName, str]] = frozenset()

    @property
    def ref(self) -> tuple[KindName, str]:
        return (self.kind, self.key)

    @property
    def resource(self) -> str:
        """The kind's name, as the JSON output has it."""
        return self.kind.value

    def to_json(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "action": self.action.value,
            "key": self.key,
            "fields": {f.name: {"old": f.old, "new": f.new} for f in self.fields},
        }


@dataclass
class Plan:
    """Ordered changes, counts of objects already right, and what the operator should know.

    `errors` are problems found while planning that make the whole plan unsafe to apply
    (apply refuses it, changing nothing); `warnings` are likely trouble that does not stop
    it; `notes` are information.
    """

    changes: list[Change[Any]] = field(default_factory=list)
    unchanged: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Who plans, beside the instance: the config's name and the tag of the sets it owns.
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        by_action = Counter(c.action.value for c in self.changes)
        return {
            "create": by_action["create"],
            "update": by_action["update"],
            "delete": by_action["delete"],
            "provision": by_action["provision"],
            "unchanged": sum(self.unchanged.values()),
        }

    def summary(self) -> str:
        c = self.counts()
        text = f"{c['create']} to create, {c['update']} to update, {c['delete']} to delete"
        if c["provision"]:
            text += f", {c['provision']} to provision"
        return text + f", {c['unchanged']} unchanged"

    def to_json(self) -> dict[str, Any]:
        return {
            "changes": [c.to_json() for c in self.changes],
            "summary": self.counts(),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }


# What became of a change that an interrupted run did not finish.
NOT_STARTED, UNKNOWN = "not started", "unknown"


@dataclass
class Outcome:
    """What happened to one change during apply."""

    change: Change[Any]
    ok: bool
    detail: str = ""
    request_id: str | None = None
    # NOT_STARTED or UNKNOWN (it may or may not have happened) when the run was interrupted.
    interrupted: str = ""

    @property
    def status(self) -> str:
        """done, failed, not started or unknown."""
        return "done" if self.ok else self.interrupted or "failed"

    def to_json(self) -> dict[str, Any]:
        out = self.change.to_json()
        out["status"] = self.status
        if self.detail:
            out["detail"] = self.detail
        if self.request_id:
            out["request_id"] = self.request_id
        return out


@dataclass
class ApplyResult:
    """An outcome per change, in plan order; a failed change does not stop the others."""

    outcomes: list[Outcome] = field(default_factory=list)
    # The run was asked to stop (Ctrl-C) before it finished.
    interrupted: bool = False
    # Why the run stopped early on its own: credentials that expired or went invalid mid-run,
    # which no later call would fare better with. What it did before is in the outcomes.
    stopped: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.interrupted and self.stopped is None

    def counts(self) -> dict[str, int]:
        """Outcomes by status: done, failed, not started, unknown."""
        counts = dict.fromkeys(("done", "failed", NOT_STARTED, UNKNOWN), 0)
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "outcomes": [o.to_json() for o in self.outcomes],
            "failed": counts["failed"],
            "not_started": counts[NOT_STARTED],
            "unknown": counts[UNKNOWN],
            "interrupted": self.interrupted,
            "stopped": self.stopped,
        }
