"""What users and groups share: the identity store's principals, how they are read,
created (or adopted), deleted, and left alone when an identity provider owns them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from ..config import Config
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, KindName
from .base import Diff, Kind, LiveState, Mode, Reader, creation, deletion

if TYPE_CHECKING:
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_identitystore.type_defs import UniqueAttributeTypeDef

    from ..aws import Clients, Page

NOT_FOUND = ("ResourceNotFoundException",)


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
    """The users (or groups) a run needs, by natural key, and what else it saw of them.

    `by_name`: the principals the run needs (the declared ones, those under `absent:` with
    prune; every one for export), whole. The identity store may hold tens of thousands more:
    of those listed or looked up, only `seen` (id -> natural key) and `synced_ids` (those of
    an identity provider) are kept. `complete`: the listing was read to its end, so `seen`
    holds every one. `email_holders` (users): lowercased email -> the user holding it, for
    the emails the run sets.
    """

    by_name: Mapping[str, Principal] = field(default_factory=dict)
    seen: Mapping[str, str] = field(default_factory=dict)
    synced_ids: frozenset[str] = frozenset()
    complete: bool = True
    email_holders: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Principal | None:
        return self.by_name.get(name)

    def id_of(self, name: str) -> str | None:
        found = self.by_name.get(name)
        return found.id if found else None

    def names(self) -> dict[str, str]:
        """id -> natural key, of every one seen."""
        return {**self.seen, **{p.id: p.name for p in self.by_name.values()}}

    def from_idp(self) -> frozenset[str]:
        """The ids of those seen that come from an external identity provider."""
        return self.synced_ids | {p.id for p in self.by_name.values() if p.from_idp}

    @property
    def synced(self) -> int:
        """How many of those seen come from an external identity provider."""
        return len(self.from_idp())


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


def unexplained(exc: AwsError) -> None:
    """For writes where no unique value can be at stake: a conflict is a concurrent change."""
    return None


def create_or_adopt(
    clients: Clients, create: Callable[[], str], lookup: Callable[[], str | None], record: Callable[[str], None],
    refuse: Callable[[AwsError], None] = lambda exc: None,
) -> str | None:  # fmt: skip
    """Create an object and record its id; on a conflict, adopt the object that already has
    its natural key (made meanwhile, or by our own call whose reply was lost), or let
    `refuse` raise a clear error when another object holds a unique value."""
    from .base import ADOPTED

    def write() -> str | None:
        record(create())
        return None

    def explain(exc: AwsError) -> str | None:
        found = lookup()
        if found is None:
            refuse(exc)
            return None
        record(found)
        return ADOPTED

    return clients.retrier.settle("identitystore", write, explain)


def external_ids(groups: Directory, users: Directory, marked: Iterable[tuple[Directory, str]]) -> set[str]:
    """The ids of principals an identity provider owns: read with ExternalIds, or declared
    `external: true` (`marked`: (directory, name) of each)."""
    ids = set(groups.from_idp() | users.from_idp())
    return ids | {found for directory, name in marked if (found := directory.id_of(name)) is not None}


S = TypeVar("S")  # a user's or group's spec


class Listing:
    """A listing read page by page only while that is cheaper than looking up what is still
    wanted: it stops once the pages read reach what those lookups would cost. Either way the
    calls stay within twice the cheaper of the two, however long the listing (the identity
    store of an identity provider can hold tens of thousands of users), and only the page at
    hand is held."""

    def __init__(self, pages: Iterator[Page]) -> None:
        self.pages = pages
        self.read = 0
        self.complete = False  # every page was read

    def items(self, lookups: Callable[[], float]) -> Iterator[Any]:
        """The items of the pages read; `lookups()` is what looking up the ones still
        wanted would cost, asked after each page."""
        for page in self.pages:
            self.read += 1
            yield from page.items
            if page.last:
                self.complete = True
                return
            if self.read >= lookups():
                return


# A lookup by natural key: GetUserId (GetGroupId), then DescribeUser (DescribeGroup).
LOOKUP_CALLS = 2


class PrincipalKind(Kind[Directory, S]):
    """Users and groups: listed from the identity store, or looked up by natural key when
    that is cheaper; created when missing, their managed attributes corrected, left alone
    when an identity provider owns them, deleted when destroyed or under `absent:` with prune."""

    service = "identitystore"
    result_key: ClassVar[str]  # of the listing: "Users"
    id_key: ClassVar[str]  # "UserId"; the name key is natural_key
    attribute_path: ClassVar[str]  # of the natural key, for GetUserId/GetGroupId: "userName"

    def page(self, client: IdentityStoreClient, store: str, more: dict[str, Any]) -> Mapping[str, Any]:
        """One page of the listing."""
        raise NotImplementedError

    def describe(self, client: IdentityStoreClient, store: str, principal_id: str) -> Mapping[str, Any]:
        """DescribeUser (DescribeGroup)."""
        raise NotImplementedError

    def get_id(self, client: IdentityStoreClient, store: str, key: UniqueAttributeTypeDef) -> Mapping[str, Any]:
        """GetUserId (GetGroupId) by a unique attribute."""
        raise NotImplementedError

    def find_id(self, clients: Clients, store: str, value: str, attribute_path: str | None = None) -> str | None:
        """The id of the one holding `value` in a unique attribute (by default the natural
        key's), read now; None when nothing has it."""
        key: UniqueAttributeTypeDef = {
            "AttributePath": attribute_path or self.attribute_path,
            "AttributeValue": cast(Any, value),
        }
        found = clients.identitystore.call(lambda c: self.get_id(c, store, key), ignore=NOT_FOUND)
        return str(found[self.id_key]) if found else None

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
        return self.read_principals(reader, config, mode)

    def read_principals(
        self, reader: Reader, config: Config, mode: Mode, watch: Callable[[Principal], None] | None = None
    ) -> Directory:
        """The ones the run needs (declared, and absent: prune deletes them, a plan notes them): the listing while it is
        cheaper (see `Listing`), then a lookup of each still missing. Export lists every one.
        `watch` is shown each principal read."""
        store, api = reader.ctx.identity_store_id, reader.clients.identitystore
        pages = api.each_page(lambda c, more: self.page(c, store, more), self.result_key)
        if mode is Mode.EXPORT:
            return read_directory((item for page in pages for item in page.items), self.id_key, self.natural_key)
        wanted = {name for name, _, _ in self.specs(config)} | (
            set(self.absent(config)) if mode in (Mode.PLAN, Mode.PRUNE) else set()
        )
        found: dict[str, Principal] = {}
        seen: dict[str, str] = {}
        synced: set[str] = set()

        def keep(principal: Principal) -> None:
            seen[principal.id] = principal.name
            if principal.from_idp:
                synced.add(principal.id)
            if principal.name in wanted:
                found[principal.name] = principal
            if watch is not None:
                watch(principal)

        listing = Listing(pages)
        for item in listing.items(lambda: LOOKUP_CALLS * len(wanted - found.keys())):
            if self.natural_key in item:
                keep(Principal(item[self.id_key], item[self.natural_key], item))
        if not listing.complete:
            missing = sorted(wanted - found.keys())
            for principal in reader.parallel(lambda name: self.look_up(reader, name), missing):
                if principal is not None:
                    keep(principal)
        return Directory(found, seen, frozenset(synced), listing.complete)

    def look_up(self, reader: Reader, name: str) -> Principal | None:
        """One by its natural key (GetUserId, then DescribeUser); None when there is none."""
        principal_id = self.find_id(reader.clients, reader.ctx.identity_store_id, name)
        if principal_id is None:
            return None
        return self.describe_ids(reader, [principal_id]).get(principal_id)

    def describe_ids(self, reader: Reader, ids: Iterable[str]) -> dict[str, Principal]:
        """id -> the principal, of those among `ids` that exist (a Describe each)."""
        store, api = reader.ctx.identity_store_id, reader.clients.identitystore

        def one(principal_id: str) -> Principal | None:
            described = api.call(lambda c: self.describe(c, store, principal_id), ignore=NOT_FOUND)
            if described is None or self.natural_key not in described:
                return None
            item = {key: value for key, value in described.items() if key != "ResponseMetadata"}
            return Principal(principal_id, item[self.natural_key], item)

        return {p.id: p for p in reader.parallel(one, sorted(set(ids))) if p is not None}

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
        for name in self.absent(config):
            found = directory.get(name)
            if found is None:
                continue
            if mode is not Mode.PRUNE:
                if not found.from_idp:
                    diff.prunable.append(name)  # the plan notes that --prune deletes it
            elif found.from_idp:
                diff.notes.append(left_to_idp(self.name, name, NOT_DELETED))
            else:
                diff.changes.append(Change(self.name, Action.DELETE, name, self.gone(name, found)))
        return diff
