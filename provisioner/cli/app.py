"""The command group: global options, and the one place errors and usage mistakes become
messages and exit codes. The CLI package is the only code that imports click."""

from __future__ import annotations

import json
import sys
import traceback
from typing import Any, NoReturn

import click

from ..commands.common import Options
from ..errors import AwsError, ConfigError, ProvisionerError
from .progress import ProgressLine

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
# A mistyped flag must not read as "changes pending" (2, click's own usage code) in CI:
# usage errors exit EX_USAGE from sysexits.h, the one standard code for them.
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
NOTHING_CHANGED = "interrupted: nothing was changed"


class State:
    """What the global options say: the command options, and how to show things."""

    def __init__(
        self, options: Options, output: str, verbose: int, debug: bool, progress_line: ProgressLine | None = None
    ) -> None:
        self.options, self.output, self.verbose, self.debug = options, output, verbose, debug
        self.progress_line = progress_line  # on a terminal, while a command changes AWS

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def color(self) -> bool:
        return not self.json and sys.stdout.isatty()


def interrupted_document(message: str) -> str:
    return json.dumps({"error": {"type": "Interrupted", "message": message}, "interrupted": True}, indent=2)


def say(message: str) -> None:
    click.echo(message, err=True)


def exit_with(code: int) -> NoReturn:
    click.get_current_context().exit(code)


class ProvisionerGroup(click.Group):
    """Turns every error into one message and an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            # Ctrl-C before anything changed: while a command changes AWS, its own handler
            # (_ctrl_c_stops) takes Ctrl-C instead.
            state = ctx.find_object(State)
            say(NOTHING_CHANGED)
            if state and state.json:
                click.echo(interrupted_document(NOTHING_CHANGED))
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # the one place errors become messages
            state = ctx.find_object(State)
            debug = bool(state and state.debug)
            if debug:
                traceback.print_exc()
            exc = _as_provisioner_error(exc)
            if isinstance(exc, ProvisionerError):
                message = str(exc) if isinstance(exc, ConfigError) else f"error: {exc}"
                code = exc.exit_code
            else:
                message = f"internal error: {type(exc).__name__}: {exc}" + (
                    "" if debug else " (run with --debug for the traceback)"
                )
                code = EXIT_ERROR
            say(message)
            if state and state.json:
                click.echo(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}, indent=2))
            ctx.exit(code)


def _as_provisioner_error(exc: Exception) -> Exception:
    """A botocore error that escaped the clients, as the one-line error it stands for."""
    if isinstance(exc, ProvisionerError) or "botocore" not in sys.modules:
        return exc
    from ..aws import translate

    translated = translate(exc)
    return translated if isinstance(translated, ProvisionerError) else exc


class BadUsage(click.UsageError):
    """A usage error (unknown command or option, missing or bad value) that exits EXIT_USAGE,
    and in JSON mode also prints a JSON error document on stdout."""

    exit_code = EXIT_USAGE

    def __init__(self, cause: click.UsageError, json_mode: bool) -> None:
        message = "Missing command." if isinstance(cause, click.exceptions.NoArgsIsHelpError) else None
        super().__init__(message or cause.format_message(), cause.ctx)
        self.cause = cause
        self.json_mode = json_mode

    def show(self, file: Any = None) -> None:
        self.cause.show(file)
        if self.json_mode:
            click.echo(json.dumps({"error": {"type": "usage", "message": self.format_message()}}, indent=2))


def _json_requested(args: list[str]) -> bool:
    """Whether `--output json` is among the arguments (read before or without parsing them)."""
    value = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--output" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--output="):
            value = arg.split("=", 1)[1]
    return value == "json"


class CommandLine(ProvisionerGroup):
    """The top command: click's usage errors become BadUsage, whether they arise parsing the
    global options (make_context) or naming and parsing a command (invoke)."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        given = list(args)  # parsing consumes `args`
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise BadUsage(exc, _json_requested(given)) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise BadUsage(exc, ctx.params.get("output") == "json") from None


@click.group(cls=CommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile to use (prefer an IAM Identity Center profile).")
@click.option(
    "--region",
    help="Region of IAM Identity Center. Default: config `region:`, then AWS_REGION, "
    "AWS_DEFAULT_REGION, the profile's region.",
)
@click.option("--endpoint-url", help="Send every AWS call here (a local moto endpoint, for example).")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json prints one document on stdout for scripts.",
)
@click.option("-v", "--verbose", count=True, help="Show retries and progress details on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--max-rps",
    type=click.FloatRange(min=0.1),
    default=20.0,
    show_default=True,
    help="Requests per second per service, shared by all threads (the AWS quota).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="Threads that make independent calls at once (within --max-rps).",
)
@click.option(
    "--retry-budget",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="How long one call is retried on throttling, 5xx and dropped connections (0: never).",
)
@click.version_option(package_name="provisioner")
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    output: str,
    verbose: int,
    debug: bool,
    max_rps: float,
    workers: int,
    retry_budget: float,
) -> None:
    """Bootstrap AWS IAM Identity Center and keep it in the shape a config file declares.

    \b
    First run on a new account (no config file needed):
      provisioner bootstrap --user-name alice --email alice@example.com
    Then keep it declared:
      provisioner plan  -f identity-center.yaml      # what would change, read-only
      provisioner apply -f identity-center.yaml      # make it so (asks first)

    Every run is idempotent: a second apply of the same config changes nothing. Nothing
    is deleted unless you ask: `apply --prune` removes what provisioner created and the
    config dropped; `destroy` removes what the config declares.

    \b
    Exit codes: 0 success, 1 error (config, AWS, or a failed request),
                2 changes pending (plan --detailed-exitcode),
                64 usage error (unknown command or option, missing or bad value),
                130 interrupted (Ctrl-C).
    """
    # Progress is for people watching: a line on a terminal, silent in JSON and in logs
    # (where -v writes a line as each phase ends).
    progress_line = ProgressLine(sys.stderr) if sys.stderr.isatty() and output != "json" else None

    def on_retry(what: str, exc: BaseException, delay: float) -> None:
        if verbose:
            line = exc.summary if isinstance(exc, AwsError) else f"{what}: {type(exc).__name__}: {exc}"
            say(f"retry: {line} (waiting {delay:.1f}s)")

    def progress(phase: str, done: int, total: int) -> None:
        if progress_line is not None:
            progress_line(phase, done, total)
        elif verbose and done == total:
            say(f"{phase}: {done}/{total} done")

    options = Options(profile, region, endpoint_url, max_rps, workers, retry_budget, on_retry, progress)
    ctx.obj = State(options, output, verbose, debug, progress_line)
