"""What the CLI tells a person after a run that changes AWS, above all an interrupted one:
every change named (done, failed, not started or unknown), a progress line that counts
only what finished, and no config file written by a run that stopped first."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from tests import realism
from tests.conftest import EXAMPLES, REGION
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
