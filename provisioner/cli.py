"""The command line: parse, call a command (provisioner/commands), render what it returns
(report.py), and map errors and results to exit codes, in one place.

This is the only module that imports click. boto3 is imported lazily so `--help` is instant.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .commands.bootstrap import BootstrapRequest, flag
from .commands.common import Options
from .errors import AwsError, ConfigError, ProvisionerError

if TYPE_CHECKING:
    from .commands.change import ChangeRequest, Decision
    from .plan import Plan
    from .runner import Runner

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
# A mistyped flag must not read as "changes pending" (2, click's own usage code) in CI:
# usage errors exit EX_USAGE from sysexits.h, the one standard code for them.
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
NOTHING_CHANGED = "interrupted: nothing was changed"


class State:
    """What the global options say: the command options, and how to show things."""

    def __init__(self, options: Options, output: str, verbose: int, debug: bool) -> None:
        self.options, self.output, self.verbose, self.debug = options, output, verbose, debug

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def color(self) -> bool:
        return not self.json and sys.stdout.isatty()


def _err(message: str) -> None:
    click.echo(message, err=True)


def _exit(code: int) -> NoReturn:
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
            _err(NOTHING_CHANGED)
            if state and state.json:
                click.echo(_interrupted_document(NOTHING_CHANGED))
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
            _err(message)
            if state and state.json:
                click.echo(json.dumps({"error": {"type": type(exc).__name__, "message": str(exc)}}, indent=2))
            ctx.exit(code)


def _as_provisioner_error(exc: Exception) -> Exception:
    """A botocore error that escaped the clients, as the one-line error it stands for."""
    if isinstance(exc, ProvisionerError) or "botocore" not in sys.modules:
        return exc
    from .aws import translate

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
    progress_on_terminal = sys.stderr.isatty() and output != "json"

    def on_retry(what: str, exc: BaseException, delay: float) -> None:
        if verbose:
            line = exc.summary if isinstance(exc, AwsError) else f"{what}: {type(exc).__name__}: {exc}"
            _err(f"retry: {line} (waiting {delay:.1f}s)")

    def progress(phase: str, done: int, total: int) -> None:
        if progress_on_terminal:
            click.echo(f"\r  {phase}: {done}/{total} finished", nl=done == total, err=True)
        elif verbose:
            _err(f"{phase}: {done}/{total} finished")

    options = Options(profile, region, endpoint_url, max_rps, workers, retry_budget, on_retry, progress)
    ctx.obj = State(options, output, verbose, debug)


# -- asking, Ctrl-C, and showing: the CLI's side of a command that changes AWS ----------------
def _interrupted_document(message: str) -> str:
    return json.dumps({"error": {"type": "Interrupted", "message": message}, "interrupted": True}, indent=2)


def _write_now(stream: Any, text: str) -> None:
    """Write from a signal handler: straight to the file descriptor, never re-entering the
    buffered stream that the interrupted code may be writing (a test's stream has none)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        stream.write(text)
        stream.flush()
        return
    os.write(fd, text.encode())


class TerminalHooks:
    """How a command that changes AWS shows its plan, asks, and takes Ctrl-C."""

    def __init__(self, state: State, when_empty: str | None = None) -> None:
        self.state, self.when_empty = state, when_empty

    def planned(self, runner: Runner, plan: Plan) -> None:
        from . import report

        if not self.state.json:
            click.echo(report.render_plan(plan, runner.ctx, self.state.color, self.when_empty or report.NO_CHANGES))

    def confirm(self, runner: Runner, plan: Plan) -> Decision:
        from . import report
        from .commands.change import Decision

        if not sys.stdin.isatty():
            return Decision.NO_TERMINAL
        deletions = plan.counts()["delete"]
        warning = f", including {deletions} deletion(s)" if deletions else ""
        if self.state.json:  # stdout is for the document: show the plan being confirmed here
            _err(report.render_plan(plan, runner.ctx))
        try:
            confirmed = click.confirm(f"Apply these {len(plan.changes)} changes{warning}?", err=True)
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None  # Ctrl-C at the question: nothing was changed
        return Decision.GO if confirmed else Decision.DECLINED

    @contextmanager
    def changing(self, runner: Runner) -> Iterator[None]:
        """While a command changes AWS, the first Ctrl-C cancels the run: nothing new starts,
        the requests in flight are polled a few seconds more, and the summary follows. A
        second Ctrl-C exits at once."""
        if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
            yield
            return
        cancel, grace = runner.clients.cancel, runner.settings.poll.interrupt_grace
        json_mode = self.state.json

        def on_sigint(signum: int, frame: object) -> None:
            if not cancel.cancelled:
                cancel.cancel()
                _write_now(
                    sys.stderr,
                    f"\ninterrupted: starting nothing new; waiting up to {grace:g}s for the requests in flight "
                    "(Ctrl-C again to quit at once)\n",
                )
                return
            message = (
                "interrupted again: quitting now. Requests in flight may still finish: "
                "run `provisioner plan` to see where things stand."
            )
            _write_now(sys.stderr, message + "\n")
            if json_mode:
                _write_now(sys.stdout, _interrupted_document(message) + "\n")
            os._exit(EXIT_INTERRUPTED)  # at once: not even the worker threads are waited for

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _change(state: State, runner: Runner, request: ChangeRequest, when_empty: str | None = None) -> NoReturn:
    """Plan, show, confirm, apply, report, hand off; the exit code says how it went."""
    from . import report
    from .commands.change import change

    result = change(runner, request, TerminalHooks(state, when_empty))
    if result.refused:
        _err(result.refused)
    if written := result.extra.get("config_file"):
        kept = f" (backup: {written['backup']})" if written["backup"] else ""
        done = f"wrote {written['path']}{kept}" if written["changed"] else f"{written['path']} is already this config"
        _err(f"{done}: run `provisioner plan -f {written['path']}` any time to check for drift")
    if state.json:
        if result.result is not None and not result.result.ok and not result.interrupted:
            failed = result.result.failed
            _err(f"{len(failed)} change(s) failed, {len(result.result.errors)} error(s): see result in the document")
        click.echo(report.change_document(result))
    else:
        if result.result is not None:
            click.echo("")
            click.echo(report.render_result(result.result, result.plan, state.color))
        if result.handoff is not None:
            click.echo("")
            click.echo(result.handoff.text)
    _exit(EXIT_INTERRUPTED if result.interrupted else EXIT_OK if result.ok else EXIT_ERROR)


config_option = click.option(
    "-f",
    "--file",
    "config_path",
    required=True,
    type=click.Path(dir_okay=True),
    help="Config file (YAML or JSON). See examples/identity-center-admin.yaml.",
)


def change_options(fn: Any) -> Any:
    """Options of the commands that change AWS: polling bounds, root refusal, portal URL."""
    options = [
        click.option(
            "--portal-url",
            default=None,
            metavar="URL",
            help="Access portal URL to print (default: config portal_url, else "
            "https://<identity store id>.awsapps.com/start).",
        ),
        click.option(
            "--allow-root",
            is_flag=True,
            help="Allow running as the root user (refused otherwise; use it once at most).",
        ),
        click.option(
            "--poll-interval",
            type=click.FloatRange(min=0.01),
            default=None,
            metavar="SECONDS",
            help="First wait before polling asynchronous requests; it grows to 5s (default 1).",
        ),
        click.option(
            "--poll-timeout",
            type=click.FloatRange(min=1),
            default=None,
            metavar="SECONDS",
            help="Give up waiting for an asynchronous request after this long (default 900).",
        ),
    ]
    for option in options:
        fn = option(fn)
    return fn


# -- commands ----------------------------------------------------------------------------
@cli.command()
@config_option
@click.option("--prune", is_flag=True, help="Also show what apply --prune would delete.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on error "
    "(64 on a usage error, so a mistyped flag never reads as changes).",
)
@click.pass_obj
def plan(state: State, config_path: str, prune: bool, detailed_exitcode: bool) -> None:
    """Show what apply would change. Read-only: makes no write call.

    \b
    Example:
      provisioner plan -f examples/identity-center-admin.yaml --detailed-exitcode
    """
    from . import report
    from .commands.plan import plan as plan_command

    result = plan_command(state.options, config_path, prune)
    if state.json:
        click.echo(report.document("plan", result.ctx, result.plan, api_calls=result.api_calls))
        if result.plan.errors:
            _err(f"the plan has {len(result.plan.errors)} error(s): " + "; ".join(result.plan.errors))
    else:
        click.echo(report.render_plan(result.plan, result.ctx, state.color))
    if result.plan.errors:
        _exit(EXIT_ERROR)
    if detailed_exitcode and not result.plan.empty:
        _exit(EXIT_CHANGES)


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (needed when stdin is not a terminal).")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete what this config owns (its name: tags its sets) and no longer declares (shown in the plan).",
)
@change_options
@click.pass_obj
def apply(
    state: State,
    config_path: str,
    yes: bool,
    prune: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
) -> None:
    """Make IAM Identity Center match the config.

    Shows the plan first and asks on a terminal. Deletions (--prune only) go first;
    then groups and users beside permission sets, then memberships beside one
    provisioning per changed set and the account assignments, polled to completion.
    A failed request is reported with its reason and request id; the rest still runs
    and the exit code is 1.

    \b
    Example:
      provisioner apply -f examples/identity-center-admin.yaml --yes
    """
    from .commands.change import ChangeRequest
    from .commands.common import load, runner

    config = load(config_path, prune)
    run = runner(state.options, config, poll_timeout, poll_interval)
    _change(state, run, ChangeRequest("apply", yes, allow_root, portal_url, prune=prune))


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Delete without asking (needed when stdin is not a terminal).")
@change_options
@click.pass_obj
def destroy(
    state: State,
    config_path: str,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
) -> None:
    """Delete what the config declares, in reverse order.

    Account assignments first (polled until their deletion SUCCEEDED), then permission
    sets, memberships, users and groups. Every assignment of a declared permission set
    goes, also one the config does not declare (AWS refuses to delete a set that keeps
    one; the plan marks it "not in the config"). Users from an external identity
    provider are never deleted. Otherwise only what the config names is touched; safe
    to run again, also after an interrupted run.

    \b
    Example:
      provisioner destroy -f identity-center.yaml
    """
    from . import report
    from .commands.change import ChangeRequest
    from .commands.common import load, runner

    run = runner(state.options, load(config_path), poll_timeout, poll_interval)
    request = ChangeRequest("destroy", yes, allow_root, portal_url, destroy=True)
    _change(state, run, request, report.NOTHING_TO_DESTROY)


def bootstrap_options(fn: Any) -> Any:
    """bootstrap's options, made from the fields of BootstrapRequest (declared once there)."""
    for parameter in reversed(fields(BootstrapRequest)):
        meta = parameter.metadata
        # Only a real default is passed: click (8.3 and later) takes default=None as a value
        # given, and would not ask for a required option.
        default: dict[str, Any] = {}
        if parameter.default is not None and not meta["repeatable"]:
            default["default"] = parameter.default
        fn = click.option(
            flag(parameter.name),
            parameter.name,
            required=meta["required"],
            show_default=bool(default),
            multiple=meta["repeatable"],
            metavar=meta["metavar"] or None,
            help=meta["help"],
            **default,
        )(fn)
    return fn


@cli.command()
@bootstrap_options
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the equivalent config file, to keep in version control. Written once the "
    "run has applied its plan (or found nothing to do); an existing, different file is refused "
    "unless --force.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --write-config: replace an existing file that differs, keeping a timestamped backup.",
)
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@change_options
@click.pass_obj
def bootstrap(
    state: State,
    write_config: str | None,
    force: bool,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
    **parameters: Any,
) -> None:
    """Do the whole console walkthrough in one command, no config file needed.

    Checks IAM Identity Center is enabled, then creates (or adopts) an admin group, a
    user in it, a permission set with the AWS managed policies that administer IAM
    Identity Center, and assigns the set to the group on the account. Safe to run again.

    \b
    Example:
      provisioner --region ap-northeast-2 bootstrap \\
          --user-name admin --email admin@example.com --yes
    """
    from pathlib import Path

    from .commands.bootstrap import config_of, config_writer
    from .commands.change import ChangeRequest
    from .commands.common import runner

    request = BootstrapRequest(**parameters)
    config = config_of(request)
    after_apply = config_writer(Path(write_config), request.document(), force) if write_config else None
    run = runner(state.options, config, poll_timeout, poll_interval)
    change = ChangeRequest(
        "bootstrap", yes, allow_root, portal_url, sso_user=request.user_name, after_apply=after_apply
    )
    _change(state, run, change)


@cli.command()
@click.option(
    "-f",
    "--file",
    "config_path",
    default=None,
    type=click.Path(dir_okay=True),
    help="Check this config too (and use its region:).",
)
@click.pass_obj
def doctor(state: State, config_path: str | None) -> None:
    """Check the security posture and that everything is ready, with a fix for each problem.

    \b
    caller                who is calling; FAIL for root, WARN for long-term access keys
    root MFA / keys       the root user has MFA and no access keys
    IAM Identity Center   an ACTIVE organization instance here (else, where it is)
    organization          management account, member, or standalone
    permissions           the actions a run needs

    Exit 1 if any check FAILs.
    """
    from . import doctor as checks
    from .commands.common import clients, load

    config = load(config_path) if config_path else None
    results = checks.run(clients(state.options, config.region if config else None))
    failed = [c.name for c in results if c.status == checks.FAIL]
    if state.json:
        click.echo(json.dumps({"command": "doctor", "checks": [c.to_json() for c in results]}, indent=2))
        if failed:
            _err(f"doctor: {len(failed)} check(s) FAILED: {', '.join(failed)}")
    else:
        click.echo(checks.render(results))
    _exit(EXIT_ERROR if failed else EXIT_OK)


@cli.command("sso-config")
@config_option
@click.option("--user", default=None, help="Only the profiles this user can reach (default: every declared user).")
@click.option("--session-name", default="identity-center", show_default=True, help="Name of the sso-session section.")
@click.option("--portal-url", default=None, metavar="URL", help="Access portal URL (default as for apply).")
@click.option(
    "--write",
    "write_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Merge into this file (e.g. ~/.aws/config), keeping other sections and a backup.",
)
@click.pass_obj
def sso_config(
    state: State, config_path: str, user: str | None, session_name: str, portal_url: str | None, write_path: str | None
) -> None:
    """Print the ~/.aws/config text for signing in with the AWS CLI: one sso-session and one
    profile per (permission set x account) a user reaches through groups or directly.

    \b
    Example:
      provisioner sso-config -f identity-center.yaml --user admin --write ~/.aws/config
      aws sso login --profile IdentityCenterAdmin-111122223333
    """
    from .commands.sso_config import sso_config as sso_config_command

    result = sso_config_command(state.options, config_path, user, session_name, portal_url, write_path)
    if written := result.written:
        backup = f" (backup: {written['backup']})" if written["backup"] else ""
        _err(f"{'updated' if written['changed'] else 'already up to date:'} {written['path']}{backup}")
    if state.json:
        document = {
            "command": "sso-config",
            "portal_url": result.portal_url,
            "text": result.text,
            "profiles": result.profiles,
            "written": result.written,
        }
        click.echo(json.dumps(document, indent=2))
    elif not write_path:
        click.echo(result.text, nl=False)


@cli.command()
@click.option(
    "-o",
    "--output-file",
    "output_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write the config here (default: stdout): JSON when FILE ends in .json, else YAML.",
)
@click.option(
    "--permission-set",
    "permission_sets",
    multiple=True,
    metavar="NAME",
    help="Only this permission set (repeatable) and its assignments.",
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="NAME",
    help="Only this group (repeatable), its members, the permission sets assigned to it, and those assignments.",
)
@click.pass_obj
def export(state: State, output_file: str | None, permission_sets: tuple[str, ...], groups: tuple[str, ...]) -> None:
    """Write the live instance as a config file that `plan` finds clean.

    Policies by short name where they are AWS managed, inline policies as YAML mappings,
    assignments grouped by permission set and principal. Read-only. With --output json the
    config is printed as JSON, or, with -o, written and summarised in JSON (path, counts).

    \b
    Example:
      provisioner export -o identity-center.yaml
      provisioner plan -f identity-center.yaml --detailed-exitcode    # exits 0
    """
    from .commands.export import export as export_command

    result = export_command(state.options, output_file, permission_sets, groups, as_json=state.json)
    for warning in result.warnings:
        _err(f"warning: {warning}")
    if not output_file:
        click.echo(result.text, nl=False)
    elif state.json:
        summary = {"command": "export", "path": output_file, "format": result.format, "counts": result.counts}
        click.echo(json.dumps(summary, indent=2))
    else:
        _err(f"wrote {output_file}: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in result.counts.items()))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the config file (for editors and CI linters)."""
    from . import config

    click.echo(json.dumps(config.json_schema(), indent=2))


def main() -> None:
    cli(prog_name="provisioner")
