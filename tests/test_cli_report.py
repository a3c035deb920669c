"""What the CLI tells a person after a run that changes AWS, above all an interrupted one:
every change named (done, failed, not started or unknown), a progress line that counts
only what finished, and no config file written by a run that stopped first."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.aws import Clients
from provisioner.cli import cli
from provisioner.cli.progress import ProgressLine
from provisioner.plan import NOT_STARTED
from provisioner.report import render_result
from provisioner.runner import Runner
from tests import realism
from tests.conftest import EXAMPLES, REGION, parse, plan_and_apply, run_settings
from tests.test_async import MANY
from tests.test_cli import on_a_terminal
from tests.test_interrupt import BOOTSTRAP, ctrl_c_at

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args], catch_exceptions=False)


# -- item 3: --write-config after Ctrl-C ------------------------------------------------------
@pytest.mark.parametrize(
    "operation", ["identitystore:CreateUser", "sso-admin:CreateAccountAssignment"], ids=["sync", "async"]
)
def test_an_interrupted_bootstrap_writes_no_config(aws: realism.State, tmp_path: Path, operation: str) -> None:
    out = tmp_path / "ic.yaml"
    ctrl_c_at(operation)
    result = invoke("--workers", "1", *BOOTSTRAP, "--write-config", str(out))
    assert result.exit_code == 130, result.output
    assert not out.exists() and f"wrote {out}" not in result.output


def test_the_written_config_is_announced_after_the_results(aws: realism.State, tmp_path: Path) -> None:
    out = tmp_path / "ic.yaml"
    result = invoke(*BOOTSTRAP, "--write-config", str(out))
    assert result.exit_code == 0, result.output
    # result.output holds stdout and stderr as they came.
    assert result.output.index("Apply complete:") < result.output.index(f"wrote {out}")


# -- item 4: the progress line after Ctrl-C ---------------------------------------------------
@pytest.mark.parametrize(
    ("operation", "phase", "finished"),
    [
        # The second group's call is under way at Ctrl-C (it still takes effect): 2 of 6.
        ("identitystore:CreateGroup", "groups", 2),
        # Two requests fired, never ended (IN_PROGRESS past the grace): none of 36 finished.
        ("sso-admin:CreateAccountAssignment", "assignments", 0),
    ],
    ids=["sync", "async"],
)
def test_progress_counts_only_the_changes_that_finished(
    clients: Clients, clock: Any, operation: str, phase: str, finished: int
) -> None:
    realism.configure(async_seconds=10**9, clock=clock.now)
    realism.pause_at(operation, 2, action=clients.cancel.cancel)
    told: list[tuple[int, int]] = []

    def progress(name: str, done: int, total: int) -> None:
        if name == phase:
            told.append((done, total))

    runner = Runner(clients, parse(MANY), run_settings(), progress=progress)
    result = runner.apply(runner.plan())
    assert result.interrupted
    assert told[-1][0] == finished == max(done for done, _ in told)
    assert told[-1][1] > finished


def test_a_progress_line_left_open_is_closed_with_what_stopped() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, clock=lambda: 0.0, width=200)
    line("groups", 0, 6)
    line("groups", 2, 6)
    line.close("interrupted")
    last = stream.getvalue().split("\r")[-1]
    assert last == "  groups 2/6 interrupted\x1b[K\n"
    line.close("interrupted")  # nothing open: nothing more written
    assert stream.getvalue().split("\r")[-1] == last


def test_ctrl_c_ends_the_progress_line_saying_what_was_interrupted(
    aws: realism.State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch)  # stderr too: the progress line is drawn
    config = tmp_path / "many.yaml"
    config.write_text(json.dumps(MANY))
    ctrl_c_at("identitystore:CreateGroup")  # the first of 6 groups is under way: it is done
    result = invoke("--workers", "1", "apply", "-f", str(config), "--yes")
    assert result.exit_code == 130, result.output
    assert "\r  groups 1/6 interrupted\x1b[K\n" in result.stderr
    assert "groups 6/6" not in result.stderr


# -- item 5: every change that was not started is named ---------------------------------------
def test_the_text_result_names_each_change_not_started(clients: Clients, clock: Any) -> None:
    realism.configure(async_seconds=10**9, clock=clock.now)
    realism.pause_at("sso-admin:CreateAccountAssignment", 2, action=clients.cancel.cancel)
    plan, result, _ = plan_and_apply(clients, parse(MANY))
    text = render_result(result, plan)
    not_started = [o.change for o in result.outcomes if o.status == NOT_STARTED]
    assert len(not_started) == 34
    for change in not_started:
        assert f"  not started create assignment {change.key}\n" in text + "\n"


def test_a_provisioning_is_reported_in_words(aws: realism.State, tmp_path: Path) -> None:
    assert invoke("apply", "-f", EXAMPLE, "--yes").exit_code == 0
    edited = tmp_path / "ic.yaml"
    edited.write_text(Path(EXAMPLE).read_text().replace("PT4H", "PT8H"))
    result = invoke("apply", "-f", str(edited), "--yes")
    assert result.exit_code == 0, result.output
    assert "  ok     provisioning IdentityCenterAdmin" in result.stdout
    assert "provision provisioning" not in result.stdout


# -- item 29: words that say what happened ---------------------------------------------------
def test_expire_reports_expirations_not_an_apply(aws: realism.State, tmp_path: Path) -> None:
    doc = {
        "groups": [{"name": "Ops"}],
        "permission_sets": [{"name": "Power", "managed_policies": ["PowerUserAccess"]}],
        "assignments": [{"permission_set": "Power", "groups": ["Ops"], "accounts": ["current"]}],
    }
    path = tmp_path / "ic.yaml"
    path.write_text(json.dumps(doc))
    assert invoke("apply", "-f", str(path), "--yes").exit_code == 0
    doc["assignments"][0]["until"] = "2001-01-01T00:00:00Z"
    path.write_text(json.dumps(doc))
    result = invoke("expire", "-f", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "Expire complete: 1 done" in result.stdout and "Apply complete" not in result.stdout


def test_expire_help_gives_the_cadence_of_the_readme() -> None:
    text = " ".join(CliRunner().invoke(cli, ["expire", "--help"]).output.split())
    assert "hourly" not in text and "every 15 minutes" in text and "*/15 * * * *" in text


def test_doctor_counts_warnings_in_words() -> None:
    from provisioner.doctor import FAIL, PASS, WARN, Check, render

    checks = [Check("caller", WARN, "access keys"), Check("root MFA", PASS, "on"), Check("x", FAIL, "no")]
    assert render(checks).splitlines()[-1] == "1 failed, 1 warned, 1 passed."


def test_an_organization_target_that_picks_no_account_ends_without_a_colon() -> None:
    from provisioner.config import AssignmentSpec
    from provisioner.targets import Resolution

    spec = AssignmentSpec(permission_set="Dev", groups=["Devs"], account_tags={"env": "dev"})
    assert Resolution([]).describe(spec) == "Dev: tagged env=dev -> 0 account(s)"
    assert Resolution(["111122223333"]).describe(spec) == "Dev: tagged env=dev -> 1 account(s): 111122223333"


@pytest.mark.parametrize(("edited", "words"), [(False, "declares it too"), (True, "changes it too")])
def test_a_set_of_another_config_is_said_to_be_changed_only_when_it_is(
    clients: Clients, clock: Any, edited: bool, words: str
) -> None:
    from tests.conftest import make_clients
    from tests.test_ownership import team

    plan_and_apply(clients, parse(team("team-b", ["Shared"])))
    mine = team("team-a", ["Shared"])
    if edited:
        mine["permission_sets"][0]["session_duration"] = "PT8H"
    plan = Runner(make_clients(clock), parse(mine), run_settings()).plan()
    [warning] = [w for w in plan.warnings if "provisioner:team-b" in w]
    assert words in warning
