"""The command group: global options, and the one place errors and usage mistakes become
messages and exit codes. The CLI package is the only code that imports click."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import click

from ..commands.common import Options
from ..errors import AccessError, AwsError, ConfigError, Interrupted, PreflightError, ProvisionerError, UsageProblem
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


# The `type` of a JSON error document, one word each: what went wrong, not a class name.
USAGE, INTERRUPTED, INTERNAL = "usage", "interrupted", "internal"
ERROR_TYPES: tuple[tuple[type[Exception], str], ...] = (
    (ConfigError, "config"),
    # Before AwsError: an AWS AccessDenied or expired token is an AwsAccessError, both at once.
    (AccessError, "access"),  # credentials, permissions, Region, endpoint: the run could not go on
    (AwsError, "aws"),
    (PreflightError, "preflight"),
    (UsageProblem, USAGE),
    (Interrupted, INTERRUPTED),
    (ProvisionerError, "error"),
)


def error_type(exc: Exception) -> str:
    return next((name for cls, name in ERROR_TYPES if isinstance(exc, cls)), INTERNAL)


def error_document(kind: str, message: str, **extra: Any) -> str:
    """The JSON document of a command that failed: {"error": {"type", "message"}}."""
    return json.dumps({"error": {"type": kind, "message": message}, **extra}, indent=2)


def interrupted_document(message: str) -> str:
    return error_document(INTERRUPTED, message, interrupted=True)


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
            # (TerminalHooks._ctrl_c_cancels) takes Ctrl-C instead.
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
                click.echo(error_document(error_type(exc), str(exc)))
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

    def __init__(self, cause: click.UsageError, json_mode: bool, hint: str = "") -> None:
        message = "Missing command." if isinstance(cause, click.exceptions.NoArgsIsHelpError) else None
        if hint:
            cause = click.UsageError(f"{cause.format_message()}\n{hint}", cause.ctx)
        super().__init__(message or cause.format_message(), cause.ctx)
        self.cause = cause
        self.json_mode = json_mode

    def show(self, file: Any = None) -> None:
        self.cause.show(file)
        if self.json_mode:
            click.echo(error_document(USAGE, self.format_message()))


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


# In the top context's meta: whether `--output json` is among the arguments, and the arguments.
JSON_REQUESTED, ARGUMENTS = "provisioner.json", "provisioner.args"


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

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Known before the options are processed: --version answers in JSON too.
        ctx.meta[JSON_REQUESTED] = _json_requested(args)
        ctx.meta[ARGUMENTS] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            hint = self._global_option_hint(exc, ctx.meta.get(ARGUMENTS, []))
            raise BadUsage(exc, bool(ctx.meta.get(JSON_REQUESTED)), hint) from None

    def _global_option_hint(self, exc: click.UsageError, args: list[str]) -> str:
        """Where an option of provisioner itself given after the command goes."""
        name = exc.option_name if isinstance(exc, click.NoSuchOption) else None
        option = next((p for p in self.params if name in p.opts + p.secondary_opts), None)
        if name is None or option is None or exc.ctx is None:
            return ""
        given = [name]
        for i, arg in enumerate(args):
            if arg.startswith(name + "="):
                given = [arg]
            elif arg == name and not (isinstance(option, click.Option) and option.is_flag) and i + 1 < len(args):
                given = [name, args[i + 1]]
        return (
            f"{name} is an option of provisioner itself: give it before the command, "
            f"as in `provisioner {' '.join(given)} {exc.ctx.info_name} ...`"
        )


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """--version: `provisioner, version 0.1.0`, or a JSON document with --output json."""
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    installed = version("provisioner")
    if ctx.meta.get(JSON_REQUESTED):
        click.echo(json.dumps({"command": "version", "version": installed}, indent=2))
    else:
        click.echo(f"{ctx.info_name}, version {installed}")
    ctx.exit()


def checked(check: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback that holds an option's value to the library's own rule (`check` raises
    ValueError, or a ProvisionerError): a bad value is a usage error, exit 64, before any call."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            check(value)
        except (ValueError, ProvisionerError) as exc:
            raise click.BadParameter(str(exc)) from None
        return value

    return callback


def region_rule(value: str) -> None:
    from ..config import check_region

    check_region(value)


def portal_url_rule(value: str) -> None:
    from ..config import check_portal_url

    try:
        check_portal_url(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} {exc}") from None


def endpoint_url_rule(value: str) -> None:
    from ..aws import check_endpoint_url

    check_endpoint_url(value, "it")


@click.group(cls=CommandLine, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile to use (prefer an IAM Identity Center profile).")
@click.option(
    "--region",
    callback=checked(region_rule),
    help="Region of IAM Identity Center. Default: config `region:`, then AWS_REGION, "
    "AWS_DEFAULT_REGION, the profile's region.",
)
@click.option(
    "--endpoint-url",
    callback=checked(endpoint_url_rule),
    help="Send every AWS call here (a local moto endpoint, for example): http:// or https://.",
)
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
    default=Options.max_rps,
    show_default=True,
    help="Requests per second to each AWS service (sso-admin and identitystore each get this many), "
    "shared by all threads: AWS's quota is per service.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=32),
    default=Options.workers,
    show_default=True,
    help="Threads that make independent calls at once (within --max-rps).",
)
@click.option(
    "--retry-budget",
    type=click.FloatRange(min=0),
    default=Options.retry_budget,
    show_default=True,
    metavar="SECONDS",
    help="How long one call is retried on throttling, 5xx and dropped connections (0: never).",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
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
    config dropped; `destroy` removes what the config declares; an assignment's `until`
    that has passed makes `apply` (or `expire`) remove it.

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
