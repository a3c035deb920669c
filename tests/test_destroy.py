"""destroy: reverse order, idempotent, converges after a killed run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory, organization
from tests.test_resilience import Endpoint, endpoint, finish, kill_at  # noqa: F401
from tests.test_resilience import cli as cli_process

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")
EMPTY = {
    "users": 0,
    "distinct_user_names": 0,
    "groups": 0,
    "distinct_group_names": 0,
    "memberships": 0,
    "permission_sets": 0,
    "policies": 0,
    "assignments": 0,
    "distinct_assignments": 0,
}


def test_destroy_removes_what_the_config_declares_in_reverse_order(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(organization(4, 8, 3, 5, 24)))
    # Each assignment deletion takes 5 s; the set leaves an account as soon as its last one is gone.
    realism.configure(async_seconds=5, removal_seconds=0, clock=clock.now)
    runner = Runner(make_clients(clock), parse(organization(4, 8, 3, 5, 24)), run_settings())
    assert runner.apply(runner.plan_destroy()).ok
    assert inventory() == EMPTY
    # What AWS saw, in the order the README gives: assignments (their deletions finished
    # first, so no DeletePermissionSet was refused), permission sets, memberships, users, groups.
    deletes = [call for _, call in realism.STATE.log if ":Delete" in call]
    kinds = [call.split(":Delete")[1] for call in deletes]
    assert sorted(kinds, key=kinds.index) == kinds, "each kind deleted in one run of calls"
    assert list(dict.fromkeys(kinds)) == ["AccountAssignment", "PermissionSet", "GroupMembership", "User", "Group"]
    assert realism.STATE.calls["sso-admin:DeletePermissionSet"] == 3


def test_destroy_leaves_what_the_config_does_not_name(aws: realism.State) -> None:
    import boto3

    store = boto3.client("sso-admin").list_instances()["Instances"][0]["IdentityStoreId"]
    boto3.client("identitystore").create_group(IdentityStoreId=store, DisplayName="Keep")
    assert CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", EXAMPLE, "--yes"]).exit_code == 0
    result = CliRunner().invoke(cli, ["--region", REGION, "destroy", "-f", EXAMPLE, "--yes"])
    assert result.exit_code == 0, result.output
    assert "Destroy complete: 5 done" in result.stdout
    assert inventory()["groups"] == 1 and inventory()["permission_sets"] == 0
    again = CliRunner().invoke(cli, ["--region", REGION, "destroy", "-f", EXAMPLE, "--yes"])
    assert again.exit_code == 0
    assert "Nothing to destroy: none of what the config declares exists." in again.stdout
    assert "No changes" not in again.stdout


def test_destroy_without_a_terminal_needs_yes(aws: realism.State) -> None:
    CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", EXAMPLE, "--yes"])
    result = CliRunner().invoke(cli, ["--region", REGION, "destroy", "-f", EXAMPLE])
    assert result.exit_code == 1 and inventory()["users"] == 1


def test_destroy_after_a_killed_destroy_converges(endpoint: Endpoint, tmp_path: Path) -> None:  # noqa: F811
    doc = organization(groups=4, users=12, permission_sets=3, accounts=10, assignments=40)
    config = tmp_path / "org.yaml"
    import json

    config.write_text(json.dumps(doc))
    code, out = finish(cli_process(endpoint.url, "apply", "-f", str(config), "--yes", "--poll-interval", "0.05"))
    assert code == 0, out
    # Killed while the 20th assignment deletion is held at AWS, before it takes effect.
    destroy = ("destroy", "-f", str(config), "--yes", "--poll-interval", "0.05")
    kill_at(endpoint, "sso-admin:DeleteAccountAssignment", 20, False, *destroy)
    code, out = finish(cli_process(endpoint.url, "destroy", "-f", str(config), "--yes", "--poll-interval", "0.05"))
    assert code == 0, out
    realism.configure()
    assert inventory(endpoint.url) == EMPTY


# -- permission sets with assignments the config does not declare ------------------------
TEAM: dict[str, Any] = {
    "groups": [{"name": "Ops"}],
    "users": [{"user_name": "ana", "email": "ana@example.com", "groups": ["Ops"]}],
    "permission_sets": [{"name": "OpsAdmin", "managed_policies": ["AdministratorAccess"]}],
    "assignments": [{"permission_set": "OpsAdmin", "groups": ["Ops"], "accounts": ["current"]}],
}


def assign_by_hand(permission_set: str, user: str, account: str) -> None:
    """An assignment made in the console, which the config never declared."""
    from tests.test_steps import clients_ids, instance, permission_set_arn, sso

    sso().create_account_assignment(
        InstanceArn=instance()[0],
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=permission_set_arn(permission_set),
        PrincipalType="USER",
        PrincipalId=clients_ids(None, "users", user),  # type: ignore[arg-type]
    )


def test_destroy_deletes_every_assignment_of_its_sets_marking_the_undeclared(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(TEAM))
    assign_by_hand("OpsAdmin", "ana", "111122223333")
    realism.configure(async_seconds=2, clock=clock.now)  # deletions and removals take a while
    runner = Runner(make_clients(clock), parse(TEAM), run_settings())
    plan = runner.plan_destroy()
    reasons = {c.key: {f.name: f.new for f in c.fields} for c in plan.changes if c.resource == "assignment"}
    assert reasons == {
        "group Ops -> OpsAdmin on 123456789012": {},
        "user ana -> OpsAdmin on 111122223333": {"reason": "not in the config"},
    }
    assert runner.apply(plan).ok
    assert inventory() == EMPTY


@pytest.mark.parametrize(("removal_seconds", "deleted"), [(30, True), (1000, False)])
def test_set_deletion_waits_a_bounded_time_for_aws_to_remove_it_from_accounts(
    clients: Any, clock: Any, removal_seconds: float, deleted: bool
) -> None:
    plan_and_apply(clients, parse(TEAM))
    # Deletions succeed within seconds; removing the set from the account takes longer.
    realism.configure(removal_seconds=removal_seconds, clock=clock.now)
    runner = Runner(make_clients(clock), parse(TEAM), run_settings())
    result = runner.apply(runner.plan_destroy())
    outcome = next(o for o in result.outcomes if o.change.resource == "permission_set")
    assert outcome.ok is deleted, outcome.detail
    assert (inventory()["permission_sets"] == 0) is deleted
    if not deleted:
        assert "still on account(s) 123456789012" in outcome.detail and "again later" in outcome.detail
        assert clock.t < 300  # bounded, not a wait for the whole removal
        assert result.outcomes[-1].ok  # the group went all the same


def test_set_whose_assignment_could_not_be_deleted_is_not_tried(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(TEAM))
    realism.configure(refuse={"DeleteAccountAssignment": ("ValidationException", "refused for the test")})
    remover = make_clients(clock)
    runner = Runner(remover, parse(TEAM), run_settings())
    result = runner.apply(runner.plan_destroy())
    outcome = next(o for o in result.outcomes if o.change.resource == "permission_set")
    assert not outcome.ok and "not tried" in outcome.detail and "assignment" in outcome.detail
    assert remover.log.counts["sso-admin:DeletePermissionSet"] == 0
    assert clock.t < 10


def test_destroy_interrupted_among_assignment_deletions_leaves_the_set_not_started(clients: Any, clock: Any) -> None:
    from provisioner.plan import NOT_STARTED

    plan_and_apply(clients, parse(TEAM))
    assign_by_hand("OpsAdmin", "ana", "111122223333")
    remover = make_clients(clock)
    realism.pause_at("sso-admin:DeleteAccountAssignment", 1, action=remover.cancel.cancel)  # Ctrl-C
    runner = Runner(remover, parse(TEAM), run_settings())
    result = runner.apply(runner.plan_destroy())
    outcome = next(o for o in result.outcomes if o.change.resource == "permission_set")
    assert result.interrupted and outcome.status == NOT_STARTED, outcome.to_json()


def test_destroy_lists_the_memberships_that_go_with_a_user(clients: Any, clock: Any) -> None:
    """ana, whom the config declares in Ops, was also added by hand to Finance, a group the
    config does not name: deleting ana removes that membership too, and the plan says so."""
    import boto3

    plan_and_apply(clients, parse(TEAM))
    ids = boto3.client("identitystore", region_name=REGION)
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    finance = ids.create_group(IdentityStoreId=store, DisplayName="Finance")["GroupId"]
    ana = ids.get_user_id(
        IdentityStoreId=store,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "ana"}},
    )["UserId"]
    ids.create_group_membership(IdentityStoreId=store, GroupId=finance, MemberId={"UserId": ana})
    runner = Runner(make_clients(clock), parse(TEAM), run_settings())
    plan = runner.plan_destroy()
    memberships = {c.key: {f.name: f.new for f in c.fields} for c in plan.changes if c.resource == "membership"}
    assert memberships == {"ana in Ops": {}, "ana in Finance": {"reason": "not in the config"}}
    assert runner.apply(plan).ok
    found = inventory()
    assert (found["users"], found["groups"], found["memberships"]) == (0, 1, 0)


def test_destroy_reads_each_deleted_users_memberships_once(clients: Any, clock: Any) -> None:
    """The listing of a deleted user's groups holds its declared memberships too: no group's
    members are read, and each user's groups are listed once."""
    team = {
        "groups": [{"name": "Ops"}, {"name": "Dev"}],
        "users": [
            {"user_name": name, "email": f"{name}@example.com", "groups": ["Ops", "Dev"]} for name in ("ana", "bo")
        ],
    }
    plan_and_apply(clients, parse(team))
    reader = make_clients(clock)
    plan = Runner(reader, parse(team), run_settings()).plan_destroy()
    assert sorted(c.key for c in plan.changes if c.resource == "membership") == [
        "ana in Dev",
        "ana in Ops",
        "bo in Dev",
        "bo in Ops",
    ]
    calls = reader.log.counts
    assert calls["identitystore:ListGroupMembershipsForMember"] == 2
    assert calls["identitystore:ListGroupMemberships"] + calls["identitystore:GetGroupMembershipId"] == 0
