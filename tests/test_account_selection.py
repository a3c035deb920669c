"""Accounts chosen by Organizations tags, name globs and OU paths: resolved at every run
(no edit as the organization grows), named in the plan, combined with exclude_accounts."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from provisioner.errors import ConfigError
from provisioner.runner import Runner
from tests import realism
from tests.conftest import make_clients, parse, plan_and_apply, run_settings
from tests.test_targets import MANAGEMENT, build_org, config, planned_accounts

# These tests build the organization they need: they start with none.
pytestmark = pytest.mark.standalone


def organizations() -> Any:
    return boto3.client("organizations", region_name="us-east-1")


def tag(account: str, **tags: str) -> None:
    organizations().tag_resource(ResourceId=account, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


@pytest.fixture
def org(aws: realism.State) -> dict[str, Any]:
    """The organization of test_targets: root -> prod (a, b) -> prod/eu (c); root -> dev (d, suspended e)."""
    return build_org()


@pytest.fixture
def tagged(org: dict[str, Any]) -> dict[str, Any]:
    """a and c: env=prod team=core; b: env=prod; d: env=dev; e (suspended): env=prod."""
    tag(org["a"], env="prod", team="core")
    tag(org["c"], env="prod", team="core", owner="kim")
    tag(org["b"], env="prod")
    tag(org["d"], env="dev")
    tag(org["e"], env="prod")
    return org


@pytest.mark.parametrize(
    ("tags", "expected"),
    [({"env": "prod"}, {"a", "b", "c"}), ({"env": "prod", "team": "core"}, {"a", "c"}), ({"env": "Prod"}, set())],
)
def test_account_tags_pick_the_active_accounts_that_match_them_all(
    tagged: dict[str, Any], clock: Any, tags: dict[str, str], expected: set[str]
) -> None:
    accounts, notes = planned_accounts(tagged, clock, account_tags=tags)
    assert accounts == {tagged[name] for name in expected}
    assert tagged["e"] not in accounts, "a SUSPENDED account never gets an assignment"
    assert any("tagged env=" in note for note in notes), "the plan names the selector and the accounts"


def test_account_names_are_shell_globs_on_the_name(org: dict[str, Any], clock: Any) -> None:
    accounts, notes = planned_accounts(org, clock, account_names=["[ab]", "c*"])
    assert accounts == {org["a"], org["b"], org["c"]}
    everything, notes = planned_accounts(org, clock, account_names=["*"])
    assert MANAGEMENT not in everything and org["e"] not in everything
    assert any(org["e"] in note and "SUSPENDED" in note for note in notes)


@pytest.mark.parametrize(
    ("path", "recursive", "expected"),
    [("/prod", True, {"a", "b", "c"}), ("/prod/eu", True, {"c"}), ("/prod", False, {"a", "b"}), ("/", True, "all")],
)
def test_organizational_units_take_paths_from_the_root(
    org: dict[str, Any], clock: Any, path: str, recursive: bool, expected: Any
) -> None:
    accounts, _ = planned_accounts(org, clock, organizational_units=[path], recursive=recursive)
    assert accounts == ({org[n] for n in "abcd"} if expected == "all" else {org[n] for n in expected})


def test_a_path_that_names_no_ou_is_a_plan_error_naming_what_is_there(org: dict[str, Any], clock: Any) -> None:
    runner = Runner(make_clients(clock), config(org, organizational_units=["/prod/asia"]), run_settings())
    plan = runner.plan()
    assert plan.errors == [
        "assignments[0].organizational_units: no OU /prod/asia in the organization (/prod has eu): fix the path, "
        "or give the OU id"
    ]


def test_selectors_add_up_and_exclude_accounts_takes_away(tagged: dict[str, Any], clock: Any) -> None:
    accounts, notes = planned_accounts(
        tagged,
        clock,
        account_tags={"env": "dev"},
        account_names=["a"],
        organizational_units=["/prod/eu"],
        exclude_accounts=[tagged["c"]],
    )
    assert accounts == {tagged["a"], tagged["d"]}
    assert any(tagged["c"] in note and "excluded" in note for note in notes)


def test_a_newly_tagged_account_is_assigned_on_the_next_run_with_no_edit(tagged: dict[str, Any], clients: Any) -> None:
    target = {"account_tags": {"team": "core"}}
    assert plan_and_apply(clients, config(tagged, **target))[1].ok
    tag(tagged["d"], team="core")
    plan = Runner(make_clients(clients.clock), config(tagged, **target), run_settings()).plan()
    assert [f.new for c in plan.changes for f in c.fields if f.name == "account"] == [tagged["d"]]


def test_tags_are_read_once_per_account_and_run_and_never_for_the_management_account(
    tagged: dict[str, Any], clients: Any
) -> None:
    doc = config(tagged, account_tags={"env": "prod"}).model_dump(exclude_unset=True)
    doc["assignments"].append({**doc["assignments"][0], "account_tags": {"team": "core"}})
    Runner(clients, parse(doc), run_settings()).plan()
    # a, b, c, d: ACTIVE members; every listing is two pages or fewer (two tags a page).
    assert clients.log.counts["organizations:ListTagsForResource"] <= 4 * 2
    assert clients.log.counts["organizations:ListTagsForResource"] >= 4


def test_the_layer_pages_account_tags(tagged: dict[str, Any]) -> None:
    first = organizations().list_tags_for_resource(ResourceId=tagged["c"])
    assert len(first["Tags"]) == realism.organizations.TAGS_PAGE_SIZE and first["NextToken"]
    rest = organizations().list_tags_for_resource(ResourceId=tagged["c"], NextToken=first["NextToken"])
    assert {t["Key"] for t in first["Tags"] + rest["Tags"]} == {"env", "team", "owner"}


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ({"organizational_units": ["/prod//eu"]}, "empty OU name"),
        ({"organizational_units": ["prod"]}, "path from the root"),
        ({"account_names": [""]}, "is empty"),
        ({"account_tags": {"aws:x": "1", "env": "a" * 257}}, "0-256 characters"),
    ],
)
def test_selectors_are_checked_before_any_call(org: dict[str, Any], target: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(org, **target)
    assert any(says in why for _, why in caught.value.problems), caught.value.problems


def test_all_accounts_reads_no_tags(tagged: dict[str, Any], clients: Any) -> None:
    Runner(clients, config(tagged, all_accounts=True, account_tags={"env": "prod"}), run_settings()).plan()
    assert "organizations:ListTagsForResource" not in clients.log.counts
