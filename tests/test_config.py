"""Config validation: everything AWS would refuse is refused before any AWS call."""

from __future__ import annotations

import copy
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from provisioner import config as config_module
from provisioner.aws import Clients
from provisioner.cli import cli
from provisioner.errors import ConfigError
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, plan_and_apply, run_settings

VALID: dict[str, Any] = {
    "groups": [{"name": "Admins", "description": "Admins"}],
    "users": [{"user_name": "alice", "email": "alice@example.com", "groups": ["Admins"]}],
    "permission_sets": [
        {
            "name": "Admin",
            "session_duration": "PT4H",
            "managed_policies": ["AdministratorAccess"],
        }
    ],
    "assignments": [{"permission_set": "Admin", "groups": ["Admins"], "accounts": ["current"]}],
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    """VALID with the dotted `path` set to `value` (a missing value deletes the key)."""
    doc = copy.deepcopy(VALID)
    node: Any = doc
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


DELETE = object()


def problems(doc: Any) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        config_module.parse(doc, "cfg.yaml")
    return info.value.problems


def test_valid_config_loads() -> None:
    config = config_module.parse(VALID, "cfg.yaml")
    assert config.permission_sets[0].session_seconds == 4 * 3600


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_examples_are_valid(example: str) -> None:
    config_module.load(EXAMPLES / example)


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("permission_sets.0.session_duration", "PT13H", "permission_sets[0].session_duration", "PT1H..PT12H"),
        ("permission_sets.0.session_duration", "PT30M", "permission_sets[0].session_duration", "PT1H..PT12H"),
        ("permission_sets.0.session_duration", "4 hours", "permission_sets[0].session_duration", "ISO-8601"),
        ("permission_sets.0.name", "Has Space", "permission_sets[0].name", "no spaces"),
        ("permission_sets.0.name", "x" * 33, "permission_sets[0].name", "1-32"),
        ("permission_sets.0.description", "x" * 701, "permission_sets[0].description", "1-700"),
        ("permission_sets.0.relay_state", "x" * 241, "permission_sets[0].relay_state", "1-240"),
        (
            "permission_sets.0.managed_policies",
            ["arn:aws:iam::123456789012:policy/Mine"],
            "permission_sets[0].managed_policies[0]",
            "customer_managed_policies",
        ),
        (
            "permission_sets.0.managed_policies",
            ["Not A Policy"],
            "permission_sets[0].managed_policies[0]",
            "AWS managed",
        ),
        (
            "permission_sets.0.managed_policies",
            ["IAMFullAccess", "IAMFullAccess"],
            "permission_sets[0].managed_policies",
            "twice",
        ),
        ("permission_sets.0.managed_policies", [f"Policy{i}" for i in range(21)], "permission_sets[0]", "at most 20"),
        (
            "permission_sets.0.customer_managed_policies",
            [{"name": "P", "path": "no-slash"}],
            "permission_sets[0].customer_managed_policies[0].path",
            "start and end",
        ),
        ("permission_sets.0.inline_policy", "{not json", "permission_sets[0].inline_policy", "not valid JSON"),
        ("permission_sets.0.inline_policy", {"Version": "2012-10-17"}, "permission_sets[0].inline_policy", "Statement"),
        (
            "permission_sets.0.inline_policy",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "x" * 33000}]},
            "permission_sets[0].inline_policy",
            "32768",
        ),
        ("permission_sets.0.permissions_boundary", {}, "permission_sets[0].permissions_boundary", "exactly one"),
        ("permission_sets.0.tags", {"aws:owner": "x"}, "permission_sets[0].tags", "aws:"),
        ("permission_sets.0.colour", "blue", "permission_sets[0].colour", "unknown key"),
        ("users.0.email", "not-an-email", "users[0].email", "not an email"),
        ("users.0.user_name", "has space", "users[0].user_name", "no spaces"),
        ("users.0.user_name", "Administrator", "users[0].user_name", "reserved"),
        ("users.0.email", DELETE, "users[0].email", "required"),
        ("users.0.groups", ["Nobody"], "users[0].groups[0]", "unknown group"),
        ("assignments.0.accounts", ["1234567890123"], "assignments[0].accounts[0]", "12-digit"),
        ("assignments.0.accounts", [12345], "assignments[0].accounts[0]", "12-digit"),
        ("assignments.0.accounts", [], "assignments[0]", "name the targets"),
        ("assignments.0.groups", ["Ghosts"], "assignments[0].groups[0]", "unknown group"),
        ("assignments.0.permission_set", "Nope", "assignments[0].permission_set", "unknown permission set"),
        ("assignments.0.groups", [], "assignments[0]", "at least one principal"),
        ("region", "Seoul", "region", "not an AWS Region"),
        ("groups", [{"name": "Admins"}, {"name": "Admins"}], "groups[1].name", "duplicate"),
        ("name", "team#a", "name", "AWS refuses '#'"),
        ("name", "x" * 245, "name", "at most 244"),  # provisioner:<name> is a tag value, at most 256
        ("ownership_tag", {"value": "a,b"}, "ownership_tag.value", "AWS refuses ','"),
    ],
)
def test_invalid_field_is_named(path: str, value: Any, field: str, words: str) -> None:
    found = problems(with_change(path, value))
    assert any(where == field and words in reason for where, reason in found), found


@pytest.mark.parametrize("duration", ["PT1H", "PT60M", "PT12H", "PT720M"])
def test_session_durations_at_the_bounds_are_accepted(duration: str) -> None:
    config = config_module.parse(with_change("permission_sets.0.session_duration", duration), "cfg.yaml")
    assert config.permission_sets[0].session_duration == duration


@pytest.mark.parametrize("duration", ["PT59M", "PT3599S", "PT721M", "PT43201S"])
def test_session_durations_just_outside_the_bounds_are_refused(duration: str) -> None:
    found = problems(with_change("permission_sets.0.session_duration", duration))
    assert found == [("permission_sets[0].session_duration", f"{duration} is outside PT1H..PT12H")]


def test_account_ids_may_be_unquoted_integers() -> None:
    config = config_module.parse(with_change("assignments.0.accounts", [123456789012]), "cfg.yaml")
    assert config.assignments[0].accounts == ["123456789012"]


def test_every_problem_is_reported_at_once() -> None:
    doc = with_change("users.0.email", "bad")
    doc["permission_sets"][0]["session_duration"] = "PT13H"
    assert len(problems(doc)) == 2


def test_managed_policy_arn_and_short_name_resolve_alike() -> None:
    doc = with_change(
        "permission_sets.0.managed_policies", ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", "IAMFullAccess"]
    )
    config = config_module.parse(doc, "cfg.yaml")
    assert config.permission_sets[0].managed_policies == ["job-function/ViewOnlyAccess", "IAMFullAccess"]
    assert config_module.managed_policy_arn("IAMFullAccess", "aws-cn") == "arn:aws-cn:iam::aws:policy/IAMFullAccess"


def test_inline_policy_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": []}))
    doc = with_change("permission_sets.0.inline_policy_file", "policy.json")
    (tmp_path / "cfg.yaml").write_text(json.dumps(doc))
    config = config_module.load(tmp_path / "cfg.yaml")
    assert config.permission_sets[0].inline_policy == {"Version": "2012-10-17", "Statement": []}


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "is empty"),
        ("groups: [\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("groups: []\ngroups: []\n", "duplicate key"),
        ("permission_sets: [{name: A, tags: {1: a, '1': b}}]\n", "duplicate key '1'"),
        ("permission_sets: [{name: A, description: !!binary aGk=}]\n", "!!binary is not supported"),
        ("groups: !!set {a, b}\n", "!!set is not supported"),
        ("permission_sets: [{name: A, inline_policy: {Statement: &s [*s]}}]\n", "recursive"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_unreadable_documents(tmp_path: Path, content: str | bytes, words: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as info:
        config_module.load(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        config_module.load(tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        config_module.load(tmp_path / "absent.yaml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text("groups: []")
    path.chmod(0)
    with pytest.raises(ConfigError, match="permission denied"):
        config_module.load(path)


def test_json_schema_describes_the_sections() -> None:
    schema = config_module.json_schema()
    assert {"groups", "users", "permission_sets", "assignments"} <= set(schema["properties"])


# -- YAML: what a scalar means (issue 9.5) ---------------------------------------------------------
def load_text(tmp_path: Path, text: str) -> config_module.Config:
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return config_module.load(path)


POLICY_WITH_DATE = """\
    groups: [{name: Admins}]
    permission_sets:
      - name: Admin
        inline_policy:
          Version: 2012-10-17
          Statement:
            - Effect: Allow
              Action: s3:ListBucket
              Resource: "*"
    assignments: [{permission_set: Admin, groups: [Admins], accounts: [current]}]
"""


def test_unquoted_policy_version_is_the_string_it_looks_like(tmp_path: Path) -> None:
    config = load_text(tmp_path, POLICY_WITH_DATE)
    assert config.permission_sets[0].inline_policy == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
    }


def test_policy_with_an_unquoted_date_applies_then_plans_clean(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(textwrap.dedent(POLICY_WITH_DATE), encoding="utf-8")
    first = CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", str(path), "--yes"])
    assert first.exit_code == 0, first.output
    before = aws.writes()
    second = CliRunner().invoke(cli, ["--region", REGION, "plan", "-f", str(path), "--detailed-exitcode"])
    assert second.exit_code == 0, second.output
    assert aws.writes() == before


@pytest.mark.parametrize(
    "written",
    ["2012-10-17", "2024-01-01 10:00:00", "yes", "no", "on", "off", "y", "012", "0o12", "1_000", "1:30", "1e3", "true"],
)
def test_a_scalar_in_a_string_field_is_its_text(tmp_path: Path, written: str) -> None:
    config = load_text(
        tmp_path,
        f"""\
        groups: [{{name: {written}, description: {written}}}]
        permission_sets: [{{name: Admin, tags: {{{written}: {written}}}}}]
        """,
    )
    assert config.groups[0].name == config.groups[0].description == written
    assert config.permission_sets[0].tags == {written: written}


@pytest.mark.parametrize(("written", "meant"), [("yes", True), ("no", False), ("on", True), ("false", False)])
def test_yes_and_no_still_work_where_a_boolean_is_expected(tmp_path: Path, written: str, meant: bool) -> None:
    config = load_text(
        tmp_path,
        f"""\
        groups: [{{name: Admins}}]
        permission_sets: [{{name: Admin}}]
        assignments:
          - {{permission_set: Admin, groups: [Admins], organizational_units: [r-ab12], recursive: {written}}}
        """,
    )
    assert config.assignments[0].recursive is meant


def test_numbers_in_a_policy_stay_numbers_unless_written_otherwise(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        permission_sets:
          - name: Admin
            inline_policy:
              Statement:
                - Effect: Allow
                  Action: s3:ListBucket
                  Resource: "*"
                  Condition:
                    NumericLessThan: {s3:max-keys: 10}
                    StringEquals: {aws:PrincipalAccount: 012345678901, s3:prefix: 1e3}
                    Bool: {aws:SecureTransport: true}
        """,
    )
    condition = config.permission_sets[0].inline_policy["Statement"][0]["Condition"]  # type: ignore[index]
    assert condition == {
        "NumericLessThan": {"s3:max-keys": 10},
        "StringEquals": {"aws:PrincipalAccount": "012345678901", "s3:prefix": "1e3"},
        "Bool": {"aws:SecureTransport": True},
    }


def test_an_unquoted_account_id_keeps_its_leading_zero(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        groups: [{name: Admins}]
        permission_sets: [{name: Admin}]
        assignments: [{permission_set: Admin, groups: [Admins], accounts: [012345678901, 123456789012]}]
        """,
    )
    assert config.assignments[0].accounts == ["012345678901", "123456789012"]


def test_dump_quotes_what_a_yaml_1_2_reader_would_not_read_as_text(tmp_path: Path) -> None:
    looks_like_numbers = ["012345678901", "1e3", "0o12", "-.5", "1e+20", "0x1F", "yes", "2012-10-17", "1_000"]
    doc = with_change(
        "permission_sets.0.inline_policy",
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"x": looks_like_numbers}}]},
    )
    (tmp_path / "cfg.yaml").write_text(config_module.dump(doc, sort_keys=False), encoding="utf-8")
    loaded = config_module.load(tmp_path / "cfg.yaml")
    assert loaded.permission_sets[0].inline_policy == doc["permission_sets"][0]["inline_policy"]


# -- YAML merge keys (issue 9.14) ------------------------------------------------------------------
def test_merge_keys_repeat_a_permission_set(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        x-read-only: &read-only
          session_duration: PT8H
          managed_policies: [ReadOnlyAccess]
          tags: {team: platform}
        permission_sets:
          - <<: *read-only
            name: ReadOnly
          - <<: *read-only
            name: Billing
            managed_policies: [ReadOnlyAccess, job-function/Billing]
        """,
    )
    first, second = config.permission_sets
    assert (first.name, first.session_duration, first.managed_policies) == ("ReadOnly", "PT8H", ["ReadOnlyAccess"])
    assert second.session_duration == "PT8H" and second.tags == {"team": "platform"}
    assert second.managed_policies == ["ReadOnlyAccess", "job-function/Billing"]


def test_earlier_merged_mappings_win_over_later_ones(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        x-long: &long {session_duration: PT8H, description: long sessions}
        x-short: &short {session_duration: PT1H, relay_state: "https://console.aws.amazon.com/"}
        permission_sets:
          - {<<: [*long, *short], name: Admin}
        """,
    )
    ps = config.permission_sets[0]
    assert (ps.session_duration, ps.description, ps.relay_state) == (
        "PT8H",
        "long sessions",
        "https://console.aws.amazon.com/",
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("x-a: &a {name: A}\ngroups:\n  - <<: *a\n    <<: *a\n", "duplicate key '<<'"),
        ("groups:\n  - <<: [1]\n", "merges a mapping"),
    ],
)
def test_merge_keys_that_cannot_mean_anything_are_refused(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        config_module.load(path)


# -- East Asian display names (issue 9.16) ---------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "family", "display"),
    [
        ("민수", "김", "김민수"),
        ("太郎", "山田", "山田太郎"),
        ("小明", "王", "王小明"),
        ("たろう", "やまだ", "やまだたろう"),
        ("一郎", "佐々木", "佐々木一郎"),
        ("Minsu", "김", "Minsu 김"),
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("민수", None, "민수 kim"),
    ],
)
def test_default_display_name(given: str, family: str | None, display: str) -> None:
    user = {"user_name": "kim", "email": "kim@example.com", "given_name": given, "groups": ["Admins"]}
    if family is not None:
        user["family_name"] = family
    config = config_module.parse(with_change("users.0", user), "cfg.yaml")
    assert config.users[0].resolved_display_name == display


def test_hangul_user_is_created_as_aws_accepts_it_then_left_alone(clients: Clients, clock: Any) -> None:
    user = {"user_name": "kim", "email": "kim@example.com", "given_name": "민수", "family_name": "김"}
    config = config_module.parse(with_change("users.0", user | {"groups": ["Admins"]}), "cfg.yaml")
    _, result, _ = plan_and_apply(clients, config)
    assert result.ok, result.outcomes
    identitystore = boto3.client("identitystore", region_name=REGION)
    store = boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"]
    assert identitystore.list_users(IdentityStoreId=store)["Users"][0]["DisplayName"] == "김민수"
    before = realism.STATE.writes()
    plan, _, _ = plan_and_apply(clients, config)
    assert plan.empty and realism.STATE.writes() == before


# -- What AWS refuses later (issue 10.9) -----------------------------------------------------------
def test_east_asian_names_pass_where_the_identity_store_takes_letters() -> None:
    doc = with_change("groups.0.name", "관리자")
    doc["users"][0] |= {"groups": ["관리자"], "display_name": "김민수", "given_name": "민수", "family_name": "김"}
    doc["assignments"][0]["groups"] = ["관리자"]
    config = config_module.parse(doc, "cfg.yaml")
    assert config.groups[0].name == "관리자" and config.users[0].display_name == "김민수"


def policy_of(characters: int) -> dict[str, Any]:
    """A policy document whose compact JSON is exactly `characters` long."""
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ""}]}
    doc["Statement"][0]["Resource"] = "x" * (characters - len(config_module.canonical_policy(doc)))
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field", "words"),
    [
        ("permission_sets.0.session_duration", "PT\u0664H", "permission_sets[0].session_duration", "ISO-8601"),
        ("permission_sets.0.description", "관리자 권한", "permission_sets[0].description", "AWS refuses '관'"),
        ("permission_sets.0.inline_policy", '{"Statement": NaN}', "permission_sets[0].inline_policy", "NaN"),
        ("permission_sets.0.tags", {f"k{i}": "v" for i in range(75)}, "permission_sets[0].tags", "ownership tag"),
        ("permission_sets.0.tags", {"a<b": "x"}, "permission_sets[0].tags", "tag key 'a<b'"),
        ("permission_sets.0.tags", {"AWS:team": "x"}, "permission_sets[0].tags", "aws:"),
        (
            "users.0",
            {"user_name": "kim", "email": "kim@example.com", "given_name": "x" * 600, "family_name": "y" * 600},
            "users[0].display_name",
            "default display name",
        ),
        ("users.0.user_name", "aWsAdministrators", "users[0].user_name", "reserved"),
        ("groups.0.name", "AWSAdministrators", "groups[0].name", "reserved"),
        ("absent", {"users": ["two words"]}, "absent.users[0]", "no spaces"),
        ("assignments.0.exclude_accounts", [12345], "assignments[0].exclude_accounts[0]", "leading zeros"),
    ],
)
def test_what_aws_refuses_later_is_refused_now(path: str, value: Any, field: str, words: str) -> None:
    found = problems(with_change(path, value))
    assert any(where == field and words in reason for where, reason in found), found


def test_an_inline_policy_over_the_role_limit_names_the_field_and_both_limits() -> None:
    [(where, reason)] = problems(with_change("permission_sets.0.inline_policy", policy_of(10241)))
    assert where == "permission_sets[0].inline_policy"
    assert "10241 characters" in reason and "IAM allows 10240" in reason and "32768" in reason


def test_an_inline_policy_at_the_role_limit_passes() -> None:
    config = config_module.parse(with_change("permission_sets.0.inline_policy", policy_of(10240)), "cfg.yaml")
    assert len(config_module.canonical_policy(config.permission_sets[0].inline_policy)) == 10240


# Real ones: the plan asks IAM whether the policies it would attach exist.
AWS_MANAGED = [
    "ReadOnlyAccess",
    "PowerUserAccess",
    "IAMFullAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonEC2ReadOnlyAccess",
    "job-function/ViewOnlyAccess",
    "job-function/Billing",
    "AWSSSOMasterAccountAdministrator",
    "AWSSSOMemberAccountAdministrator",
    "AWSSSODirectoryAdministrator",
]


@pytest.mark.parametrize(("count", "warned"), [(10, False), (11, True)])
def test_more_managed_policies_than_iam_allows_a_role_is_a_plan_warning(
    clients: Clients, count: int, warned: bool
) -> None:
    doc = with_change("permission_sets.0.managed_policies", AWS_MANAGED[: count - 1])
    doc["permission_sets"][0]["customer_managed_policies"] = [{"name": "Mine"}]
    config = config_module.parse(doc, "cfg.yaml")
    plan = Runner(clients, config, run_settings()).plan()
    assert any(f"{count} managed policies" in w and "permission_sets[0]" in w for w in plan.warnings) is warned
    assert not plan.errors


# -- Every problem in one report (issue 6) ---------------------------------------------------------
def load_problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text)
    return info.value.problems


def test_field_list_item_and_reference_problems_come_in_one_report(tmp_path: Path) -> None:
    found = load_problems(
        tmp_path,
        """\
        groups:
          - {name: Admins}
          - {name: Admins}
        users:
          - {user_name: alice, email: not-an-email, groups: [Nope]}
        permission_sets:
          - {name: Dev, session_duration: PT13H}
        assignments:
          - {permission_set: Devv, groups: [Admins], accounts: [12345, "1111222233334"]}
        """,
    )
    assert sorted(where for where, _ in found) == [
        "assignments[0].accounts[0]",
        "assignments[0].accounts[1]",
        "assignments[0].permission_set",
        "groups[1].name",
        "permission_sets[0].session_duration",
        "users[0].email",
        "users[0].groups[0]",
    ]
    reasons = " | ".join(reason for _, reason in found)
    for words in ("'12345' is not a 12-digit", "'1111222233334' is not a 12-digit", "duplicate group name 'Admins'"):
        assert words in reasons
    assert "unknown group 'Nope'" in reasons and "unknown permission set 'Devv'" in reasons


def test_a_duplicate_email_is_reported_with_the_field_errors(tmp_path: Path) -> None:
    found = load_problems(
        tmp_path,
        """\
        users:
          - {user_name: alice, email: a@example.com}
          - {user_name: bob, email: A@example.com, title: ""}
          - {user_name: two words, email: c@example.com}
        """,
    )
    assert [where for where, _ in found] == ["users[1].title", "users[2].user_name", "users[1].email"]
    assert "duplicate email 'A@example.com' (first at users[0])" in found[-1][1]


@pytest.mark.parametrize(
    ("path", "value", "bad"),
    [
        ("assignments.0.accounts", [12345, "1111222233334", "current"], [0, 1]),
        ("assignments.0.exclude_accounts", ["current", 12], [0, 1]),
        ("assignments.0.organizational_units", ["ou-bad", "ou-ab12-cdef3456", "/a//b"], [0, 2]),
        ("assignments.0.account_names", ["", "prod-*", ""], [0, 2]),
        ("permission_sets.0.managed_policies", ["No Such", "arn:aws:iam::123456789012:policy/Mine"], [0, 1]),
    ],
)
def test_every_bad_item_of_a_list_is_named(path: str, value: Any, bad: list[int]) -> None:
    section, index, field = path.split(".")
    assert [where for where, _ in problems(with_change(path, value))] == [
        f"{section}[{index}].{field}[{i}]" for i in bad
    ]


@pytest.mark.parametrize(
    ("path", "value", "twice"),
    [
        ("assignments.0.accounts", ["111122223333", "111122223333", "current", "current"], ["111122223333", "current"]),
        (
            "permission_sets.0.managed_policies",
            ["ReadOnlyAccess", "IAMFullAccess"] * 2,
            ["ReadOnlyAccess", "IAMFullAccess"],
        ),
        ("users.0.groups", ["Admins", "Admins", "Ops", "Ops"], ["Admins", "Ops"]),
    ],
)
def test_every_duplicate_in_a_list_is_named(path: str, value: Any, twice: list[str]) -> None:
    [(_, reason)] = [p for p in problems(with_change(path, value)) if "twice" in p[1]]
    assert all(f"{name!r} is listed twice" in reason for name in twice), reason


def test_references_are_checked_while_the_principals_have_errors() -> None:
    doc = with_change("groups.0.description", "")  # Admins itself is invalid, but declared
    doc["users"][0]["email"] = "bad"
    doc["assignments"][0]["groups"] = ["Admins", "Ghosts"]
    doc["assignments"][0]["users"] = ["alice", "nobody"]
    assert sorted(where for where, _ in problems(doc)) == [
        "assignments[0].groups[1]",
        "assignments[0].users[1]",
        "groups[0].description",
        "users[0].email",
    ]


def test_a_section_that_is_not_a_list_makes_no_unknown_references() -> None:
    doc = with_change("groups", "Admins")
    assert [where for where, _ in problems(doc)] == ["groups"]


def test_inline_policy_and_tag_problems_come_with_the_field_errors() -> None:
    doc = with_change("users.0.email", "bad")
    doc["permission_sets"][0]["inline_policy"] = "{not json"
    doc["permission_sets"][0]["tags"] = {f"k{i}": "v" for i in range(75)}  # 76 with the ownership tag
    assert sorted(where for where, _ in problems(doc)) == [
        "permission_sets[0].inline_policy",
        "permission_sets[0].tags",
        "users[0].email",
    ]


# -- The JSON Schema takes what the config takes (issue 27) ----------------------------------------
def schema_problems(document: Any) -> list[str]:
    schema = config_module.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)  # a schema editors can load
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_the_examples_pass_the_schema(example: str) -> None:
    document = yaml.load((EXAMPLES / example).read_text(), Loader=config_module._Loader)  # noqa: S506
    assert schema_problems(document) == []


SCALARS = """\
    name: 2026
    groups: [{name: 0042, description: 1e3, external: no}]
    users:
      - {user_name: 1234, email: a@example.com, title: true, phone_numbers: [{value: 01012345678, primary: yes}]}
    permission_sets: [{name: "1", tags: {cost-center: 0042, enabled: true, ratio: 0.5}}]
    assignments:
      - permission_set: "1"
        groups: ["0042"]
        accounts: [012345678901, 123456789012, current]
        account_tags: {env: 1}
        organizational_units: [r-ab12]
        recursive: off
        all_accounts: "False"
"""


@pytest.mark.parametrize("loader", [config_module._Loader, yaml.SafeLoader], ids=["YAML 1.2", "PyYAML (YAML 1.1)"])
def test_numbers_and_booleans_where_text_is_expected_pass_the_schema(tmp_path: Path, loader: Any) -> None:
    """As the config reads them (their text), and as a YAML 1.1 reader such as PyYAML reads them
    (0042 is the octal 34 there)."""
    load_text(tmp_path, SCALARS)  # the config takes them
    assert schema_problems(yaml.load(textwrap.dedent(SCALARS), Loader=loader)) == []  # noqa: S506


@pytest.mark.parametrize(
    ("yaml_text", "where"),
    [
        ("groups: [{name: [a, b]}]", "groups/0/name"),
        ("groups: [{name: A, external: maybe}]", "groups/0/external"),
        ("assignments: [{permission_set: A, groups: [A], accounts: [true]}]", "assignments/0/accounts/0"),
        ("permission_sets: [{name: A, session_duration: 4}]", "permission_sets/0/session_duration"),
        ("permission_sets: [{name: A, tags: {team: [a]}}]", "permission_sets/0/tags/team"),
    ],
)
def test_what_the_config_refuses_for_its_type_the_schema_refuses(tmp_path: Path, yaml_text: str, where: str) -> None:
    with pytest.raises(ConfigError):
        load_text(tmp_path, yaml_text)
    found = schema_problems(yaml.load(yaml_text, Loader=config_module._Loader))  # noqa: S506
    assert [p for p in found if p.startswith(f"{where}:")], found


def test_a_tag_written_0042_reaches_aws_as_0042_then_plans_clean(aws: realism.State, tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text("permission_sets:\n  - name: Billing\n    tags: {cost-center: 0042}\n", encoding="utf-8")
    applied = CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", str(path), "--yes"])
    assert applied.exit_code == 0, applied.output
    sso = boto3.client("sso-admin", region_name=REGION)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    [arn] = sso.list_permission_sets(InstanceArn=instance)["PermissionSets"]
    tags = {t["Key"]: t["Value"] for t in sso.list_tags_for_resource(InstanceArn=instance, ResourceArn=arn)["Tags"]}
    assert tags["cost-center"] == "0042"
    before = aws.writes()
    again = CliRunner().invoke(cli, ["--region", REGION, "plan", "-f", str(path), "--detailed-exitcode"])
    assert again.exit_code == 0 and aws.writes() == before, again.output


@pytest.mark.parametrize("word", ["yes", "No", "ON", "oFF", "Y", "n", "True", "f", "1", "0", "maybe", "2", "enabled"])
def test_a_boolean_field_and_its_schema_take_the_same_words(word: str) -> None:
    doc = with_change("groups.0", {"name": "Admins", "external": word})
    try:
        config_module.parse(doc, "cfg.yaml")
        taken = True
    except ConfigError:
        taken = False
    assert (schema_problems(doc) == []) is taken
    assert taken is (word.lower() in config_module.BOOLEAN_WORDS)
