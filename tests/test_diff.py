"""Each kind's diff is a pure function of the config and a LiveState: tested here without
AWS, moto or clients, on live states written by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from provisioner.context import Context
from provisioner.kinds import assignments, groups, memberships, permission_sets, provisioning, users
from provisioner.kinds.assignments import AssignmentRows
from provisioner.kinds.base import LiveState, Mode
from provisioner.kinds.identities import Directory, Principal
from provisioner.kinds.memberships import Members
from provisioner.kinds.permission_sets.live import LivePermissionSet, PermissionSets
from provisioner.kinds.provisioning import Provisioned
from provisioner.plan import Action
from tests.conftest import parse

NOW = datetime(2026, 11, 30, tzinfo=timezone.utc)
CTX = Context("arn:aws:sso:::instance/ssoins-1", "d-1234567890", "111111111111", "aws", "ap-northeast-2")
POWER = "arn:aws:iam::aws:policy/PowerUserAccess"
SET_ARN = "arn:aws:sso:::permissionSet/ssoins-1/ps-1"
CONFIG: dict[str, Any] = {
    "groups": [{"name": "Ops", "description": "Operators"}],
    "users": [{"user_name": "ana", "email": "ana@example.com", "groups": ["Ops"]}],
    "permission_sets": [{"name": "Power", "session_duration": "PT4H", "managed_policies": ["PowerUserAccess"]}],
    "assignments": [{"permission_set": "Power", "groups": ["Ops"], "accounts": ["current"]}],
}


def directory(*principals: Principal) -> Directory:
    return Directory({p.name: p for p in principals})


def live(
    group: Principal | None = None,
    user: Principal | None = None,
    member: bool = False,
    power: LivePermissionSet | None = None,
    assigned: bool = False,
) -> LiveState:
    """A live state as the reads would leave it, written by hand."""
    sets = PermissionSets(
        described={"Power": {"Name": "Power", "PermissionSetArn": SET_ARN}} if power else {},
        live={"Power": power} if power else {},
    )
    rows = {("GROUP", group.id, SET_ARN, CTX.account_id)} if assigned and group else set()
    return LiveState(
        CTX,
        NOW,
        {
            groups.KIND.name: directory(*([group] if group else [])),
            users.KIND.name: directory(*([user] if user else [])),
            memberships.KIND.name: Members({"Ops": {user.id: "m-1"} if member and user else {}}),
            permission_sets.KIND.name: sets,
            provisioning.KIND.name: Provisioned(stale={"Power": ()} if power else {}),
            assignments.KIND.name: AssignmentRows(rows=frozenset(rows), every_principal=True),
        },
    )


OPS = Principal("g-1", "Ops", {"GroupId": "g-1", "DisplayName": "Ops", "Description": "Operators"})
ANA = Principal(
    "u-1",
    "ana",
    {
        "UserId": "u-1",
        "UserName": "ana",
        "DisplayName": "ana ana",
        "Emails": [{"Value": "ana@example.com", "Primary": True}],
    },
)
POWER_SET = LivePermissionSet(SET_ARN, "Power", None, "PT4H", None, managed=frozenset({POWER}))


def test_everything_missing_is_created_in_dependency_order() -> None:
    state, config = live(), parse(CONFIG)
    kinds = [groups.KIND, users.KIND, memberships.KIND, permission_sets.KIND, assignments.KIND]
    changes = [c for kind in kinds for c in kind.diff(config, state, Mode.PLAN).changes]
    assert [(c.kind.value, c.action) for c in changes] == [
        ("group", Action.CREATE),
        ("user", Action.CREATE),
        ("membership", Action.CREATE),
        ("permission_set", Action.CREATE),
        ("assignment", Action.CREATE),
    ]


def test_what_exists_and_matches_is_unchanged() -> None:
    state, config = live(OPS, ANA, member=True, power=POWER_SET, assigned=True), parse(CONFIG)
    for kind in (groups.KIND, users.KIND, memberships.KIND, permission_sets.KIND, provisioning.KIND, assignments.KIND):
        diff = kind.diff(config, state, Mode.PLAN)
        assert diff.changes == [] and not diff.errors, kind.name


def test_a_membership_and_an_assignment_require_the_creations_they_need() -> None:
    state, config = live(), parse(CONFIG)
    [membership] = memberships.KIND.diff(config, state, Mode.PLAN).changes
    [assignment] = assignments.KIND.diff(config, state, Mode.PLAN).changes
    assert membership.requires == {("user", "ana"), ("group", "Ops")}
    assert assignment.requires == {("group", "Ops"), ("permission_set", "Power")}


def test_a_changed_policy_is_one_detach_and_one_attach_shown_by_name() -> None:
    doc = {**CONFIG, "permission_sets": [{**CONFIG["permission_sets"][0], "managed_policies": ["ReadOnlyAccess"]}]}
    [change] = permission_sets.KIND.diff(parse(doc), live(power=POWER_SET), Mode.PLAN).changes
    assert change.action is Action.UPDATE
    assert [type(op).__name__ for op in change.payload.operations] == ["DetachManaged", "AttachManaged"]
    assert [(f.name, f.old, f.new) for f in change.fields] == [
        ("managed_policies", ["PowerUserAccess"], ["ReadOnlyAccess"])
    ]


def test_a_tag_only_edit_does_not_change_the_roles() -> None:
    doc = {**CONFIG, "permission_sets": [{**CONFIG["permission_sets"][0], "tags": {"team": "ops"}}]}
    [change] = permission_sets.KIND.diff(parse(doc), live(power=POWER_SET), Mode.PLAN).changes
    assert not change.payload.changes_roles


# (The ownership tag's own value is changed by name:, shown as owner: test_a_claim_and_a_tag_change_are_one_tagging.)
def test_a_changed_tag_value_shows_the_value_it_had() -> None:
    tags, shown = {"team": "product"}, {"old": {"team": "other"}, "new": {"team": "product"}}
    doc = {**CONFIG, "permission_sets": [{**CONFIG["permission_sets"][0], "tags": tags}]}
    live_set = replace(POWER_SET, tags={"managed-by": "provisioner", "team": "other"})
    [change] = permission_sets.KIND.diff(parse(doc), live(power=live_set), Mode.PLAN).changes
    assert change.to_json()["fields"] == {"tags": shown}
    assert [type(op).__name__ for op in change.payload.operations] == ["Tag"]


def test_a_claim_and_a_tag_change_are_one_tagging() -> None:
    doc = {**CONFIG, "name": "team-a", "permission_sets": [{**CONFIG["permission_sets"][0], "tags": {"team": "a"}}]}
    live_set = replace(POWER_SET, tags={"managed-by": "provisioner", "team": "other", "aws:cloudformation:x": "y"})
    [change] = permission_sets.KIND.diff(parse(doc), live(power=live_set), Mode.PLAN).changes
    [tag] = change.payload.operations
    assert tag.tags == {"team": "a", "managed-by": "provisioner:team-a"}
    assert change.to_json()["fields"] == {
        "tags": {"old": {"team": "other"}, "new": {"team": "a"}},
        "owner": {"old": "provisioner", "new": "provisioner:team-a"},
    }


def test_destroy_deletes_what_exists_in_reverse_and_leaves_the_rest() -> None:
    state, config = live(OPS, ANA, member=True, power=POWER_SET, assigned=True), parse(CONFIG)
    # Power carries this config's ownership tag (read to destroy): it created it.
    ours = replace(state.get(permission_sets.KIND), tags={"Power": dict([config.ownership])})
    state = state.with_part(permission_sets.KIND.name, ours)
    # To destroy, the memberships are read from the groups of the users it deletes.
    state = state.with_part(memberships.KIND.name, Members(of_destroyed_users={"ana": {OPS.id: "m-1"}}))
    deleted = {
        kind.name.value: [c.key for c in kind.diff(config, state, Mode.DESTROY).changes]
        for kind in (groups.KIND, users.KIND, memberships.KIND, permission_sets.KIND, assignments.KIND)
    }
    assert deleted == {
        "group": ["Ops"],
        "user": ["ana"],
        "membership": ["ana in Ops"],
        "permission_set": ["Power"],
        "assignment": ["group Ops -> Power on 111111111111"],
    }


def test_a_group_of_an_identity_provider_is_noted_not_corrected() -> None:
    synced = Principal("g-1", "Ops", {**OPS.attributes, "Description": "From Okta", "ExternalIds": [{"Id": "x"}]})
    diff = groups.KIND.diff(parse(CONFIG), live(synced), Mode.PLAN)
    assert diff.changes == [] and diff.unchanged == 1
    assert ["external identity provider" in note for note in diff.notes] == [True]
