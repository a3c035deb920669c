"""examples/ci/github-actions.yml: it passes a YAML lint, signs in with OIDC and never with
keys, plans pull requests, applies main, checks drift; and every provisioner command in it
is one the CLI accepts as written."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from provisioner.cli import cli
from tests.conftest import EXAMPLES

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


def test_the_scheduled_drift_check_fails_on_exit_2() -> None:
    job = workflow()["jobs"]["drift"]
    assert workflow()["on"]["schedule"] and "schedule" in job["if"]
    check = next(s for s in steps("drift") if s.get("name") == "Drift check")["run"]
    assert "--detailed-exitcode" in check and 'exit "$code"' in check and '"$code" -eq 2' in check
    assert job["concurrency"]["group"] == workflow()["jobs"]["apply"]["concurrency"]["group"]


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


def test_the_workflow_runs_plan_apply_and_access() -> None:
    assert sorted({words[0] for words in commands()}) == ["access", "apply", "plan"]


@pytest.mark.parametrize("args", commands(), ids=lambda args: " ".join(args))
def test_each_command_in_the_workflow_is_accepted_by_the_cli(args: list[str]) -> None:
    """Parsed as the CLI parses it (options, their values, what is required): a renamed or
    mistyped option fails here, not in someone's pipeline."""
    name = next(a for a in args if a in cli.commands)
    split = args.index(name)
    parent = cli.make_context("provisioner", [*args[:split], name])
    command = cli.commands[name]
    command.make_context(name, args[split + 1 :], parent=parent)
