"""What every kind of object shares: its declaration, the read/diff/apply contract, the
immutable live state, and the ids known during a run.

A kind (group, user, membership, permission set, provisioning, assignment, ...) is one module
with one `Kind` subclass. It declares its natural key, what it depends on, its service (which
gives its lane when applying), whether it is asynchronous, and the IAM actions it needs; it
provides `read` (its part of the LiveState), a pure `diff`, `apply` (or `fire`/`check` when
asynchronous) and `export`. The runner derives order and lanes from the declarations.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ..errors import ProvisionerError
from ..plan import Action, Change, FieldChange, KindName
from ..retry import sequential

if TYPE_CHECKING:
    from ..aws import Clients
    from ..config import Config
    from ..context import Context
    from ..retry import Mapper
    from ..targets import AccountStates, OrganizationTargets

L = TypeVar("L")  # a kind's part of the live state
P = TypeVar("P")  # a kind's change payload


class Mode(str, enum.Enum):
    """What a run plans: bring AWS to the config, also delete what we own and the config
    dropped (apply --prune), or delete what the config declares (destroy)."""

    PLAN = "plan"
    PRUNE = "prune"
    DESTROY = "destroy"
    EXPORT = "export"  # read everything there is (within the export's scope), to write it as config


@dataclass(frozen=True)
class ExportScope:
    """What `export` writes: everything, or only some permission sets or groups (and, for
    groups, their members, the sets assigned to them and those assignments)."""

    permission_sets: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def wants_group(self, name: str) -> bool:
        return not self.groups or name in self.groups

    def wants_set(self, name: str) -> bool:
        return not self.permission_sets or name in self.permission_sets


class Skipped(ProvisionerError):
    """A change could not run because something it depends on is missing."""


# The detail of a create that found the object already there (made meanwhile, or by our own
# call whose reply was lost) and adopted it instead.
ADOPTED = "already existed: adopted"


class Ids:
    """Natural key -> AWS id, per kind: filled from what was read, then by creates."""

    def __init__(self) -> None:
        self._ids: dict[KindName, dict[str, str]] = {}
        self._lock = threading.Lock()

    def set(self, kind: KindName, name: str, value: str) -> None:
        with self._lock:
            self._ids.setdefault(kind, {})[name] = value

    def update(self, kind: KindName, pairs: Iterable[tuple[str, str]]) -> None:
        for name, value in pairs:
            self.set(kind, name, value)

    def get(self, kind: KindName, name: str) -> str | None:
        return self._ids.get(kind, {}).get(name)

    def known(self, kind: KindName) -> frozenset[str]:
        """The ids of the objects of a kind known so far."""
        with self._lock:
            return frozenset(self._ids.get(kind, {}).values())

    def need(self, kind: KindName, name: str) -> str:
        """The id of an object a change depends on; Skipped if it was never created."""
        value = self.get(kind, name)
        if value is None:
            raise Skipped(f"{kind.label} {name!r} does not exist (its creation failed or was skipped)")
        return value


@dataclass(frozen=True)
class LiveState:
    """What the reads found in one instance, one part per kind; never changed once read."""

    ctx: Context
    now: datetime  # when it was read: what has expired by then (assignments' until)
    parts: Mapping[KindName, Any] = field(default_factory=lambda: MappingProxyType({}))

    def get(self, kind: Kind[L, Any]) -> L:
        """The part a kind read (typed by the kind)."""
        part: L = self.parts[kind.name]
        return part

    def with_part(self, kind: KindName, part: Any) -> LiveState:
        return LiveState(self.ctx, self.now, MappingProxyType({**self.parts, kind: part}))


@dataclass(frozen=True)
class Reader:
    """What a kind reads with: the clients, the run's context (instance and caller), the
    run's Organizations readers (each listing read once per run), the run's "now", the
    export's scope, and a map for its independent reads (a thread pool's, within the rate
    limit)."""

    clients: Clients
    ctx: Context
    accounts: AccountStates
    targets: OrganizationTargets
    now: datetime  # the run's "now", for what expires (assignments' until)
    scope: ExportScope = field(default_factory=lambda: ExportScope())
    parallel: Mapper = sequential


def reader(
    clients: Clients, ctx: Context, now: datetime, scope: ExportScope | None = None, parallel: Mapper = sequential
) -> Reader:
    """A run's reader, with its own Organizations readers (each listing read once)."""
    from ..targets import AccountStates, OrganizationTargets

    states = AccountStates(clients)
    targets = OrganizationTargets(clients, states)
    return Reader(clients, ctx, states, targets, now, scope or ExportScope(), parallel)


@dataclass(frozen=True)
class Env:
    """What a kind applies with: the clients, the instance, the ids, and a map for the
    independent calls of one step (a thread pool's, within the rate limit)."""

    clients: Clients
    ctx: Context
    ids: Ids
    parallel: Mapper


@dataclass
class Diff(Generic[P]):
    """A kind's changes, how many of its objects are already right, and what to tell."""

    changes: list[Change[P]] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Without prune: the keys of the objects this config owns and does not declare, which
    # --prune would delete (the runner notes how many).
    prunable: list[str] = field(default_factory=list)


class Kind(Generic[L, P]):
    """One kind of object. Subclasses set the declarations and implement the methods."""

    name: ClassVar[KindName]
    natural_key: ClassVar[str]  # what names an object of this kind, e.g. "DisplayName"
    service: ClassVar[str]  # the AWS service it writes to: kinds of one service share a lane
    depends_on: ClassVar[tuple[KindName, ...]] = ()
    # IAM actions it may call (doctor checks them; a test checks the call log against them).
    actions: ClassVar[frozenset[str]] = frozenset()
    # Those of `actions` only the management account calls (a run elsewhere never does).
    management_only: ClassVar[frozenset[str]] = frozenset()
    # Asynchronous kinds are fired and checked (run_async) rather than applied, with at most
    # `outstanding` requests in flight (its AWS quota).
    asynchronous: ClassVar[bool] = False
    outstanding: ClassVar[int] = 1

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> L:
        """Read this kind's part of the live state (kinds it depends on are read already)."""
        raise NotImplementedError

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[P]:
        """The changes that bring the live state to the config (pure: no AWS call)."""
        raise NotImplementedError

    def ids(self, part: L) -> Iterable[tuple[str, str]]:
        """(natural key, AWS id) of the objects in this kind's part, for the changes of others."""
        return ()

    def apply(self, change: Change[P], env: Env) -> str | None:
        """Carry out one change; return a short detail for the report, if any."""
        raise NotImplementedError

    # -- asynchronous kinds -----------------------------------------------------------
    def limit(self, limits: Mapping[KindName, int]) -> int:
        """How many of its requests may be outstanding at once: its quota, unless the run's
        settings say otherwise (a test, a benchmark)."""
        return limits.get(self.name, self.outstanding)

    def batches(self, changes: list[Change[P]]) -> list[list[Change[P]]]:
        """Changes in rounds that must not overlap (one round unless a kind says otherwise)."""
        return [changes]

    def fire(self, change: Change[P], env: Env) -> Mapping[str, Any]:
        """Start one request; its status object (Status, RequestId, FailureReason)."""
        raise NotImplementedError

    def check(self, request_ids: list[str], env: Env, action: Action) -> Mapping[str, Mapping[str, Any]]:
        """Status objects of the requests among these that are no longer IN_PROGRESS (Status
        ENDED, from retry, when only that is known yet: `conclude` then tells the rest)."""
        raise NotImplementedError

    def conclude(self, request_ids: list[str], env: Env, action: Action) -> Mapping[str, Mapping[str, Any]]:
        """Final status objects of requests that `check` said ENDED."""
        raise NotImplementedError

    # -- export -----------------------------------------------------------------------
    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """Write this kind's part of the live state (read in Mode.EXPORT) into a config
        document; return warnings about what could not be exported."""
        return []

    def expiring(self, change: Change[P]) -> bool:
        """Whether `change` removes something whose time in the config is up (`expire`
        applies only these)."""
        return False


def creation(kind: KindName, key: str, payload: P, fields: Iterable[FieldChange]) -> Change[P]:
    return Change(kind, Action.CREATE, key, payload, tuple(fields))


def deletion(kind: KindName, key: str, payload: P, why: str = "") -> Change[P]:
    """A deletion; `why` (a reason shown in the plan) when it is not the obvious one."""
    return Change(kind, Action.DELETE, key, payload, (FieldChange("reason", None, why),) if why else ())
