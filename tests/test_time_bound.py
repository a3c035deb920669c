"""Time-bound access: `assignments[].until`. Before it the plan says when it expires; after
it the next apply (or `provisioner expire`) removes the assignments, which are ours because
the config declares them; a week on, a note says to delete the entry. "Now" comes from the
run's settings, so nothing depends on the wall clock."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from provisioner import config as config_module
from provisioner.aws import Clients
from provisioner.errors import ConfigError
from provisioner.kinds import assignments
from provisioner.kinds.base import Mode
from provisioner.plan import Action
from provisioner.runner import Runner, RunSettings
from tests import realism
from tests.conftest import EXAMPLES, REGION, make_clients, parse, run_settings
from tests.realism.orgs import inventory
from tests.test_diff import CTX, OPS, POWER_SET, live

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
LATER = "2026-12-01T12:20:00Z"  # 3h 20m after NOW
EARLIER = "2026-12-01T07:00:00Z"  # 2h before NOW
CTX_ACCOUNT = "123456789012"  # moto's account: `current`
BREAKGLASS = {"permission_set": "Power", "groups": ["Ops"], "accounts": ["current"]}


def config(*entries: dict[str, Any], **more: Any) -> Any:
    return parse(
        {
            "groups": [{"name": "Ops"}],
            "permission_sets": [{"name": "Power", "managed_policies": ["PowerUserAccess"]}],
            "assignments": list(entries),
            **more,
        }
    )


def at(now: datetime) -> RunSettings:
    return replace(run_settings(), now=lambda: now)


def applied(clients: Clients, timed: Any, now: datetime) -> bool:
    runner = Runner(clients, timed, at(now))
    return runner.apply(runner.plan()).ok


def diff(entries: list[dict[str, Any]], now: datetime, assigned: bool) -> Any:
    """The assignments' diff on a live state written by hand, read at `now`."""
    state = replace(live(OPS, power=POWER_SET, assigned=assigned), now=now)
    return assignments.KIND.diff(config(*entries), state, Mode.PLAN)


# -- the diff, pure --------------------------------------------------------------------------
def test_before_its_time_the_plan_says_when_it_expires() -> None:
    found = diff([{**BREAKGLASS, "until": LATER}], NOW, assigned=False)
    [change] = found.changes
    assert change.action is Action.CREATE
    assert ("until", "2026-12-01T12:20:00Z (expires in 3h 20m)") in [(f.name, f.new) for f in change.fields]
    assert found.notes == [f"assignments[0] (Power for group Ops) expires in 3h 20m, at {LATER}"]


def test_after_its_time_the_assignment_is_removed_as_expired() -> None:
    found = diff([{**BREAKGLASS, "until": EARLIER}], NOW, assigned=True)
    [change] = found.changes
    assert change.action is Action.DELETE and change.key == f"group Ops -> Power on {CTX.account_id}"
    assert [(f.name, f.new) for f in change.fields] == [("reason", "expired 2h ago (until 2026-12-01T07:00:00Z)")]
    assert assignments.KIND.expiring(change)
    assert found.notes == [f"assignments[0] (Power for group Ops) expired 2h ago, at {EARLIER}"]


def test_an_expired_assignment_that_is_gone_is_not_made_again() -> None:
    found = diff([{**BREAKGLASS, "until": EARLIER}], NOW, assigned=False)
    assert found.changes == [] and found.unchanged == 0


def test_a_week_after_it_expired_the_plan_says_to_delete_the_entry() -> None:
    found = diff([{**BREAKGLASS, "until": EARLIER}], NOW + timedelta(days=7, hours=1), assigned=False)
    assert found.notes == [
        f"assignments[0] (Power for group Ops) expired 7d 3h ago, at {EARLIER}: delete it from the config"
    ]


@pytest.mark.parametrize("other", [None, "2026-12-02T00:00:00Z"])
def test_another_entry_that_declares_it_for_longer_keeps_it(other: str | None) -> None:
    longer = {**BREAKGLASS, **({"until": other} if other else {})}
    found = diff([{**BREAKGLASS, "until": EARLIER}, longer], NOW, assigned=True)
    assert found.changes == [] and found.unchanged == 1


@pytest.mark.parametrize(
    ("until", "says"),
    [
        ("2026-12-01T18:00:00", "has no timezone"),
        ("2026-12-01", "is not an RFC 3339 time"),
        ("2026-12-01T18:00:00+9:00", "is not an RFC 3339 time"),
        ("2026-02-30T18:00:00Z", "is not a valid time"),
        ("2026-12-01T18:00:00+25:00", "offset outside"),
    ],
)
def test_until_needs_an_rfc3339_time_with_a_timezone(until: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config({**BREAKGLASS, "until": until})
    assert [(where, says in why) for where, why in caught.value.problems] == [("assignments[0].until", True)]


@pytest.mark.parametrize(
    "until",
    [
        "2026-12-01T09:00:00Z",
        "2026-12-01T18:00:00+09:00",
        "2026-12-01t09:00:00z",
        "2026-12-01T09:00:00.000000Z",
        "2026-12-01 04:00:00-05:00",
    ],
)
def test_any_rfc3339_form_with_a_timezone_is_the_same_instant(until: str) -> None:
    assert config({**BREAKGLASS, "until": until}).assignments[0].expires_at == NOW


def test_an_unquoted_yaml_time_is_read_as_written(tmp_path: Path) -> None:
    path = tmp_path / "ic.yaml"
    path.write_text(
        "groups: [{name: Ops}]\npermission_sets: [{name: Power}]\n"
        "assignments:\n  - {permission_set: Power, groups: [Ops], accounts: [current],\n"
        "     until: 2026-12-01T18:00:00+09:00}\n"
    )
    assert config_module.load(path).assignments[0].expires_at == NOW


# -- against moto and the realism layer ------------------------------------------------------
def test_the_assignment_is_made_then_removed_by_the_first_apply_after_its_time(clients: Clients, clock: Any) -> None:
    timed = config({**BREAKGLASS, "until": LATER})
    assert applied(clients, timed, NOW) and inventory()["assignments"] == 1
    assert Runner(make_clients(clock), timed, at(NOW + timedelta(hours=3))).plan().empty
    after = Runner(make_clients(clock), timed, at(NOW + timedelta(hours=4)))
    plan = after.plan()
    assert [(c.action, c.kind.value) for c in plan.changes] == [(Action.DELETE, "assignment")]
    assert after.apply(plan).ok and inventory()["assignments"] == 0
    again = make_clients(clock)
    assert Runner(again, timed, at(NOW + timedelta(hours=5))).plan().empty
    assert again.log.writes() == {}


def test_expirations_are_seen_when_assignments_are_read_by_principal(clients: Clients, clock: Any) -> None:
    """Two accounts for one principal: read by principal; the expired entry's principal is read too."""
    doc = {**BREAKGLASS, "accounts": ["current", "111122223333"], "until": EARLIER}
    assert applied(clients, config({**doc, "until": LATER}), NOW)
    runner = Runner(make_clients(clock), config(doc), at(NOW))
    plan = runner.plan()
    assert not runner.live.get(assignments.KIND).every_principal  # type: ignore[union-attr]
    assert sorted(c.action.value for c in plan.changes) == ["delete", "delete"]


def test_prune_calls_them_expired_not_undeclared(clients: Clients, clock: Any) -> None:
    timed = config({**BREAKGLASS, "until": LATER}, name="team")
    assert applied(clients, timed, NOW)
    plan = Runner(make_clients(clock), timed, at(NOW + timedelta(hours=4))).plan(prune=True)
    [change] = plan.changes
    assert change.fields[0].new.startswith("expired 40m ago")


def test_expire_applies_only_the_expirations(clients: Clients, clock: Any) -> None:
    assert applied(clients, config({**BREAKGLASS, "until": LATER}), NOW)
    grown = config({**BREAKGLASS, "until": LATER}, users=[{"user_name": "ana", "email": "ana@example.com"}])
    grown = grown.model_copy(update={"groups": [*grown.groups, *parse({"groups": [{"name": "Dev"}]}).groups]})
    expirer = Runner(make_clients(clock), grown, at(NOW + timedelta(hours=4)))
    plan = expirer.plan_expirations()
    assert [(c.action, c.kind.value) for c in plan.changes] == [(Action.DELETE, "assignment")]
    assert "2 other change(s) are not expirations: `provisioner apply` makes them" in plan.notes
    assert expirer.apply(plan).ok
    left = inventory()
    assert (left["assignments"], left["users"], left["groups"]) == (0, 0, 1)


def test_expire_goes_ahead_when_the_plan_has_errors_about_other_things(clients: Clients, clock: Any) -> None:
    assert applied(clients, config({**BREAKGLASS, "until": LATER}), NOW)
    broken = config(
        {**BREAKGLASS, "until": LATER}, users=[{"user_name": "okta-jane", "external": True}]
    )  # not synced yet: a plan error
    expirer = Runner(make_clients(clock), broken, at(NOW + timedelta(hours=4)))
    plan = expirer.plan_expirations()
    assert plan.errors == [] and any("not synced" in w and "expirations go ahead" in w for w in plan.warnings)
    assert expirer.apply(plan).ok and inventory()["assignments"] == 0


def write(tmp_path: Path, until: str) -> str:
    path = tmp_path / "ic.yaml"
    doc = {
        "groups": [{"name": "Ops"}],
        "permission_sets": [{"name": "Power", "managed_policies": ["PowerUserAccess"]}],
        "assignments": [{**BREAKGLASS, "until": until}],
    }
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_the_expire_command_removes_what_has_expired_and_nothing_else(aws: realism.State, tmp_path: Path) -> None:
    future = write(tmp_path, "2999-01-01T00:00:00Z")
    assert CliRunner().invoke(cli(), ["--region", REGION, "apply", "-f", future, "--yes"]).exit_code == 0
    nothing = CliRunner().invoke(cli(), ["--region", REGION, "expire", "-f", future, "--yes"])
    assert nothing.exit_code == 0 and "Nothing to expire" in nothing.stdout
    past = write(tmp_path, "2001-01-01T00:00:00Z")
    result = CliRunner().invoke(cli(), ["--region", REGION, "--output", "json", "expire", "-f", past, "--yes"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    [change] = document["plan"]["changes"]
    assert change["action"] == "delete" and change["fields"]["reason"]["new"].startswith("expired")
    assert any("delete it from the config" in note for note in document["plan"]["notes"])
    assert inventory()["assignments"] == 0 and inventory()["permission_sets"] == 1


def test_the_expire_command_needs_yes_without_a_terminal(aws: realism.State, tmp_path: Path) -> None:
    future = write(tmp_path, "2999-01-01T00:00:00Z")
    assert CliRunner().invoke(cli(), ["--region", REGION, "apply", "-f", future, "--yes"]).exit_code == 0
    past = write(tmp_path, "2001-01-01T00:00:00Z")
    result = CliRunner().invoke(cli(), ["--region", REGION, "expire", "-f", past])
    assert result.exit_code == 1 and "--yes" in result.stderr
    assert inventory()["assignments"] == 1


def cli() -> Any:
    from provisioner.cli import cli as command

    return command


def test_the_time_bound_example_expires_one_entry_at_a_time(clients: Clients, clock: Any) -> None:
    example = config_module.load(EXAMPLES / "time-bound.yaml")
    assert applied(clients, example, NOW - timedelta(hours=1)) and inventory()["assignments"] == 2
    plan = Runner(make_clients(clock), example, at(NOW + timedelta(minutes=1))).plan()
    assert [c.key for c in plan.changes] == [f"group Oncall -> Breakglass on {CTX_ACCOUNT}"]
    assert any("ReadOnly for user contractor-lee) expires in" in note for note in plan.notes)


def test_sso_config_writes_no_profile_for_an_expired_grant(aws: realism.State, tmp_path: Path) -> None:
    doc = {
        "groups": [{"name": "Ops"}],
        "users": [{"user_name": "ana", "email": "ana@example.com", "groups": ["Ops"]}],
        "permission_sets": [{"name": "Power", "managed_policies": ["PowerUserAccess"]}],
        "assignments": [
            {"permission_set": "Power", "groups": ["Ops"], "accounts": ["current"], "until": "2020-01-01T00:00:00Z"}
        ],
    }
    path = tmp_path / "ic.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(cli(), ["--region", REGION, "sso-config", "-f", str(path), "--user", "ana"])
    assert result.exit_code == 1 and "ana reaches no account" in result.output
