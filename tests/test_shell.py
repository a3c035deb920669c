"""provisioner --version, and shell completion (click's own), as a user runs them."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import provisioner
from provisioner.cli import cli

BIN = Path(sys.executable).parent  # where the virtualenv installed the `provisioner` command


def test_version_is_the_installed_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"], prog_name="provisioner")
    version = importlib.metadata.version("provisioner")
    assert result.exit_code == 0 and result.output == f"provisioner, version {version}\n"
    assert provisioner.__version__ == version


def test_version_of_the_installed_command_needs_no_aws() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    run = subprocess.run([sys.executable, "-m", "provisioner", "--version"], capture_output=True, text=True, env=env)
    assert run.returncode == 0 and run.stdout.startswith("provisioner, version ") and run.stderr == ""


def complete(words: str, shell: str = "bash_complete") -> list[str]:
    """What click answers a shell asking to complete the last of `words`."""
    parts = words.split(" ")
    env = {"COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1), "_PROVISIONER_COMPLETE": shell}
    result = CliRunner().invoke(cli, [], env=env, prog_name="provisioner")
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("provisioner acc", ["access"]),
        ("provisioner sso-config --prof", ["--profile-name"]),
        ("provisioner access --format ", ["table", "csv", "json", "markdown"]),
        ("provisioner --output ", ["text", "json"]),
    ],
)
def test_completion_of_commands_options_and_values(words: str, expected: list[str]) -> None:
    assert complete(words) == expected


@pytest.mark.parametrize(
    ("shell", "words"),
    [
        ("bash", "complete -o nosort -F"),
        ("zsh", "#compdef provisioner"),
        ("fish", "complete --no-files --command provisioner"),
    ],
)
def test_the_completion_script_of_each_shell(shell: str, words: str) -> None:
    result = CliRunner().invoke(cli, [], env={"_PROVISIONER_COMPLETE": f"{shell}_source"}, prog_name="provisioner")
    assert result.exit_code == 0 and words in result.output


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_as_the_readme_sets_it_up() -> None:
    """The README's line in a real bash: eval the script, then ask as bash does on Tab."""
    line = 'eval "$(_PROVISIONER_COMPLETE=bash_source provisioner)"'
    assert line in Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    # On Tab, bash sets COMP_WORDS and COMP_CWORD and calls the function with the command,
    # the word and the word before it.
    tab = "COMP_WORDS=(provisioner sso-con); COMP_CWORD=1; _provisioner_completion provisioner sso-con provisioner"
    shell = f'{line}; {tab}; echo "${{COMPREPLY[@]}}"'
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env)
    assert run.returncode == 0 and run.stdout.split() == ["sso-config"], run.stderr
