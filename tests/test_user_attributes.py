"""Users' ABAC and directory attributes: title, user type, phone numbers, addresses, the
enterprise extension... created, corrected with UpdateUser's attribute paths, removed when the
config says null, exported; and the realism layer's UpdateUser rules themselves."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from provisioner.aws import Clients
from provisioner.errors import ConfigError
from provisioner.kinds import users
from provisioner.kinds.base import Mode
from provisioner.kinds.identities import Principal
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply, run_settings
from tests.test_diff import CTX, directory, live

ENTERPRISE = "aws:identitystore:enterprise"
ANA: dict[str, Any] = {
    "user_name": "ana",
    "email": "ana@example.com",
    "title": "SRE",
    "user_type": "Employee",
    "nick_name": "Annie",
    "preferred_language": "ko-KR",
    "locale": "ko_KR",
    "timezone": "Asia/Seoul",
    "profile_url": "https://example.com/ana",
    "phone_numbers": [{"value": "+82 2 555 0100", "type": "work"}],
    "addresses": [{"street_address": "1 Main St", "locality": "Seoul", "country": "KR", "type": "work"}],
    "enterprise": {
        "employee_number": "0042",
        "cost_center": "CC-7",
        "organization": "Example",
        "division": "Platform",
        "department": "Engineering",
        "manager": "kim",
    },
}


def config(**changes: Any) -> Any:
    return parse({"users": [{**copy.deepcopy(ANA), **changes}]})


def identity_store() -> tuple[Any, str]:
    sso = boto3.client("sso-admin", region_name=REGION)
    return boto3.client("identitystore", region_name=REGION), sso.list_instances()["Instances"][0]["IdentityStoreId"]


def described(user_name: str = "ana") -> dict[str, Any]:
    """The user as AWS describes it, with the enterprise extension."""
    ids, store = identity_store()
    user_id = ids.get_user_id(
        IdentityStoreId=store,
        AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": user_name}},
    )["UserId"]
    return dict(ids.describe_user(IdentityStoreId=store, UserId=user_id, Extensions=[ENTERPRISE]))


def update_by_hand(*operations: dict[str, Any]) -> None:
    ids, store = identity_store()
    user_id = described()["UserId"]
    ids.update_user(IdentityStoreId=store, UserId=user_id, Operations=list(operations))


def test_a_new_user_gets_every_attribute_and_the_next_plan_is_clean(clients: Clients, clock: Any) -> None:
    plan, result, _ = plan_and_apply(clients, config())
    assert result.ok, result.to_json()
    [created] = plan.changes
    shown = {f.name for f in created.fields}
    assert {"title", "phone_numbers", "addresses", "enterprise.department", "enterprise.manager"} <= shown
    user = described()
    assert (user["Title"], user["UserType"], user["NickName"], user["Timezone"]) == (
        "SRE",
        "Employee",
        "Annie",
        "Asia/Seoul",
    )
    assert user["PhoneNumbers"] == [{"Value": "+82 2 555 0100", "Type": "work", "Primary": True}]
    assert user["Addresses"][0]["Locality"] == "Seoul"
    assert user["Extensions"][ENTERPRISE] == {
        "employeeNumber": "0042",
        "costCenter": "CC-7",
        "organization": "Example",
        "division": "Platform",
        "department": "Engineering",
        "manager": {"value": "kim"},
    }
    before = clients.log.writes()
    again = Runner(make_clients(clock), config(), run_settings()).plan()
    assert again.empty, again.to_json()
    assert clients.log.writes() == before


@pytest.mark.parametrize(
    ("by_hand", "field", "fixed"),
    [
        ({"AttributePath": "title", "AttributeValue": "Intern"}, "title", ("Title", "SRE")),
        (
            {"AttributePath": "phoneNumbers", "AttributeValue": [{"value": "+1 555", "primary": True}]},
            "phone_numbers",
            ("PhoneNumbers", [{"Value": "+82 2 555 0100", "Type": "work", "Primary": True}]),
        ),
        (
            {"AttributePath": f"{ENTERPRISE}.department", "AttributeValue": "Sales"},
            "enterprise.department",
            ("Extensions", "Engineering"),
        ),
        (
            {"AttributePath": f"{ENTERPRISE}.manager", "AttributeValue": {"value": "lee"}},
            "enterprise.manager",
            ("Extensions", "kim"),
        ),
    ],
)
def test_drift_in_an_attribute_is_planned_and_corrected_with_its_attribute_path(
    clients: Clients, clock: Any, by_hand: dict[str, Any], field: str, fixed: tuple[str, Any]
) -> None:
    assert plan_and_apply(clients, config())[1].ok
    update_by_hand(by_hand)
    runner = Runner(make_clients(clock), config(), run_settings())
    plan = runner.plan()
    [change] = plan.changes
    assert [f.name for f in change.fields] == [field]
    assert runner.apply(plan).ok
    key, value = fixed
    user = described()
    if key == "Extensions":
        stored = user["Extensions"][ENTERPRISE][field.split(".")[1]]
        assert (stored["value"] if isinstance(stored, dict) else stored) == value
    else:
        assert user[key] == value
    assert Runner(make_clients(clock), config(), run_settings()).plan().empty


def test_null_in_the_config_removes_the_attribute(clients: Clients, clock: Any) -> None:
    assert plan_and_apply(clients, config())[1].ok
    changed = config(title=None, phone_numbers=[], enterprise={"manager": None, "department": "Engineering"})
    runner = Runner(make_clients(clock), changed, run_settings())
    plan = runner.plan()
    assert {(f.name, f.new) for f in plan.changes[0].fields} == {
        ("title", None),
        ("phone_numbers", None),
        ("enterprise.manager", None),
    }
    assert runner.apply(plan).ok
    user = described()
    assert "Title" not in user and "PhoneNumbers" not in user
    assert "manager" not in user["Extensions"][ENTERPRISE]
    assert user["Extensions"][ENTERPRISE]["division"] == "Platform", "attributes the config leaves out stay"
    assert Runner(make_clients(clock), changed, run_settings()).plan().empty


def test_attributes_the_config_does_not_set_are_left_alone(clients: Clients, clock: Any) -> None:
    assert plan_and_apply(clients, config())[1].ok
    plain = parse({"users": [{"user_name": "ana", "email": "ana@example.com"}]})
    assert Runner(make_clients(clock), plain, run_settings()).plan().empty


def test_the_diff_of_attributes_is_pure() -> None:
    """On a live state written by hand: no AWS."""
    listed = Principal(
        "u-1",
        "ana",
        {
            "UserId": "u-1",
            "UserName": "ana",
            "Emails": [{"Value": "ana@example.com", "Primary": True}],
            "PhoneNumbers": [{"Value": "+82 2 555 0100", "Type": "work"}],
            "Extensions": {ENTERPRISE: {"department": "Sales", "manager": {"value": "kim"}}},
        },
    )
    state = live(user=listed).with_part(users.KIND.name, directory(listed))
    doc = {
        "user_name": "ana",
        "email": "ana@example.com",
        "phone_numbers": [{"value": "+82 2 555 0100", "type": "work"}],
    }
    doc["enterprise"] = {"department": "Engineering", "manager": "kim"}
    [change] = users.KIND.diff(parse({"users": [doc]}), state, Mode.PLAN).changes
    # A listed item without Primary is not primary; the config's one is, by default.
    assert [(f.name, f.old, f.new) for f in change.fields] == [
        (
            "phone_numbers",
            [{"value": "+82 2 555 0100", "type": "work", "primary": False}],
            [{"value": "+82 2 555 0100", "type": "work", "primary": True}],
        ),
        ("enterprise.department", "Sales", "Engineering"),
    ]
    assert CTX.identity_store_id == state.ctx.identity_store_id


@pytest.mark.parametrize(
    ("changes", "where", "says"),
    [
        ({"phone_numbers": [{"value": "1"}, {"value": "2"}]}, "users[0].phone_numbers", "at most 1 phone number"),
        ({"addresses": [{"type": "work"}]}, "users[0].addresses[0]", "set at least one of"),
        ({"enterprise": {"team": "x"}}, "users[0].enterprise.team", "unknown key"),
        ({"title": "x" * 1025}, "users[0].title", "1-1024 characters"),
        ({"nick_name": "tab\x00"}, "users[0].nick_name", "AWS refuses"),
        ({"phone_numbers": [{"type": "work"}]}, "users[0].phone_numbers[0].value", "is required"),
    ],
)
def test_attributes_are_checked_against_the_identitystore_model(changes: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(**changes)
    assert any(field == where and says in why for field, why in caught.value.problems), caught.value.problems


# -- the realism layer: UpdateUser as AWS takes it ----------------------------------------------
@pytest.fixture
def ana(aws: realism.State, clients: Clients) -> tuple[Any, str, str]:
    assert plan_and_apply(clients, config())[1].ok
    ids, store = identity_store()
    return ids, store, described()["UserId"]


@pytest.mark.parametrize(
    ("operation", "says"),
    [
        ({"AttributePath": "emails.value", "AttributeValue": "x@example.com"}, "full replacement"),
        ({"AttributePath": 'phoneNumbers[type eq "work"].value', "AttributeValue": "1"}, ""),
        ({"AttributePath": "title", "AttributeValue": ""}, "send null to remove"),
        ({"AttributePath": f"{ENTERPRISE}.team", "AttributeValue": "x"}, "Unknown attribute"),
        ({"AttributePath": f"{ENTERPRISE}.manager", "AttributeValue": "kim"}, "must be an object"),
        ({"AttributePath": "favouriteColour", "AttributeValue": "red"}, "Unsupported attribute path"),
        ({"AttributePath": "addresses", "AttributeValue": [{"locality": "a"}, {"locality": "b"}]}, "at most 1"),
        ({"AttributePath": "addresses", "AttributeValue": [{"town": "a"}]}, "Unknown sub-attribute"),
    ],
)
def test_update_user_refuses_what_aws_refuses(ana: tuple[Any, str, str], operation: dict[str, Any], says: str) -> None:
    ids, store, user_id = ana
    with pytest.raises(ClientError) as caught:
        ids.update_user(IdentityStoreId=store, UserId=user_id, Operations=[operation])
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert says in caught.value.response["Error"]["Message"]


def test_update_user_takes_item_keys_in_any_case(ana: tuple[Any, str, str]) -> None:
    """SCIM attribute names are case insensitive (RFC 7643, section 2.1)."""
    ids, store, user_id = ana
    for value in ([{"Value": "+1 555", "Primary": True}], [{"value": "+1 556", "primary": True}]):
        ids.update_user(
            IdentityStoreId=store,
            UserId=user_id,
            Operations=[{"AttributePath": "phoneNumbers", "AttributeValue": value}],
        )
    assert described()["PhoneNumbers"] == [{"Value": "+1 556", "Primary": True}]


def test_extensions_come_back_only_when_asked_for(ana: tuple[Any, str, str]) -> None:
    ids, store, user_id = ana
    assert "Extensions" not in ids.describe_user(IdentityStoreId=store, UserId=user_id)
    listed = ids.list_users(IdentityStoreId=store)["Users"][0]
    assert "Extensions" not in listed
    asked = ids.list_users(IdentityStoreId=store, Extensions=[ENTERPRISE])["Users"][0]
    assert asked["Extensions"][ENTERPRISE]["department"] == "Engineering"


def test_create_user_refuses_an_unknown_extension(aws: realism.State) -> None:
    ids, store = identity_store()
    with pytest.raises(ClientError) as caught:
        ids.create_user(
            IdentityStoreId=store,
            UserName="x",
            DisplayName="x",
            Name={"GivenName": "x", "FamilyName": "x"},
            Extensions={"aws:identitystore:custom": {"a": "b"}},
        )
    assert "only supported extension name" in caught.value.response["Error"]["Message"]


def test_the_email_update_still_works_with_attribute_paths(clients: Clients, clock: Any) -> None:
    assert plan_and_apply(clients, config())[1].ok
    moved = config(email="ana@example.org")
    assert plan_and_apply(make_clients(clock), moved)[1].ok
    assert described()["Emails"] == [{"Value": "ana@example.org", "Type": "work", "Primary": True}]
