"""Ownership is per config: the sets a named config creates carry its name, and only those
are ever pruned by it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from click.testing import CliRunner, Result

from provisioner import config as config_module
from provisioner.cli import cli
from provisioner.errors import ConfigError
from provisioner.plan import Action
from provisioner.runner import Runner
from tests import realism
from tests.conftest import REGION, make_clients, parse, plan_and_apply, run_settings


def team(name: str | None, sets: list[str]) -> dict[str, Any]:
    """A config of one team: a group, and each of its sets assigned to it on two accounts."""
    group = f"{name or 'Legacy'}-people"
    doc: dict[str, Any] = {
        "groups": [{"name": group}],
        "permission_sets": [{"name": s, "managed_policies": ["ReadOnlyAccess"]} for s in sets],
        "assignments": [
            {"permission_set": s, "groups": [group], "accounts": ["current", "111122223333"]} for s in sets
        ],
    }
    if name is not None:
        doc["name"] = name
    return doc


def set_tags(name: str) -> dict[str, str]:
    sso = boto3.client("sso-admin", region_name=REGION)
    arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    for ps in sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]:
        if sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=ps)["PermissionSet"]["Name"] == name:
            return {t["Key"]: t["Value"] for t in sso.list_tags_for_resource(InstanceArn=arn, ResourceArn=ps)["Tags"]}
    raise AssertionError(f"no permission set {name}")


def live_assignments() -> dict[str, int]:
    """Permission set name -> how many assignments it has, as the console shows them."""
    sso = boto3.client("sso-admin", region_name=REGION)
    arn = sso.list_instances()["Instances"][0]["InstanceArn"]
    out = {}
    for ps in sso.list_permission_sets(InstanceArn=arn)["PermissionSets"]:
        name = sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=ps)["PermissionSet"]["Name"]
        out[name] = sum(
            len(sso.list_account_assignments(InstanceArn=arn, AccountId=a, PermissionSetArn=ps)["AccountAssignments"])
            for a in ("123456789012", "111122223333")
        )
    return out


def prune(doc: dict[str, Any], clock: Any) -> tuple[Any, Any]:
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    plan = runner.plan(prune=True)
    return plan, runner.apply(plan)


def test_sets_carry_the_name_of_the_config_that_created_them(clients: Any) -> None:
    plan_and_apply(clients, parse(team("team-a", ["TeamADeploy"])))
    assert set_tags("TeamADeploy") == {"managed-by": "provisioner:team-a"}


def test_prune_of_one_config_never_touches_another_configs_sets(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("team-a", ["TeamADeploy", "TeamARead"])))
    plan_and_apply(make_clients(clock), parse(team("team-b", ["TeamBDeploy"])))
    plan, result = prune(team("team-a", ["TeamADeploy"]), clock)
    assert result.ok, result.to_json()
    deleted = sorted((c.resource, c.key) for c in plan.changes if c.action is Action.DELETE)
    assert deleted == [
        ("assignment", "group team-a-people -> TeamARead on 111122223333"),
        ("assignment", "group team-a-people -> TeamARead on 123456789012"),
        ("permission_set", "TeamARead"),
    ]
    assert live_assignments() == {"TeamADeploy": 2, "TeamBDeploy": 2}
    plan_b, _ = prune(team("team-b", ["TeamBDeploy"]), clock)
    assert plan_b.empty, plan_b.to_json()


def test_a_set_tagged_by_an_unnamed_config_is_claimed_by_a_named_one(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team(None, ["Deploy", "Read"])))
    assert set_tags("Deploy") == {"managed-by": "provisioner"}
    named = team(None, ["Deploy", "Read"]) | {"name": "team-a"}
    claim = make_clients(clock)
    plan, result, _ = plan_and_apply(claim, parse(named))
    assert [(c.resource, c.key, [(f.name, f.old, f.new) for f in c.fields]) for c in plan.changes] == [
        ("permission_set", "Deploy", [("owner", "provisioner", "provisioner:team-a")]),
        ("permission_set", "Read", [("owner", "provisioner", "provisioner:team-a")]),
    ]
    assert result.ok and claim.log.writes() == {"sso-admin:TagResource": 2}  # a tag: no provisioning
    assert set_tags("Deploy") == {"managed-by": "provisioner:team-a"}
    again = make_clients(clock)
    assert plan_and_apply(again, parse(named))[0].empty and again.log.writes() == {}
    dropped = copy.deepcopy(named)
    dropped["permission_sets"] = dropped["permission_sets"][:1]
    dropped["assignments"] = dropped["assignments"][:1]
    plan, result = prune(dropped, clock)
    assert result.ok and ("permission_set", "Read") in [(c.resource, c.key) for c in plan.changes]
    assert live_assignments() == {"Deploy": 2}


def test_undeclared_legacy_sets_are_left_by_a_named_prune_and_noted(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team(None, ["Old"])))
    plan, _ = prune(team("team-a", ["TeamADeploy"]), clock)
    assert not [c for c in plan.changes if c.action is Action.DELETE]
    assert any("Old" in note and "managed-by=provisioner" in note for note in plan.notes), plan.notes


def test_a_declared_set_owned_by_another_config_is_a_warning(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("team-b", ["Shared"])))
    plan = Runner(make_clients(clock), parse(team("team-a", ["Shared"])), run_settings()).plan()
    assert [w for w in plan.warnings if "Shared" in w and "provisioner:team-b" in w], plan.warnings
    assert not [c for c in plan.changes if c.resource == "permission_set"]  # not claimed from its owner


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args])


def write(tmp_path: Path, doc: dict[str, Any], name: str = "ic.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_prune_without_a_name_is_a_config_error_before_any_call(
    aws: realism.State, tmp_path: Path, command: str
) -> None:
    path = write(tmp_path, team(None, ["Deploy"]))
    result = invoke(command, "-f", path, "--prune", *(["--yes"] if command == "apply" else []))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"config error: {path}: name: " in result.output and "add a top-level name:" in result.output
    assert sum(realism.STATE.calls.values()) == 0


def test_the_runner_refuses_prune_without_a_name_before_any_call(aws: realism.State, clock: Any) -> None:
    """A library caller that skips the command's load check gets the same error, up front."""
    runner = Runner(make_clients(clock), parse(team(None, ["Deploy"])), run_settings())
    with pytest.raises(ConfigError, match="add a top-level name:"):
        runner.plan(prune=True)
    assert sum(realism.STATE.calls.values()) == 0


def test_prune_with_an_explicit_ownership_tag_needs_no_name() -> None:
    doc = team(None, ["Deploy"]) | {"ownership_tag": {"key": "owner", "value": "platform"}}
    assert config_module.prune_problem(parse(doc)) is None
    with pytest.raises(ConfigError, match="add a top-level name:"):
        config_module.check_prunable(parse(team(None, ["Deploy"])), "ic.yaml")


@pytest.mark.parametrize(
    ("extra", "tag"),
    [
        ({}, ("managed-by", "provisioner")),
        ({"name": "team-a"}, ("managed-by", "provisioner:team-a")),
        ({"name": "team-a", "ownership_tag": {"key": "owner"}}, ("owner", "provisioner:team-a")),
        ({"name": "team-a", "ownership_tag": {"value": "platform"}}, ("managed-by", "platform")),
        ({"ownership_tag": {"key": "owner", "value": "platform"}}, ("owner", "platform")),
    ],
)
def test_the_ownership_tag(extra: dict[str, Any], tag: tuple[str, str]) -> None:
    assert parse(team(None, ["Deploy"]) | extra).ownership == tag


def test_plan_names_the_config_its_tag_and_the_owner_of_each_deletion(aws: realism.State, tmp_path: Path) -> None:
    assert invoke("apply", "-f", write(tmp_path, team("team-a", ["Deploy", "Read"])), "--yes").exit_code == 0
    path = write(tmp_path, team("team-a", ["Deploy"]))
    text = invoke("plan", "-f", path, "--prune")
    assert text.exit_code == 0, text.output
    assert "config team-a: owns the permission sets tagged managed-by=provisioner:team-a" in text.output
    assert '      owner: "provisioner:team-a"' in text.output and "null" not in text.output
    doc = json.loads(invoke("--output", "json", "plan", "-f", path, "--prune").stdout)
    assert doc["context"]["config"] == "team-a"
    assert doc["context"]["ownership_tag"] == {"key": "managed-by", "value": "provisioner:team-a"}
    deletion = next(c for c in doc["plan"]["changes"] if c["resource"] == "permission_set")
    assert deletion["fields"] == {"owner": {"old": "provisioner:team-a", "new": None}}


# -- the ownership tag is set by name:, never under tags: ----------------------------------------
@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({}, "managed-by"),
        ({"name": "team-a"}, "managed-by"),
        ({"ownership_tag": {"key": "owner"}}, "owner"),
    ],
)
def test_the_ownership_tag_under_tags_is_refused(extra: dict[str, Any], key: str) -> None:
    doc = team(None, ["Deploy"]) | extra
    doc["permission_sets"][0]["tags"] = {"team": "platform", key: "provisioner:other"}
    with pytest.raises(ConfigError) as refused:
        parse(doc)
    assert refused.value.problems == [
        (
            "permission_sets[0].tags",
            f"{key} is the ownership tag: provisioner sets it from the top-level name: "
            f"({key}: provisioner:<name>); remove it from tags and set name: (or ownership_tag: {{key, value}})",
        )
    ]


def test_a_tag_named_like_the_default_ownership_key_is_a_tag_when_the_key_is_another() -> None:
    doc = team(None, ["Deploy"]) | {"ownership_tag": {"key": "owner"}}
    doc["permission_sets"][0]["tags"] = {"managed-by": "terraform"}
    assert parse(doc).permission_sets[0].tags == {"managed-by": "terraform"}


def exported(tmp_path: Path, *args: str) -> tuple[Result, dict[str, Any]]:
    path = tmp_path / "exported.yaml"
    result = invoke("export", "-o", str(path), *args)
    assert result.exit_code == 0, result.output
    return result, yaml.safe_load(path.read_text())


@pytest.mark.parametrize(
    ("extra", "owner"),
    [
        ({"name": "team-a"}, {"name": "team-a"}),
        ({}, {}),  # an unnamed config's sets: managed-by: provisioner, what a config without name: writes
        ({"ownership_tag": {"value": "platform"}}, {"ownership_tag": {"value": "platform"}}),
    ],
)
def test_export_writes_the_owner_as_the_configs_name_not_as_a_tag(
    aws: realism.State, clock: Any, tmp_path: Path, extra: dict[str, Any], owner: dict[str, Any]
) -> None:
    doc = team(None, ["Deploy", "Read"]) | extra
    doc["permission_sets"][0]["tags"] = {"team": "platform"}
    assert invoke("apply", "-f", write(tmp_path, doc), "--yes").exit_code == 0
    _, document = exported(tmp_path)
    assert {k: document[k] for k in ("name", "ownership_tag") if k in document} == owner
    assert [ps.get("tags") for ps in document["permission_sets"]] == [{"team": "platform"}, None]
    plan = Runner(make_clients(clock), config_module.load(tmp_path / "exported.yaml"), run_settings()).plan()
    assert plan.empty and not plan.warnings, plan.to_json()


def test_renaming_an_exported_config_is_warned_about(aws: realism.State, clock: Any, tmp_path: Path) -> None:
    """The reported surprise: `name: other` added to the export changed nothing, silently."""
    assert invoke("apply", "-f", write(tmp_path, team("platform", ["Deploy"])), "--yes").exit_code == 0
    _, document = exported(tmp_path)
    plan = Runner(make_clients(clock), parse(document | {"name": "other"}), run_settings()).plan()
    assert any("Deploy carries managed-by=provisioner:platform" in w for w in plan.warnings), plan.warnings


def test_export_of_sets_of_different_owners_has_no_name_and_says_why(aws: realism.State, tmp_path: Path) -> None:
    assert invoke("apply", "-f", write(tmp_path, team("team-a", ["DeployA"]), "a.yaml"), "--yes").exit_code == 0
    assert invoke("apply", "-f", write(tmp_path, team("team-b", ["DeployB"]), "b.yaml"), "--yes").exit_code == 0
    result, document = exported(tmp_path)
    assert "name" not in document and all("tags" not in ps for ps in document["permission_sets"])
    assert (
        "warning: the exported permission sets have different owners (managed-by=provisioner:team-a: DeployA; "
        "managed-by=provisioner:team-b: DeployB), so the file has no name:" in result.stderr
    ), result.stderr
    _, only_a = exported(tmp_path, "--permission-set", "DeployA")
    assert only_a["name"] == "team-a"
def test_claiming_a_set_of_a_config_without_a_name_is_a_warning(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team(None, ["ReadOnly"])))
    plan = Runner(make_clients(clock), parse(team("time-bound", ["ReadOnly"])), run_settings()).plan()
    assert [c.key for c in plan.changes if c.resource == "permission_set"] == ["ReadOnly"]
    assert (
        "permission set ReadOnly carries managed-by=provisioner: a config without a name created it, and this config "
        "takes it over (managed-by=provisioner:time-bound), so its --prune and destroy may then delete it; if "
        "another config declares ReadOnly, declare it in one config only" in plan.warnings
    )


def destroy(doc: dict[str, Any], clock: Any) -> tuple[Any, Any]:
    runner = Runner(make_clients(clock), parse(doc), run_settings())
    plan = runner.plan_destroy()
    return plan, runner.apply(plan)


@pytest.mark.parametrize(
    ("owner", "why"),
    [
        (
            "team-b",
            "it carries managed-by=provisioner:team-b: another config (provisioner:team-b) owns it, not this config "
            "(managed-by=provisioner:team-a)",
        ),
        (
            None,
            "it carries managed-by=provisioner: a config without a name owns it, not this config "
            "(managed-by=provisioner:team-a)",
        ),
        ("by hand", "it has no managed-by tag (it existed before a config adopted it), so no config owns it"),
    ],
    ids=["another config", "a config without a name", "made by hand"],
)
def test_destroy_never_deletes_a_set_this_config_does_not_own(
    clients: Any, clock: Any, owner: str | None, why: str
) -> None:
    """team-a declares Shared, which another config (or a person) made and assigned."""
    if owner == "by hand":
        sso = boto3.client("sso-admin", region_name=REGION)
        instance = sso.list_instances()["Instances"][0]["InstanceArn"]
        sso.create_permission_set(InstanceArn=instance, Name="Shared", SessionDuration="PT1H")
    plan_and_apply(clients, parse(team(None if owner == "by hand" else owner, ["Shared"])))
    plan, result = destroy(team("team-a", ["Shared"]), clock)
    assert [c for c in plan.changes if c.resource in ("permission_set", "assignment")] == []
    assert (
        f"permission set Shared is not deleted: {why}; only the assignments the config declares on it are deleted"
        in plan.notes
    )
    assert result.ok and live_assignments() == {"Shared": 2}


def test_destroy_deletes_only_its_own_assignments_of_a_set_it_does_not_own(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("team-b", ["Shared"])))
    mine = team("team-a", ["Shared"])
    mine["assignments"][0]["accounts"] = ["current"]
    plan_and_apply(make_clients(clock), parse(mine))
    assert live_assignments() == {"Shared": 3}
    plan, result = destroy(mine, clock)
    assert [(c.resource, c.key) for c in plan.changes if c.resource in ("permission_set", "assignment")] == [
        ("assignment", "group team-a-people -> Shared on 123456789012")
    ]
    assert result.ok and live_assignments() == {"Shared": 2}


def test_destroy_deletes_the_sets_this_config_owns_with_every_assignment(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("team-a", ["Mine"])))
    plan_and_apply(make_clients(clock), parse(team("team-b", ["Mine"])))  # declares it too: not its owner
    plan, result = destroy(team("team-a", ["Mine"]), clock)
    assert result.ok and ("permission_set", "Mine") in [(c.resource, c.key) for c in plan.changes]
    assert live_assignments() == {}


def test_destroy_leaves_a_set_whose_owner_it_may_not_read(clients: Any, clock: Any) -> None:
    plan_and_apply(clients, parse(team("team-a", ["Mine"])))
    realism.configure(refuse={"ListTagsForResource": ("AccessDeniedException", "not authorized")})
    plan, result = destroy(team("team-a", ["Mine"]), clock)
    assert ("permission_set", "Mine") not in [(c.resource, c.key) for c in plan.changes]
    assert [w for w in plan.warnings if w.startswith("permission set Mine is not deleted: the caller may not call")]
    assert result.ok and live_assignments() == {"Mine": 0}


def test_destroy_of_only_sets_it_does_not_own_says_why_nothing_is_deleted(aws: realism.State, tmp_path: Path) -> None:
    assert invoke("apply", "-f", write(tmp_path, team(None, ["ReadOnly"]), "multi-team.yaml"), "--yes").exit_code == 0
    mine = team("time-bound", ["ReadOnly"])
    mine["groups"] = []
    mine["assignments"] = []
    result = invoke("destroy", "-f", write(tmp_path, mine, "time-bound.yaml"), "--yes")
    assert result.exit_code == 0, result.output
    assert "Nothing to destroy: what the config declares and exists is not this config's to delete." in result.output
    assert "note: permission set ReadOnly is not deleted" in result.output
    assert live_assignments() == {"ReadOnly": 2}
