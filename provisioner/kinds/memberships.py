"""Group memberships, declared under each user's `groups`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .. import quotas
from ..config import Config
from ..plan import Action, Change, FieldChange, KindName
from . import groups, users
from .base import Diff, Env, ExportScope, Kind, LiveState, Mode, Reader, deletion
from .identities import NOT_FOUND, Directory, Listing, Principal, delete, external_ids

# The reason shown on a membership deleted along with its user, as on an assignment deleted
# along with its permission set.
NOT_DECLARED = "not in the config"

if TYPE_CHECKING:
    from mypy_boto3_identitystore.type_defs import MemberIdTypeDef

    from ..aws import Clients


@dataclass(frozen=True)
class Membership:
    user: str
    group: str
    membership_id: str = ""

    @property
    def key(self) -> str:
        return f"{self.user} in {self.group}"


@dataclass(frozen=True)
class Members:
    """Memberships read: group name -> user id -> membership id, for the groups a run needs
    (the declared ones; with prune also the absent ones; for export, every exported group),
    and, with prune, user name -> group id -> membership id for the absent users.

    A group is listed whole unless checking its declared members one by one costs less
    (IsMemberInGroups): such groups are `checked`, and hold only their declared members
    found (with a membership id of ""). Destroying reads no group: `of_destroyed_users`.
    `people` and `teams`: users and groups described by id, for members (and groups of
    absent users) that the identity store listings did not show.
    """

    of_groups: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    of_absent_users: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    checked: frozenset[str] = frozenset()
    people: Mapping[str, Principal] = field(default_factory=dict)
    teams: Mapping[str, Principal] = field(default_factory=dict)
    # To destroy: user name -> group id -> membership id, of the declared users it deletes
    # (their memberships go with them, declared or not).
    of_destroyed_users: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def members_of(clients: Clients, store: str, group_id: str, budget: float = math.inf) -> tuple[dict[str, str], bool]:
    """user id -> membership id of a group's members listed, and whether the listing was
    read whole: it stops once its pages reach `budget` (what checking the members wanted one
    by one would cost)."""
    listing = Listing(
        clients.identitystore.each_page(
            lambda c, more: c.list_group_memberships(
                IdentityStoreId=store, GroupId=group_id, MaxResults=quotas.LIST_PAGE_SIZE, **more
            ),
            "GroupMemberships",
        )
    )
    members = {m["MemberId"].get("UserId", ""): m["MembershipId"] for m in listing.items(lambda: budget)}
    return members, listing.complete


def groups_of(clients: Clients, store: str, user_id: str) -> dict[str, str]:
    """group id -> membership id of every group a user is in (read whole, at once)."""
    listing = clients.identitystore.pages(
        lambda c, more: c.list_group_memberships_for_member(
            IdentityStoreId=store, MemberId={"UserId": user_id}, **more
        ),
        "GroupMemberships",
    )
    return {m["GroupId"]: m["MembershipId"] for m in listing}


class MembershipKind(Kind[Members, Membership]):
    name = KindName.MEMBERSHIP
    natural_key = "user in group"
    service = "identitystore"
    depends_on = (KindName.GROUP, KindName.USER)
    actions = frozenset(
        {
            "identitystore:ListGroupMemberships",
            "identitystore:ListGroupMembershipsForMember",
            "identitystore:GetGroupMembershipId",
            "identitystore:IsMemberInGroups",
            "identitystore:CreateGroupMembership",
            "identitystore:DeleteGroupMembership",
        }
    )

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Members:
        """Per group the run needs, its listing, unless checking its declared members one by
        one costs less (a group of an identity provider's all staff); with prune, declared
        groups are listed whole (their undeclared members go), and the absent users' groups."""
        directory, people = live.get(groups.KIND), live.get(users.KIND)
        store = reader.ctx.identity_store_id
        declared: dict[str, set[str]] = {}
        for spec in config.users:
            for group in spec.groups:
                members = declared.setdefault(group, set())
                if (user_id := people.id_of(spec.user_name)) is not None:
                    members.add(user_id)
        if mode is Mode.EXPORT:
            wanted = {name for name in directory.by_name if reader.scope.wants_group(name)}
        else:
            wanted = set(declared)
        if mode is Mode.PRUNE:
            wanted |= set(config.absent.groups)
        if mode is Mode.DESTROY:
            # The listings of the deleted users' groups (below) hold their declared memberships
            # too; a user not deleted (an identity provider's) keeps its memberships.
            wanted = set()
        external = _external_groups(config, directory)

        def budget(group: str) -> float:
            """What checking its members one by one would cost: one call per declared member;
            unbounded where every member counts (export, and prune of our own groups)."""
            if mode is Mode.EXPORT or (mode is Mode.PRUNE and group not in external):
                return math.inf
            return len(declared.get(group, ()))

        def read_group(group: str) -> tuple[str, dict[str, str], bool] | None:
            group_id = directory.id_of(group)
            if group_id is None:
                return None
            return (group, *members_of(reader.clients, store, group_id, budget(group)))

        of_groups: dict[str, dict[str, str]] = {}
        checked: set[str] = set()
        for read in reader.parallel(read_group, sorted(wanted)):
            if read is not None:
                of_groups[read[0]] = read[1]
                if not read[2]:
                    checked.add(read[0])
        unresolved = [
            (group, user_id)
            for group in sorted(checked)
            for user_id in sorted(declared.get(group, ()))
            if user_id not in of_groups[group]
        ]
        for group, user_id, membership_id in self._check(reader, directory, unresolved):
            of_groups[group][user_id] = membership_id
        of_absent_users: dict[str, dict[str, str]] = {}
        of_destroyed_users: dict[str, dict[str, str]] = {}
        if mode is Mode.PRUNE:
            of_absent_users = self._groups_of(reader, people, config.absent.users)
        elif mode is Mode.DESTROY:
            deleted = [name for name, external, _ in users.KIND.specs(config) if not external]
            of_destroyed_users = self._groups_of(reader, people, deleted)
        part = Members(of_groups, of_absent_users, frozenset(checked), of_destroyed_users=of_destroyed_users)
        return self._named(reader, config, live, part, mode)

    @staticmethod
    def _groups_of(reader: Reader, people: Directory, names: list[str]) -> dict[str, dict[str, str]]:
        """User name -> group id -> membership id, of the users among `names` that exist and
        are not an identity provider's (the users a run deletes): one listing each."""
        store = reader.ctx.identity_store_id
        found = [
            (user, person.id) for user in names if (person := people.get(user)) is not None and not person.from_idp
        ]
        listed = reader.parallel(lambda user: groups_of(reader.clients, store, user[1]), found)
        return {user: of_user for (user, _), of_user in zip(found, listed, strict=True)}

    def _check(self, reader: Reader, directory: Directory, pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
        """(group, user id, membership id "") of the (group, user id) pairs that are
        memberships: one IsMemberInGroups per user (up to 100 groups each)."""
        store, api = reader.ctx.identity_store_id, reader.clients.identitystore
        by_user: dict[str, list[str]] = {}
        for group, user_id in pairs:
            by_user.setdefault(user_id, []).append(group)
        asks = [
            (user_id, names[start : start + quotas.MAX_GROUPS_PER_MEMBERSHIP_CHECK])
            for user_id, names in sorted(by_user.items())
            for start in range(0, len(names), quotas.MAX_GROUPS_PER_MEMBERSHIP_CHECK)
        ]
        names_by_id = {directory.id_of(group): group for group, _ in pairs}

        def ask(question: tuple[str, list[str]]) -> list[tuple[str, str, str]]:
            user_id, names = question
            group_ids = [directory.id_of(group) or "" for group in names]
            results = api.call(
                lambda c: c.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": user_id}, GroupIds=group_ids)
            )["Results"]
            return [
                (names_by_id[r["GroupId"]], user_id, "")
                for r in results
                if r.get("MembershipExists") and r.get("GroupId") in names_by_id
            ]

        return [found for answer in reader.parallel(ask, asks) for found in answer]

    def _named(self, reader: Reader, config: Config, live: LiveState, part: Members, mode: Mode) -> Members:
        """`part` with the users (and groups) it names that the listings did not show,
        described: with prune, every one it may delete; to destroy, the groups of the users it
        deletes; otherwise the few a note shows."""
        directory, people = live.get(groups.KIND), live.get(users.KIND)
        if mode is Mode.DESTROY:
            group_ids = {group_id for of_user in part.of_destroyed_users.values() for group_id in of_user}
            return replace(part, teams=groups.KIND.describe_ids(reader, group_ids - directory.names().keys()))
        if mode not in (Mode.PLAN, Mode.PRUNE):
            return part
        known = people.names()
        external = _external_ids(config, directory, people)
        candidates = _undeclared_ids(config, part, directory, people, external)
        if mode is Mode.PRUNE:
            absent = [
                user_id
                for group in config.absent.groups
                if directory.id_of(group) not in external
                for user_id in part.of_groups.get(group, {})
            ]
            unknown = {user_id for _, user_id, _ in candidates} | set(absent)
            described = users.KIND.describe_ids(reader, unknown - known.keys())
            group_ids = {group_id for of_user in part.of_absent_users.values() for group_id in of_user}
            teams = groups.KIND.describe_ids(reader, group_ids - directory.names().keys())
            return replace(part, people=described, teams=teams)
        # A note shows three: describe the first ones until three are known not to be an
        # identity provider's (whose memberships are not ours to note).
        described = {}
        shown = 0
        for _, user_id, _ in candidates:
            if shown == 3:
                break
            if user_id not in known and user_id not in described:
                described |= users.KIND.describe_ids(reader, [user_id])
            found = described.get(user_id)
            shown += 0 if found is not None and found.from_idp else 1
        return replace(part, people=described)

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Membership]:
        members, directory, people = live.get(self), live.get(groups.KIND), live.get(users.KIND)
        external = _external_ids(config, directory, people) | {p.id for p in members.people.values() if p.from_idp}
        diff: Diff[Membership] = Diff()
        if mode is Mode.DESTROY:
            for user in config.users:
                of_user = members.of_destroyed_users.get(user.user_name, {})
                for group in user.groups:
                    membership_id = of_user.get(directory.id_of(group) or "")
                    # An identity provider's user or group was noted (not deleted, nor its memberships).
                    if membership_id and not _from_idp(config, directory, people, external, user.user_name, group):
                        diff.changes.append(
                            deletion(
                                self.name,
                                f"{user.user_name} in {group}",
                                Membership(user.user_name, group, membership_id),
                            )
                        )
            # The other memberships of the users it deletes go with them: listed, as a set's
            # deletion lists every assignment of it.
            planned = {change.key for change in diff.changes}
            group_names = directory.names() | {p.id: p.name for p in members.teams.values()}
            for user_name, of_user in members.of_destroyed_users.items():
                for group_id, membership_id in sorted(of_user.items()):
                    membership = Membership(user_name, group_names.get(group_id, group_id), membership_id)
                    if membership.key not in planned:
                        diff.changes.append(deletion(self.name, membership.key, membership, NOT_DECLARED))
            return diff
        for user in config.users:
            user_id = people.id_of(user.user_name)
            for group in user.groups:
                if user_id is not None and user_id in members.of_groups.get(group, {}):
                    diff.unchanged += 1
                    continue
                if idp := _from_idp(config, directory, people, external, user.user_name, group):
                    diff.notes.append(
                        f"membership {user.user_name} in {group}: {idp} comes from an external identity "
                        "provider, which manages its memberships: not created"
                    )
                    continue
                # It needs the user and the group: their creations, when they are to be made.
                requires = {(KindName.USER, user.user_name)} if user_id is None else set()
                requires |= {(KindName.GROUP, group)} if directory.id_of(group) is None else set()
                diff.changes.append(
                    Change(
                        self.name,
                        Action.CREATE,
                        f"{user.user_name} in {group}",
                        Membership(user.user_name, group),
                        (FieldChange("user", None, user.user_name), FieldChange("group", None, group)),
                        frozenset(requires),
                    )
                )
        undeclared = _undeclared(config, members, directory, people, external)
        if checked := sorted(members.checked & set(declared_groups(config)) - _external_groups(config, directory)):
            diff.notes.append(
                f"the members of group(s) {', '.join(checked)} were checked one by one, which costs less than "
                "listing every member: memberships there that the config does not declare were not looked for"
                + ("" if mode is Mode.PRUNE else "; plan --prune lists them")
            )
        if mode is Mode.PRUNE:
            for membership in undeclared:
                diff.changes.append(deletion(self.name, membership.key, membership, NOT_DECLARED))
            # An absent user in a declared group is also an undeclared member: one deletion.
            seen = {m.key for m in undeclared}
            diff.changes += [c for c in _of_absent(config, members, directory, people, external) if c.key not in seen]
        elif undeclared:
            shown = ", ".join(m.key for m in undeclared[:3]) + (", ..." if len(undeclared) > 3 else "")
            diff.notes.append(
                f"{len(undeclared)} group membership(s) exist that the config does not declare ({shown}); "
                "apply --prune removes them"
            )
        return diff

    def apply(self, change: Change[Membership], env: Env) -> str | None:
        membership, store, api = change.payload, env.ctx.identity_store_id, env.clients.identitystore
        if change.action is Action.DELETE:
            membership_id = membership.membership_id
            return delete(
                lambda: api.call(
                    lambda c: c.delete_group_membership(IdentityStoreId=store, MembershipId=membership_id),
                    ignore=NOT_FOUND,
                )
            )
        group_id = env.ids.need(KindName.GROUP, membership.group)
        member: MemberIdTypeDef = {"UserId": env.ids.need(KindName.USER, membership.user)}

        def create() -> None:
            api.call(lambda c: c.create_group_membership(IdentityStoreId=store, GroupId=group_id, MemberId=member))

        def explain(exc: object) -> str | None:
            found = api.call(
                lambda c: c.get_group_membership_id(IdentityStoreId=store, GroupId=group_id, MemberId=member),
                ignore=NOT_FOUND,
            )
            return "already a member" if found is not None else None

        return env.clients.retrier.settle("identitystore", create, explain)

    def export(self, document: dict[str, Any], live: LiveState, scope: ExportScope) -> list[str]:
        """Each exported user's groups (those read: every group, or those of --group); with
        --group, only the members of those groups stay."""
        names = live.get(users.KIND).names()
        groups_of: dict[str, list[str]] = {}
        for group, members in sorted(live.get(self).of_groups.items()):
            for user_id in members:
                if user := names.get(user_id):
                    groups_of.setdefault(user, []).append(group)
        if scope.groups:
            document["users"] = [u for u in document["users"] if u["user_name"] in groups_of]
        for user_entry in document["users"]:
            if groups := groups_of.get(user_entry["user_name"]):
                user_entry["groups"] = sorted(groups)
        return []


def declared_groups(config: Config) -> list[str]:
    """The groups that declared users are in."""
    return list(dict.fromkeys(g for u in config.users for g in u.groups))


def _external_groups(config: Config, directory: Directory) -> set[str]:
    """The groups an identity provider owns: read with ExternalIds, or declared `external: true`."""
    synced = directory.from_idp()
    marked = {g.name for g in config.groups if g.external}
    return marked | {name for name, group in directory.by_name.items() if group.id in synced}


def _external_ids(config: Config, directory: Directory, people: Directory) -> set[str]:
    """The ids of the users and groups an identity provider owns."""
    return external_ids(
        directory,
        people,
        [(directory, g.name) for g in config.groups if g.external]
        + [(people, u.user_name) for u in config.users if u.external],
    )


def _from_idp(
    config: Config, directory: Directory, people: Directory, external: set[str], user: str, group: str
) -> str | None:
    """Which side of a membership comes from an external identity provider, if either: such
    memberships are managed there, never here."""
    if directory.id_of(group) in external or group in {g.name for g in config.groups if g.external}:
        return f"group {group!r}"
    if people.id_of(user) in external or user in {u.user_name for u in config.users if u.external}:
        return f"user {user!r}"
    return None


def _undeclared_ids(
    config: Config, members: Members, directory: Directory, people: Directory, external: set[str]
) -> list[tuple[str, str, str]]:
    """(group, user id, membership id) of the members of declared groups, listed whole, that
    the config does not list there (identity-provider users and groups excluded: their
    members are managed there)."""
    declared = {(u.user_name, g) for u in config.users for g in u.groups}
    names = people.names()
    found = []
    for group in declared_groups(config):
        if group in members.checked or directory.id_of(group) in external:
            continue
        for user_id, membership_id in sorted(members.of_groups.get(group, {}).items()):
            if user_id not in external and (names.get(user_id), group) not in declared:
                found.append((group, user_id, membership_id))
    return sorted(found)


def _undeclared(
    config: Config, members: Members, directory: Directory, people: Directory, external: set[str]
) -> list[Membership]:
    """Members of declared groups listed whole that the config does not list there."""
    names = _names(members, people)
    return [
        Membership(names.get(user_id, user_id), group, membership_id)
        for group, user_id, membership_id in _undeclared_ids(config, members, directory, people, external)
    ]


def _names(members: Members, people: Directory) -> dict[str, str]:
    """User id -> user name, of the users read or described."""
    return people.names() | {p.id: p.name for p in members.people.values()}


def _of_absent(
    config: Config, members: Members, directory: Directory, people: Directory, external: set[str]
) -> list[Change[Membership]]:
    """Every membership of the users and groups under `absent:`."""
    names = _names(members, people)
    group_names = directory.names() | {p.id: p.name for p in members.teams.values()}
    out = []
    for group in config.absent.groups:
        if directory.id_of(group) in external:
            continue
        for user_id, membership_id in members.of_groups.get(group, {}).items():
            membership = Membership(names.get(user_id, user_id), group, membership_id)
            out.append(deletion(KindName.MEMBERSHIP, membership.key, membership, "absent"))
    for user, of_user in members.of_absent_users.items():
        for group_id, membership_id in of_user.items():
            group = group_names.get(group_id, group_id)
            if group not in config.absent.groups:
                membership = Membership(user, group, membership_id)
                out.append(deletion(KindName.MEMBERSHIP, membership.key, membership, "absent"))
    return out


KIND = MembershipKind()
