"""Organization targeting: OUs (recursive or not), all accounts, exclusions, ACTIVE only."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from provisioner.runner import Runner
from tests import realism
from tests.conftest import make_clients, parse, plan_and_apply, run_settings
from tests.realism.orgs import inventory

# These tests build the organization they need: they start with none.
pytestmark = pytest.mark.standalone

MANAGEMENT = "123456789012"


@pytest.fixture
def org(aws: realism.State) -> dict[str, Any]:
    return build_org()


def build_org() -> dict[str, Any]:
    """root -> prod (a, b) -> prod/eu (c); root -> dev (d, suspended e)."""
    client = boto3.client("organizations", region_name="us-east-1")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]

    def ou(parent: str, name: str) -> str:
        return str(client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])

    def account(parent: str, name: str) -> str:
        status = client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account_id = str(status["AccountId"])
        client.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        return account_id

    prod, dev = ou(root, "prod"), ou(root, "dev")
    eu = ou(prod, "eu")
    ids = {
        "root": root,
        "prod": prod,
        "dev": dev,
        "eu": eu,
        "a": account(prod, "a"),
        "b": account(prod, "b"),
        "c": account(eu, "c"),
        "d": account(dev, "d"),
        "e": account(dev, "e"),
    }
    client.close_account(AccountId=ids["e"])
    return ids


def config(org: dict[str, Any], **target: Any) -> Any:
    return parse(
        {
            "groups": [{"name": "Ops"}],
            "permission_sets": [{"name": "Admin", "managed_policies": ["AdministratorAccess"]}],
            "assignments": [{"permission_set": "Admin", "groups": ["Ops"], **target}],
        }
    )


def planned_accounts(org: dict[str, Any], clock: Any, **target: Any) -> tuple[set[str], list[str]]:
    plan = Runner(make_clients(clock), config(org, **target), run_settings()).plan()
    accounts = {f.new for c in plan.changes if c.resource == "assignment" for f in c.fields if f.name == "account"}
    return accounts, plan.notes


def test_nested_ous_resolve_recursively_and_skip_suspended(org: dict[str, Any], clock: Any) -> None:
    accounts, notes = planned_accounts(org, clock, organizational_units=[org["prod"], org["dev"]])
    assert accounts == {org["a"], org["b"], org["c"], org["d"]}
    assert any(org["e"] in n and "SUSPENDED" in n for n in notes)
    assert any(org["c"] in n for n in notes), "the plan names the resolved accounts"


def test_one_level_only(org: dict[str, Any], clock: Any) -> None:
    accounts, _ = planned_accounts(org, clock, organizational_units=[org["prod"]], recursive=False)
    assert accounts == {org["a"], org["b"]}


def test_all_accounts_leave_out_the_management_account_and_exclusions(org: dict[str, Any], clock: Any) -> None:
    accounts, _ = planned_accounts(org, clock, all_accounts=True, exclude_accounts=[org["b"]])
    assert accounts == {org["a"], org["c"], org["d"]}
    explicit, _ = planned_accounts(org, clock, all_accounts=True, accounts=["current"])
    assert MANAGEMENT in explicit


def test_an_excluded_id_outside_the_organization_is_a_plan_error(org: dict[str, Any], clock: Any) -> None:
    """A typo in exclude_accounts excludes nothing: the account it meant would be assigned."""
    typo = org["b"][:-1] + ("0" if org["b"][-1] != "0" else "1")
    plan = Runner(make_clients(clock), config(org, all_accounts=True, exclude_accounts=[typo]), run_settings()).plan()
    assert [e for e in plan.errors if f"exclude_accounts: {typo} is not an account of the organization" in e]


def test_an_excluded_id_is_checked_without_listing_the_organization(org: dict[str, Any], clock: Any) -> None:
    """An OU target reads its OU's accounts; checking an exclusion costs no ListAccounts."""
    typo = org["b"][:-1] + ("0" if org["b"][-1] != "0" else "1")
    clients = make_clients(clock)
    target = {"organizational_units": [org["prod"]], "exclude_accounts": [typo]}
    plan = Runner(clients, config(org, **target), run_settings()).plan()
    assert [e for e in plan.errors if typo in e] and "organizations:ListAccounts" not in clients.log.counts


def test_ou_assignments_apply_and_converge(org: dict[str, Any], clients: Any, clock: Any) -> None:
    target = {"organizational_units": [org["prod"]]}
    plan, result, _ = plan_and_apply(clients, config(org, **target))
    assert result.ok and inventory()["assignments"] == 3
    again = Runner(make_clients(clock), config(org, **target), run_settings()).plan()
    assert again.empty


def test_the_organization_is_read_once_for_every_target(org: dict[str, Any], clock: Any) -> None:
    """From the management account its id is known (it owns the instance), and one listing of
    the accounts serves the whole organization and the account states."""
    clients = make_clients(clock)
    doc = {
        "groups": [{"name": "Ops"}],
        "permission_sets": [{"name": "Admin", "managed_policies": ["AdministratorAccess"]}],
        "assignments": [
            {"permission_set": "Admin", "groups": ["Ops"], "all_accounts": True},
            {"permission_set": "Admin", "groups": ["Ops"], "account_names": ["*"]},
        ],
    }
    Runner(clients, parse(doc), run_settings()).plan()
    counts = clients.log.counts
    assert counts["organizations:DescribeOrganization"] == 0
    assert counts["organizations:ListAccounts"] == 1
