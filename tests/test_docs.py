"""What the README and the examples tell a new user to run does what they say."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from provisioner.cli import cli
from tests import realism
from tests.conftest import EXAMPLES, REGION

README = Path(__file__).resolve().parent.parent / "README.md"
SEED = EXAMPLES / "identity-center-admin.yaml"


def readme_first_bootstrap() -> list[str]:
    """The README's first bootstrap command (its first flow), as arguments after `provisioner`."""
    text = README.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if re.match(r"provisioner .*\bbootstrap\b", line))
    return shlex.split(line)[1:]


def seed_comment_bootstrap() -> list[str]:
    """The bootstrap command the seed example's comment says builds the same config."""
    comment = " ".join(line.lstrip("# ") for line in SEED.read_text().splitlines() if line.startswith("#"))
    [command] = re.findall(r"`provisioner (bootstrap [^`]+)`", comment)
    return shlex.split(command)


def test_the_readme_and_the_seed_example_give_one_bootstrap_command() -> None:
    assert readme_first_bootstrap() == ["--region", REGION, *seed_comment_bootstrap()]


def test_the_readme_bootstrap_builds_what_the_seed_example_declares(aws: realism.State) -> None:
    bootstrapped = CliRunner().invoke(cli, [*readme_first_bootstrap(), "--yes"])
    assert bootstrapped.exit_code == 0, bootstrapped.output
    before = aws.writes()
    planned = CliRunner().invoke(cli, ["--region", REGION, "plan", "-f", str(SEED), "--detailed-exitcode"])
    assert planned.exit_code == 0, planned.output
    assert "No changes" in planned.output and aws.writes() == before
