"""What every step shares: the resolved instance context and the ids known so far."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ProvisionerError

if TYPE_CHECKING:
    from ..aws import Clients
    from ..config import Config
    from ..plan import Change, Plan


@dataclass(frozen=True)
class Context:
    """The instance and caller every step works in; resolved once by the instance step."""

    instance_arn: str
    identity_store_id: str
    account_id: str
    partition: str
    region: str
    caller_arn: str = ""

    def account(self, name: str) -> str:
        """'current' -> the caller's account id; a 12-digit id unchanged."""
        return self.account_id if name == "current" else name


@dataclass
class Ids:
    """Natural key -> AWS id, filled by reads and by creates during apply."""

    groups: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    permission_sets: dict[str, str] = field(default_factory=dict)
    # Users and groups of an external identity provider (they have ExternalIds, or the config
    # marks them `external: true`): never changed or deleted, nor their memberships.
    external: set[str] = field(default_factory=set)
    # Those read with ExternalIds: the identity store is synced from an identity provider.
    synced: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, kind: str, name: str, value: str) -> None:
        with self._lock:
            getattr(self, kind)[name] = value

    def need(self, kind: str, name: str) -> str:
        """The id of an object a change depends on; Skipped if it was never created."""
        value = getattr(self, kind).get(name)
        if value is None:
            singular = {"groups": "group", "users": "user", "permission_sets": "permission set"}[kind]
            raise Skipped(f"{singular} {name!r} does not exist (its creation failed or was skipped)")
        return str(value)


# The detail of a create that found the object already there (made meanwhile, or by our own
# call whose reply was lost) and adopted it instead.
ADOPTED = "already existed: adopted"


class Skipped(ProvisionerError):
    """A change could not run because something it depends on is missing."""


class Step:
    """A step reads live state in bulk, diffs it against the spec, and applies its changes."""

    resource = ""

    def __init__(self, clients: Clients, ctx: Context, ids: Ids) -> None:
        self.clients = clients
        self.ctx = ctx
        self.ids = ids

    def plan(self, config: Config, plan: Plan) -> None:
        """Read, diff, and add this step's changes and unchanged count to `plan`."""
        raise NotImplementedError

    def plan_prune(self, config: Config, plan: Plan) -> None:
        """Add deletions of what we own and the config no longer declares (apply --prune)."""
        raise NotImplementedError

    def plan_destroy(self, config: Config, plan: Plan) -> None:
        """Read, and add a deletion for each declared object that exists."""
        raise NotImplementedError

    def apply(self, change: Change) -> str | None:
        """Carry out one change; return a short detail for the report, if any."""
        raise NotImplementedError
