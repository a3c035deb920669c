"""`provisioner access`: who can reach what, on a multi-team organization (groups expanded,
declared against undeclared, admin-grade sets flagged), in each format, read within bounds."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner.access import INLINE_ALLOWS_ALL, admin_reasons, allows_everything
from provisioner.cli import cli
from tests import realism
from tests.conftest import REGION
from tests.test_denied import set_arn

# These tests build the organization they need: they start with none.
pytestmark = pytest.mark.standalone

MANAGEMENT = "123456789012"  # the account moto calls from
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
# An account name may be any text (the Organizations model's AccountName pattern is [\s\S]*):
# one that would break a table, a Markdown cell and a CSV row if written as it is.
PROD_NAME = "Production | web, *east*"


def invoke(*args: str) -> Result:
    """The CLI, without the client-side rate limit (not what these tests are about)."""
    return CliRunner().invoke(cli, ["--region", REGION, "--max-rps", "10000", *args])


def organization() -> dict[str, str]:
    """An organization with three member accounts besides the management one: name -> id."""
    from moto.organizations.models import organizations_backends

    org = boto3.client("organizations", region_name=REGION)
    org.create_organization(FeatureSet="ALL")
    for account in organizations_backends[MANAGEMENT]["aws"].accounts:
        account.name = "Management"  # moto calls it "master"
    ids = {"Management": MANAGEMENT}
    for name in (PROD_NAME, "Development", "Sandbox"):
        status = org.create_account(AccountName=name, Email=f"{len(ids)}@example.com")["CreateAccountStatus"]
        ids[name] = status["AccountId"]
    return ids


def teams(accounts: dict[str, str]) -> dict[str, Any]:
    """Four teams: admins, developers, auditors (the one group of two members), and a user
    assigned directly; and a group that holds an assignment but has nobody in it."""
    prod, dev, sandbox = accounts[PROD_NAME], accounts["Development"], accounts["Sandbox"]
    return {
        "groups": [{"name": g} for g in ("Admins", "Developers", "Auditors", "Nobody")],
        "users": [
            {"user_name": "ana", "email": "ana@example.com", "groups": ["Admins"]},
            {"user_name": "bo", "email": "bo@example.com", "groups": ["Developers"]},
            {"user_name": "cy", "email": "cy@example.com", "groups": ["Developers", "Auditors"]},
            {"user_name": "dee", "email": "dee@example.com"},
        ],
        "permission_sets": [
            {"name": "Admin", "managed_policies": ["AdministratorAccess"]},
            {"name": "IAMAdmin", "managed_policies": ["IAMFullAccess", "ReadOnlyAccess"]},
            {"name": "SSOAdmin", "managed_policies": ["AWSSSOMemberAccountAdministrator"]},
            {"name": "Everything", "inline_policy": ALLOW_ALL},
            {"name": "Developer", "managed_policies": ["PowerUserAccess"], "inline_policy": DENY_ALL},
            {"name": "ReadOnly", "managed_policies": ["job-function/ViewOnlyAccess"]},
        ],
        "assignments": [
            {"permission_set": "Admin", "groups": ["Admins"], "accounts": [prod]},
            {"permission_set": "IAMAdmin", "groups": ["Admins"], "accounts": ["current"]},
            {"permission_set": "SSOAdmin", "users": ["ana"], "accounts": ["current"]},
            {"permission_set": "Developer", "groups": ["Developers"], "accounts": [dev, prod]},
            {"permission_set": "ReadOnly", "groups": ["Auditors"], "all_accounts": True},
            {"permission_set": "ReadOnly", "groups": ["Nobody"], "accounts": [dev]},
            {"permission_set": "Everything", "users": ["dee"], "accounts": [sandbox]},
        ],
    }


def config_file(tmp_path: Path, doc: dict[str, Any], name: str = "teams.yaml") -> str:
    """`doc` written as a config file; its path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.fixture
def org(aws: realism.State, tmp_path: Path) -> dict[str, Any]:
    """The teams applied; the config file; the account ids by name."""
    accounts = organization()
    config = config_file(tmp_path, teams(accounts))
    applied = invoke("apply", "-f", config, "--yes")
    assert applied.exit_code == 0, applied.output
    realism.STATE.calls.clear()
    return {"config": config, "accounts": accounts}


def report(*args: str) -> dict[str, Any]:
    result = invoke("--output", "json", "access", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def grants(*args: str) -> set[tuple[str, str, str, str | None]]:
    """(user, account id, permission set, group or None) of each grant."""
    return {(g["user"], g["account_id"], g["permission_set"], g["group"]) for g in report(*args)["grants"]}


# -- group expansion ---------------------------------------------------------------------------
def test_groups_are_expanded_into_their_members(org: dict[str, Any]) -> None:
    a = org["accounts"]
    prod, dev, sandbox = a[PROD_NAME], a["Development"], a["Sandbox"]
    found = grants()
    assert ("ana", prod, "Admin", "Admins") in found
    assert ("ana", MANAGEMENT, "SSOAdmin", None) in found  # directly
    assert {(u, s, g) for u, acct, s, g in found if acct == dev} == {
        ("bo", "Developer", "Developers"),
        ("cy", "Developer", "Developers"),
        ("cy", "ReadOnly", "Auditors"),
    }
    assert ("dee", sandbox, "Everything", None) in found
    # All accounts but the management one (all_accounts leaves it out unless listed).
    assert {acct for u, acct, s, g in found if g == "Auditors"} == {prod, dev, sandbox}
    assert not [g for g in found if g[3] == "Nobody"]


def test_a_user_reaching_one_role_two_ways_has_a_grant_for_each(org: dict[str, Any]) -> None:
    prod = org["accounts"][PROD_NAME]
    add_membership("cy", "Admins")
    assign("Developer", "USER", "cy", prod)
    ways = {g for g in grants("--user", "cy") if g[1] == prod and g[2] in ("Developer", "ReadOnly")}
    assert ways == {
        ("cy", prod, "Developer", "Developers"),
        ("cy", prod, "Developer", None),
        ("cy", prod, "ReadOnly", "Auditors"),
    }


def test_a_group_without_members_is_noted(org: dict[str, Any]) -> None:
    notes = report()["notes"]
    assert [n for n in notes if n.startswith("group Nobody has no members")]


# -- declared against undeclared -------------------------------------------------------------
def add_membership(user: str, group: str) -> None:
    ids = boto3.client("identitystore", region_name=REGION)
    store = ids_store()
    ids.create_group_membership(
        IdentityStoreId=store, GroupId=principal_id("GROUP", group), MemberId={"UserId": principal_id("USER", user)}
    )


def assign(permission_set: str, principal_type: str, name: str, account: str) -> None:
    sso = boto3.client("sso-admin", region_name=REGION)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    sso.create_account_assignment(
        InstanceArn=instance,
        TargetId=account,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=set_arn(permission_set),
        PrincipalType=principal_type,
        PrincipalId=principal_id(principal_type, name),
    )


def ids_store() -> str:
    return str(boto3.client("sso-admin", region_name=REGION).list_instances()["Instances"][0]["IdentityStoreId"])


def principal_id(principal_type: str, name: str) -> str:
    ids = boto3.client("identitystore", region_name=REGION)
    if principal_type == "GROUP":
        key: Any = {"AttributePath": "displayName", "AttributeValue": name}
        return str(
            ids.get_group_id(IdentityStoreId=ids_store(), AlternateIdentifier={"UniqueAttribute": key})["GroupId"]
        )
    key = {"AttributePath": "userName", "AttributeValue": name}
    return str(ids.get_user_id(IdentityStoreId=ids_store(), AlternateIdentifier={"UniqueAttribute": key})["UserId"])


def test_grants_made_outside_the_config_are_marked_undeclared(org: dict[str, Any]) -> None:
    a = org["accounts"]
    add_membership("bo", "Admins")  # a membership the config does not declare
    assign("Admin", "USER", "dee", a["Development"])  # an assignment it does not declare
    found = report("-f", org["config"])
    undeclared = {
        (g["user"], g["account_id"], g["permission_set"], g["group"]) for g in found["grants"] if not g["declared"]
    }
    assert undeclared == {
        ("bo", a[PROD_NAME], "Admin", "Admins"),
        ("bo", MANAGEMENT, "IAMAdmin", "Admins"),
        ("dee", a["Development"], "Admin", None),
    }
    assert found["summary"]["undeclared"] == 3
    assert {g["declared"] for g in found["grants"]} == {True, False}


def test_without_a_config_nothing_is_said_about_declared(org: dict[str, Any]) -> None:
    found = report()
    assert {g["declared"] for g in found["grants"]} == {None} and found["summary"]["undeclared"] is None
    assert "DECLARED" not in invoke("access").stdout


@pytest.mark.parametrize("how", ["marked external", "synced with ExternalIds"])
def test_members_of_an_identity_providers_group_are_declared_by_it(
    org: dict[str, Any], tmp_path: Path, how: str
) -> None:
    """The config may not list who is in a group the identity provider owns: its assignment is enough."""
    doc = yaml.safe_load(Path(org["config"]).read_text())
    if how == "marked external":
        doc["groups"] = [{**g, "external": True} if g["name"] == "Developers" else g for g in doc["groups"]]
    else:
        realism.mark_external(principal_id("GROUP", "Developers"))
    for user in doc["users"]:
        user["groups"] = [g for g in user.get("groups", []) if g != "Developers"]
    found = report("-f", config_file(tmp_path, doc, "idp.yaml"))["grants"]
    assert {g["declared"] for g in found if g["group"] == "Developers"} == {True}
    assert {g["declared"] for g in found if g["group"] == "Auditors"} == {True}


# -- admin-grade permission sets --------------------------------------------------------------
@pytest.mark.parametrize(
    ("permission_set", "reasons"),
    [
        ("Admin", ["AdministratorAccess"]),
        ("IAMAdmin", ["IAMFullAccess"]),
        ("SSOAdmin", ["AWSSSOMemberAccountAdministrator"]),
        ("Everything", [INLINE_ALLOWS_ALL]),
        ("Developer", []),
        ("ReadOnly", []),
    ],
)
def test_admin_grade_sets_are_flagged_with_the_reason(
    org: dict[str, Any], permission_set: str, reasons: list[str]
) -> None:
    found = [g for g in report()["grants"] if g["permission_set"] == permission_set]
    assert found and {(g["admin"], tuple(g["admin_reasons"])) for g in found} == {(bool(reasons), tuple(reasons))}


@pytest.mark.parametrize(
    ("statement", "admin"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}, True),
        (
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            },
            True,
        ),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}, False),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, False),
    ],
)
def test_an_inline_policy_is_admin_grade_when_it_allows_everything(statement: dict[str, Any], admin: bool) -> None:
    assert allows_everything(json.dumps({"Version": "2012-10-17", "Statement": statement})) is admin
    assert allows_everything(json.dumps({"Version": "2012-10-17", "Statement": [statement]})) is admin


def test_only_aws_managed_policies_count_by_name() -> None:
    assert admin_reasons(["arn:aws:iam::111122223333:policy/AdministratorAccess"], None) == []
    assert admin_reasons(["arn:aws:iam::aws:policy/AWSSSOMasterAccountAdministrator"], None) == [
        "AWSSSOMasterAccountAdministrator"
    ]
    assert admin_reasons(["arn:aws:iam::aws:policy/AWSSSOReadOnly"], "not json") == []


# -- each format parses back ------------------------------------------------------------------
COLUMNS = ("user", "account_id", "account_name", "permission_set", "via", "admin", "declared")


def expected_rows(found: dict[str, Any]) -> set[tuple[str, ...]]:
    """The grants of the JSON document, as every format must show them."""
    yes = {True: "yes", False: "no", None: "?"}
    return {
        (
            g["user"],
            g["account_id"],
            " ".join((g["account_name"] or "-").split()),
            g["permission_set"],
            "direct" if g["group"] is None else f"group {g['group']}",
            yes[g["admin"]],
            yes[g["declared"]],
        )
        for g in found["grants"]
    }


def parse_table(text: str) -> set[tuple[str, ...]]:
    """Rows of the text table, cut at the columns of its header (cells may hold spaces)."""
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    titles = ["USER", "ACCOUNT", "ACCOUNT NAME", "PERMISSION SET", "VIA", "ADMIN", "DECLARED"]
    starts = [re.search(rf"(?<!\S){t}(?!\S| [A-Z])", lines[head]).start() for t in titles]  # type: ignore[union-attr]
    rows = set()
    for line in lines[head + 1 :]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.add(tuple(cells))
    return rows


def parse_markdown(text: str) -> set[tuple[str, ...]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith(("| User", "| ---")):
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            rows.append(tuple(re.sub(r"\\(.)", r"\1", c.strip()) for c in cells))
    return set(rows)


def parse_csv(text: str) -> set[tuple[str, ...]]:
    words = {"true": "yes", "false": "no", "": "?"}
    return {
        (
            r["user"],
            r["account_id"],
            " ".join((r["account_name"] or "-").split()),
            r["permission_set"],
            "direct" if r["via"] == "direct" else f"group {r['group']}",
            words[r["admin"]],
            words[r["declared"]],
        )
        for r in csv.DictReader(io.StringIO(text))
    }


@pytest.mark.parametrize(
    ("output_format", "parse"), [("table", parse_table), ("markdown", parse_markdown), ("csv", parse_csv)]
)
def test_each_format_parses_back_to_the_same_grants(org: dict[str, Any], output_format: str, parse: Any) -> None:
    add_membership("bo", "Admins")  # one undeclared grant, so both values of each column show
    truth = expected_rows(report("-f", org["config"]))
    assert PROD_NAME in {g["account_name"] for g in report()["grants"]}
    result = invoke("access", "-f", org["config"], "--format", output_format)
    assert result.exit_code == 0, result.output
    assert parse(result.stdout) == truth
    assert {row[5] for row in truth} == {"yes", "no"} and {row[6] for row in truth} == {"yes", "no"}


def test_csv_keeps_every_value_as_it_is(org: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke("access", "--format", "csv").stdout)))
    assert PROD_NAME in {r["account_name"] for r in rows}
    iam = next(r for r in rows if r["permission_set"] == "IAMAdmin")
    assert (iam["admin"], iam["admin_reasons"], iam["declared"]) == ("true", "IAMFullAccess", "")


def test_the_text_report_names_the_admin_grade_sets_and_counts(org: dict[str, Any]) -> None:
    text = invoke("access", "-f", org["config"]).stdout
    assert "admin-grade permission sets: Admin (AdministratorAccess); Everything (inline policy allows * on *)" in text
    assert re.search(r"\d+ grant\(s\): 4 user\(s\) reach 6 permission set\(s\) on 4 account\(s\)", text)
    assert text.rstrip().endswith(f"0 not declared in {org['config']}.")


def test_format_and_json_output_must_agree(org: dict[str, Any]) -> None:
    refused = invoke("--output", "json", "access", "--format", "csv")
    assert refused.exit_code == 64 and realism.STATE.calls == {}
    assert json.loads(invoke("access", "--format", "json").stdout)["command"] == "access"


# -- filters -----------------------------------------------------------------------------------
def test_filter_by_user_reads_by_principal(org: dict[str, Any]) -> None:
    assert grants("--user", "cy") == {g for g in grants() if g[0] == "cy"}
    calls = read_calls("--user", "cy")
    # The user and the two groups: one listing each, and no listing of the sets.
    assert calls["sso-admin:ListAccountAssignmentsForPrincipal"] == 3
    assert "sso-admin:ListPermissionSets" not in calls and "sso-admin:ListAccountAssignments" not in calls
    assert "identitystore:ListGroupMemberships" not in calls


def test_filter_by_user_counts_only_the_users_own_rows(org: dict[str, Any]) -> None:
    """A principal listing of a user may also answer its groups' rows (the realism switch): those
    are grants through the group, never direct ones."""
    realism.configure(user_query_returns_group_rows=True)
    found = grants("--user", "cy")
    assert found == {g for g in grants() if g[0] == "cy"} and not [g for g in found if g[3] is None]


@pytest.mark.parametrize("how", ["id", "name", "current"])
def test_filter_by_account(org: dict[str, Any], how: str) -> None:
    account = MANAGEMENT if how == "current" else org["accounts"]["Development"]
    value = {"id": account, "name": "Development", "current": "current"}[how]
    found = grants("--account", value)
    assert found and found == {g for g in grants() if g[1] == account}
    # A few accounts are named with a DescribeAccount each, not a listing of the organization;
    # a name is found in the listing, which names the accounts too.
    calls = read_calls("--account", value)
    listed = {k: v for k, v in calls.items() if k in ("organizations:ListAccounts", "organizations:DescribeAccount")}
    assert listed == ({"organizations:ListAccounts": 1} if how == "name" else {"organizations:DescribeAccount": 1})
    names = {g["account_name"] for g in report("--account", value)["grants"]}
    assert names == {"Management" if how == "current" else "Development"}


def test_a_user_reaching_none_of_the_named_sets_is_not_an_error(org: dict[str, Any]) -> None:
    result = invoke("access", "--user", "dee", "--permission-set", "Admin")
    assert result.exit_code == 0 and "Nobody reaches any account with these filters." in result.stdout


def test_filter_by_permission_set_and_user_together(org: dict[str, Any]) -> None:
    found = grants("--permission-set", "ReadOnly", "--user", "cy")
    assert found and {(g[0], g[2]) for g in found} == {("cy", "ReadOnly")}
    assert grants("--permission-set", "Developer", "--permission-set", "Admin") == {
        g for g in grants() if g[2] in ("Developer", "Admin")
    }


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--user", "nobody"], "--user nobody"),
        (["--permission-set", "Nope"], "--permission-set Nope"),
        (["--user", "bo", "--permission-set", "Nope"], "--permission-set Nope"),
        (["--account", "No Such Account"], "--account No Such Account"),
        (["--account", "999999999999"], "--account 999999999999: no account of the organization has that id"),
        (["--account", "Development", "--account", "999999999999"], "--account 999999999999"),
    ],
)
def test_a_filter_naming_nothing_is_an_error(org: dict[str, Any], args: list[str], words: str) -> None:
    result = invoke("access", *args)
    assert result.exit_code == 1 and words in result.stderr and "Traceback" not in result.output


def test_filters_that_match_nothing_say_so(org: dict[str, Any]) -> None:
    text = invoke("access", "--user", "dee", "--account", "Development").stdout
    assert "Nobody reaches any account with these filters." in text


# -- what could not be read ------------------------------------------------------------------
def test_without_organizations_accounts_are_shown_by_id(org: dict[str, Any]) -> None:
    realism.configure(deny=lambda operation, request: operation in {"ListAccounts", "DescribeAccount"})
    found = report()
    assert {g["account_name"] for g in found["grants"]} == {None}
    assert [n for n in found["notes"] if n.startswith("account names could not be read from AWS Organizations")]
    refused = invoke("access", "--account", "Development")
    assert refused.exit_code == 1 and "give the 12-digit account id instead" in refused.stderr


def test_without_organizations_an_account_id_is_taken_unchecked(org: dict[str, Any]) -> None:
    realism.configure(deny=lambda operation, request: operation in {"ListAccounts", "DescribeAccount"})
    development = org["accounts"]["Development"]
    found = report("--account", development)
    assert found["grants"] and {g["account_id"] for g in found["grants"]} == {development}
    assert [n for n in found["notes"] if n.startswith(f"--account {development} could not be checked")]


def test_a_set_whose_policies_cannot_be_read_is_admin_unknown(org: dict[str, Any]) -> None:
    admin = set_arn("Admin")
    realism.configure(
        deny=lambda operation, request: (
            operation == "ListManagedPoliciesInPermissionSet" and request.get("PermissionSetArn") == admin
        )
    )
    result = invoke("access", "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["admin"] for r in rows if r["permission_set"] == "Admin"} == {""}
    assert "whether permission set Admin is admin-grade is unknown" in result.stderr


def test_a_set_that_cannot_be_described_is_a_warning_not_a_failure(org: dict[str, Any]) -> None:
    hidden = set_arn("Everything")
    realism.configure(
        deny=lambda operation, request: (
            operation == "DescribePermissionSet" and request.get("PermissionSetArn") == hidden
        )
    )
    found = report()
    assert "Everything" not in {g["permission_set"] for g in found["grants"]}
    assert [w for w in found["warnings"] if hidden in w and "not in the report" in w]


def test_a_set_whose_assignments_cannot_be_listed_is_a_warning(org: dict[str, Any]) -> None:
    hidden = set_arn("Everything")
    others = {g for g in grants() if g[2] != "Everything"}
    realism.configure(
        deny=lambda operation, request: (
            operation == "ListAccountAssignments" and request.get("PermissionSetArn") == hidden
        )
    )
    found = report()
    assert others and others == {
        (g["user"], g["account_id"], g["permission_set"], g["group"]) for g in found["grants"]
    }
    assert [w for w in found["warnings"] if hidden in w and "could not be listed" in w]


def test_a_users_set_that_cannot_be_described_is_shown_by_arn_and_still_checked(org: dict[str, Any]) -> None:
    admin = set_arn("Admin")
    realism.configure(
        deny=lambda operation, request: (
            operation == "DescribePermissionSet" and request.get("PermissionSetArn") == admin
        )
    )
    found = report("--user", "ana")
    grant = next(g for g in found["grants"] if g["permission_set"] == admin)
    assert (grant["admin"], grant["admin_reasons"]) == (True, ["AdministratorAccess"])
    assert [w for w in found["warnings"] if admin in w and "shown by ARN" in w]


def test_assignments_of_a_deleted_principal_are_shown_by_id(org: dict[str, Any]) -> None:
    """Whether AWS keeps the assignments of a deleted user is not documented: shown, not hidden."""
    dee = principal_id("USER", "dee")
    boto3.client("identitystore", region_name=REGION).delete_user(IdentityStoreId=ids_store(), UserId=dee)
    found = report()
    assert (dee, org["accounts"]["Sandbox"], "Everything", None) in {
        (g["user"], g["account_id"], g["permission_set"], g["group"]) for g in found["grants"]
    }
    assert f"assignments name 1 user(s) that no longer exist, shown by id: {dee}" in found["notes"]


# -- reads stay bounded -----------------------------------------------------------------------
def crowd(users: int, groups: int) -> None:
    """Users and groups that hold no assignment (a directory synced from an identity provider)."""
    ids = boto3.client("identitystore", region_name=REGION)
    store = ids_store()
    for n in range(users):
        ids.create_user(
            IdentityStoreId=store,
            UserName=f"extra{n}",
            DisplayName=f"Extra {n}",
            Name={"GivenName": "E", "FamilyName": "X"},
        )
    for n in range(groups):
        ids.create_group(IdentityStoreId=store, DisplayName=f"extra-group-{n}")


def read_calls(*args: str) -> dict[str, int]:
    realism.STATE.calls.clear()
    report(*args)
    return dict(realism.STATE.calls)


def test_reads_grow_with_what_holds_assignments_not_with_the_directory(org: dict[str, Any]) -> None:
    before = read_calls()
    crowd(users=250, groups=120)
    # A user and a group made after the crowd: the listings' last pages, where reading on
    # would cost more than describing them.
    ids = boto3.client("identitystore", region_name=REGION)
    name = {"GivenName": "L", "FamilyName": "Ate"}
    ids.create_user(IdentityStoreId=ids_store(), UserName="late", DisplayName="Late", Name=name)
    ids.create_group(IdentityStoreId=ids_store(), DisplayName="Late")
    add_membership("late", "Late")
    assign("ReadOnly", "GROUP", "Late", org["accounts"]["Sandbox"])
    after = read_calls()
    assert ("late", org["accounts"]["Sandbox"], "ReadOnly", "Late") in grants()
    sso = {k: v for k, v in after.items() if k.startswith("sso-admin:")}
    assert sso == {k: v for k, v in before.items() if k.startswith("sso-admin:")}
    assert after["identitystore:ListGroupMemberships"] == before["identitystore:ListGroupMemberships"] + 1 == 5
    # The first page of each listing names four; reading on (two more pages of users, one of
    # groups) would cost more than describing the fifth.
    assert after["identitystore:ListUsers"] == after["identitystore:ListGroups"] == 1
    assert after["identitystore:DescribeUser"] == after["identitystore:DescribeGroup"] == 1
