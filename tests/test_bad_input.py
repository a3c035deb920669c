"""Bad input: every file of tests/configs/invalid, through every command that reads a config,
exits 1 with a message naming the file and the field, no traceback, and no call to any AWS
service at all (the realism layer counts sts, iam and organizations too)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli import cli
from tests import realism
from tests.conftest import REGION, cli_command, cli_env

CORPUS = Path(__file__).resolve().parent / "configs" / "invalid"
ROOT = CORPUS.parent.parent.parent
# Files that cannot carry an "# expect:" line of their own.
SPECIAL = {
    "01-empty.yaml": ("", "is empty"),
    "40-not-utf8.yaml": ("", "not UTF-8"),
    "41-a-directory.yaml": ("", "is a directory"),
    "42-dangling-symlink.yaml": ("", "no such file"),
}
# Every command that reads a config file, with what it needs besides.
COMMANDS = {
    "plan": ["plan", "-f", "{config}"],
    "apply": ["apply", "-f", "{config}", "--yes"],
    "destroy": ["destroy", "-f", "{config}", "--yes"],
    "sso-config": ["sso-config", "-f", "{config}"],
    "doctor": ["doctor", "-f", "{config}"],
}


def expectation(path: Path) -> tuple[str, str]:
    if path.name in SPECIAL:
        return SPECIAL[path.name]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect:"), f"{path.name} needs an '# expect: FIELD | WORDS' first line"
    field, words = first.removeprefix("# expect:").split("|")
    return field.strip(), words.strip()


def command(name: str, config: Path) -> list[str]:
    return [arg.replace("{config}", str(config)) for arg in COMMANDS[name]]


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
@pytest.mark.parametrize("verb", list(COMMANDS))
def test_invalid_config_is_refused_before_any_aws_call(aws: realism.State, verb: str, name: str) -> None:
    path = CORPUS / name
    field, words = expectation(path)
    result = CliRunner().invoke(cli, ["--region", REGION, *command(verb, path)])
    assert result.exit_code == 1, result.output
    assert f"config error: {path}: {field}" in result.stderr, result.output
    assert words in result.stderr, result.output
    assert "Traceback" not in result.output
    assert realism.STATE.calls == {}


def test_the_installed_command_sends_no_request_for_an_invalid_config(tmp_path: Path) -> None:
    """The command as a process, against a local endpoint that writes down every call it served."""
    calls = tmp_path / "calls.json"
    endpoint = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "moto_endpoint.py"), "--calls-file", str(calls)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert endpoint.stdout is not None
        url = endpoint.stdout.readline().split(" ", 1)[1].strip()
        path = CORPUS / "17-duration-13h.yaml"
        run = subprocess.run(
            cli_command(url, *command("apply", path)), capture_output=True, text=True, env=cli_env(), cwd=ROOT
        )
    finally:
        endpoint.terminate()
        endpoint.wait(timeout=20)
    assert run.returncode == 1 and f"config error: {path}: permission_sets[0].session_duration" in run.stderr
    assert "Traceback" not in run.stderr
    assert json.loads(calls.read_text()) == {}
