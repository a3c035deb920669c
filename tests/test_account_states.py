"""Accounts that are not ACTIVE: Identity Center keeps listing them, and provisioning to them fails."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from provisioner.runner import Runner
from tests import realism
from tests.conftest import make_clients, parse, plan_and_apply, run_settings
from tests.realism.organizations import set_account_state

# These tests build the organization they need: they start with none.
pytestmark = pytest.mark.standalone


@pytest.fixture
def org(aws: realism.State) -> dict[str, str]:
    """An organization with two member accounts, a and b, both ACTIVE."""
    boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    return {name: member(name) for name in ("a", "b")}


def member(name: str) -> str:
    """A new ACTIVE member account of the organization."""
    client = boto3.client("organizations", region_name="us-east-1")
    return str(client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"])


def team(accounts: list[str], duration: str = "PT1H") -> dict[str, Any]:
    return {
        "groups": [{"name": "Ops"}],
        "permission_sets": [{"name": "Ops", "session_duration": duration, "managed_policies": ["ReadOnlyAccess"]}],
        "assignments": [{"permission_set": "Ops", "groups": ["Ops"], "accounts": accounts}],
    }


def planned(doc: dict[str, Any], clock: Any) -> Any:
    return Runner(make_clients(clock), parse(doc), run_settings()).plan()


def stale_accounts() -> list[str]:
    sso = boto3.client("sso-admin", region_name="ap-northeast-2")
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    arn = sso.list_permission_sets(InstanceArn=instance)["PermissionSets"][0]
    return list(
        sso.list_accounts_for_provisioned_permission_set(
            InstanceArn=instance, PermissionSetArn=arn, ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED"
        )["AccountIds"]
    )


def edited_after(org: dict[str, str], state: str, clients: Any, clock: Any) -> tuple[Any, Any]:
    """The set on accounts a and b; b goes into `state`; then an edit of the set is applied."""
    plan_and_apply(clients, parse(team([org["a"], org["b"]])))
    set_account_state(org["b"], state)
    plan, result, _ = plan_and_apply(make_clients(clock), parse(team([org["a"], org["b"]], "PT2H")))
    return plan, result


@pytest.mark.parametrize("state", ["SUSPENDED", "PENDING_CLOSURE"])
def test_changed_set_is_provisioned_to_its_active_accounts_only(
    org: dict[str, str], clients: Any, clock: Any, state: str
) -> None:
    plan, result = edited_after(org, state, clients, clock)
    provisionings = [(c.key, c.fields[0].new) for c in plan.changes if c.resource == "provisioning"]
    assert provisionings == [(f"Ops in {org['a']}", f"AWS_ACCOUNT {org['a']} (changed)")]
    assert result.ok, result.to_json()
    assert stale_accounts() == [org["b"]]


@pytest.mark.parametrize("state", ["SUSPENDED", "PENDING_CLOSURE"])
def test_set_stale_only_where_accounts_are_not_active_plans_clean(
    org: dict[str, str], clients: Any, clock: Any, state: str
) -> None:
    edited_after(org, state, clients, clock)
    again = planned(team([org["a"], org["b"]], "PT2H"), clock)
    assert again.empty and not again.errors
    assert any(org["b"] in note and state in note for note in again.notes), again.notes


def test_every_account_active_is_one_provisioning_to_all(org: dict[str, str], clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team([org["a"], org["b"]])))
    plan = planned(team([org["a"], org["b"]], "PT2H"), clock)
    targets = [c.fields[0].new for c in plan.changes if c.resource == "provisioning"]
    assert targets == ["ALL_PROVISIONED_ACCOUNTS (changed)"]


@pytest.mark.parametrize("state", ["SUSPENDED", "PENDING_CLOSURE"])
def test_new_assignment_on_an_account_that_is_not_active_is_a_plan_error(
    org: dict[str, str], clock: Any, state: str
) -> None:
    set_account_state(org["b"], state)
    plan = planned(team([org["a"], org["b"]]), clock)
    assert len(plan.errors) == 1
    assert org["b"] in plan.errors[0] and state in plan.errors[0] and "assignments[0].accounts" in plan.errors[0]


def test_noop_plan_of_sets_that_are_not_stale_reads_no_account_state(
    org: dict[str, str], clients: Any, clock: Any
) -> None:
    plan_and_apply(clients, parse(team([org["a"], org["b"]])))
    reader = make_clients(clock)
    assert Runner(reader, parse(team([org["a"], org["b"]])), run_settings()).plan().empty
    assert not [op for op in reader.log.counts if op.startswith("organizations:")]


@pytest.mark.parametrize(("accounts", "describes", "listings"), [(1, 1, 0), (5, 0, 1)])
def test_account_states_are_read_with_the_fewer_calls(
    aws: realism.State, clock: Any, accounts: int, describes: int, listings: int
) -> None:
    boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    ids = [member(f"m{i}") for i in range(accounts)]
    reader = make_clients(clock)
    Runner(reader, parse(team(ids)), run_settings()).plan()
    counts = reader.log.counts
    assert (counts["organizations:DescribeAccount"], counts["organizations:ListAccounts"]) == (describes, listings)


@pytest.mark.parametrize("without", ["organization", "permission"])
def test_unreadable_states_count_as_active_and_the_plan_says_so(aws: realism.State, clock: Any, without: str) -> None:
    if without == "permission":
        boto3.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
        denied = ("AccessDeniedException", "not authorized")
        realism.configure(refuse={"DescribeAccount": denied, "ListAccounts": denied})
    plan = planned(team(["111122223333"]), clock)
    # With no organization the plan also refuses it (tests/test_account_instance.py).
    assert bool(plan.errors) == (without == "organization")
    assert [c.resource for c in plan.changes].count("assignment") == 1
    note = next(n for n in plan.notes if "treated as ACTIVE" in n)
    assert ("AWSOrganizationsNotInUseException" if without == "organization" else "AccessDeniedException") in note


def test_per_account_provisionings_of_one_set_never_overlap(org: dict[str, str], clients: Any, clock: Any) -> None:
    doc = team([org["a"], org["b"], *(member(f"x{i}") for i in range(3))])
    plan_and_apply(clients, parse(doc))
    set_account_state(org["b"], "SUSPENDED")
    realism.configure(
        async_seconds=3, clock=clock.now, conflict_while_provisioning=True, max_concurrent_provisionings=3
    )
    edited = copy.deepcopy(doc)
    edited["permission_sets"][0]["session_duration"] = "PT2H"
    second = make_clients(clock)
    plan, result, _ = plan_and_apply(second, parse(edited))
    assert [c.resource for c in plan.changes].count("provisioning") == 4
    assert result.ok, result.to_json()
    assert second.log.counts["sso-admin:ProvisionPermissionSet"] == 4  # none refused, none repeated
    assert stale_accounts() == [org["b"]]


def test_states_listed_for_organization_targets_are_not_read_again(org: dict[str, str], clock: Any) -> None:
    set_account_state(org["b"], "SUSPENDED")
    doc = team([org["b"], "111122223333"])  # b listed by hand; the other is not in the organization
    doc["assignments"][0]["all_accounts"] = True
    reader = make_clients(clock)
    plan = Runner(reader, parse(doc), run_settings()).plan()
    suspended, outside = plan.errors
    assert org["b"] in suspended and "111122223333 is not in the organization" in outside
    counts = reader.log.counts
    assert (counts["organizations:ListAccounts"], counts["organizations:DescribeAccount"]) == (1, 0)


def test_after_a_timed_out_provisioning_no_further_round_is_fired(
    org: dict[str, str], clients: Any, clock: Any
) -> None:
    doc = team([org["a"], org["b"], member("c")])
    plan_and_apply(clients, parse(doc))
    set_account_state(org["b"], "SUSPENDED")
    realism.configure(async_seconds=10_000, clock=clock.now)  # provisionings never end in time
    edited = copy.deepcopy(doc)
    edited["permission_sets"][0]["session_duration"] = "PT2H"
    second = make_clients(clock)
    _, result, _ = plan_and_apply(second, parse(edited), timeout=60)
    statuses = [o.detail.split(":")[0] for o in result.outcomes if o.change.resource == "provisioning"]
    assert statuses == ["TIMEOUT", "SKIPPED"]
    assert second.log.counts["sso-admin:ProvisionPermissionSet"] == 1


@pytest.mark.parametrize("listed", [False, True], ids=["described", "listed"])
def test_an_account_outside_the_organization_is_a_plan_error_naming_the_field(
    org: dict[str, str], clock: Any, listed: bool
) -> None:
    # A typo of one digit; with more accounts than DESCRIBE_AT_MOST they are listed instead.
    extra = [member(name) for name in ("c", "d", "e")] if listed else []
    doc = team([org["a"], *extra])
    doc["assignments"].append({"permission_set": "Ops", "groups": ["Ops"], "accounts": ["111122223334"]})
    plan = planned(doc, clock)
    assert plan.errors == [
        "assignments[1].accounts: account 111122223334 is not in the organization, and AWS fails an assignment on "
        "an account outside it (1 new assignment(s) target it): fix the account id in assignments[1].accounts, "
        "or invite the account into the organization first"
    ]


def test_accounts_of_the_organization_and_the_current_one_plan_clean(org: dict[str, str], clock: Any) -> None:
    plan = planned(team(["current", org["a"], org["b"]]), clock)
    assert plan.errors == [] and plan.warnings == []


def test_without_an_organization_another_account_is_a_plan_error(aws: realism.State, clock: Any) -> None:
    plan = planned(team(["current", "111122223333"]), clock)
    assert plan.warnings == []
    [error] = [e for e in plan.errors if "111122223333" in e]
    assert error.startswith("assignments[0].accounts: account 111122223333 is not this account (123456789012)")
    assert "create an organization" in error
