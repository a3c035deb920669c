"""The CLI through click's CliRunner, in-process against moto with the realism layer."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provisioner.cli import cli
from provisioner.retry import FakeClock
from tests import realism
from tests.conftest import EXAMPLES, REGION

EXAMPLE = str(EXAMPLES / "identity-center-admin.yaml")
EX_USAGE = 64  # sysexits.h


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--region", REGION, *args], input=input, catch_exceptions=False)


def writes() -> int:
    return realism.STATE.writes()


def test_help_teaches_and_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for word in ("bootstrap", "plan", "apply", "Exit codes", "idempotent"):
        assert word in result.output


def test_help_does_not_import_boto3() -> None:
    code = (
        "import sys; from provisioner.cli import main; sys.argv=['provisioner','--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint('boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_detailed_exitcode_is_2_while_changes_are_pending_and_0_once_applied(aws: realism.State) -> None:
    pending = invoke("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert pending.exit_code == 2 and "5 to create" in pending.output and writes() == 0
    assert invoke("plan", "-f", EXAMPLE).exit_code == 0
    applied = invoke("apply", "-f", EXAMPLE, "--yes")
    assert applied.exit_code == 0 and "Apply complete: 5 done" in applied.output
    clean = invoke("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert clean.exit_code == 0 and "No changes" in clean.output


def test_apply_without_a_terminal_refuses_without_yes(aws: realism.State) -> None:
    result = invoke("apply", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert "--yes" in result.output
    assert writes() == 0


def test_plan_json_is_one_document(aws: realism.State) -> None:
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "plan", "-f", EXAMPLE])
    doc = json.loads(result.stdout)
    assert doc["command"] == "plan" and doc["plan"]["summary"]["create"] == 5
    assert {c["resource"] for c in doc["plan"]["changes"]} == {
        "group",
        "user",
        "membership",
        "permission_set",
        "assignment",
    }


def test_apply_json_reports_outcomes(aws: realism.State) -> None:
    result = CliRunner().invoke(cli, ["--region", REGION, "--output", "json", "apply", "-f", EXAMPLE, "--yes"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0
    assert doc["result"]["failed"] == 0 and len(doc["result"]["outcomes"]) == 5


def test_bootstrap_builds_what_the_example_config_declares(aws: realism.State) -> None:
    bootstrapped = invoke(
        "bootstrap",
        "--user-name",
        "admin",
        "--email",
        "admin@example.com",
        "--given-name",
        "Admin",
        "--family-name",
        "User",
        "--display-name",
        "Admin User",
        "--yes",
    )
    assert bootstrapped.exit_code == 0 and "AWSSSOMasterAccountAdministrator" in bootstrapped.output
    assert invoke("plan", "-f", EXAMPLE, "--detailed-exitcode").exit_code == 0


def test_bootstrap_writes_its_config(aws: realism.State, tmp_path: Path) -> None:
    out = tmp_path / "ic.yaml"
    invoke("bootstrap", "--user-name", "admin", "--email", "admin@example.com", "--write-config", str(out), "--yes")
    assert invoke("plan", "-f", str(out), "--detailed-exitcode").exit_code == 0


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--email", "nope", "--email"),
        ("--session-duration", "PT24H", "--session-duration"),
        ("--account", "12", "--account"),
        ("--user-name", "two words", "--user-name"),
    ],
)
def test_bootstrap_bad_flag_is_named(aws: realism.State, flag: str, value: str, words: str) -> None:
    args = {"--user-name": "admin", "--email": "admin@example.com", flag: value}
    flat: list[Any] = [x for pair in args.items() for x in pair]
    result = invoke("bootstrap", *flat, "--yes")
    assert result.exit_code == EX_USAGE and words in result.output  # a bad option value
    assert sum(realism.STATE.calls.values()) == 0


def test_failed_assignment_exits_1_with_reason(aws: realism.State) -> None:
    realism.configure(fail_assignment=lambda payload: "Role quota exceeded")
    result = invoke("apply", "-f", EXAMPLE, "--yes")
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if "FAILED" in line]
    # Each fact once: the status, the change, AWS's reason, the request id.
    assert line.count("FAILED") == 1 and line.count("request id") == 1
    assert (
        line.lstrip().startswith("FAILED create assignment group IdentityCenterAdmins")
        and "Role quota exceeded" in line
    )


def test_no_region_is_a_clear_error(aws: realism.State, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    result = CliRunner().invoke(cli, ["plan", "-f", EXAMPLE])
    assert result.exit_code == 1 and "no AWS Region" in result.output and "Traceback" not in result.output


def test_missing_credentials_is_a_one_line_error(aws: realism.State, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = invoke("plan", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert result.output.startswith("error: no AWS credentials found")
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_profile_is_a_clear_error(aws: realism.State) -> None:
    result = invoke("--profile", "nosuch", "plan", "-f", EXAMPLE)
    assert result.exit_code == 1 and "nosuch" in result.output and "Traceback" not in result.output


def test_schema_is_json() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert "permission_sets" in json.loads(result.output)["properties"]


def test_access_denied_on_a_write_names_the_action_and_account(aws: realism.State) -> None:
    realism.configure(
        refuse={
            "CreatePermissionSet": (
                "AccessDeniedException",
                "User is not authorized to perform: sso:CreatePermissionSet",
            )
        }
    )
    result = invoke("apply", "-f", EXAMPLE, "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    # The denial fails that change (and what needs it); the rest goes on.
    failed = [line for line in result.output.splitlines() if "FAILED create permission set" in line]
    assert len(failed) == 1 and "sso:CreatePermissionSet" in failed[0] and "account 123456789012" in failed[0]
    assert failed[0].count("[request id") == 1
    assert "ok     create group IdentityCenterAdmins" in result.output


def test_expired_credentials_say_how_to_refresh(aws: realism.State) -> None:
    realism.configure(
        refuse={"ListInstances": ("ExpiredTokenException", "The security token included in the request is expired")}
    )
    result = invoke("plan", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert "expired" in result.output and "aws sso login" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_on_a_terminal_creations_are_green_and_deletions_red(
    aws: realism.State, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch)

    def plan_lines(command: str) -> list[str]:
        result = CliRunner().invoke(cli, ["--region", REGION, command, "-f", EXAMPLE], input="n\n", color=True)
        return [line.strip() for line in result.stdout.splitlines() if "permission set IdentityCenterAdmin" in line]

    assert plan_lines("plan") == ["\x1b[32m+\x1b[0m permission set IdentityCenterAdmin"]
    assert invoke("apply", "-f", EXAMPLE, "--yes").exit_code == 0
    assert plan_lines("destroy") == ["\x1b[31m- permission set IdentityCenterAdmin\x1b[0m"]  # declined: nothing deleted


@pytest.fixture
def plan_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.runner import Runner

    original = Runner.plan

    def plan(self: Runner, *args: Any, **kwargs: Any) -> Any:
        found = original(self, *args, **kwargs)
        found.errors.append("account 111122223333 is SUSPENDED")
        return found

    monkeypatch.setattr(Runner, "plan", plan)


def test_plan_with_an_error_exits_1_and_names_it(aws: realism.State, plan_with_an_error: None) -> None:
    result = invoke("plan", "-f", EXAMPLE, "--detailed-exitcode")
    assert result.exit_code == 1
    assert "error: account 111122223333 is SUSPENDED" in result.output


def test_apply_refuses_a_plan_with_an_error_and_changes_nothing(aws: realism.State, plan_with_an_error: None) -> None:
    result = invoke("apply", "-f", EXAMPLE, "--yes")
    assert result.exit_code == 1 and "refusing to apply" in result.output
    assert writes() == 0


# -- the Region: --region, config region:, AWS_REGION, AWS_DEFAULT_REGION, the profile -------
REGION_ORDER = {
    # case: (--region, config region:, AWS_REGION, AWS_DEFAULT_REGION, profile region, expected)
    "AWS_REGION alone": (None, None, "eu-west-1", None, None, "eu-west-1"),
    "AWS_REGION before AWS_DEFAULT_REGION": (None, None, "eu-west-1", "us-east-1", None, "eu-west-1"),
    "AWS_REGION before the profile": (None, None, "eu-west-1", None, "us-west-2", "eu-west-1"),
    "AWS_DEFAULT_REGION before the profile": (None, None, None, "us-east-1", "us-west-2", "us-east-1"),
    "the profile alone": (None, None, None, None, "us-west-2", "us-west-2"),
    "config before AWS_REGION": (None, "ap-southeast-1", "eu-west-1", "us-east-1", None, "ap-southeast-1"),
    "--region before the config": ("ca-central-1", "ap-southeast-1", "eu-west-1", None, None, "ca-central-1"),
}


@pytest.mark.parametrize("case", list(REGION_ORDER))
def test_region_is_chosen_in_the_aws_cli_order(
    aws: realism.State, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    flag, in_config, aws_region, default_region, profile_region, expected = REGION_ORDER[case]
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    for name, value in (("AWS_REGION", aws_region), ("AWS_DEFAULT_REGION", default_region)):
        if value:
            monkeypatch.setenv(name, value)
    if profile_region:
        aws_config = tmp_path / "aws-config"
        aws_config.write_text(f"[default]\nregion = {profile_region}\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    config = tmp_path / "ic.yaml"
    config.write_text((f"region: {in_config}\n" if in_config else "") + Path(EXAMPLE).read_text())
    result = CliRunner().invoke(
        cli, [*(["--region", flag] if flag else []), "--output", "json", "plan", "-f", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["context"]["region"] == expected


def test_doctor_honours_aws_region(aws: realism.State, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    result = CliRunner().invoke(cli, ["doctor"])
    assert "no AWS Region" not in result.output
    assert f"in {REGION}, identity store" in result.output


# -- credential and session problems: one line with the fix, exit 1 -------------------------
SSO_SESSION = """[profile p]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = ap-northeast-2
sso_registration_scopes = sso:account:access
"""
SSO_LEGACY = """[profile p]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = ap-northeast-2
sso_account_id = 111122223333
sso_role_name = Admin
"""
EXPIRED_TOKEN = {
    "accessToken": "expired",
    "expiresAt": "2020-01-01T00:00:00Z",
    "region": "ap-northeast-2",
    "startUrl": "https://d-1234567890.awsapps.com/start",
}
PROFILE_PROBLEMS = {
    # case: (config file text, SSO token cache key or None, words the one line must hold)
    "SSO profile never signed in": (SSO_SESSION, None, ["has not signed in", "`aws sso login --profile p`"]),
    "SSO session token expired": (SSO_SESSION, "corp", ["has expired", "`aws sso login --profile p`"]),
    "legacy SSO token expired": (
        SSO_LEGACY,
        EXPIRED_TOKEN["startUrl"],
        ["has expired", "`aws sso login --profile p`"],
    ),
    "source_profile missing": (
        "[profile p]\nrole_arn = arn:aws:iam::111122223333:role/Admin\nsource_profile = nosuch\n",
        None,
        ["{config}:", 'source_profile "nosuch"', "Fix profile p"],
    ),
    "role without a source": (
        "[profile p]\nrole_arn = arn:aws:iam::111122223333:role/Admin\n",
        None,
        ["incomplete AWS credentials for profile p in {config}", "source_profile or credential_source"],
    ),
    "source_profile without a secret": (
        "[profile p]\nrole_arn = arn:aws:iam::111122223333:role/Admin\nsource_profile = base\n"
        "[profile base]\naws_access_key_id = AKIAEXAMPLE\n",
        None,
        ["in {config}", "aws_secret_access_key is missing"],
    ),
    "malformed config file": ("[profile p\nregion = x\n", None, ["{config} cannot be parsed", "AWS_CONFIG_FILE"]),
}


@pytest.fixture
def sso_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SSO token cache in place of ~/.aws/sso/cache (botocore fixes that path at import)."""
    from botocore.credentials import SSOProvider
    from botocore.tokens import SSOTokenProvider

    cache = tmp_path / "sso-cache"
    cache.mkdir()
    monkeypatch.setattr(SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    return cache


@pytest.mark.parametrize("case", list(PROFILE_PROBLEMS))
def test_profile_problems_are_one_line_with_the_fix(
    aws: realism.State, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sso_cache: Path, case: str
) -> None:
    import hashlib

    text, token_key, words = PROFILE_PROBLEMS[case]
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    if token_key:
        (sso_cache / f"{hashlib.sha1(token_key.encode()).hexdigest()}.json").write_text(json.dumps(EXPIRED_TOKEN))
    result = CliRunner().invoke(cli, ["--region", REGION, "--profile", "p", "plan", "-f", EXAMPLE])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for word in words:
        assert word.format(config=aws_config) in lines[0]
    assert sum(realism.STATE.calls.values()) == 0


@pytest.mark.parametrize(
    ("args", "env", "code", "words"),
    [
        (
            ["--endpoint-url", "127.0.0.1:5607"],
            {},
            EX_USAGE,  # a bad option value
            "Error: Invalid value for '--endpoint-url': it must start with http:// or https://",
        ),
        ([], {"AWS_ENDPOINT_URL": "127.0.0.1:5607"}, 1, "error: AWS_ENDPOINT_URL must start with http:// or https://"),
        (
            ["--endpoint-url", "ftp://x"],
            {},
            EX_USAGE,
            "Error: Invalid value for '--endpoint-url': it must start with http:// or https:// (got 'ftp://x')",
        ),
    ],
)
def test_endpoint_url_without_a_scheme_is_named(
    aws: realism.State, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], code: int, words: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = invoke(*args, "plan", "-f", EXAMPLE)
    assert result.exit_code == code
    assert result.output.strip().splitlines()[-1].startswith(words)
    assert realism.STATE.calls == {}


# -- unreachable and non-AWS endpoints: a clear line, in seconds -----------------------------
@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock the CLI's clients use: every backoff is recorded, none is slept."""
    clock = FakeClock()
    monkeypatch.setattr("provisioner.aws.Clock", lambda **_: clock)
    return clock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_nobody_listens_on_fails_at_once(fake_clock: FakeClock) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = invoke("--endpoint-url", url, "plan", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: GetCallerIdentity: cannot reach {url}: the connection was refused. "
        "Check --endpoint-url (or AWS_ENDPOINT_URL), the Region, and the network"
    )
    assert fake_clock.slept == [] and time.monotonic() - started < 10


class HtmlErrorPage(http.server.BaseHTTPRequestHandler):
    """Answers every request as moto's server answers one it cannot serve: an HTML 500 page."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_reply_that_is_not_aws_names_the_operation(fake_clock: FakeClock) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HtmlErrorPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = invoke("--endpoint-url", url, "doctor")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: GetCallerIdentity: ResponseParserError: the reply from {url} is not an AWS response; "
        "check --endpoint-url, AWS_ENDPOINT_URL and any proxy in between"
    )
    assert fake_clock.slept == []


# -- retry and error lines: `Operation: Code: message`, no botocore wrapper ------------------
def test_verbose_retry_lines_say_operation_code_message(aws: realism.State, fake_clock: FakeClock) -> None:
    realism.configure(throttle_rate=0.3, seed=3)
    result = invoke("-v", "--workers", "1", "plan", "-f", EXAMPLE)  # one thread: the seed decides
    assert result.exit_code == 0, result.output
    retries = [line for line in result.output.splitlines() if line.startswith("retry: ")]
    # One line per retry, each naming the wait the retrier then took.
    waits = [float(line.rsplit("(waiting ", 1)[1].rstrip("s)")) for line in retries]
    assert retries and waits == [round(s, 1) for s in fake_clock.slept]
    for line in retries:
        assert re.fullmatch(r"retry: [A-Z]\w+: ThrottlingException: Rate exceeded \(waiting \d+\.\ds\)", line), line


def test_error_line_says_operation_code_message(aws: realism.State) -> None:
    realism.configure(refuse={"ListInstances": ("ValidationException", "Invalid instance")})
    result = invoke("plan", "-f", EXAMPLE)
    assert result.exit_code == 1
    assert result.output.startswith("error: ListInstances: ValidationException: Invalid instance [request id ")


# -- bootstrap --write-config: never clobber a file, write it only after the run did its work --
SEED = ["bootstrap", "--user-name", "admin", "--email", "admin@example.com"]


def curated_config() -> str:
    """A hand-edited config, longer than the seed bootstrap would write."""
    return Path(str(EXAMPLES / "multi-team.yaml")).read_text()


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


def test_bootstrap_refuses_to_overwrite_a_different_config_before_any_call(aws: realism.State, tmp_path: Path) -> None:
    out = tmp_path / "ic.yaml"
    out.write_text(curated_config())
    result = invoke(*SEED, "--write-config", str(out), "--yes")
    assert result.exit_code == 1
    assert str(out) in result.stderr and "--force" in result.stderr
    assert out.read_text() == curated_config() and backups(out) == []
    assert realism.STATE.calls == {}


def test_bootstrap_force_replaces_the_config_and_keeps_a_backup(aws: realism.State, tmp_path: Path) -> None:
    out = tmp_path / "ic.yaml"
    out.write_text(curated_config())
    result = invoke(*SEED, "--write-config", str(out), "--force", "--yes")
    assert result.exit_code == 0, result.output
    assert [b.read_text() for b in backups(out)] == [curated_config()]
    assert invoke("plan", "-f", str(out), "--detailed-exitcode").exit_code == 0


def test_bootstrap_leaves_an_identical_config_alone(aws: realism.State, tmp_path: Path) -> None:
    out = tmp_path / "ic.yaml"
    assert invoke(*SEED, "--write-config", str(out), "--yes").exit_code == 0
    written = out.read_text()
    os.utime(out, (0, 0))  # a write would move the modification time
    again = invoke(*SEED, "--write-config", str(out), "--yes")
    assert again.exit_code == 0, again.output
    assert out.stat().st_mtime == 0 and out.read_text() == written and backups(out) == []


@pytest.mark.parametrize("failure", ["no credentials", "no instance", "refused without --yes", "declined"])
def test_bootstrap_writes_no_config_when_the_run_does_nothing(
    aws: realism.State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    out = tmp_path / "ic.yaml"
    args = [*SEED, "--write-config", str(out), "--yes"]
    if failure == "no credentials":
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(key)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    elif failure == "no instance":
        from moto.ssoadmin.models import ssoadmin_backends

        ssoadmin_backends["123456789012"][REGION].instances.clear()
    elif failure == "refused without --yes":
        args.remove("--yes")
    else:
        args.remove("--yes")
        on_a_terminal(monkeypatch)
    result = invoke(*args, input="n\n")
    assert result.exit_code == 1
    assert not out.exists() and writes() == 0


def test_bootstrap_writes_the_config_when_there_was_nothing_to_do(aws: realism.State, tmp_path: Path) -> None:
    assert invoke(*SEED, "--yes").exit_code == 0
    out = tmp_path / "ic.yaml"
    result = invoke(*SEED, "--write-config", str(out), "--yes")
    assert result.exit_code == 0 and "No changes" in result.stdout
    assert out.exists() and str(out) in result.stderr


def test_bootstrap_writes_the_config_after_a_partly_failed_apply(aws: realism.State, tmp_path: Path) -> None:
    """The work was done in part: the config is what `apply -f` needs to finish it."""
    realism.configure(fail_assignment=lambda payload: "Role quota exceeded")
    out = tmp_path / "ic.yaml"
    result = invoke(*SEED, "--write-config", str(out), "--yes")
    assert result.exit_code == 1 and "Role quota exceeded" in result.stdout
    realism.configure()
    assert invoke("apply", "-f", str(out), "--yes").exit_code == 0
    assert invoke("plan", "-f", str(out), "--detailed-exitcode").exit_code == 0


def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner's stdin says it is a terminal, so apply asks instead of refusing."""
    import click.testing

    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True)


# -- --output json: every command prints exactly one JSON document on stdout -------------
JSON_RUNS: dict[str, list[str]] = {
    "plan": ["plan", "-f", EXAMPLE],
    "plan of a missing config": ["plan", "-f", "{tmp}/missing.yaml"],
    "apply": ["apply", "-f", EXAMPLE, "--yes"],
    "apply without --yes": ["apply", "-f", EXAMPLE],
    "apply declined at the prompt": ["apply", "-f", EXAMPLE],
    "apply with a failed request": ["apply", "-f", EXAMPLE, "--yes"],
    "destroy": ["destroy", "-f", EXAMPLE, "--yes"],
    "expire": ["expire", "-f", EXAMPLE, "--yes"],
    "bootstrap": [*SEED, "--write-config", "{tmp}/ic.yaml", "--yes"],
    "bootstrap refusing to overwrite": [*SEED, "--write-config", EXAMPLE, "--yes"],
    "export": ["export"],
    "export -o": ["export", "-o", "{tmp}/ic.yaml"],
    "doctor": ["doctor"],
    "sso-config": ["sso-config", "-f", EXAMPLE],
    "sso-config --write": ["sso-config", "-f", EXAMPLE, "--write", "{tmp}/config"],
    "sso-config --all-users": ["sso-config", "-f", EXAMPLE, "--all-users", "--write", "{tmp}/profiles"],
    "access": ["access", "-f", EXAMPLE],
    "access with a filter naming nothing": ["access", "--user", "nobody"],
    "schema": ["schema"],
}


@pytest.mark.parametrize("case", list(JSON_RUNS))
def test_json_mode_prints_one_document_and_nothing_else(
    aws: realism.State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    if case.startswith(("destroy", "export", "sso-config", "access")):
        assert invoke("apply", "-f", EXAMPLE, "--yes").exit_code == 0
    if case == "apply declined at the prompt":
        on_a_terminal(monkeypatch)
    if case == "apply with a failed request":
        realism.configure(fail_assignment=lambda payload: "Role quota exceeded")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in JSON_RUNS[case]]
    result = invoke("--output", "json", *args, input="n\n")
    document = json.loads(result.stdout)  # fails on anything else on stdout
    assert isinstance(document, dict)
    if result.exit_code != 0:
        assert result.stderr.strip(), "a failure says why on stderr"


# -- usage errors: their own exit code, never 2 (changes pending) ------------------------
USAGE_ERRORS = {
    "typo'd flag": ["plan", "-f", EXAMPLE, "--detailed-exitcode", "--prnue"],
    "typo'd flag itself": ["plan", "-f", EXAMPLE, "--detailed-exitcod"],
    "missing required option": ["plan", "--detailed-exitcode"],
    "bad choice": ["--output", "yaml", "plan", "-f", EXAMPLE, "--detailed-exitcode"],
    "bad value": ["--workers", "0", "plan", "-f", EXAMPLE, "--detailed-exitcode"],
    "unknown command": ["pla", "-f", EXAMPLE, "--detailed-exitcode"],
    "unknown global flag": ["--regoin", REGION, "plan", "-f", EXAMPLE, "--detailed-exitcode"],
    "no command": [],
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_usage_errors_exit_64_not_2(aws: realism.State, case: str) -> None:
    result = CliRunner().invoke(cli, USAGE_ERRORS[case])
    assert result.exit_code == EX_USAGE, result.output
    assert "Usage:" in result.stderr and result.stdout == ""
    assert realism.STATE.calls == {}


@pytest.mark.parametrize(
    "args",
    [
        ["--output", "json", "plan", "-f", EXAMPLE, "--prnue"],
        ["--output=json", "--bogus", "plan"],
        ["--output", "json", "plna"],
        ["--output", "json", "bootstrap", "--email", "admin@example.com"],
    ],
)
def test_usage_error_in_json_mode_is_a_json_document(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == EX_USAGE
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "usage" and error["message"] and "Usage:" in result.stderr
    assert set(json.loads(result.stdout)) == {"error"}


def test_usage_exit_code_is_in_the_help() -> None:
    assert "64 usage error" in " ".join(CliRunner().invoke(cli, ["--help"]).output.split())


def test_the_installed_command_exits_64_on_a_usage_error() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "provisioner", "plan", "-f", EXAMPLE, "--detailed-exitcod"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == EX_USAGE and "--detailed-exitcode" in run.stderr


def test_bootstrap_shows_no_profile_for_an_assignment_it_failed_to_make(aws: realism.State) -> None:
    realism.configure(fail_assignment=lambda payload: "Role quota exceeded")
    result = invoke(*SEED, "--yes")
    assert result.exit_code == 1 and "Role quota exceeded" in result.stdout
    assert "[profile " not in result.stdout and "aws sso login" not in result.stdout
