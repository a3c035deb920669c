"""The instance's access control attributes (ABAC): created, corrected, deleted only when
declared, exported; the diff as a pure function; and the realism layer's model of them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from provisioner.aws import Clients
from provisioner.errors import ConfigError
from provisioner.kinds import access_control_attributes as abac
from provisioner.kinds.base import ADOPTED, Mode
from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, load_example, make_clients, parse, plan_and_apply, run_settings
from tests.test_diff import CTX, live

DEPARTMENT = "${path:enterprise.department}"
MAPPING = {"Department": DEPARTMENT, "CostCenter": ["${path:enterprise.costCenter}"]}


def config(mapping: dict[str, Any] | None = MAPPING, **more: Any) -> Any:
    doc: dict[str, Any] = {**more}
    if mapping is not None:
        doc["access_control_attributes"] = mapping
    return parse(doc)


def instance() -> tuple[Any, str]:
    sso = boto3.client("sso-admin", region_name=REGION)
    return sso, sso.list_instances()["Instances"][0]["InstanceArn"]


def in_aws() -> dict[str, Any]:
    """What AWS holds: status and key -> sources."""
    sso, arn = instance()
    found = sso.describe_instance_access_control_attribute_configuration(InstanceArn=arn)
    attributes = found["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"]
    return {"status": found["Status"], **{a["Key"]: a["Value"]["Source"] for a in attributes}}


def by_hand(mapping: dict[str, str]) -> None:
    sso, arn = instance()
    sso.create_instance_access_control_attribute_configuration(
        InstanceArn=arn,
        InstanceAccessControlAttributeConfiguration={
            "AccessControlAttributes": [{"Key": k, "Value": {"Source": [v]}} for k, v in mapping.items()]
        },
    )


# -- the diff, pure ---------------------------------------------------------------------------
def state(
    status: str | None = None, mapping: dict[str, tuple[str, ...]] | None = None, reason: str | None = None
) -> Any:
    return live().with_part(abac.KIND.name, abac.Attributes(status, reason, mapping or {}))


def test_a_missing_configuration_is_created_with_each_key_shown() -> None:
    [change] = abac.KIND.diff(config(), state(), Mode.PLAN).changes
    assert change.action is Action.CREATE and change.key == CTX.instance_arn.rsplit("/", 1)[1]
    assert [(f.name, f.old, f.new) for f in change.fields] == [
        ("CostCenter", None, "${path:enterprise.costCenter}"),
        ("Department", None, DEPARTMENT),
    ]


def test_a_different_configuration_is_updated_key_by_key() -> None:
    found = state("ENABLED", {"Department": ("${path:title}",), "Team": ("${path:userType}",)})
    [change] = abac.KIND.diff(config({"Department": DEPARTMENT}), found, Mode.PLAN).changes
    assert change.action is Action.UPDATE
    assert [(f.name, f.old, f.new) for f in change.fields] == [
        ("Department", "${path:title}", DEPARTMENT),
        ("Team", "${path:userType}", None),
    ]


@pytest.mark.parametrize("mode", [Mode.PLAN, Mode.PRUNE, Mode.DESTROY])
def test_an_undeclared_configuration_is_never_touched(mode: Mode) -> None:
    diff = abac.KIND.diff(config(None), state("ENABLED", {"Team": ("${path:title}",)}), mode)
    assert diff.changes == [] and diff.unchanged == 0


def test_destroy_deletes_a_declared_configuration() -> None:
    [change] = abac.KIND.diff(config(), state("ENABLED", {"Team": ("${path:title}",)}), Mode.DESTROY).changes
    assert change.action is Action.DELETE


def test_a_failed_creation_is_made_again_and_says_why() -> None:
    found = state("CREATION_FAILED", {"Department": (DEPARTMENT,)}, reason="Internal failure")
    [change] = abac.KIND.diff(config(), found, Mode.PLAN).changes
    assert change.payload.recreate
    assert change.fields[0].name == "status" and "Internal failure" in change.fields[0].old


# -- against moto and the realism layer -------------------------------------------------------
def test_apply_creates_it_and_a_second_run_writes_nothing(clients: Clients, clock: Any) -> None:
    plan, result, _ = plan_and_apply(clients, config())
    assert result.ok, result.to_json()
    assert in_aws() == {
        "status": "ENABLED",
        "Department": [DEPARTMENT],
        "CostCenter": ["${path:enterprise.costCenter}"],
    }
    again = make_clients(clock)
    assert Runner(again, config(), run_settings()).plan().empty
    assert again.log.writes() == {}


def test_apply_makes_aws_match_the_mapping_whole(clients: Clients, clock: Any) -> None:
    by_hand({"Department": "${path:title}", "Team": "${path:userType}"})
    _, result, _ = plan_and_apply(clients, config())
    assert result.ok
    assert in_aws() == {
        "status": "ENABLED",
        "Department": [DEPARTMENT],
        "CostCenter": ["${path:enterprise.costCenter}"],
    }
    assert clients.log.counts["sso-admin:UpdateInstanceAccessControlAttributeConfiguration"] == 1


def test_a_config_without_the_mapping_neither_reads_nor_changes_it(clients: Clients) -> None:
    by_hand({"Team": "${path:title}"})
    runner = Runner(clients, config(None), run_settings())
    assert runner.plan_destroy().empty
    assert "sso-admin:DescribeInstanceAccessControlAttributeConfiguration" not in clients.log.counts
    assert in_aws()["Team"] == ["${path:title}"]


def test_destroy_removes_a_declared_mapping(clients: Clients, clock: Any) -> None:
    assert plan_and_apply(clients, config())[1].ok
    runner = Runner(make_clients(clock), config(), run_settings())
    assert runner.apply(runner.plan_destroy()).ok
    sso, arn = instance()
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        sso.describe_instance_access_control_attribute_configuration(InstanceArn=arn)
    assert Runner(make_clients(clock), config(), run_settings()).plan_destroy().empty


def test_one_made_between_plan_and_apply_is_adopted(clients: Clients) -> None:
    runner = Runner(clients, config(), run_settings())
    plan = runner.plan()
    by_hand({"Team": "${path:title}"})
    result = runner.apply(plan)
    assert result.ok and result.outcomes[0].detail == ADOPTED
    assert "Team" not in in_aws() and in_aws()["Department"] == [DEPARTMENT]


def test_a_creation_still_in_progress_is_reported_then_left_alone(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=30, clock=clock.now)
    _, result, _ = plan_and_apply(clients, config())
    assert result.ok and "CREATION_IN_PROGRESS" in result.outcomes[0].detail
    plan = Runner(make_clients(clock), config(), run_settings()).plan()
    assert plan.empty and any("still being enabled" in note for note in plan.notes)
    clock.sleep(31)
    assert in_aws()["status"] == "ENABLED"


def test_a_failed_creation_fails_the_change_then_is_made_again(clients: Clients, clock: Any) -> None:
    failures = iter(["Attribute source not supported"])
    realism.configure(fail_access_control=lambda attributes: next(failures, None))
    _, result, _ = plan_and_apply(clients, config())
    assert not result.ok and "Attribute source not supported" in result.outcomes[0].detail
    runner = Runner(make_clients(clock), config(), run_settings())
    plan = runner.plan()
    assert [f.name for f in plan.changes[0].fields][0] == "status"
    assert runner.apply(plan).ok
    assert in_aws()["status"] == "ENABLED"


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ({"Department": [DEPARTMENT, "${path:title}"]}, "exactly 1 source per key"),
        ({"Team": "${path:title}", "team": "${path:title}"}, "differ only in case"),
        ({f"k{i}": "${path:title}" for i in range(51)}, "at most 50"),
        ({"Depart ment!": DEPARTMENT}, "AWS refuses '!'"),
        ({"Department": "${path:a}" + "x" * 256}, "0-256 characters"),
    ],
)
def test_the_mapping_is_checked_against_the_sso_admin_model(mapping: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config(mapping)
    assert any(where == "access_control_attributes" and says in why for where, why in caught.value.problems), (
        caught.value.problems
    )


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("enterprise.department", "is not of the form ${path:ATTRIBUTE}"),
        ("${path:titel}", "names 'titel', which no user has, so the session tag would be empty; did you mean title?"),
        ("${path:enterprise.departmnt}", "did you mean department?"),
        (DEPARTMENT, None),
        ("${path:emails[primary eq true].value}", None),
    ],
)
def test_a_source_no_user_has_is_warned_about(source: str, says: str | None) -> None:
    warned = [w for w in config({"Dept": source}).warnings if w.startswith("access_control_attributes.Dept: ")]
    assert [says in w for w in warned] == ([True] if says else [])


@pytest.mark.parametrize(
    ("call", "code"),
    [
        ("describe", "ResourceNotFoundException"),
        ("update", "ResourceNotFoundException"),
        ("delete", "ResourceNotFoundException"),
        ("create twice", "ConflictException"),
        ("two sources", "ValidationException"),
    ],
)
def test_the_layer_answers_as_aws_does(aws: realism.State, call: str, code: str) -> None:
    sso, arn = instance()
    one = {"AccessControlAttributes": [{"Key": "Team", "Value": {"Source": ["${path:title}"]}}]}
    with pytest.raises(ClientError) as caught:
        if call == "describe":
            sso.describe_instance_access_control_attribute_configuration(InstanceArn=arn)
        elif call == "update":
            sso.update_instance_access_control_attribute_configuration(
                InstanceArn=arn, InstanceAccessControlAttributeConfiguration=one
            )
        elif call == "delete":
            sso.delete_instance_access_control_attribute_configuration(InstanceArn=arn)
        elif call == "create twice":
            for _ in range(2):
                sso.create_instance_access_control_attribute_configuration(
                    InstanceArn=arn, InstanceAccessControlAttributeConfiguration=one
                )
        else:
            two = {
                "AccessControlAttributes": [{"Key": "Team", "Value": {"Source": ["${path:title}", "${path:locale}"]}}]
            }
            sso.create_instance_access_control_attribute_configuration(
                InstanceArn=arn, InstanceAccessControlAttributeConfiguration=two
            )
    assert caught.value.response["Error"]["Code"] == code


def test_the_abac_example_builds_the_whole_chain(clients: Clients, clock: Any) -> None:
    """Attributes on users, then the access control attributes, then a permission set whose
    policy compares aws:PrincipalTag/Department: applied, then clean."""
    example = load_example("abac.yaml")
    _, result, _ = plan_and_apply(clients, example)
    assert result.ok, result.to_json()
    ids = boto3.client("identitystore", region_name=REGION)
    sso, arn = instance()
    store = sso.list_instances()["Instances"][0]["IdentityStoreId"]
    departments = {
        u["UserName"]: u["Extensions"]["aws:identitystore:enterprise"]["department"]
        for u in ids.list_users(IdentityStoreId=store, Extensions=["aws:identitystore:enterprise"])["Users"]
    }
    assert departments == {"minji": "Platform", "joon": "Payments"}
    assert in_aws()["Department"] == [DEPARTMENT]
    [set_arn] = sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]
    policy = sso.get_inline_policy_for_permission_set(InstanceArn=arn, PermissionSetArn=set_arn)["InlinePolicy"]
    assert "${aws:PrincipalTag/Department}" in policy
    again = make_clients(clock)
    assert Runner(again, load_example("abac.yaml"), run_settings()).plan().empty
    assert again.log.writes() == {}


def test_a_conflict_with_nothing_there_is_retried_as_a_write_not_yet_propagated(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, calls = realism.access_control._attributes, []

    def not_yet(resp: Any) -> Any:
        calls.append(resp)
        if len(calls) == 1:
            raise realism._Error("ConflictException", "The previous write has not propagated yet")
        return original(resp)

    monkeypatch.setattr(realism.access_control, "_attributes", not_yet)
    _, result, _ = plan_and_apply(clients, config())
    assert result.ok, result.to_json()
    assert in_aws()["Department"] == [DEPARTMENT] and len(calls) == 2


def test_one_made_while_a_conflicting_creation_is_retried_is_adopted(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first creation is refused as not yet propagated, with nothing there; before the next
    attempt someone else makes one: that conflict is looked into too, and what is there adopted."""
    from moto.ssoadmin.responses import SSOAdminResponse

    operation = "create_instance_access_control_attribute_configuration"
    original, calls = getattr(SSOAdminResponse, operation), []

    def racing(self: Any) -> Any:
        calls.append(self)
        if len(calls) == 1:
            return realism._error_response(
                realism._Error("ConflictException", "The previous write has not propagated yet")
            )
        if len(calls) == 2:
            by_hand({"Team": "${path:title}"})  # the third call: made by someone else
        return original(self)

    monkeypatch.setattr(SSOAdminResponse, operation, racing)
    _, result, _ = plan_and_apply(clients, config())
    assert result.ok and result.outcomes[0].detail == ADOPTED, result.to_json()
    assert "Team" not in in_aws() and in_aws()["Department"] == [DEPARTMENT]
