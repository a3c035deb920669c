"""Group memberships, declared under each user's `groups`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..plan import Action, Change, FieldChange, KindName
from . import groups, users
from .base import Diff, Env, ExportScope, Kind, LiveState, Mode, Reader, deletion
from .identities import NOT_FOUND, Directory, delete, external_ids, settle_conflicts

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
    and, with prune, user name -> group id -> membership id for the absent users."""

    of_groups: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    of_absent_users: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def members_of(clients: Clients, store: str, group_id: str) -> dict[str, str]:
    """user id -> membership id: one listing."""
    listing = clients.identitystore.pages(
        lambda c, more: c.list_group_memberships(IdentityStoreId=store, GroupId=group_id, **more), "GroupMemberships"
    )
    return {m["MemberId"].get("UserId", ""): m["MembershipId"] for m in listing}


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
            "identitystore:CreateGroupMembership",
            "identitystore:DeleteGroupMembership",
        }
    )

    def read(self, reader: Reader, config: Config, live: LiveState, mode: Mode) -> Members:
        """One listing per group the run needs; with prune, one per absent user too."""
        directory, people = live.get(groups.KIND), live.get(users.KIND)
        store = reader.ctx.identity_store_id
        if mode is Mode.EXPORT:
            wanted = {name for name in directory.by_name if reader.scope.wants_group(name)}
        else:
            wanted = {g for u in config.users for g in u.groups}
        if mode is Mode.PRUNE:
            wanted |= set(config.absent.groups)
        of_groups = {
            group: members_of(reader.clients, store, group_id)
            for group in sorted(wanted)
            if (group_id := directory.id_of(group)) is not None
        }
        of_absent_users: dict[str, dict[str, str]] = {}
        if mode is Mode.PRUNE:
            for user in config.absent.users:
                person = people.get(user)
                if person is None or person.from_idp:
                    continue
                listing = reader.clients.identitystore.pages(
                    lambda c, more: c.list_group_memberships_for_member(
                        IdentityStoreId=store,
                        MemberId={"UserId": person.id},  # noqa: B023 - the listing is read at once
                        **more,
                    ),
                    "GroupMemberships",
                )
                of_absent_users[user] = {m["GroupId"]: m["MembershipId"] for m in listing}
        return Members(of_groups, of_absent_users)

    def diff(self, config: Config, live: LiveState, mode: Mode) -> Diff[Membership]:
        members, directory, people = live.get(self), live.get(groups.KIND), live.get(users.KIND)
        external = external_ids(
            directory,
            people,
            [(directory, g.name) for g in config.groups if g.external]
            + [(people, u.user_name) for u in config.users if u.external],
        )
        diff: Diff[Membership] = Diff()
        if mode is Mode.DESTROY:
            for user in config.users:
                user_id = people.id_of(user.user_name)
                for group in user.groups:
                    membership_id = members.of_groups.get(group, {}).get(user_id or "")
                    # An identity provider's user or group was noted (not deleted, nor its memberships).
                    if membership_id and not _from_idp(config, directory, people, external, user.user_name, group):
                        diff.changes.append(
                            deletion(
                                self.name,
                                f"{user.user_name} in {group}",
                                Membership(user.user_name, group, membership_id),
                            )
                        )
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
        if mode is Mode.PRUNE:
            for membership in undeclared:
                diff.changes.append(deletion(self.name, membership.key, membership, "not in the config"))
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

        return settle_conflicts(env.clients, create, explain)

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


def _undeclared(
    config: Config, members: Members, directory: Directory, people: Directory, external: set[str]
) -> list[Membership]:
    """Members of declared groups that the config does not list (identity-provider users and
    groups excluded: their members are managed there)."""
    names = people.names()
    declared_groups = {g for u in config.users for g in u.groups}
    declared = {(u.user_name, g) for u in config.users for g in u.groups}
    found = []
    for group, group_members in sorted(members.of_groups.items()):
        if group not in declared_groups or directory.id_of(group) in external:
            continue
        for user_id, membership_id in sorted(group_members.items()):
            user = names.get(user_id, user_id)
            if user_id not in external and (user, group) not in declared:
                found.append(Membership(user, group, membership_id))
    return found


def _of_absent(
    config: Config, members: Members, directory: Directory, people: Directory, external: set[str]
) -> list[Change[Membership]]:
    """Every membership of the users and groups under `absent:`."""
    names, group_names = people.names(), {p.id: p.name for p in directory.by_name.values()}
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
