"""Option values are held to the same rules as the config, before any AWS call, and a bad
one is a usage error (exit 64) in one vocabulary, text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from tests import realism
from tests.conftest import EXAMPLES, REGION

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")
EX_USAGE = 64
SEED = ("bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--yes")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- item 8: --portal-url, by the config's rule -------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ("sso-config", "-f", EXAMPLE),
        ("apply", "-f", EXAMPLE, "--yes"),
        SEED,
    ],
    ids=lambda command: command[0],
)
@pytest.mark.parametrize("url", ["notaurl", "ftp://x", "http://portal.example.com/start"])
def test_a_portal_url_that_is_not_https_is_refused_before_any_call(
    aws: realism.State, command: tuple[str, ...], url: str
) -> None:
    result = invoke("--region", REGION, *command, "--portal-url", url)
    assert result.exit_code == EX_USAGE, result.output
    assert f"Invalid value for '--portal-url': '{url}' must be an https:// URL" in result.stderr
    assert realism.STATE.calls == {}


@pytest.mark.parametrize("command", ["destroy", "expire"])
def test_portal_url_is_unknown_where_nothing_prints_the_portal(aws: realism.State, command: str) -> None:
    result = invoke("--region", REGION, command, "-f", EXAMPLE, "--yes", "--portal-url", "https://x.awsapps.com/start")
    assert result.exit_code == EX_USAGE and "No such option '--portal-url'" in result.stderr
    assert realism.STATE.calls == {}
    assert "--portal-url" not in invoke(command, "--help").stdout


def test_an_https_portal_url_is_printed(aws: realism.State) -> None:
    result = invoke("--region", REGION, *SEED, "--portal-url", "https://my-org.awsapps.com/start")
    assert result.exit_code == 0, result.output
    assert "Access portal: https://my-org.awsapps.com/start" in result.stdout


# -- item 24: a bad option value exits 64 -------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--region", REGION, *SEED, "--session-duration", "PT13H"], "'--session-duration': PT13H is outside"),
        (["--endpoint-url", "127.0.0.1:5058", "--region", REGION, "plan", "-f", EXAMPLE], "http://127.0.0.1:5058"),
        (["--region", "Seoul", "plan", "-f", EXAMPLE], "'Seoul' is not an AWS Region"),
    ],
    ids=["bootstrap flag", "endpoint", "region"],
)
@pytest.mark.parametrize("output", ["text", "json"])
def test_a_bad_option_value_is_a_usage_error(aws: realism.State, args: list[str], words: str, output: str) -> None:
    result = invoke("--output", output, *args)
    assert result.exit_code == EX_USAGE, result.output
    assert words in result.stderr and "Usage:" in result.stderr
    if output == "json":
        assert json.loads(result.stdout)["error"]["type"] == "usage"
    assert realism.STATE.calls == {}


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["plan", "-f", EXAMPLE, "--output", "json"], "`provisioner --output json plan ...`"),
        (["plan", "-f", EXAMPLE, "--output=json"], "`provisioner --output=json plan ...`"),
        (["apply", "-f", EXAMPLE, "-v"], "`provisioner -v apply ...`"),
        (["plan", "--region", REGION, "-f", EXAMPLE], f"`provisioner --region {REGION} plan ...`"),
    ],
)
def test_a_global_option_after_the_command_says_where_it_goes(args: list[str], hint: str) -> None:
    result = invoke(*args)
    assert result.exit_code == EX_USAGE
    assert "give it before the command" in result.stderr and hint in result.stderr


def test_a_misplaced_output_json_still_gets_a_json_error() -> None:
    result = invoke("plan", "-f", EXAMPLE, "--output", "json")
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "usage" and "--output json plan" in error["message"]


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["plan", "-f", "{tmp}/missing.yaml"], "config"),
        (["plan", "-f", "{tmp}/bad.yaml"], "config"),
        (["plan", "-f", EXAMPLE, "--detailed-exitcod"], "usage"),
    ],
    ids=["missing config", "invalid config", "usage"],
)
def test_json_errors_have_one_vocabulary(aws: realism.State, tmp_path: Path, args: list[str], kind: str) -> None:
    (tmp_path / "bad.yaml").write_text("portal_url: not-a-url\n")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    result = invoke("--output", "json", "--region", REGION, *args)
    assert json.loads(result.stdout)["error"]["type"] == kind


@pytest.mark.parametrize("code", ["AccessDeniedException", "ExpiredTokenException"])
def test_a_refused_or_expired_caller_is_an_access_error_in_json(aws: realism.State, code: str) -> None:
    realism.configure(refuse={"ListInstances": (code, "no")})
    result = invoke("--output", "json", "--region", REGION, "plan", "-f", EXAMPLE)
    assert json.loads(result.stdout)["error"]["type"] == "access"


@pytest.mark.parametrize("args", [["--output", "json", "--version"], ["--version", "--output", "json"]])
def test_version_in_json(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"command": "version", "version": "0.1.0"}


def test_version_in_text() -> None:
    result = CliRunner().invoke(cli, ["--version"], prog_name="provisioner")
    assert result.exit_code == 0 and result.stdout == "provisioner, version 0.1.0\n"


# -- item 23: the config bootstrap writes names the Region it ran in ----------------------------
@pytest.mark.parametrize("given", ["--region", "AWS_REGION", "AWS_DEFAULT_REGION"])
def test_the_bootstrap_config_names_the_region_the_run_used(
    aws: realism.State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    args = ["--region", REGION] if given == "--region" else []
    if given != "--region":
        monkeypatch.setenv(given, REGION)
    out = tmp_path / "ic.yaml"
    assert invoke(*args, *SEED, "--write-config", str(out)).exit_code == 0
    assert f"\nregion: {REGION}\n" in "\n" + out.read_text()
    # A later run (CI, cron) with no Region in its environment plans in the same one.
    monkeypatch.delenv(given, raising=False)
    plan = invoke("plan", "-f", str(out), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert f"in {REGION}, account" in plan.stdout


# -- R32: help that stays true now that `until` deletes ----------------------------------------
@pytest.mark.parametrize("args", [["--help"], ["apply", "--help"]], ids=["group", "apply"])
def test_help_names_every_way_something_is_deleted(args: list[str]) -> None:
    text = " ".join(invoke(*args).stdout.split())
    assert "--prune only" not in text
    assert "`until`" in text and "--prune" in text


# -- R21: the CLI's defaults are the library's --------------------------------------------------
def test_the_cli_defaults_are_the_librarys_own() -> None:
    from provisioner import quotas
    from provisioner.retry import RetrySettings
    from provisioner.runner import RunSettings

    defaults = {param.name: param.default for param in cli.params}
    assert defaults["max_rps"] == quotas.SSO_ADMIN_TPS == quotas.IDENTITY_STORE_TPS
    assert defaults["workers"] == RunSettings().workers
    assert defaults["retry_budget"] == RetrySettings().deadline
    assert "per service" in " ".join(invoke("--help").stdout.split())
