"""examples/ci/github-actions.yml: it passes a YAML lint, signs in with OIDC and never with
keys, plans pull requests, applies main, expires on a schedule, checks drift; and every
provisioner command in it is one the CLI accepts as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from yamllint import linter
from yamllint.config import YamlLintConfig

from provisioner.cli import cli
from tests import realism
from tests.conftest import EXAMPLES, REGION
from tests.test_time_bound import write

WORKFLOW = EXAMPLES / "ci" / "github-actions.yml"


def workflow() -> dict[str, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def steps(job: str) -> list[dict[str, Any]]:
    return list(workflow()["jobs"][job]["steps"])


def script(job: str) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


def test_the_workflow_passes_yamllint_strictly() -> None:
    problems = list(linter.run(WORKFLOW.read_text(), YamlLintConfig("extends: default"), str(WORKFLOW)))
    assert [f"{p.line}:{p.column} {p.message} ({p.rule})" for p in problems] == []


def test_it_signs_in_with_oidc_and_no_access_keys() -> None:
    text = WORKFLOW.read_text()
    assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY", text)
    assert "secrets." not in text
    assert workflow()["permissions"] == {}
    for name, job in workflow()["jobs"].items():
        assert job["permissions"]["id-token"] == "write", name
        sign_in = [
            s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")
        ]
        assert len(sign_in) == 1 and sign_in[0]["with"]["role-to-assume"].startswith("${{ vars."), name


def test_pull_requests_get_the_plan_with_the_detailed_exit_code_as_a_comment() -> None:
    job = workflow()["jobs"]["plan"]
    assert "pull_request" in workflow()["on"] and job["if"] == "github.event_name == 'pull_request'"
    assert 'provisioner plan -f "$CONFIG" --detailed-exitcode' in script("plan")
    assert job["permissions"]["pull-requests"] == "write"
    comment = next(s for s in steps("plan") if str(s.get("uses", "")).startswith("actions/github-script"))
    assert "always()" in comment["if"] and "createComment" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]  # one comment per pull request, kept up to date
    failing = steps("plan")[-1]
    assert "'0'" in failing["if"] and "'2'" in failing["if"] and "exit 1" in failing["run"]


def test_main_is_applied_with_yes_one_run_at_a_time() -> None:
    job = workflow()["jobs"]["apply"]
    assert workflow()["on"]["push"]["branches"] == ["main"] and "refs/heads/main" in job["if"]
    assert 'provisioner apply -f "$CONFIG" --yes' in script("apply")
    assert job["concurrency"]["cancel-in-progress"] is False and job["environment"]


def schedules() -> list[str]:
    return [entry["cron"] for entry in workflow()["on"]["schedule"]]


def sign_in(job: str) -> dict[str, Any]:
    return next(s for s in steps(job) if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials"))


def test_the_daily_drift_check_fails_on_exit_2_after_that_runs_expire() -> None:
    job = workflow()["jobs"]["drift"]
    [daily] = [cron for cron in schedules() if f"github.event.schedule == '{cron}'" in job["if"]]
    assert job["needs"] == "expire" and "!cancelled()" in job["if"]  # after expire, whether it removed access or not
    check = next(s for s in steps("drift") if s.get("name") == "Drift check")["run"]
    assert "--detailed-exitcode" in check and 'exit "$code"' in check and '"$code" -eq 2' in check


def test_expire_runs_unattended_on_every_schedule_and_removes_only_what_has_expired() -> None:
    job = workflow()["jobs"]["expire"]
    assert len(schedules()) == 2 and "github.event_name == 'schedule'" in job["if"]
    assert 'provisioner expire -f "$CONFIG" --yes' in script("expire")
    # Its own role (it may only delete assignments), and no environment: no reviewer to wait for.
    assert sign_in("expire")["with"]["role-to-assume"] == "${{ vars.EXPIRE_ROLE_ARN }}" and "environment" not in job


def test_no_unattended_job_waits_behind_an_apply_awaiting_its_reviewers() -> None:
    """A job waiting for an environment's reviewers holds its concurrency group, and a job queued
    behind it replaces the one already pending (vstorm-co/agenticos#1832): expire and the drift
    check must not share the apply's group, nor cancel a pending apply."""
    jobs = workflow()["jobs"]
    assert jobs["apply"]["concurrency"]["group"] not in {jobs[j]["concurrency"]["group"] for j in ("expire", "drift")}
    assert all(jobs[j]["concurrency"]["cancel-in-progress"] is False for j in ("apply", "expire"))


def test_a_run_by_hand_off_main_stops_before_signing_in() -> None:
    """The roles trust main only: a workflow_dispatch from another branch says so, instead of
    failing in AssumeRoleWithWebIdentity."""
    jobs = workflow()["jobs"]
    guard = steps("expire")[0]
    assert guard["if"] == "github.ref != 'refs/heads/main'" and "::error::" in guard["run"] and "exit 1" in guard["run"]
    assert "github.ref == 'refs/heads/main'" in jobs["drift"]["if"]
    dispatched = [name for name, job in jobs.items() if "workflow_dispatch" in job.get("if", "")]
    assert dispatched == ["expire", "drift"]


def test_every_role_and_environment_the_workflow_uses_is_set_up_in_the_readme() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme[readme.index("## Run it from CI") :]
    section = section[: section.index("\n## ", 1)]
    used = set(re.findall(r"vars\.([A-Z_]+)", WORKFLOW.read_text()))
    used |= {str(job["environment"]) for job in workflow()["jobs"].values() if "environment" in job}
    assert used == {"PLAN_ROLE_ARN", "APPLY_ROLE_ARN", "EXPIRE_ROLE_ARN", "identity-center"}
    assert [name for name in sorted(used) if f"`{name}`" not in section] == []
    assert "provisioner-expire" in section and "sso:DeleteAccountAssignment" in section


def commands() -> list[list[str]]:
    """Every provisioner command line in the workflow's shell steps, as its arguments."""
    found = []
    for job in workflow()["jobs"]:
        lines = script(job).replace("\\\n", " ").splitlines()
        for line in lines:
            if line.strip().startswith("provisioner "):
                words = shlex.split(line.replace('"$CONFIG"', str(EXAMPLES / "identity-center-admin.yaml")))
                cut = next((i for i, w in enumerate(words) if w in {">", ">>", "2>", "|", "&&", ";"}), len(words))
                found.append(words[1:cut])
    return found


def test_the_workflow_runs_plan_apply_expire_and_access() -> None:
    assert sorted({words[0] for words in commands()}) == ["access", "apply", "expire", "plan"]


@pytest.mark.parametrize("args", commands(), ids=lambda args: " ".join(args))
def test_each_command_in_the_workflow_is_accepted_by_the_cli(args: list[str]) -> None:
    """Parsed as the CLI parses it (options, their values, what is required): a renamed or
    mistyped option fails here, not in someone's pipeline."""
    name = next(a for a in args if a in cli.commands)
    split = args.index(name)
    parent = cli.make_context("provisioner", [*args[:split], name])
    command = cli.commands[name]
    command.make_context(name, args[split + 1 :], parent=parent)


def test_an_expire_run_writes_nothing_but_assignment_deletions(aws: realism.State, tmp_path: Path) -> None:
    """Beyond reading, the README's provisioner-expire role has sso:DeleteAccountAssignment only."""
    future = write(tmp_path, "2999-01-01T00:00:00Z")
    assert CliRunner().invoke(cli, ["--region", REGION, "apply", "-f", future, "--yes"]).exit_code == 0
    past = write(tmp_path, "2001-01-01T00:00:00Z")
    aws.calls.clear()
    expired = CliRunner().invoke(cli, ["--region", REGION, "expire", "-f", past, "--yes"])
    assert expired.exit_code == 0, expired.output
    assert {call for call in aws.calls if realism.is_write(call)} == {"sso-admin:DeleteAccountAssignment"}
