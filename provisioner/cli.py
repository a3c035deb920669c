"""The command line: parse, build the clients, call the runner, render, map errors to exit codes.

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from .errors import AwsError, ConfigError, ProvisionerError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .aws import Clients
    from .config import Config
    from .plan import ApplyResult, Plan
    from .retry import Cancellation
    from .runner import Runner

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
# A mistyped flag must not read as "changes pending" (2, click's own usage code) in CI:
# usage errors exit EX_USAGE from sysexits.h, the one standard code for them.
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
NOTHING_CHANGED = "interrupted: nothing was changed"

SEED_POLICIES = (
    "AWSSSOMasterAccountAdministrator",
    "AWSSSOMemberAccountAdministrator",
    "AWSSSODirectoryAdministrator",
)


@dataclass
class Options:
    profile: str | None
    region: str | None
    endpoint_url: str | None
    output: str
    verbose: int
    debug: bool
    max_rps: float = 20.0
    workers: int = 4
    retry_budget: float = 300.0

    @property
    def json(self) -> bool:
        return self.output == "json"


def _err(message: str) -> None:
    click.echo(message, err=True)


class ProvisionerGroup(click.Group):
    """Turns every error into one message and an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            # Ctrl-C before anything changed: once a command changes AWS, its own handler
            # (_ctrl_c_stops) takes Ctrl-C instead.
            opts = ctx.find_object(Options)
            _err(NOTHING_CHANGED)
            if opts and opts.json:
                click.echo(_interrupted_document(NOTHING_CHANGED))
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # the one place errors become messages
            opts = ctx.find_object(Options)
            debug = bool(opts and opts.debug)
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
            if opts and opts.json:
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
    ctx.obj = Options(profile, region, endpoint_url, output, verbose, debug, max_rps, workers, retry_budget)


# -- shared plumbing ---------------------------------------------------------------------
def _clients(opts: Options, config_region: str | None = None, cancel: Cancellation | None = None) -> Clients:
    from .aws import Clients, ClientSettings
    from .retry import RetrySettings

    def on_retry(what: str, exc: BaseException, delay: float) -> None:
        if opts.verbose:
            line = exc.summary if isinstance(exc, AwsError) else f"{what}: {type(exc).__name__}: {exc}"
            _err(f"retry: {line} (waiting {delay:.1f}s)")

    settings = ClientSettings(
        region=opts.region or config_region,
        profile=opts.profile,
        endpoint_url=opts.endpoint_url,
        sso_admin_tps=opts.max_rps,
        identity_store_tps=opts.max_rps,
        retry=RetrySettings(deadline=opts.retry_budget),
    )
    return Clients.from_settings(settings, on_retry=on_retry, cancel=cancel)


def _runner(
    opts: Options, config: Config, poll_timeout: float | None = None, poll_interval: float | None = None
) -> Runner:
    from .retry import Cancellation, PollSettings
    from .runner import Runner, RunSettings

    poll = PollSettings()
    if poll_timeout:
        poll = replace(poll, timeout=poll_timeout)
    if poll_interval:
        poll = replace(poll, first_delay=poll_interval)
    settings = RunSettings(poll=poll, workers=opts.workers)
    color = sys.stderr.isatty() and not opts.json

    def progress(phase: str, done: int, total: int) -> None:
        if color:
            click.echo(f"\r  {phase}: {done}/{total} finished", nl=done == total, err=True)
        elif opts.verbose:
            _err(f"{phase}: {done}/{total} finished")

    return Runner(_clients(opts, config.region, Cancellation()), config, settings, progress=progress)


def _load(path: str, prune: bool = False) -> Config:
    from . import config

    loaded = config.load(path)
    if prune:
        config.check_prunable(loaded, path)
    return loaded


def _calls(runner: Runner) -> dict[str, int]:
    """API calls this run made, by service:Operation (retries included)."""
    return dict(sorted(runner.clients.log.counts.items()))


def _color(opts: Options) -> bool:
    return not opts.json and sys.stdout.isatty()


def _show_plan(opts: Options, runner: Runner, plan: Plan, when_empty: str | None = None) -> None:
    from . import report

    if not opts.json:
        click.echo(report.render_plan(plan, runner.ctx, _color(opts), when_empty or report.NO_CHANGES))


def _apply(
    opts: Options,
    runner: Runner,
    yes: bool,
    command: str,
    allow_root: bool,
    portal: str | None,
    sso_user: str | None = None,
    destroy: bool = False,
    prune: bool = False,
    after_apply: Callable[[], dict[str, Any]] | None = None,
) -> NoReturn:
    """Plan, show, confirm, apply, report, hand off; exit 0 when all succeeded, else 1.

    `after_apply` runs once the plan was applied or there was nothing to do (never when the
    run stopped before changing anything); what it returns goes into the JSON document."""
    from . import report

    plan = runner.plan_destroy(allow_root=allow_root) if destroy else runner.plan(allow_root=allow_root, prune=prune)
    _show_plan(opts, runner, plan, report.NOTHING_TO_DESTROY if destroy else None)
    ctx = click.get_current_context()
    if plan.errors:
        # Nothing partial: a plan with errors is not applied at all.
        _err(f"refusing to apply: the plan has {len(plan.errors)} error(s); nothing was changed.")
        if opts.json:
            click.echo(report.document(command, runner.ctx, plan, None, applied=False, api_calls=_calls(runner)))
        ctx.exit(EXIT_ERROR)
    if not plan.empty and not yes:
        if not sys.stdin.isatty():
            _err(
                "refusing to change anything without confirmation: stdin is not a terminal. "
                "Review the plan, then run again with --yes."
            )
            if opts.json:
                click.echo(report.document(command, runner.ctx, plan, None, applied=False, api_calls=_calls(runner)))
            ctx.exit(EXIT_ERROR)
        deletions = plan.counts()["delete"]
        warning = f", including {deletions} deletion(s)" if deletions else ""
        if opts.json:  # stdout is for the document: show the plan being confirmed here
            _err(report.render_plan(plan, runner.ctx))
        try:
            confirmed = click.confirm(f"Apply these {len(plan.changes)} changes{warning}?", err=True)
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None  # Ctrl-C at the question: nothing was changed
        if not confirmed:
            _err("Nothing changed.")
            if opts.json:
                click.echo(report.document(command, runner.ctx, plan, None, applied=False, api_calls=_calls(runner)))
            ctx.exit(EXIT_ERROR)
    with _ctrl_c_stops(opts, runner):
        result = runner.apply(plan) if not plan.empty else None
        interrupted = result is not None and result.interrupted
        extra = after_apply() if after_apply else {}
        # An interrupted run hands nothing off: what it made is in the outcomes, and the
        # next run finishes the job.
        handoff = {"text": ""} if destroy or interrupted else _handoff(runner, result, portal, sso_user)
        if opts.json:
            if result is not None and not result.ok and not interrupted:
                _err(
                    f"{len(result.failed)} change(s) failed, {len(result.errors)} error(s): see result in the document"
                )
            click.echo(
                report.document(
                    command,
                    runner.ctx,
                    plan,
                    result,
                    applied=result is not None,
                    interrupted=interrupted,
                    api_calls=_calls(runner),
                    handoff=handoff,
                    **extra,
                )
            )
        else:
            if result is not None:
                click.echo("")
                click.echo(report.render_result(result, plan, _color(opts)))
            if handoff["text"]:
                click.echo("")
                click.echo(handoff["text"])
        ctx.exit(EXIT_INTERRUPTED if interrupted else EXIT_OK if result is None or result.ok else EXIT_ERROR)


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


@contextmanager
def _ctrl_c_stops(opts: Options, runner: Runner) -> Iterator[None]:
    """While a command changes AWS, the first Ctrl-C cancels the run: nothing new starts, the
    requests in flight are polled a few seconds more, and the summary follows. A second
    Ctrl-C exits at once."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    cancel = runner.clients.cancel
    grace = runner.settings.poll.interrupt_grace

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
        if opts.json:
            _write_now(sys.stdout, _interrupted_document(message) + "\n")
        os._exit(EXIT_INTERRUPTED)  # at once: not even the worker threads are waited for

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _handoff(runner: Runner, result: ApplyResult | None, portal: str | None, sso_user: str | None) -> dict[str, Any]:
    """The access portal, the users this run created (they need a first sign-in email), and,
    for bootstrap, the AWS CLI profiles of its user."""
    from . import access
    from .plan import Action
    from .steps.base import ADOPTED

    assert runner.ctx is not None
    url = access.portal_url(runner.ctx.identity_store_id, portal or runner.config.portal_url)
    created = [
        (o.change.data.user_name, o.change.data.email)
        for o in (result.outcomes if result else [])
        if o.ok and o.change.resource == "user" and o.change.action is Action.CREATE and o.detail != ADOPTED
    ]
    text = access.handoff_text(url, created)
    out: dict[str, Any] = {"portal_url": url, "new_users": [name for name, _ in created]}
    if sso_user is not None:
        profiles = access.profiles_for(runner.config, runner.ctx.account_id, sso_user)
        sso = access.render_sso_config(
            "identity-center", url, runner.ctx.region, profiles, runner.ctx.region, runner.ctx.identity_store_id
        )
        out["aws_config"] = sso
        text += (
            f"\n\nAWS CLI profiles for {sso_user} (add to ~/.aws/config, or run "
            "`provisioner sso-config -f CONFIG --write ~/.aws/config`):\n\n"
            + sso
            + f"\nThen: aws sso login --profile {profiles[0].name}"
            if profiles
            else ""
        )
    out["text"] = text
    return out


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
def plan(opts: Options, config_path: str, prune: bool, detailed_exitcode: bool) -> None:
    """Show what apply would change. Read-only: makes no write call.

    \b
    Example:
      provisioner plan -f examples/identity-center-admin.yaml --detailed-exitcode
    """
    from . import report

    config = _load(config_path, prune)
    runner = _runner(opts, config)
    the_plan = runner.plan(prune=prune)
    if opts.json:
        click.echo(report.document("plan", runner.ctx, the_plan, api_calls=_calls(runner)))
        if the_plan.errors:
            _err(f"the plan has {len(the_plan.errors)} error(s): " + "; ".join(the_plan.errors))
    else:
        _show_plan(opts, runner, the_plan)
    if the_plan.errors:
        click.get_current_context().exit(EXIT_ERROR)
    if detailed_exitcode and not the_plan.empty:
        click.get_current_context().exit(EXIT_CHANGES)


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
    opts: Options,
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
    config = _load(config_path, prune)
    runner = _runner(opts, config, poll_timeout, poll_interval)
    _apply(opts, runner, yes, "apply", allow_root, portal_url, prune=prune)


@cli.command()
@config_option
@click.option("--yes", "-y", is_flag=True, help="Delete without asking (needed when stdin is not a terminal).")
@change_options
@click.pass_obj
def destroy(
    opts: Options,
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
    config = _load(config_path)
    runner = _runner(opts, config, poll_timeout, poll_interval)
    _apply(opts, runner, yes, "destroy", allow_root, portal_url, destroy=True)


# Flag name for each config field bootstrap fills, so errors name what the user typed.
BOOTSTRAP_FLAGS = {
    "users[0].user_name": "--user-name",
    "users[0].email": "--email",
    "users[0].given_name": "--given-name",
    "users[0].family_name": "--family-name",
    "users[0].display_name": "--display-name",
    "groups[0].name": "--group",
    "permission_sets[0].name": "--permission-set",
    "permission_sets[0].session_duration": "--session-duration",
    "permission_sets[0].managed_policies": "--policy",
    "assignments[0].accounts": "--account",
}


def bootstrap_document(
    user_name: str,
    email: str,
    given_name: str | None,
    family_name: str | None,
    display_name: str | None,
    group: str,
    permission_set: str,
    policies: tuple[str, ...],
    session_duration: str,
    accounts: tuple[str, ...],
) -> dict[str, Any]:
    """The seed scenario as a config document: one admin group, user, set, assignment."""
    user: dict[str, Any] = {"user_name": user_name, "email": email}
    for key, value in (("display_name", display_name), ("given_name", given_name), ("family_name", family_name)):
        if value is not None:
            user[key] = value
    user["groups"] = [group]
    return {
        "groups": [{"name": group, "description": "Administer IAM Identity Center"}],
        "users": [user],
        "permission_sets": [
            {
                "name": permission_set,
                "description": "Manage IAM Identity Center",
                "session_duration": session_duration,
                "managed_policies": list(policies),
            }
        ],
        "assignments": [{"permission_set": permission_set, "groups": [group], "accounts": list(accounts)}],
    }


@cli.command()
@click.option("--user-name", required=True, help="UserName of the first administrator (no spaces).")
@click.option("--email", required=True, help="Their email address (where the sign-in email goes).")
@click.option("--given-name", help="Given name (default: the user name).")
@click.option("--family-name", help="Family name (default: the user name).")
@click.option("--display-name", help="Display name (default: 'GIVEN FAMILY').")
@click.option("--group", default="IdentityCenterAdmins", show_default=True, help="Admin group to create.")
@click.option("--permission-set", default="IdentityCenterAdmin", show_default=True, help="Permission set to create.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME_OR_ARN",
    help="AWS managed policy for the set; repeatable. Default: the three that administer "
    "IAM Identity Center (" + ", ".join(SEED_POLICIES) + ").",
)
@click.option("--session-duration", default="PT4H", show_default=True, help="ISO-8601, PT1H..PT12H.")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ID",
    help="Account to assign the set on; repeatable. Default: current (the caller's account).",
)
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
    opts: Options,
    user_name: str,
    email: str,
    given_name: str | None,
    family_name: str | None,
    display_name: str | None,
    group: str,
    permission_set: str,
    policies: tuple[str, ...],
    session_duration: str,
    accounts: tuple[str, ...],
    write_config: str | None,
    force: bool,
    yes: bool,
    poll_timeout: float | None,
    poll_interval: float | None,
    allow_root: bool,
    portal_url: str | None,
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
    from . import config as config_module

    document = bootstrap_document(
        user_name,
        email,
        given_name,
        family_name,
        display_name,
        group,
        permission_set,
        policies or SEED_POLICIES,
        session_duration,
        accounts or ("current",),
    )
    try:
        config = config_module.parse(document, "bootstrap options")
    except ConfigError as exc:
        raise ConfigError(
            "bootstrap options",
            [
                (next((flag for path, flag in BOOTSTRAP_FLAGS.items() if where.startswith(path)), where), reason)
                for where, reason in exc.problems
            ],
        ) from None
    after_apply = _config_writer(Path(write_config), document, force) if write_config else None
    runner = _runner(opts, config, poll_timeout, poll_interval)
    _apply(opts, runner, yes, "bootstrap", allow_root, portal_url, sso_user=user_name, after_apply=after_apply)


def _config_writer(path: Path, document: dict[str, Any], force: bool) -> Callable[[], dict[str, Any]]:
    """Refuse now (before any AWS call) to replace a different file without --force; return
    what writes the config once the run has done its work."""
    from . import config as config_module
    from . import files

    text = config_module.dump(document, sort_keys=False)
    existing = files.read_existing(path)
    if existing is not None and existing != text and not force:
        raise ProvisionerError(
            f"{path} exists and differs from the config bootstrap would write: nothing was done. "
            "Pass --force to replace it (a timestamped backup is kept), or choose another --write-config file."
        )

    def write() -> dict[str, Any]:
        changed, backup = files.write_with_backup(path, text)
        kept = f" (backup: {backup})" if backup else ""
        done = f"wrote {path}{kept}" if changed else f"{path} is already this config"
        _err(f"{done}: run `provisioner plan -f {path}` any time to check for drift")
        return {"config_file": {"path": str(path), "changed": changed, "backup": str(backup) if backup else None}}

    return write


@cli.command()
@click.option(
    "-f",
    "--file",
    "config_path",
    default=None,
    type=click.Path(dir_okay=True),
    help="Also check the permissions an apply of this config needs.",
)
@click.pass_obj
def doctor(opts: Options, config_path: str | None) -> None:
    """Check the security posture and that everything is ready, with a fix for each problem.

    \b
    caller                who is calling; FAIL for root, WARN for long-term access keys
    root MFA / keys       the root user has MFA and no access keys
    IAM Identity Center   an ACTIVE organization instance here (else, where it is)
    organization          management account, member, or standalone
    permissions           the actions an apply needs (with -f, for that config)

    Exit 1 if any check FAILs.
    """
    from . import doctor as checks

    config = _load(config_path) if config_path else None
    clients = _clients(opts, config.region if config else None)
    results = checks.run(clients, config)
    if opts.json:
        click.echo(json.dumps({"command": "doctor", "checks": [c.to_json() for c in results]}, indent=2))
        if failed := [c.name for c in results if c.status == checks.FAIL]:
            _err(f"doctor: {len(failed)} check(s) FAILED: {', '.join(failed)}")
    else:
        click.echo(checks.render(results))
    click.get_current_context().exit(EXIT_ERROR if any(c.status == checks.FAIL for c in results) else EXIT_OK)


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
    opts: Options, config_path: str, user: str | None, session_name: str, portal_url: str | None, write_path: str | None
) -> None:
    """Print the ~/.aws/config text for signing in with the AWS CLI: one sso-session and one
    profile per (permission set x account) a user reaches through groups or directly.

    \b
    Example:
      provisioner sso-config -f identity-center.yaml --user admin --write ~/.aws/config
      aws sso login --profile IdentityCenterAdmin-111122223333
    """
    from . import access, targets
    from .steps import instance

    config = _load(config_path)
    if user is not None and user not in {u.user_name for u in config.users}:
        raise ConfigError(config_path, [("users", f"no user {user!r} is declared; --user must name one")])
    clients = _clients(opts, config.region)
    ctx = instance.resolve(clients)
    url = access.portal_url(ctx.identity_store_id, portal_url or config.portal_url)
    profiles = access.profiles_for(config, ctx.account_id, user, targets.resolve_all(clients, config, ctx.account_id))
    if not profiles:
        # A lone sso-session signs in to nothing: say why instead, and write nothing.
        if user:
            groups = ", ".join(next(u.groups for u in config.users if u.user_name == user)) or "none"
            who = f"{user} or their groups ({groups})"
            why = f"{user} reaches no account: no assignment in {config_path} gives {who} a permission set on one"
        else:
            why = f"no declared user reaches any account: {config_path} assigns them no permission set"
        raise ProvisionerError(f"{why}; add one under assignments:, apply it, then run sso-config again")
    text = access.render_sso_config(session_name, url, ctx.region, profiles, ctx.region, ctx.identity_store_id)
    written: dict[str, Any] = {}
    if write_path:
        path = Path(write_path).expanduser()
        changed, backup = access.write_merged(path, text, session_name)
        written = {"path": str(path), "changed": changed, "backup": str(backup) if backup else None}
        _err(f"{'updated' if changed else 'already up to date:'} {path}" + (f" (backup: {backup})" if backup else ""))
    if opts.json:
        click.echo(
            json.dumps(
                {
                    "command": "sso-config",
                    "portal_url": url,
                    "text": text,
                    "profiles": [p.name for p in profiles],
                    "written": written or None,
                },
                indent=2,
            )
        )
    elif not write_path:
        click.echo(text, nl=False)


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
def export(opts: Options, output_file: str | None, permission_sets: tuple[str, ...], groups: tuple[str, ...]) -> None:
    """Write the live instance as a config file that `plan` finds clean.

    Policies by short name where they are AWS managed, inline policies as YAML mappings,
    assignments grouped by permission set and principal. Read-only. With --output json the
    config is printed as JSON, or, with -o, written and summarised in JSON (path, counts).

    \b
    Example:
      provisioner export -o identity-center.yaml
      provisioner plan -f identity-center.yaml --detailed-exitcode    # exits 0
    """
    from . import config as config_module
    from . import export as exporter
    from .steps import instance

    clients = _clients(opts)
    ctx = instance.resolve(clients)
    skipped: list[str] = []
    document = exporter.export(clients, ctx, permission_sets, groups, skipped)
    for warning in skipped:
        _err(f"warning: {warning}")
    config_module.parse(document, "exported config")  # what we write must load
    as_json = output_file.lower().endswith(".json") if output_file else opts.json
    if as_json:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = f"# Exported by `provisioner export` from {ctx.instance_arn}\n" + config_module.dump(
            document, sort_keys=False, width=120, allow_unicode=True
        )
    if not output_file:
        click.echo(text, nl=False)
        return
    Path(output_file).write_text(text, encoding="utf-8")
    counts = {kind: len(document[kind]) for kind in ("groups", "users", "permission_sets", "assignments")}
    if opts.json:
        summary = {"command": "export", "path": output_file, "format": "json" if as_json else "yaml", "counts": counts}
        click.echo(json.dumps(summary, indent=2))
    else:
        _err(f"wrote {output_file}: " + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items()))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the config file (for editors and CI linters)."""
    from . import config

    click.echo(json.dumps(config.json_schema(), indent=2))


def main() -> None:
    cli(prog_name="provisioner")
