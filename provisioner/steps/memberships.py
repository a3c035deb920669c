"""Group memberships, declared under each user's `groups`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import AwsError
from ..plan import Action, Change, FieldChange, Plan
from .base import Step
from .groups import deleted, settle_conflicts

if TYPE_CHECKING:
    from mypy_boto3_identitystore.type_defs import MemberIdTypeDef


@dataclass(frozen=True)
class Membership:
    user: str
    group: str
    membership_id: str = ""


class MembershipsStep(Step):
    resource = "membership"
    live: dict[str, dict[str, str]]

    def read(self, config: Config) -> dict[str, dict[str, str]]:
        """user id -> membership id, for each declared group that exists: one listing per group."""
        members: dict[str, dict[str, str]] = {}
        wanted = {g for u in config.users for g in u.groups}
        for group in sorted(wanted):
            group_id = self.ids.groups.get(group)
            if group_id is None:
                continue
            listing = self.clients.identitystore.pages(
                lambda c, more: c.list_group_memberships(
                    IdentityStoreId=self.ctx.identity_store_id, GroupId=group_id, **more
                ),
                "GroupMemberships",
            )
            members[group] = {m["MemberId"].get("UserId", ""): m["MembershipId"] for m in listing}
        return members

    def from_idp(self, config: Config, user: str, group: str) -> str | None:
        """Which side of a membership comes from an external identity provider, if either:
        such memberships are managed there, never here."""
        if self.ids.groups.get(group) in self.ids.external or group in {g.name for g in config.groups if g.external}:
            return f"group {group!r}"
        if self.ids.users.get(user) in self.ids.external or user in {u.user_name for u in config.users if u.external}:
            return f"user {user!r}"
        return None

    def plan(self, config: Config, plan: Plan) -> None:
        live = self.live = self.read(config)
        for user in config.users:
            user_id = self.ids.users.get(user.user_name)
            for group in user.groups:
                if user_id is not None and user_id in live.get(group, {}):
                    plan.unchanged[self.resource] += 1
                    continue
                if idp := self.from_idp(config, user.user_name, group):
                    plan.notes.append(
                        f"membership {user.user_name} in {group}: {idp} comes from an external identity "
                        "provider, which manages its memberships: not created"
                    )
                    continue
                plan.changes.append(
                    Change(
                        self.resource,
                        Action.CREATE,
                        f"{user.user_name} in {group}",
                        (FieldChange("user", None, user.user_name), FieldChange("group", None, group)),
                        Membership(user.user_name, group),
                    )
                )

    def undeclared(self, config: Config) -> list[Membership]:
        """Members of declared groups that the config does not list (from what plan read;
        identity-provider users and groups excluded: their members are managed there)."""
        names = {user_id: name for name, user_id in self.ids.users.items()}
        declared = {(u.user_name, g) for u in config.users for g in u.groups}
        found = []
        for group, members in sorted(self.live.items()):
            if self.ids.groups.get(group) in self.ids.external:
                continue
            for user_id, membership_id in sorted(members.items()):
                user = names.get(user_id, user_id)
                if user_id not in self.ids.external and (user, group) not in declared:
                    found.append(Membership(user, group, membership_id))
        return found

    def plan_prune(self, config: Config, plan: Plan) -> None:
        """Undeclared members of declared groups, and every membership of the users and
        groups under `absent:`."""
        for membership in self.undeclared(config):
            self._delete(plan, membership, "not in the config")
        names = {user_id: name for name, user_id in self.ids.users.items()}
        store = self.ctx.identity_store_id
        for group in config.absent.groups:
            group_id = self.ids.groups.get(group)
            if group_id is not None and group_id not in self.ids.external:
                for m in self.clients.identitystore.pages(
                    lambda c, more: c.list_group_memberships(IdentityStoreId=store, GroupId=group_id, **more),
                    "GroupMemberships",
                ):
                    user_id = m["MemberId"].get("UserId", "")
                    self._delete(plan, Membership(names.get(user_id, user_id), group, m["MembershipId"]), "absent")
        groups = {group_id: name for name, group_id in self.ids.groups.items()}
        for user in config.absent.users:
            member_id = self.ids.users.get(user)
            if member_id is not None and member_id not in self.ids.external:
                for m in self.clients.identitystore.pages(
                    lambda c, more: c.list_group_memberships_for_member(
                        IdentityStoreId=store, MemberId={"UserId": member_id}, **more
                    ),
                    "GroupMemberships",
                ):
                    group = groups.get(m["GroupId"], m["GroupId"])
                    if group not in config.absent.groups:
                        self._delete(plan, Membership(user, group, m["MembershipId"]), "absent")

    def _delete(self, plan: Plan, membership: Membership, why: str = "") -> None:
        reason = (FieldChange("reason", None, why),) if why else ()
        key = f"{membership.user} in {membership.group}"
        plan.changes.append(Change(self.resource, Action.DELETE, key, reason, membership))

    def plan_destroy(self, config: Config, plan: Plan) -> None:
        live = self.read(config)
        for user in config.users:
            user_id = self.ids.users.get(user.user_name)
            for group in user.groups:
                membership_id = live.get(group, {}).get(user_id or "")
                # An identity provider's user or group was noted (not deleted, nor its memberships).
                if membership_id and not self.from_idp(config, user.user_name, group):
                    self._delete(plan, Membership(user.user_name, group, membership_id))

    def apply(self, change: Change) -> str | None:
        membership: Membership = change.data
        if change.action is Action.DELETE:
            store, membership_id = self.ctx.identity_store_id, membership.membership_id
            return deleted(
                lambda: self.clients.identitystore.call(
                    lambda c: c.delete_group_membership(IdentityStoreId=store, MembershipId=membership_id)
                )
            )
        api, store = self.clients.identitystore, self.ctx.identity_store_id
        group_id = self.ids.need("groups", membership.group)
        member: MemberIdTypeDef = {"UserId": self.ids.need("users", membership.user)}

        def create() -> None:
            api.call(lambda c: c.create_group_membership(IdentityStoreId=store, GroupId=group_id, MemberId=member))

        def explain(exc: AwsError) -> str | None:
            try:
                api.call(lambda c: c.get_group_membership_id(IdentityStoreId=store, GroupId=group_id, MemberId=member))
            except AwsError as missing:
                if missing.code != "ResourceNotFoundException":
                    raise
                return None
            return "already a member"

        return settle_conflicts(self.clients, create, explain)
