"""What users and groups share: the identity store's principals, how they are read,
created (or adopted), deleted, and left alone when an identity provider owns them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from ..config import Config
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, KindName
from .base import Diff, Kind, LiveState, Mode, Reader, creation, deletion

if TYPE_CHECKING:
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_identitystore.type_defs import UniqueAttributeTypeDef

    from ..aws import Clients

NOT_FOUND = ("ResourceNotFoundException",)
# How often a write refused with a ConflictException that nothing explains is made at most.
CONFLICT_ATTEMPTS = 4


@dataclass(frozen=True)
class Principal:
    """A user or group as the identity store lists it."""

    id: str
    name: str  # UserName or DisplayName: the natural key
    attributes: Mapping[str, Any] = field(default_factory=dict)  # the listing's item

    @property
    def from_idp(self) -> bool:
        """Synced from an external identity provider (SCIM): it carries ExternalIds."""
        return bool(self.attributes.get("ExternalIds"))


@dataclass(frozen=True)
class Directory:
    """The users (or groups) read: by natural key."""

    by_name: Mapping[str, Principal] = field(default_factory=dict)

    def get(self, name: str) -> Principal | None:
        return self.by_name.get(name)

    def id_of(self, name: str) -> str | None:
        found = self.by_name.get(name)
        return found.id if found else None

    def names(self) -> dict[str, str]:
        """id -> natural key."""
        return {p.id: p.name for p in self.by_name.values()}

    @property
    def synced(self) -> int:
        """How many come from an external identity provider."""
        return sum(1 for p in self.by_name.values() if p.from_idp)


def read_directory(items: Iterable[Mapping[str, Any]], id_key: str, name_key: str) -> Directory:
    return Directory(
        {item[name_key]: Principal(item[id_key], item[name_key], item) for item in items if name_key in item}
    )


def left_to_idp(kind: KindName, name: str, what: str) -> str:
    """The plan note for a user or group of an external identity provider that is left alone."""
    return f"{kind.label} {name!r} comes from an external identity provider, which manages it: {what}"


def missing_from_idp(kind: KindName, name: str) -> str:
    """The plan error for a principal marked `external: true` that the identity store lacks."""
    return (
        f"{kind.label} {name!r} is marked external but does not exist: not synced from your identity "
        "provider yet; sync it there first, or drop `external: true` to create it here"
    )


def drift_left_alone(fields: list[str]) -> str:
    verb = "differs" if len(fields) == 1 else "differ"
    return f"its {', '.join(fields)} {verb} from the config; left alone"


NOT_DELETED = "not deleted, nor its memberships"


def plan_deletions(
    diff: Diff[Any], kind: KindName, directory: Directory, declared: Iterable[tuple[str, bool, Any]]
) -> None:
    """A deletion for each (name, marked external, payload) that exists, except principals of
    an identity provider: each of those is noted instead."""
    for name, external, payload in declared:
        found = directory.get(name)
        if found is None:
            continue
        if external or found.from_idp:
            diff.notes.append(left_to_idp(kind, name, NOT_DELETED))
            continue
        diff.changes.append(deletion(kind, name, payload))


def delete(call: Callable[[], object | None]) -> str | None:
    """A delete made with `ignore=NOT_FOUND`: an object already gone is what we wanted (a
    re-run after a killed run)."""
    return "already gone" if call() is None else None


def settle_conflicts(
    clients: Clients, write: Callable[[], str | None], explain: Callable[[AwsError], str | None]
) -> str | None:
    """Run an identity store write; read a ConflictException by looking things up.

    A conflict means a unique value is taken or the object was being modified concurrently,
    and its Reason may be missing (the model documents it for KMS errors only), so it is never
    taken as "already exists". `explain(exc)` looks the natural key up: it returns the detail
    to report when the object is already there (adopted), raises a clear error when another
    object holds a unique value, or returns None when nothing explains the conflict; the write
    is then made again after a pause. (A conflict whose Reason says CONCURRENT_MODIFICATION was
    already retried as transient, waiting as long as it asked.)
    """
    attempt = 1
    while True:
        try:
            return write()
        except AwsError as exc:
            if exc.code != "ConflictException":
                raise
            detail = explain(exc)
            if detail is not None:
                return detail
            if attempt >= CONFLICT_ATTEMPTS:
                message = f"{exc.aws_message} (refused {attempt} times; nothing in the identity store explains it)"
                raise AwsError(exc.code, message, exc.operation, exc.request_id, exc.reason, exc.service) from exc
            clients.clock.sleep(2.0 ** (attempt - 1))
            attempt += 1


def unexplained(exc: AwsError) -> None:
    """For writes where no unique value can be at stake: a conflict is a concurrent change."""
    return None


def find_id(clients: Clients, store: str, attribute_path: str, value: str) -> str | None:
    """UserId (userName, emails.value) or GroupId (displayName) by a unique attribute, read
    now; None when nothing has it."""
    key: UniqueAttributeTypeDef = {"AttributePath": attribute_path, "AttributeValue": cast(Any, value)}
    api = clients.identitystore
    if attribute_path == "displayName":
        group = api.call(
            lambda c: c.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key}),
            ignore=NOT_FOUND,
        )
        return group["GroupId"] if group else None
    user = api.call(
        lambda c: c.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": key}), ignore=NOT_FOUND
    )
    return user["UserId"] if user else None


def create_or_adopt(
    clients: Clients, create: Callable[[], str], lookup: Callable[[], str | None], record: Callable[[str], None],
    refuse: Callable[[AwsError], None] = lambda exc: None,
) -> str | None:  # fmt: skip
    """Create an object and record its id; on a conflict, adopt the object that already has
    its natural key (made meanwhile, or by our own call whose reply was lost), or let
    `refuse` raise a clear error when another object holds a unique value."""
    from .base import ADOPTED

    def write() -> None:
        record(create())

    def explain(exc: AwsError) -> str | None:
        found = lookup()
        if found is None:
            refuse(exc)
            return None
        record(found)
        return ADOPTED

    return settle_conflicts(clients, write, explain)


def external_ids(groups: Directory, users: Directory, marked: Iterable[tuple[Directory, str]]) -> set[str]:
    """The ids of principals an identity provider owns: read with ExternalIds, or declared
    `external: true` (`marked`: (directory, name) of each)."""
    ids = {p.id for d in (groups, users) for p in d.by_name.values() if p.from_idp}
    return ids | {found for directory, name in marked if (found := directory.id_of(name)) is not None}


S = TypeVar("S")  # a user's or group's spec


class PrincipalKind(Kind[Directory, S]):
    """Users and groups: listed from the identity store, created when missing, their managed
    attributes corrected, left alone when an identity provider owns them, deleted when
    destroyed or under `absent:` with prune."""

    service = "identitystore"
    result_key: ClassVar[str]  # of the listing: "Users"
    id_key: ClassVar[str]  # "UserId"; the name key is natural_key

    def page(self, client: IdentityStoreClient, store: str, more: dict[str, Any]) -> Mapping[str, Any]:
        """One page of the listing."""
        raise NotImplementedError

    def specs(self, config: Config) -> list[tuple[str, bool, S]]:
        """(natural key, marked external, spec) of each declared one."""
        raise NotImplementedError

    def absent(self, config: Config) -> list[str]:
        raise NotImplementedError

    def creation_fields(self, spec: S) -> list[FieldChange]:
        raise NotImplementedError

    def drift(self, spec: S, found: Principal) -> list[FieldChange]:
        """The managed attributes that differ."""
        raise NotImplementedError

    def gone(self, name: str, found: Principal) -> S:
        """The payload of the deletion of an absent one."""
        raise NotImplementedError

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Directory:
        """Every one in the identity store (one listing)."""
        store = reader.ctx.identity_store_id
        listed = reader.clients.identitystore.pages(lambda c, more: self.page(c, store, more), self.result_key)
        return read_directory(listed, self.id_key, self.natural_key)

    def ids(self, part: Directory) -> Iterable[tuple[str, str]]:
        return ((p.name, p.id) for p in part.by_name.values())

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[S]:
        directory = live.get(self)
        diff: Diff[S] = Diff()
        if mode is Mode.DESTROY:
            plan_deletions(diff, self.name, directory, self.specs(config))
            return diff
        for name, external, spec in self.specs(config):
            found = directory.get(name)
            if found is None and external:
                diff.errors.append(missing_from_idp(self.name, name))
            elif found is None:
                diff.changes.append(creation(self.name, name, spec, self.creation_fields(spec)))
            elif not (changed := self.drift(spec, found)):
                diff.unchanged += 1
            elif found.from_idp or external:
                diff.notes.append(left_to_idp(self.name, name, drift_left_alone([f.name for f in changed])))
                diff.unchanged += 1
            else:
                diff.changes.append(Change(self.name, Action.UPDATE, name, spec, tuple(changed)))
        if mode is Mode.PRUNE:
            for name in self.absent(config):
                found = directory.get(name)
                if found is not None and found.from_idp:
                    diff.notes.append(left_to_idp(self.name, name, NOT_DELETED))
                elif found is not None:
                    diff.changes.append(Change(self.name, Action.DELETE, name, self.gone(name, found)))
        return diff
